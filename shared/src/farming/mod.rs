//! Pure farming rules over a [`Farm`] and an [`Inventory`].
//!
//! The feature's action enum is [`FarmAction`] and its one entry point is [`apply`] (see
//! [`crate::action`]). Each rule checks everything first and only then changes anything, so a
//! refused action changes nothing. Time comes in as an absolute [`Tick`]; content comes in as
//! [`Content`].
//!
//! The loop: **till** a wild plot, **plant** a seed on it, **water** it (a planted crop is dry
//! and grows only while watered; one watering lasts `water_ticks`, then the crop stalls), maybe
//! **fertilize** it, **harvest** it when ripe, or **clear** it if it withered after
//! `drought_ticks` dry. A harvest leaves the plot wild. **Expand** buys more plots.
//!
//! A crop stores absolute ticks only (when its watering ends, when it withers, how much growth
//! it has banked), so every stage is a pure function of the crop and `now`: crops keep growing
//! while the player is away or the shard is down, and stall and wither the same way.

use crate::action::{Action, Applied};
use crate::content::{Content, ItemKind};
use crate::ids::{CropId, ItemId, PlotId};
use crate::inventory::{self, HoldError, Inventory};
use crate::ledger::{Change, Delta, EntryKind};
use crate::time::Tick;
use serde::{Deserialize, Serialize};

/// One player's farm: a compact array of plots, replicated as one component of one entity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Farm {
    pub plots: Vec<Plot>,
    /// Expansions bought so far.
    #[serde(default)]
    pub expansions: u8,
    /// Seeds every planting's yield (fixed at creation).
    #[serde(default)]
    pub seed: u64,
}

/// One plot of a farm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(from = "StoredPlot")]
pub enum Plot {
    /// Needs tilling before anything can be planted.
    #[default]
    Wild,
    /// Ready for a seed.
    Tilled,
    Crop(Crop),
}

/// A plot as stored, including the shapes saves had before tilling and watering periods
/// existed (state schema 1): an `Empty` plot was plantable, so it is read as tilled, and a
/// `Growing` crop keeps its ripening tick, as if watered until then.
#[derive(Deserialize)]
enum StoredPlot {
    Wild,
    Tilled,
    Crop(Crop),
    Empty,
    Growing {
        crop: CropId,
        planted_at: Tick,
        ripe_at: Tick,
    },
}

/// Drought allowance given to crops from schema-1 saves.
const LEGACY_DROUGHT_TICKS: u32 = 2400;

impl From<StoredPlot> for Plot {
    fn from(p: StoredPlot) -> Plot {
        match p {
            StoredPlot::Wild => Plot::Wild,
            StoredPlot::Tilled | StoredPlot::Empty => Plot::Tilled,
            StoredPlot::Crop(c) => Plot::Crop(c),
            StoredPlot::Growing {
                crop,
                planted_at,
                ripe_at,
            } => {
                let need = planted_at.until(ripe_at).clamp(1, u64::from(u32::MAX)) as u32;
                Plot::Crop(Crop {
                    crop,
                    planted_at,
                    need,
                    grown: 0,
                    mark: planted_at,
                    wet_until: planted_at.saturating_add(u64::from(need)),
                    drought_ticks: LEGACY_DROUGHT_TICKS,
                    fertilized: false,
                    extra_yield: 0,
                    seed: splitmix64(planted_at.0),
                })
            }
        }
    }
}

/// A planted crop, in absolute ticks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Crop {
    pub crop: CropId,
    pub planted_at: Tick,
    /// Ticks of watered growth it needs in all (fertilizer lowers it).
    pub need: u32,
    /// Growth banked up to `mark`.
    pub grown: u32,
    /// When `grown` was last brought up to date.
    pub mark: Tick,
    /// It grows until this tick (its last watering's end), then stalls.
    pub wet_until: Tick,
    /// Ticks it can stay dry (from content, fixed at planting).
    pub drought_ticks: u32,
    pub fertilized: bool,
    /// Added to the harvest by fertilizer.
    pub extra_yield: u32,
    /// Fixes this planting's yield.
    pub seed: u64,
}

/// Where a crop is in its life at some tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Stage {
    /// Watered and growing.
    Growing,
    /// Not watered: stalled, withering at `withers_at`.
    Dry,
    Ripe,
    Withered,
}

impl Crop {
    /// Growth so far at `now` (at most `need`).
    pub fn growth(&self, now: Tick) -> u32 {
        let wet_end = now.min(self.wet_until);
        let more = wet_end.0.saturating_sub(self.mark.0);
        (u64::from(self.grown) + more).min(u64::from(self.need)) as u32
    }

    /// When it ripens if nobody touches it, or `None` if it will stall first.
    pub fn ripe_at(&self) -> Option<Tick> {
        let left = self.need.saturating_sub(self.grown);
        if left == 0 {
            return Some(self.mark);
        }
        let at = self.mark.saturating_add(u64::from(left));
        (at <= self.wet_until).then_some(at)
    }

    /// When it withers if nobody waters it (unless it ripens first).
    pub fn withers_at(&self) -> Tick {
        self.wet_until.saturating_add(u64::from(self.drought_ticks))
    }

    pub fn stage(&self, now: Tick) -> Stage {
        if self.ripe_at().is_some_and(|t| now >= t) {
            Stage::Ripe
        } else if now >= self.withers_at() {
            Stage::Withered
        } else if now >= self.wet_until {
            Stage::Dry
        } else {
            Stage::Growing
        }
    }

    /// Growth as a fraction of what it needs (0.0–1.0).
    pub fn progress(&self, now: Tick) -> f32 {
        self.growth(now) as f32 / self.need.max(1) as f32
    }

    /// The harvest this planting gives: its seeded share of `min..=max`, plus fertilizer.
    pub fn yield_count(&self, min: u32, max: u32) -> u32 {
        let span = u64::from(max.saturating_sub(min)) + 1;
        let roll = (splitmix64(self.seed) % span) as u32;
        min.saturating_add(roll).saturating_add(self.extra_yield)
    }

    /// Bring `grown` up to `now`. `mark` never passes `wet_until`, so dry time never counts.
    fn bank(&mut self, now: Tick) {
        self.grown = self.growth(now);
        self.mark = now.min(self.wet_until).max(self.mark);
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Why a farming intent was refused. Sent back to the client as the typed reason.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum FarmError {
    #[error("there is no plot {0:?} on this farm")]
    NoSuchPlot(PlotId),
    #[error("plot {0:?} must be tilled first")]
    NotTilled(PlotId),
    #[error("plot {0:?} is already tilled or planted")]
    AlreadyTilled(PlotId),
    #[error("plot {0:?} has a crop already")]
    PlotOccupied(PlotId),
    #[error("plot {0:?} has no crop")]
    PlotEmpty(PlotId),
    #[error("unknown crop")]
    UnknownCrop,
    #[error("'{0}' is not a fertilizer")]
    NotAFertilizer(ItemId),
    #[error("plot {0:?} is still watered")]
    AlreadyWatered(PlotId),
    #[error("plot {0:?} is already fertilized")]
    AlreadyFertilized(PlotId),
    #[error("plot {0:?} is already ripe")]
    AlreadyRipe(PlotId),
    #[error("plot {0:?} has withered: clear it")]
    Withered(PlotId),
    #[error("plot {0:?} has not withered")]
    NotWithered(PlotId),
    #[error("plot {plot:?} is not ripe yet")]
    NotRipe { plot: PlotId },
    #[error("the farm cannot grow any more")]
    NoMoreExpansions,
    #[error(transparent)]
    Holdings(#[from] HoldError),
}

/// What a successful intent did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FarmEvent {
    Tilled {
        plot: PlotId,
    },
    Planted {
        plot: PlotId,
        crop: CropId,
    },
    Watered {
        plot: PlotId,
        ripe_at: Option<Tick>,
    },
    Fertilized {
        plot: PlotId,
        item: ItemId,
    },
    Harvested {
        plot: PlotId,
        item: ItemId,
        count: u32,
    },
    Cleared {
        plot: PlotId,
    },
    Expanded {
        plots: u16,
        paid: u32,
    },
}

/// What a player can do on their farm. Sent as `Request<FarmAction>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FarmAction {
    /// Till a wild plot so it can be planted.
    Till { plot: PlotId },
    /// Plant `crop` on a tilled `plot`, using up one of its seeds.
    Plant { plot: PlotId, crop: CropId },
    /// Water a dry crop: it grows for the next `water_ticks`.
    Water { plot: PlotId },
    /// Use one fertilizer `item` on a growing crop (once per planting).
    Fertilize { plot: PlotId, item: ItemId },
    /// Harvest a ripe crop into the inventory; the plot goes wild.
    Harvest { plot: PlotId },
    /// Clear a withered crop; the plot goes wild.
    Clear { plot: PlotId },
    /// Buy the next farm expansion (an economy event).
    Expand,
}

impl Action for FarmAction {
    const FEATURE: &'static str = "farming";
}

/// The part of a player's state farming reads and writes.
pub struct FarmState<'a> {
    pub farm: &'a mut Farm,
    pub inventory: &'a mut Inventory,
}

/// Apply one farming action: the single entry point the shard and the client both call.
pub fn apply(
    action: &FarmAction,
    state: FarmState<'_>,
    content: &Content,
    now: Tick,
) -> Result<Applied<FarmEvent>, FarmError> {
    let FarmState { farm, inventory } = state;
    match action {
        FarmAction::Till { plot } => till(farm, *plot),
        FarmAction::Plant { plot, crop } => plant(farm, inventory, *plot, crop, content, now),
        FarmAction::Water { plot } => water(farm, *plot, content, now),
        FarmAction::Fertilize { plot, item } => {
            fertilize(farm, inventory, *plot, item, content, now)
        }
        FarmAction::Harvest { plot } => harvest(farm, inventory, *plot, content, now),
        FarmAction::Clear { plot } => clear(farm, *plot, now),
        FarmAction::Expand => expand(farm, inventory, content),
    }
}

/// Counts for dashboards and `/v1/players/me`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FarmSummary {
    pub plots: u32,
    /// Wild or tilled: nothing planted.
    pub empty: u32,
    /// Growing or dry.
    pub growing: u32,
    pub ripe: u32,
    pub withered: u32,
}

impl Farm {
    /// A new farm with `plots` tilled plots; `seed` fixes its yields.
    pub fn new(plots: u16, seed: u64) -> Self {
        Farm {
            plots: vec![Plot::Tilled; plots as usize],
            expansions: 0,
            seed,
        }
    }

    pub fn plot(&self, plot: PlotId) -> Result<&Plot, FarmError> {
        self.plots
            .get(plot.0 as usize)
            .ok_or(FarmError::NoSuchPlot(plot))
    }

    /// The crop on `plot`, or why there is none.
    fn crop_mut(&mut self, plot: PlotId) -> Result<&mut Crop, FarmError> {
        match self.plots.get_mut(plot.0 as usize) {
            None => Err(FarmError::NoSuchPlot(plot)),
            Some(Plot::Crop(c)) => Ok(c),
            Some(_) => Err(FarmError::PlotEmpty(plot)),
        }
    }

    pub fn summary(&self, now: Tick) -> FarmSummary {
        let mut s = FarmSummary {
            plots: self.plots.len() as u32,
            ..Default::default()
        };
        for p in &self.plots {
            match p {
                Plot::Wild | Plot::Tilled => s.empty += 1,
                Plot::Crop(c) => match c.stage(now) {
                    Stage::Growing | Stage::Dry => s.growing += 1,
                    Stage::Ripe => s.ripe += 1,
                    Stage::Withered => s.withered += 1,
                },
            }
        }
        s
    }
}

fn till(farm: &mut Farm, plot: PlotId) -> Result<Applied<FarmEvent>, FarmError> {
    match farm.plot(plot)? {
        Plot::Wild => {}
        _ => return Err(FarmError::AlreadyTilled(plot)),
    }
    farm.plots[plot.0 as usize] = Plot::Tilled;
    Ok(Applied::only(FarmEvent::Tilled { plot }))
}

fn plant(
    farm: &mut Farm,
    inv: &mut Inventory,
    plot: PlotId,
    crop: &CropId,
    content: &Content,
    now: Tick,
) -> Result<Applied<FarmEvent>, FarmError> {
    match farm.plot(plot)? {
        Plot::Tilled => {}
        Plot::Wild => return Err(FarmError::NotTilled(plot)),
        Plot::Crop(_) => return Err(FarmError::PlotOccupied(plot)),
    }
    let def = content.crop(crop).ok_or(FarmError::UnknownCrop)?;
    let delta = Delta::default().item(&def.seed, -1);
    inventory::apply(&delta, inv, None, content)?;
    let seed = splitmix64(farm.seed ^ (u64::from(plot.0) << 48) ^ now.0);
    farm.plots[plot.0 as usize] = Plot::Crop(Crop {
        crop: crop.clone(),
        planted_at: now,
        need: def.growth_ticks,
        grown: 0,
        mark: now,
        wet_until: now,
        drought_ticks: def.drought_ticks,
        fertilized: false,
        extra_yield: 0,
        seed,
    });
    Ok(Applied {
        event: FarmEvent::Planted {
            plot,
            crop: crop.clone(),
        },
        change: Some(Change {
            kind: EntryKind::Plant,
            detail: crop.to_string(),
            delta,
        }),
    })
}

/// Refuse anything but a growing or dry crop.
fn tendable(c: &Crop, plot: PlotId, now: Tick) -> Result<Stage, FarmError> {
    match c.stage(now) {
        Stage::Ripe => Err(FarmError::AlreadyRipe(plot)),
        Stage::Withered => Err(FarmError::Withered(plot)),
        s => Ok(s),
    }
}

fn water(
    farm: &mut Farm,
    plot: PlotId,
    content: &Content,
    now: Tick,
) -> Result<Applied<FarmEvent>, FarmError> {
    let c = farm.crop_mut(plot)?;
    if tendable(c, plot, now)? == Stage::Growing {
        return Err(FarmError::AlreadyWatered(plot));
    }
    c.bank(now);
    c.mark = now;
    c.wet_until = now.saturating_add(u64::from(content.economy.water_ticks));
    Ok(Applied::only(FarmEvent::Watered {
        plot,
        ripe_at: c.ripe_at(),
    }))
}

fn fertilize(
    farm: &mut Farm,
    inv: &mut Inventory,
    plot: PlotId,
    item: &ItemId,
    content: &Content,
    now: Tick,
) -> Result<Applied<FarmEvent>, FarmError> {
    let Some(ItemKind::Fertilizer {
        growth_percent,
        extra_yield,
    }) = content.item(item).map(|d| &d.kind)
    else {
        return Err(FarmError::NotAFertilizer(item.clone()));
    };
    let c = farm.crop_mut(plot)?;
    tendable(c, plot, now)?;
    if c.fertilized {
        return Err(FarmError::AlreadyFertilized(plot));
    }
    let delta = Delta::default().item(item, -1);
    inventory::apply(&delta, inv, None, content)?;
    c.bank(now);
    let left = u64::from(c.need - c.grown);
    let cut = left * u64::from(*growth_percent) / 100;
    c.need -= cut as u32;
    c.extra_yield = c.extra_yield.saturating_add(*extra_yield);
    c.fertilized = true;
    Ok(Applied {
        event: FarmEvent::Fertilized {
            plot,
            item: item.clone(),
        },
        change: Some(Change {
            kind: EntryKind::Fertilize,
            detail: item.to_string(),
            delta,
        }),
    })
}

fn harvest(
    farm: &mut Farm,
    inv: &mut Inventory,
    plot: PlotId,
    content: &Content,
    now: Tick,
) -> Result<Applied<FarmEvent>, FarmError> {
    let c = farm.crop_mut(plot)?;
    match c.stage(now) {
        Stage::Ripe => {}
        Stage::Withered => return Err(FarmError::Withered(plot)),
        _ => return Err(FarmError::NotRipe { plot }),
    }
    // A crop removed from content since planting harvests nothing rather than failing
    // forever: the plot is cleared and no item is granted.
    let (item, count) = match content.crop(&c.crop) {
        Some(def) => (
            def.produce.clone(),
            c.yield_count(def.yield_min, def.yield_max),
        ),
        None => (ItemId::new(c.crop.as_str()), 0),
    };
    let delta = Delta::default().item(&item, i64::from(count));
    inventory::apply(&delta, inv, None, content)?;
    farm.plots[plot.0 as usize] = Plot::Wild;
    let change = (!delta.is_empty()).then(|| Change {
        kind: EntryKind::Harvest,
        detail: item.to_string(),
        delta,
    });
    Ok(Applied {
        event: FarmEvent::Harvested { plot, item, count },
        change,
    })
}

fn clear(farm: &mut Farm, plot: PlotId, now: Tick) -> Result<Applied<FarmEvent>, FarmError> {
    let c = farm.crop_mut(plot)?;
    if c.stage(now) != Stage::Withered {
        return Err(FarmError::NotWithered(plot));
    }
    farm.plots[plot.0 as usize] = Plot::Wild;
    Ok(Applied::only(FarmEvent::Cleared { plot }))
}

fn expand(
    farm: &mut Farm,
    inv: &mut Inventory,
    content: &Content,
) -> Result<Applied<FarmEvent>, FarmError> {
    let e = &content.economy.expansion;
    let price = *e
        .prices
        .get(farm.expansions as usize)
        .ok_or(FarmError::NoMoreExpansions)?;
    let plots = e.plots;
    if farm.plots.len() + plots as usize > crate::content::validate::MAX_FARM_PLOTS as usize {
        return Err(FarmError::NoMoreExpansions);
    }
    let delta = Delta::coins(-i64::from(price));
    inventory::apply(&delta, inv, None, content)?;
    farm.plots
        .extend(std::iter::repeat_n(Plot::Wild, plots as usize));
    farm.expansions += 1;
    Ok(Applied {
        event: FarmEvent::Expanded { plots, paid: price },
        change: Some(Change {
            kind: EntryKind::Expand,
            detail: format!("expansion {}", farm.expansions),
            delta,
        }),
    })
}

#[cfg(test)]
mod tests;
