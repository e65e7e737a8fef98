//! Decks: which cards a duelist brings. A deck is legal when it has exactly
//! [`DuelRules::deck_size`] cards, every card is in content, no card appears more than
//! [`DuelRules::max_copies`] times, and the player owns every copy (their [`Collection`]).
//!
//! A player keeps up to [`MAX_DECKS`] named decks ([`Decks`], persisted with their state and
//! replicated to them only) and edits them with [`DeckAction`]s through [`apply`]: create,
//! rename, set cards, delete. Setting cards checks the whole deck; a deck is checked again
//! when it is taken to the arena (the collection or content may have changed since).

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
        // A list far too long is not looked into (it comes from a client).
        if cards.len() > MAX_DECK_CARDS {
            return Err(problems);
        }
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

/// The most decks one player keeps.
pub const MAX_DECKS: usize = 8;
/// The longest deck name, in characters.
pub const MAX_DECK_NAME: usize = 24;
/// The most cards a deck list may name before it is refused unread (content's `deck_size` is
/// at most 60).
pub const MAX_DECK_CARDS: usize = 60;

/// One named deck. `cards` is empty until set; a set deck was legal when it was set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deck {
    pub id: u32,
    pub name: String,
    pub cards: Vec<CardId>,
}

/// A player's decks. Replicated to its owner only; persisted in `PlayerState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct Decks {
    pub decks: Vec<Deck>,
    /// The id the next created deck gets.
    pub next_id: u32,
}

impl Decks {
    pub fn get(&self, id: u32) -> Option<&Deck> {
        self.decks.iter().find(|d| d.id == id)
    }
}

/// Editing decks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DeckAction {
    Create {
        name: String,
    },
    Rename {
        deck: u32,
        name: String,
    },
    /// Replace the deck's cards; the whole list must be a legal deck.
    SetCards {
        deck: u32,
        cards: Vec<CardId>,
    },
    Delete {
        deck: u32,
    },
}

impl crate::action::Action for DeckAction {
    const FEATURE: &'static str = "deck";
}

/// Why a deck edit was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum DeckEditError {
    #[error("you have no deck {0}")]
    NoSuchDeck(u32),
    #[error("you already have {MAX_DECKS} decks")]
    TooManyDecks,
    #[error("a deck name is 1 to {MAX_DECK_NAME} printable characters")]
    BadName,
    #[error("that is not a legal deck: {}", list(.0))]
    Illegal(Vec<DeckError>),
}

fn list(errors: &[DeckError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a deck edit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeckEvent {
    Created(u32),
    Renamed(u32),
    Set(u32),
    Deleted(u32),
}

fn check_name(name: &str) -> Result<String, DeckEditError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_DECK_NAME || name.chars().any(char::is_control) {
        return Err(DeckEditError::BadName);
    }
    Ok(name.to_owned())
}

/// Apply one deck edit for a player owning `owned`: all checked before anything changes.
pub fn apply(
    action: &DeckAction,
    decks: &mut Decks,
    owned: &Collection,
    content: &Content,
) -> Result<DeckEvent, DeckEditError> {
    let index = |decks: &Decks, id: u32| {
        decks
            .decks
            .iter()
            .position(|d| d.id == id)
            .ok_or(DeckEditError::NoSuchDeck(id))
    };
    match action {
        DeckAction::Create { name } => {
            let name = check_name(name)?;
            if decks.decks.len() >= MAX_DECKS {
                return Err(DeckEditError::TooManyDecks);
            }
            let id = decks.next_id;
            decks.next_id = decks.next_id.wrapping_add(1);
            decks.decks.push(Deck {
                id,
                name,
                cards: Vec::new(),
            });
            Ok(DeckEvent::Created(id))
        }
        DeckAction::Rename { deck, name } => {
            let i = index(decks, *deck)?;
            decks.decks[i].name = check_name(name)?;
            Ok(DeckEvent::Renamed(*deck))
        }
        DeckAction::SetCards { deck, cards } => {
            let i = index(decks, *deck)?;
            validate_deck(cards, owned, content, &content.duel).map_err(DeckEditError::Illegal)?;
            decks.decks[i].cards = cards.clone();
            Ok(DeckEvent::Set(*deck))
        }
        DeckAction::Delete { deck } => {
            let i = index(decks, *deck)?;
            decks.decks.remove(i);
            Ok(DeckEvent::Deleted(*deck))
        }
    }
}

/// The legal deck a player owning `owned` can build with the most copies allowed of each card,
/// cheapest first, until it is full (for bots and the deck editor's auto-fill). `None` when too
/// few cards are owned.
pub fn best_deck(owned: &Collection, content: &Content) -> Option<Vec<CardId>> {
    let rules = &content.duel;
    let mut cards: Vec<_> = content.cards.values().collect();
    cards.sort_by_key(|c| (c.cost, c.id.clone()));
    let mut deck = Vec::new();
    for c in cards {
        let n = owned.count(&c.id).min(u32::from(rules.max_copies));
        for _ in 0..n {
            if deck.len() < usize::from(rules.deck_size) {
                deck.push(c.id.clone());
            }
        }
    }
    (deck.len() == usize::from(rules.deck_size)).then_some(deck)
}
