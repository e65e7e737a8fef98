//! The economy ledger's vocabulary: a [`Delta`] is one change of a player's coins, items and
//! cards, and an [`EntryKind`] says what caused it.
//!
//! Every rule that changes holdings returns its delta next to its event; the shard applies it
//! to the live state and appends it to the ledger, and the sidecar commits ledger rows together
//! with the player's state under the ownership lease. Holdings are therefore always the sum of
//! the ledger, which is what `harvest-sidecar audit` checks.

use crate::ids::{CardId, ItemId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A change of holdings: coins, and counts per item and per card (positive: gained).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delta {
    #[serde(default)]
    pub coins: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<ItemId, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cards: BTreeMap<CardId, i64>,
}

impl Delta {
    pub fn coins(coins: i64) -> Self {
        Delta {
            coins,
            ..Default::default()
        }
    }

    /// Add `n` of `item` (negative: remove), merging with what the delta already holds.
    pub fn item(mut self, item: &ItemId, n: i64) -> Self {
        *self.items.entry(item.clone()).or_insert(0) += n;
        self.items.retain(|_, v| *v != 0);
        self
    }

    /// Add `n` copies of `card`.
    pub fn card(mut self, card: &CardId, n: i64) -> Self {
        *self.cards.entry(card.clone()).or_insert(0) += n;
        self.cards.retain(|_, v| *v != 0);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.coins == 0 && self.items.is_empty() && self.cards.is_empty()
    }

    /// Add another delta into this one.
    pub fn merge(&mut self, other: &Delta) {
        self.coins += other.coins;
        for (k, v) in &other.items {
            *self.items.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &other.cards {
            *self.cards.entry(k.clone()).or_insert(0) += v;
        }
        self.items.retain(|_, v| *v != 0);
        self.cards.retain(|_, v| *v != 0);
    }
}

/// What caused a ledger entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The holdings an account starts its ledger with (content's start, or what an older
    /// save held).
    Opening,
    Plant,
    Fertilize,
    Harvest,
    Expand,
    Buy,
    Sell,
    Craft,
    /// Coins for a finished duel, paid by the sidecar with the match record.
    DuelReward,
}

impl EntryKind {
    /// Is the client told "done" only once the sidecar has committed it (acknowledged means
    /// durable)? The others are farming moves, saved write-behind.
    pub fn is_economy(self) -> bool {
        matches!(
            self,
            EntryKind::Expand | EntryKind::Buy | EntryKind::Sell | EntryKind::Craft
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Opening => "opening",
            EntryKind::Plant => "plant",
            EntryKind::Fertilize => "fertilize",
            EntryKind::Harvest => "harvest",
            EntryKind::Expand => "expand",
            EntryKind::Buy => "buy",
            EntryKind::Sell => "sell",
            EntryKind::Craft => "craft",
            EntryKind::DuelReward => "duel_reward",
        }
    }
}

/// What one rule did to holdings: the ledger row before it is keyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: EntryKind,
    /// What it was about (a crop, an item, a recipe...), for players and support.
    pub detail: String,
    pub delta: Delta,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_nets_out() {
        let a = ItemId::new("a");
        let d = Delta::coins(-5).item(&a, -3).item(&a, 1);
        assert_eq!(d.items[&a], -2);
        let mut e = Delta::coins(5).item(&a, 2);
        e.merge(&d);
        assert!(e.is_empty(), "{e:?}");
    }
}
