//! Pure farming rules over a [`Farm`] and an [`Inventory`].
//!
//! The feature's action enum is [`FarmAction`] and its one entry point is [`apply`] (see
//! [`crate::action`]); `plant`, `water` and `harvest` are the rules it dispatches to. Each rule
//! checks everything first and only then mutates, so a rejected action changes nothing. Time
//! comes in as an absolute [`Tick`]; content comes in as [`Content`].

use crate::action::Action;
use crate::content::Content;
use crate::ids::{CropId, ItemId, PlotId};
use crate::time::Tick;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One player's farm: a compact array of plots, replicated as one component of one entity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Farm {
    pub plots: Vec<Plot>,
}

/// One plot of a farm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Plot {
    #[default]
    Empty,
    Growing(Growing),
}

/// A planted crop. Growth is stored as absolute ticks, so it survives restarts and moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Growing {
    pub crop: CropId,
    pub planted_at: Tick,
    pub ripe_at: Tick,
    pub watered: bool,
}

impl Growing {
    pub fn is_ripe(&self, now: Tick) -> bool {
        now >= self.ripe_at
    }
}

/// What a player owns. Replicated to its owner only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Inventory {
    pub coins: u32,
    pub items: BTreeMap<ItemId, u32>,
}

impl Inventory {
    pub fn count(&self, item: &ItemId) -> u32 {
        self.items.get(item).copied().unwrap_or(0)
    }
}

/// Why a farming intent was refused. Sent back to the client as the typed reason.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum FarmError {
    #[error("there is no plot {0:?} on this farm")]
    NoSuchPlot(PlotId),
    #[error("plot {0:?} already has a crop")]
    PlotOccupied(PlotId),
    #[error("plot {0:?} is empty")]
    PlotEmpty(PlotId),
    #[error("unknown crop")]
    UnknownCrop,
    #[error("not enough coins: need {need}, have {have}")]
    NotEnoughCoins { need: u32, have: u32 },
    #[error("plot {0:?} is already watered")]
    AlreadyWatered(PlotId),
    #[error("plot {0:?} is already ripe")]
    AlreadyRipe(PlotId),
    #[error("plot {plot:?} is not ripe until tick {ripe_at:?}")]
    NotRipe { plot: PlotId, ripe_at: Tick },
    #[error("inventory is full")]
    InventoryFull,
}

/// What a successful intent did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FarmEvent {
    Planted {
        plot: PlotId,
        crop: CropId,
        ripe_at: Tick,
        paid: u32,
    },
    Watered {
        plot: PlotId,
        ripe_at: Tick,
    },
    Harvested {
        plot: PlotId,
        item: ItemId,
        count: u32,
    },
}

/// What a player can do on their farm. Sent as `Request<FarmAction>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FarmAction {
    /// Plant `crop` on an empty `plot`, paying its seed price.
    Plant { plot: PlotId, crop: CropId },
    /// Water the crop on `plot` once: it ripens sooner.
    Water { plot: PlotId },
    /// Harvest the ripe crop on `plot` into the inventory.
    Harvest { plot: PlotId },
}

impl Action for FarmAction {
    const FEATURE: &'static str = "farming";
}

/// The part of a player's state farming reads and writes.
pub struct FarmState<'a> {
    pub farm: &'a mut Farm,
    pub inventory: &'a mut Inventory,
}

impl FarmEvent {
    /// Did this event change the inventory (coins or items)? Watering only changes the farm.
    pub fn touches_inventory(&self) -> bool {
        !matches!(self, FarmEvent::Watered { .. })
    }
}

/// Apply one farming action: the single entry point the shard and the client both call.
pub fn apply(
    action: &FarmAction,
    state: FarmState<'_>,
    content: &Content,
    now: Tick,
) -> Result<FarmEvent, FarmError> {
    let FarmState { farm, inventory } = state;
    match action {
        FarmAction::Plant { plot, crop } => plant(farm, inventory, *plot, crop, content, now),
        FarmAction::Water { plot } => water(farm, *plot, content, now),
        FarmAction::Harvest { plot } => harvest(farm, inventory, *plot, content, now),
    }
}

/// Counts for dashboards and `/v1/players/me`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FarmSummary {
    pub plots: u32,
    pub empty: u32,
    pub growing: u32,
    pub ripe: u32,
}

impl Farm {
    /// A new farm with `plots` empty plots.
    pub fn new(plots: u16) -> Self {
        Farm {
            plots: vec![Plot::Empty; plots as usize],
        }
    }

    /// The crop growing on `plot`, or why there is none.
    fn growing_mut(&mut self, plot: PlotId) -> Result<&mut Growing, FarmError> {
        match self.plots.get_mut(plot.0 as usize) {
            None => Err(FarmError::NoSuchPlot(plot)),
            Some(Plot::Empty) => Err(FarmError::PlotEmpty(plot)),
            Some(Plot::Growing(g)) => Ok(g),
        }
    }

    pub fn plot(&self, plot: PlotId) -> Result<&Plot, FarmError> {
        self.plots
            .get(plot.0 as usize)
            .ok_or(FarmError::NoSuchPlot(plot))
    }

    pub fn summary(&self, now: Tick) -> FarmSummary {
        let mut s = FarmSummary {
            plots: self.plots.len() as u32,
            ..Default::default()
        };
        for p in &self.plots {
            match p {
                Plot::Empty => s.empty += 1,
                Plot::Growing(g) if g.is_ripe(now) => s.ripe += 1,
                Plot::Growing(_) => s.growing += 1,
            }
        }
        s
    }
}

/// Plant `crop` on an empty `plot`, paying its seed price.
fn plant(
    farm: &mut Farm,
    inv: &mut Inventory,
    plot: PlotId,
    crop: &CropId,
    content: &Content,
    now: Tick,
) -> Result<FarmEvent, FarmError> {
    if !matches!(farm.plot(plot)?, Plot::Empty) {
        return Err(FarmError::PlotOccupied(plot));
    }
    let def = content.crop(crop).ok_or(FarmError::UnknownCrop)?;
    if inv.coins < def.seed_price {
        return Err(FarmError::NotEnoughCoins {
            need: def.seed_price,
            have: inv.coins,
        });
    }
    inv.coins -= def.seed_price;
    let ripe_at = now.saturating_add(def.growth_ticks as u64);
    farm.plots[plot.0 as usize] = Plot::Growing(Growing {
        crop: crop.clone(),
        planted_at: now,
        ripe_at,
        watered: false,
    });
    Ok(FarmEvent::Planted {
        plot,
        crop: crop.clone(),
        ripe_at,
        paid: def.seed_price,
    })
}

/// Water a growing crop once: it ripens `water_speedup_percent` sooner of what remains.
fn water(
    farm: &mut Farm,
    plot: PlotId,
    content: &Content,
    now: Tick,
) -> Result<FarmEvent, FarmError> {
    let g = farm.growing_mut(plot)?;
    if g.is_ripe(now) {
        return Err(FarmError::AlreadyRipe(plot));
    }
    if g.watered {
        return Err(FarmError::AlreadyWatered(plot));
    }
    // Every check is done: from here on the intent is applied.
    let remaining = now.until(g.ripe_at);
    let saved = remaining.saturating_mul(content.rules.water_speedup_percent as u64) / 100;
    g.watered = true;
    g.ripe_at = Tick(g.ripe_at.0 - saved);
    Ok(FarmEvent::Watered {
        plot,
        ripe_at: g.ripe_at,
    })
}

/// Harvest a ripe crop into the inventory, emptying the plot.
fn harvest(
    farm: &mut Farm,
    inv: &mut Inventory,
    plot: PlotId,
    content: &Content,
    now: Tick,
) -> Result<FarmEvent, FarmError> {
    let g = farm.growing_mut(plot)?;
    if !g.is_ripe(now) {
        return Err(FarmError::NotRipe {
            plot,
            ripe_at: g.ripe_at,
        });
    }
    // A crop removed from content since planting still harvests nothing rather than failing
    // forever: the plot is cleared and no item is granted.
    let (item, count) = match content.crop(&g.crop) {
        Some(def) => (def.produce.clone(), def.yield_count),
        None => (ItemId::new(g.crop.as_str()), 0),
    };
    let have = inv.count(&item);
    let total = have.checked_add(count).ok_or(FarmError::InventoryFull)?;
    farm.plots[plot.0 as usize] = Plot::Empty;
    if count > 0 {
        inv.items.insert(item.clone(), total);
    }
    Ok(FarmEvent::Harvested { plot, item, count })
}

#[cfg(test)]
mod tests;
