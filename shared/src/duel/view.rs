//! What the shard replicates of duels, and to whom. Hidden information never leaves the shard:
//!
//! - [`DuelBoard`], on the duel's entity, replicated to its two duelists only: everything both
//!   may see. Hands are counts; decks are counts (their order is never sent anywhere).
//! - [`DuelSeat`], on a duelist's own player entity (replicated to them only): their side and
//!   the cards in their own hand.
//! - [`ArenaStatus`], on every player entity (to its owner only): queued or not, in a duel or
//!   not, their rating and their last result.

use super::rating::Rating;
use super::{Duel, DuelEvent, Outcome, Side, Unit};
use crate::ids::{AccountId, CardId};
use crate::time::Tick;
use serde::{Deserialize, Serialize};

/// Events kept in a board's play log.
pub const BOARD_LOG: usize = 12;

/// The public face of a duel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct DuelBoard {
    pub match_id: String,
    /// Side A's and side B's accounts.
    pub accounts: [AccountId; 2],
    pub active: Side,
    pub turn: u16,
    pub turn_started: Tick,
    /// The active side's turn ends by itself at `turn_started + turn_ticks`.
    pub turn_ticks: u32,
    pub health: [u16; 2],
    pub energy: [u8; 2],
    pub max_energy: [u8; 2],
    /// Cards in each hand: a count only.
    pub hand_counts: [u8; 2],
    /// Cards left in each deck: a count only.
    pub deck_counts: [u8; 2],
    pub boards: [Vec<Unit>; 2],
    /// A side that disconnected forfeits at this tick unless it comes back.
    pub away_until: [Option<Tick>; 2],
    pub outcome: Option<Outcome>,
    /// The last [`BOARD_LOG`] events, oldest first.
    pub log: Vec<DuelEvent>,
}

impl DuelBoard {
    /// The public face of `duel`.
    pub fn of(duel: &Duel, match_id: &str, accounts: [AccountId; 2]) -> Self {
        let a = duel.side(Side::A);
        let b = duel.side(Side::B);
        let n = |v: usize| v.min(u8::MAX as usize) as u8;
        DuelBoard {
            match_id: match_id.to_owned(),
            accounts,
            active: duel.active,
            turn: duel.turn,
            turn_started: duel.turn_started,
            turn_ticks: duel.rules.turn_ticks,
            health: [a.health, b.health],
            energy: [a.energy, b.energy],
            max_energy: [a.max_energy, b.max_energy],
            hand_counts: [n(a.hand.len()), n(b.hand.len())],
            deck_counts: [n(a.deck.len()), n(b.deck.len())],
            boards: [a.board.clone(), b.board.clone()],
            away_until: [None, None],
            outcome: duel.outcome,
            log: Vec::new(),
        }
    }

    /// Add events to the play log, keeping the last [`BOARD_LOG`].
    pub fn push_log(&mut self, events: impl IntoIterator<Item = DuelEvent>) {
        self.log.extend(events);
        let extra = self.log.len().saturating_sub(BOARD_LOG);
        self.log.drain(..extra);
    }

    /// When the active side's turn ends by itself.
    pub fn deadline(&self) -> Tick {
        self.turn_started.saturating_add(u64::from(self.turn_ticks))
    }
}

/// A duelist's own seat: replicated to them only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct DuelSeat {
    /// The duel this seat is in (its board carries the same id).
    pub match_id: String,
    pub side: Side,
    pub hand: Vec<CardId>,
}

/// Where a player stands in the arena.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum ArenaState {
    #[default]
    Idle,
    Queued {
        deck: u32,
        since: Tick,
    },
    InDuel,
}

/// A player's arena status, replicated to them only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "net", derive(bevy::prelude::Component))]
pub struct ArenaStatus {
    pub state: ArenaState,
    pub rating: Rating,
    /// The last duel's result, once recorded.
    pub last: Option<DuelResult>,
}

/// How a duel ended for one duelist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Result3 {
    Win,
    Loss,
    Draw,
}

impl Result3 {
    /// `side`'s result in a duel that ended `outcome`.
    pub fn of(outcome: Outcome, side: Side) -> Result3 {
        match outcome {
            Outcome::Draw => Result3::Draw,
            Outcome::Won(s) if s == side => Result3::Win,
            Outcome::Won(_) => Result3::Loss,
        }
    }

    /// The Glicko-2 score.
    pub fn score(self) -> f64 {
        match self {
            Result3::Win => 1.0,
            Result3::Draw => 0.5,
            Result3::Loss => 0.0,
        }
    }
}

/// One duelist's result, once the match is recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuelResult {
    pub match_id: String,
    pub opponent: AccountId,
    pub result: Result3,
    pub rating_before: Rating,
    pub rating_after: Rating,
    /// Coins paid through the ledger.
    pub reward: u32,
}

impl DuelBoard {
    /// A duel as `me` can know it, for planning a move (bots, client hints): the board, both
    /// heroes and energies exact; `hand` is mine; the hidden cards (both decks, the opponent's
    /// hand) are stand-ins of the right number (copies of `filler`). Moves `me` may make
    /// resolve as they will on the shard, except what a draw would bring.
    pub fn reconstruct(
        &self,
        me: Side,
        hand: &[CardId],
        rules: &super::DuelRules,
        filler: &CardId,
    ) -> Duel {
        let side = |i: usize| {
            let s = if i == 0 { Side::A } else { Side::B };
            super::Duelist {
                health: self.health[i],
                energy: self.energy[i],
                max_energy: self.max_energy[i],
                deck: vec![filler.clone(); usize::from(self.deck_counts[i])],
                hand: if s == me {
                    hand.to_vec()
                } else {
                    vec![filler.clone(); usize::from(self.hand_counts[i])]
                },
                board: self.boards[i].clone(),
                fatigue: 0,
            }
        };
        let next_unit = self
            .boards
            .iter()
            .flatten()
            .map(|u| u.id + 1)
            .max()
            .unwrap_or(0);
        Duel {
            seed: 0,
            rules: rules.clone(),
            sides: [side(0), side(1)],
            turn: self.turn,
            active: self.active,
            turn_started: self.turn_started,
            outcome: self.outcome,
            next_unit,
        }
    }
}
