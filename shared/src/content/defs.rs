//! Content definitions as designers write them in `assets/data/*.ron`, one type per kind.
//!
//! Every struct denies unknown fields, so a misspelt field is an error with its line and column
//! rather than a silently ignored line. References between kinds (a crop's seed, a recipe's
//! inputs, a card a spell summons) are plain typed ids here; the loader checks that every one
//! resolves, once, so the rules never meet a dangling id.

use crate::ids::{CardId, CropId, ItemId, RecipeId, ZoneId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An item (`items.ron`): anything that sits in an inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDef {
    pub id: ItemId,
    /// Shown to players.
    pub name: String,
    pub kind: ItemKind,
    /// The most of this item one player can hold (≥ 1).
    pub stack: u32,
    /// Coins the NPC market charges for one. Absent: the market does not sell it.
    #[serde(default)]
    pub buy_price: Option<u32>,
    /// Coins the NPC market pays for one. Absent: the market does not buy it.
    #[serde(default)]
    pub sell_price: Option<u32>,
}

/// What an item is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    /// Planted by a crop that names it as its `seed`.
    Seed,
    /// What harvests give.
    Produce,
    /// Used by recipes.
    Material,
    /// Used on a growing crop, once per planting: it needs `growth_percent` % less of its
    /// remaining growth, and yields `extra_yield` more.
    Fertilizer {
        growth_percent: u8,
        extra_yield: u32,
    },
}

/// A crop (`crops.ron`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropDef {
    pub id: CropId,
    pub name: String,
    /// The item planting uses up (kind `Seed`).
    pub seed: ItemId,
    /// Ticks of *watered* growth from planting to ripe (one tick is 50 ms).
    pub growth_ticks: u32,
    /// Ticks a crop can stay dry before it withers.
    pub drought_ticks: u32,
    /// The item a harvest gives.
    pub produce: ItemId,
    /// A harvest gives between `yield_min` and `yield_max` (inclusive), chosen by the
    /// planting's seed: the same plot and planting always give the same count.
    pub yield_min: u32,
    pub yield_max: u32,
}

/// A recipe (`recipes.ron`): items (and a fee) in, an item stack or a card out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeDef {
    pub id: RecipeId,
    pub name: String,
    /// Items used up, by id.
    pub inputs: BTreeMap<ItemId, u32>,
    /// Coins charged on top of the inputs.
    #[serde(default)]
    pub fee: u32,
    pub output: RecipeOutput,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipeOutput {
    /// `count` of an item.
    Item(ItemId, u32),
    /// One copy of a card, into the player's collection.
    Card(CardId),
}

/// A card (`cards.ron`). The stats are what the duel rules use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardDef {
    pub id: CardId,
    pub name: String,
    pub kind: CardKind,
    /// Energy needed to play it.
    pub cost: u8,
    /// A unit's attack and health; both 0 for a spell.
    #[serde(default)]
    pub attack: u16,
    #[serde(default)]
    pub health: u16,
    /// What playing it does, in order.
    #[serde(default)]
    pub effects: Vec<Effect>,
    /// Rules text shown on the card.
    #[serde(default)]
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardKind {
    /// Stays on the board and attacks.
    Unit,
    /// Takes effect once and is discarded.
    Spell,
}

/// The closed set of card effects the duel rules understand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Damage(u16),
    Heal(u16),
    Draw(u8),
    Buff {
        attack: u16,
        health: u16,
    },
    /// Put a copy of this unit card on the board.
    Summon(CardId),
}

/// A zone (`zones.ron`). Every player's farm is in a zone; a zone is a room on a shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    pub id: ZoneId,
    pub name: String,
    /// Plots a new farm in this zone starts with (tilled).
    pub farm_plots: u16,
    /// The zone has a market stall: players here can buy and sell.
    #[serde(default)]
    pub market: bool,
    /// The zone is an arena: players here can queue for card duels.
    #[serde(default)]
    pub arena: bool,
}

/// The numbers card duels are played with (`duel.ron`). A duel keeps the rules it started
/// with, so a reload changes only the duels that start after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuelRules {
    /// Cards in a deck, exactly.
    pub deck_size: u8,
    /// Copies of one card a deck may hold.
    pub max_copies: u8,
    pub hero_health: u16,
    pub starting_hand: u8,
    /// Cards drawn into a full hand are burned.
    pub max_hand: u8,
    pub max_energy: u8,
    /// Units one side may have on the board.
    pub max_board: u8,
    /// A turn ends by itself after this many world ticks.
    pub turn_ticks: u32,
    /// The duel is a draw once this many turns (both sides' together) have been played.
    pub max_turns: u16,
    /// A duelist who disconnects forfeits unless back within this many world ticks.
    #[serde(default = "default_grace")]
    pub disconnect_grace_ticks: u32,
    /// Coins paid through the ledger when a rated duel ends.
    #[serde(default)]
    pub rewards: DuelRewards,
    /// How the arena queue pairs players.
    #[serde(default)]
    pub matchmaking: Matchmaking,
}

fn default_grace() -> u32 {
    600
}

/// Coins each duelist is paid when a duel ends, by result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuelRewards {
    pub win: u32,
    pub draw: u32,
    pub loss: u32,
    /// A duel over before this turn (both sides' turns together) pays nothing: a conceded
    /// opening is not a way to mint coins.
    #[serde(default = "default_min_turns")]
    pub min_turns: u16,
}

fn default_min_turns() -> u16 {
    4
}

impl Default for DuelRewards {
    fn default() -> Self {
        DuelRewards {
            win: 30,
            draw: 15,
            loss: 10,
            min_turns: default_min_turns(),
        }
    }
}

/// The arena queue's rating window: two players are paired when their ratings differ by at
/// most `window + widen_per_second × seconds waited` (the shorter wait of the two), capped at
/// `max_window`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Matchmaking {
    pub window: u16,
    pub widen_per_second: u16,
    pub max_window: u16,
}

impl Default for Matchmaking {
    fn default() -> Self {
        Matchmaking {
            window: 100,
            widen_per_second: 20,
            max_window: 800,
        }
    }
}

impl Default for DuelRules {
    fn default() -> Self {
        DuelRules {
            deck_size: 12,
            max_copies: 3,
            hero_health: 20,
            starting_hand: 3,
            max_hand: 8,
            max_energy: 10,
            max_board: 5,
            turn_ticks: 600,
            max_turns: 60,
            disconnect_grace_ticks: default_grace(),
            rewards: DuelRewards::default(),
            matchmaking: Matchmaking::default(),
        }
    }
}

/// Economy constants (`economy.ron`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Economy {
    /// Zone a new player starts in.
    pub start_zone: ZoneId,
    /// Coins a new player starts with.
    pub start_coins: u32,
    /// Items a new player starts with.
    #[serde(default)]
    pub start_items: BTreeMap<ItemId, u32>,
    /// Cards a new player starts with (enough for a first deck lets them duel at once).
    #[serde(default)]
    pub start_cards: BTreeMap<CardId, u32>,
    /// Ticks one watering keeps a crop growing; after that it stalls until watered again.
    pub water_ticks: u32,
    /// Buying more plots.
    pub expansion: Expansion,
}

/// Farm expansion: step `n` (0-based) costs `prices[n]` coins and adds `plots` untilled plots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expansion {
    pub plots: u16,
    pub prices: Vec<u32>,
}

/// All loaded and validated content. Every id referenced anywhere resolves.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub items: BTreeMap<ItemId, ItemDef>,
    pub crops: BTreeMap<CropId, CropDef>,
    pub recipes: BTreeMap<RecipeId, RecipeDef>,
    pub cards: BTreeMap<CardId, CardDef>,
    pub zones: BTreeMap<ZoneId, ZoneDef>,
    pub economy: Economy,
    pub duel: DuelRules,
    /// Short hash of every content file; shards, the sidecar and clients compare it.
    pub version: String,
}

impl Content {
    pub fn crop(&self, id: &CropId) -> Option<&CropDef> {
        self.crops.get(id)
    }
    pub fn item(&self, id: &ItemId) -> Option<&ItemDef> {
        self.items.get(id)
    }
    pub fn recipe(&self, id: &RecipeId) -> Option<&RecipeDef> {
        self.recipes.get(id)
    }
    pub fn card(&self, id: &CardId) -> Option<&CardDef> {
        self.cards.get(id)
    }
    pub fn zone(&self, id: &ZoneId) -> Option<&ZoneDef> {
        self.zones.get(id)
    }
    /// The first arena zone, if content has one.
    pub fn arena(&self) -> Option<&ZoneDef> {
        self.zones.values().find(|z| z.arena)
    }
    /// The most an item can be held, or 0 for an item content does not know.
    pub fn stack(&self, id: &ItemId) -> u32 {
        self.items.get(id).map_or(0, |d| d.stack)
    }
}
