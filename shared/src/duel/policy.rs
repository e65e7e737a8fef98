//! A sensible duelist for bots: one move at a time, the legal move whose result scores best
//! (a greedy look one move ahead), or the end of the turn when no move improves the position.
//!
//! The score: a won duel above everything, a lost one below; otherwise hero health, the
//! attack and health on each board and the cards in hand, mine minus the opponent's. So a bot
//! takes lethal when it has it, plays its cards, makes trades that favour it, aims damage at
//! what it kills, and does not attack into a wall for nothing.

use super::{Duel, DuelAction, Outcome, Side};
use crate::content::Content;
use crate::time::Tick;

/// How good `duel` is for `me`.
fn score(duel: &Duel, me: Side) -> i64 {
    match duel.outcome {
        Some(Outcome::Won(s)) if s == me => return i64::MAX / 2,
        Some(Outcome::Won(_)) => return i64::MIN / 2,
        Some(Outcome::Draw) => return 0,
        None => {}
    }
    let side = |s: Side| {
        let d = duel.side(s);
        let board: i64 = d
            .board
            .iter()
            .map(|u| 2 * i64::from(u.attack) + i64::from(u.health))
            .sum();
        3 * i64::from(d.health) + board + 2 * d.hand.len() as i64
    };
    side(me) - side(me.other())
}

/// The active side's next move: the best-scoring legal move if it improves on the position,
/// else `EndTurn`. `None` once the duel is over.
pub fn sensible_move(duel: &Duel, content: &Content, now: Tick) -> Option<DuelAction> {
    if duel.outcome.is_some() {
        return None;
    }
    let me = duel.active;
    let here = score(duel, me);
    let mut best: Option<(i64, DuelAction)> = None;
    for action in duel.legal_actions(me, content) {
        if matches!(action, DuelAction::EndTurn | DuelAction::Concede) {
            continue;
        }
        let mut next = duel.clone();
        if next.apply(me, &action, content, now).is_err() {
            continue;
        }
        let s = score(&next, me);
        if s > here && best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, action));
        }
    }
    Some(best.map_or(DuelAction::EndTurn, |(_, a)| a))
}
