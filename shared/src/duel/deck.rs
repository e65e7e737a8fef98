//! Decks: which cards a duelist brings. A deck is legal when it has exactly
//! [`DuelRules::deck_size`] cards, every card is in content, no card appears more than
//! [`DuelRules::max_copies`] times, and the player owns every copy (their [`Collection`]).

use super::DuelRules;
use crate::content::Content;
use crate::ids::CardId;
use crate::inventory::Collection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Why a deck cannot be used. Every problem of a deck is reported, in card order.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum DeckError {
    #[error("a deck holds exactly {want} cards; this one has {got}")]
    Size { want: u8, got: usize },
    #[error("card '{0}' is not in content")]
    UnknownCard(CardId),
    #[error("at most {max} copies of '{card}'; this deck has {got}")]
    TooManyCopies { card: CardId, max: u8, got: u32 },
    #[error("you own {owned} of '{card}'; this deck needs {need}")]
    NotOwned { card: CardId, owned: u32, need: u32 },
}

/// Check `cards` as a deck for a player owning `owned`. All the problems, or `Ok`.
pub fn validate_deck(
    cards: &[CardId],
    owned: &Collection,
    content: &Content,
    rules: &DuelRules,
) -> Result<(), Vec<DeckError>> {
    let mut problems = Vec::new();
    if cards.len() != usize::from(rules.deck_size) {
        problems.push(DeckError::Size {
            want: rules.deck_size,
            got: cards.len(),
        });
    }
    let mut counts: BTreeMap<&CardId, u32> = BTreeMap::new();
    for c in cards {
        *counts.entry(c).or_default() += 1;
    }
    for (card, n) in counts {
        if content.card(card).is_none() {
            problems.push(DeckError::UnknownCard(card.clone()));
            continue;
        }
        if n > u32::from(rules.max_copies) {
            problems.push(DeckError::TooManyCopies {
                card: card.clone(),
                max: rules.max_copies,
                got: n,
            });
        }
        if owned.count(card) < n {
            problems.push(DeckError::NotOwned {
                card: card.clone(),
                owned: owned.count(card),
                need: n,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A short hash of a deck's contents (order does not matter), for match records.
pub fn deck_hash(cards: &[CardId]) -> String {
    let mut sorted: Vec<&str> = cards.iter().map(|c| c.as_str()).collect();
    sorted.sort_unstable();
    hex::encode(&Sha256::digest(sorted.join(",").as_bytes())[..8])
}
