//! The action pipeline every feature follows.
//!
//! A feature (farming, market and crafting now; decks and duels next) defines in `shared/`:
//! - one action enum, e.g. [`crate::farming::FarmAction`];
//! - one pure rule `apply(&action, state, &Content, now) -> Result<Applied<Event>, Reason>`
//!   that checks everything before it changes anything, so a refusal leaves the state
//!   untouched. When it moves coins, items or cards, [`Applied::change`] carries the ledger
//!   row for it (see [`crate::ledger`]).
//!
//! On the wire a client sends one [`Request`] message per feature: its own request id and the
//! action. The shard answers every request it processes with an `ActionNotice` (same id, `Ok`
//! or the typed reason). A farming move is answered at once; an economy event (buy, sell,
//! craft, expand) only once the sidecar has committed its ledger row: acknowledged means
//! durable. The client calls the very same `apply` for instant feedback; the shard calls it to
//! decide. Requests carry no entity or account: the shard applies them to the state of the
//! link that sent them.

use crate::ledger::Change;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;

/// One request: the client's id for it (echoed in the answer) and the feature's action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request<A> {
    pub request_id: u32,
    pub action: A,
}

/// A feature's action enum. `FEATURE` names it in logs and counters.
pub trait Action:
    Clone + Debug + PartialEq + Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static
{
    const FEATURE: &'static str;
}

/// What a rule did: its event, and the change of holdings to record, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied<E> {
    pub event: E,
    pub change: Option<Change>,
}

impl<E> Applied<E> {
    /// Nothing held changed (watering, tilling...).
    pub fn only(event: E) -> Self {
        Applied {
            event,
            change: None,
        }
    }
}
