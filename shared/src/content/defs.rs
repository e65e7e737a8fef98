//! Content definitions as designers write them in `assets/data/*.ron`.

use crate::ids::{CropId, ItemId, ZoneId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A crop (`assets/data/crops.ron`). Buying the seed is part of planting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropDef {
    pub id: CropId,
    /// Display name.
    pub name: String,
    /// Coins paid when planting.
    pub seed_price: u32,
    /// World ticks (50 ms each) from planting to ripe, before watering.
    pub growth_ticks: u32,
    /// The item a harvest yields.
    pub produce: ItemId,
    /// How many `produce` items one harvest yields.
    #[serde(rename = "yield")]
    pub yield_count: u32,
}

/// An item (`assets/data/items.ron`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDef {
    pub id: ItemId,
    pub name: String,
    /// What the NPC market pays for one (used by the market in a later release).
    pub sell_price: u32,
}

/// A zone (`assets/data/zones.ron`). Every player's farm lives in a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    pub id: ZoneId,
    pub name: String,
    /// Plots a new farm in this zone starts with.
    pub farm_plots: u16,
}

/// Global tuning (`assets/data/game.ron`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameRules {
    /// Zone a new player starts in.
    pub start_zone: ZoneId,
    /// Coins a new player starts with.
    pub start_coins: u32,
    /// Watering a growing crop removes this percentage of its remaining growth time (0–100).
    pub water_speedup_percent: u8,
}

/// All loaded and validated content.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub crops: BTreeMap<CropId, CropDef>,
    pub items: BTreeMap<ItemId, ItemDef>,
    pub zones: BTreeMap<ZoneId, ZoneDef>,
    pub rules: GameRules,
    /// Short hash of the content files; clients compare it with what the sidecar announces.
    pub version: String,
}

impl Content {
    pub fn crop(&self, id: &CropId) -> Option<&CropDef> {
        self.crops.get(id)
    }
    pub fn zone(&self, id: &ZoneId) -> Option<&ZoneDef> {
        self.zones.get(id)
    }
}
