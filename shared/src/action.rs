//! The action pipeline every feature follows.
//!
//! A feature (farming now; market, crafting, decks and duels next) defines in `shared/`:
//! - one action enum, e.g. [`crate::farming::FarmAction`];
//! - one pure rule `apply(&action, state, &Content, now) -> Result<Event, Reason>` that checks
//!   everything before it changes anything, so a refusal leaves the state untouched.
//!
//! On the wire a client sends one [`Request`] message per feature: its own request id and the
//! action. The shard answers every request it processes with an `ActionNotice` (same id, `Ok`
//! or the typed reason). The client calls the very same `apply` for instant feedback; the shard
//! calls it to decide. Requests carry no entity or account: the shard applies them to the state
//! of the link that sent them.

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
