//! What a player holds: coins and items ([`Inventory`]) and cards ([`Collection`]).
//!
//! Holdings change only through a [`Delta`]: every rule that moves coins, items or cards
//! builds one, and [`apply`] checks all of it before it changes anything, so the invariants
//! hold by construction: no count below zero, no item above its stack, no wallet overflow.
//! The same delta is the economy ledger's row for the change (see [`crate::ledger`]).

use crate::content::Content;
use crate::ids::{CardId, ItemId};
use crate::ledger::Delta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most copies of one card a collection holds.
pub const MAX_CARD_COPIES: u32 = 999;

/// Coins and items. Replicated to its owner only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Inventory {
    pub coins: u32,
    /// Count per item; an item held zero times has no entry.
    pub items: BTreeMap<ItemId, u32>,
}

impl Inventory {
    pub fn count(&self, item: &ItemId) -> u32 {
        self.items.get(item).copied().unwrap_or(0)
    }
}

/// The cards a player owns, with copies. Replicated to its owner only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Collection {
    pub cards: BTreeMap<CardId, u32>,
}

impl Collection {
    pub fn count(&self, card: &CardId) -> u32 {
        self.cards.get(card).copied().unwrap_or(0)
    }
}

/// Everything a player holds: what the economy ledger adds up to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Holdings {
    pub inventory: Inventory,
    pub collection: Collection,
}

impl Holdings {
    /// What a new player starts with, from content.
    pub fn start(content: &Content) -> Self {
        Holdings {
            inventory: Inventory {
                coins: content.economy.start_coins,
                items: content.economy.start_items.clone(),
            },
            collection: Collection {
                cards: content.economy.start_cards.clone(),
            },
        }
    }
}

/// Why a change of holdings was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum HoldError {
    #[error("not enough coins: need {need}, have {have}")]
    NotEnoughCoins { need: u64, have: u32 },
    #[error("not enough '{item}': need {need}, have {have}")]
    NotEnoughItems { item: ItemId, need: u64, have: u32 },
    #[error("no room for more '{item}': at most {stack} can be held")]
    StackFull { item: ItemId, stack: u32 },
    #[error("the wallet is full")]
    WalletFull,
    #[error("no room for more copies of card '{card}'")]
    CollectionFull { card: CardId },
}

fn add_checked(have: u32, delta: i64) -> Option<u32> {
    u32::try_from(i64::from(have).checked_add(delta)?).ok()
}

/// Apply `delta` to the holdings, or change nothing and say why. Stacks come from `content`;
/// an item content no longer knows can be removed but not added.
pub fn apply(
    delta: &Delta,
    inv: &mut Inventory,
    col: Option<&mut Collection>,
    content: &Content,
) -> Result<(), HoldError> {
    // Check everything first.
    let coins = add_checked(inv.coins, delta.coins).ok_or(if delta.coins < 0 {
        HoldError::NotEnoughCoins {
            need: delta.coins.unsigned_abs(),
            have: inv.coins,
        }
    } else {
        HoldError::WalletFull
    })?;
    let mut items = Vec::with_capacity(delta.items.len());
    for (item, &d) in &delta.items {
        let have = inv.count(item);
        let stack = content.stack(item);
        match add_checked(have, d) {
            None if d < 0 => {
                return Err(HoldError::NotEnoughItems {
                    item: item.clone(),
                    need: d.unsigned_abs(),
                    have,
                });
            }
            Some(n) if d <= 0 || n <= stack => items.push((item, n)),
            _ => {
                return Err(HoldError::StackFull {
                    item: item.clone(),
                    stack,
                });
            }
        }
    }
    let mut cards = Vec::with_capacity(delta.cards.len());
    if !delta.cards.is_empty() {
        let Some(col) = col.as_deref() else {
            // A rule without the collection in its state cannot move cards: a bug, refused.
            let card = delta
                .cards
                .keys()
                .next()
                .cloned()
                .unwrap_or(CardId::new("?"));
            return Err(HoldError::CollectionFull { card });
        };
        for (card, &d) in &delta.cards {
            let have = col.count(card);
            match add_checked(have, d) {
                Some(n) if d <= 0 || n <= MAX_CARD_COPIES => cards.push((card, n)),
                _ => return Err(HoldError::CollectionFull { card: card.clone() }),
            }
        }
    }
    // Then change it all.
    inv.coins = coins;
    for (item, n) in items {
        if n == 0 {
            inv.items.remove(item);
        } else {
            inv.items.insert(item.clone(), n);
        }
    }
    if let Some(col) = col {
        for (card, n) in cards {
            if n == 0 {
                col.cards.remove(card);
            } else {
                col.cards.insert(card.clone(), n);
            }
        }
    }
    Ok(())
}
