//! The arena: queueing for a duel and pairing the queue, as pure functions the shard's
//! matchmaking systems call.
//!
//! A player in an arena zone queues with one of their decks ([`ArenaAction::Queue`]) and may
//! leave the queue at any time ([`ArenaAction::Leave`]). [`pair`] matches waiting players whose
//! ratings are within both of their windows; a window starts at `matchmaking.window` and widens
//! by `widen_per_second` for every second waited, up to `max_window` (content, `duel.ron`), so
//! a lone player is matched by rating at first and by anyone soon after.

use super::deck::DeckError;
use crate::content::Matchmaking;
use crate::time::{Tick, WORLD_TICK_MS};
use serde::{Deserialize, Serialize};

/// Queueing in the arena.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ArenaAction {
    /// Wait for an opponent, bringing deck `deck` (an id from your `Decks`).
    Queue { deck: u32 },
    /// Leave the queue.
    Leave,
}

impl crate::action::Action for ArenaAction {
    const FEATURE: &'static str = "arena";
}

/// Why an arena request was refused. Nothing changed.
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
pub enum ArenaError {
    #[error("duels are fought in the arena: travel there first")]
    NotInArena,
    #[error("you have no deck {0}")]
    NoSuchDeck(u32),
    #[error("that deck cannot be played: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    IllegalDeck(Vec<DeckError>),
    #[error("you are already waiting in the queue")]
    AlreadyQueued,
    #[error("you are not in the queue")]
    NotQueued,
    #[error("you are in a duel")]
    InDuel,
    #[error("the arena queue is full; try again shortly")]
    QueueFull,
}

/// One player waiting in the queue, as [`pair`] sees them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Waiting {
    pub rating: f64,
    pub since: Tick,
}

/// How far from their own rating a player waiting since `since` accepts an opponent at `now`.
pub fn window(m: &Matchmaking, since: Tick, now: Tick) -> f64 {
    let seconds = since.until(now) as f64 * WORLD_TICK_MS as f64 / 1000.0;
    (f64::from(m.window) + f64::from(m.widen_per_second) * seconds).min(f64::from(m.max_window))
}

/// Pairs of queue indices to start duels for. Neighbours in rating order are paired when
/// their difference is within both players' windows; each player is in at most one pair.
/// O(n log n).
pub fn pair(queue: &[Waiting], now: Tick, m: &Matchmaking) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..queue.len()).collect();
    order.sort_by(|&a, &b| queue[a].rating.total_cmp(&queue[b].rating));
    let mut pairs = Vec::new();
    let mut i = 0;
    while i + 1 < order.len() {
        let (a, b) = (order[i], order[i + 1]);
        let gap = (queue[a].rating - queue[b].rating).abs();
        let accepts = window(m, queue[a].since, now).min(window(m, queue[b].since, now));
        if gap <= accepts {
            pairs.push((a, b));
            i += 2;
        } else {
            i += 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Matchmaking = Matchmaking {
        window: 100,
        widen_per_second: 20,
        max_window: 800,
    };

    fn w(rating: f64, since: u64) -> Waiting {
        Waiting {
            rating,
            since: Tick(since),
        }
    }

    #[test]
    fn the_window_widens_with_waiting_and_stops_at_the_cap() {
        assert_eq!(window(&M, Tick(0), Tick(0)), 100.0);
        // 10 s = 200 ticks: +200.
        assert_eq!(window(&M, Tick(0), Tick(200)), 300.0);
        assert_eq!(window(&M, Tick(0), Tick(1_000_000)), 800.0);
    }

    #[test]
    fn close_ratings_pair_at_once_far_ones_only_after_waiting() {
        let q = [w(1500.0, 0), w(1550.0, 0), w(1900.0, 0)];
        assert_eq!(pair(&q, Tick(0), &M), vec![(0, 1)]);
        // 1500 and 1900 are 400 apart: both windows must reach 400, i.e. 15 s of waiting.
        let q = [w(1500.0, 0), w(1900.0, 0)];
        assert!(pair(&q, Tick(0), &M).is_empty());
        assert!(pair(&q, Tick(14 * 20), &M).is_empty());
        assert_eq!(pair(&q, Tick(15 * 20), &M), vec![(0, 1)]);
        // The newcomer's narrow window holds the pair back even when the other waited long.
        let q = [w(1500.0, 0), w(1900.0, 10_000)];
        assert!(pair(&q, Tick(10_000), &M).is_empty());
    }

    #[test]
    fn every_player_is_in_at_most_one_pair() {
        let q: Vec<Waiting> = (0..101).map(|i| w(1500.0 + f64::from(i), 0)).collect();
        let pairs = pair(&q, Tick(0), &M);
        assert_eq!(pairs.len(), 50);
        let mut seen = std::collections::HashSet::new();
        for (a, b) in pairs {
            assert!(seen.insert(a) && seen.insert(b));
        }
    }
}
