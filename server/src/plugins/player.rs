//! Data only: the components and messages that describe players and their links. Every other
//! plugin imports these; this module imports none of them, which keeps the lifecycle
//! ([`super::players`]) and persistence ([`super::persistence`]) from depending on each other.
//!
//! - A *link* is a lightyear connection; once authenticated it carries a [`Session`].
//! - A *player* is one entity per online account: [`Player`] (server-only bookkeeping) plus the
//!   replicated `PlayerInfo`, `Farm`, `Inventory` and `Collection`.

use bevy::prelude::*;
use harvest_shared::api::LedgerEntry;
use harvest_shared::duel::Decks;
use harvest_shared::farming::Farm;
use harvest_shared::ids::{AccountId, ZoneId};
use harvest_shared::ledger::Change;
use harvest_shared::protocol::{KickReason, PlayerInfo};
use harvest_shared::state::PlayerState;
use std::time::Duration;

/// On a link entity: the account it authenticated as, and its player entity once loaded.
#[derive(Component, Debug, Clone)]
pub struct Session {
    pub account: AccountId,
    pub player: Option<Entity>,
}

/// On a player entity: server-only bookkeeping (not replicated).
#[derive(Component, Debug)]
pub struct Player {
    pub account: AccountId,
    /// The link driving this player (none while it is being handed over).
    pub link: Option<Entity>,
    /// The epoch of the ownership lease this shard holds for the account.
    pub epoch: i64,
    /// When the oldest change not yet handed to the save queue happened.
    pub dirty_since: Option<Duration>,
    /// Ledger entries recorded since the last hand-over to the save queue, oldest first.
    pub ledger: Vec<LedgerEntry>,
    /// The sequence number of the next ledger entry in this lease (keys are `EPOCH:SEQ`).
    pub next_seq: u64,
    /// An economy event waits for its commit: hand this player to the queue at once.
    pub urgent: bool,
    /// When the player was loaded here.
    pub arrived: Duration,
}

/// On a player entity being handed off to another shard (see `plugins::handoff`): its last
/// state is saved and released, and its requests are refused, until the client is given a
/// ticket to the shard hosting `zone`.
#[derive(Component, Debug, Clone)]
pub struct Departing {
    pub zone: ZoneId,
    /// When the handoff began.
    pub since: Duration,
    /// When to ask for a ticket (again) once the release save is confirmed; `None`: at once.
    pub ask_at: Option<Duration>,
    /// The backend asks for the ticket with the release save's answer: once the save is seen
    /// confirmed, the shard waits a little for that ticket before asking itself.
    pub with_save: bool,
    /// The client was given its ticket, or let go without one: nothing more to do.
    pub let_go: bool,
}

impl Player {
    /// A player just loaded under the lease `epoch`, at `arrived`.
    pub fn new(account: AccountId, link: Entity, epoch: i64, arrived: Duration) -> Self {
        Player {
            account,
            link: Some(link),
            epoch,
            dirty_since: None,
            ledger: Vec::new(),
            next_seq: 0,
            urgent: false,
            arrived,
        }
    }

    pub fn mark_dirty(&mut self, now: Duration) {
        self.dirty_since.get_or_insert(now);
    }

    /// Record a change of holdings as a ledger entry; its key.
    pub fn record(&mut self, change: Change) -> String {
        let key = format!("{}:{}", self.epoch, self.next_seq);
        self.next_seq += 1;
        self.ledger.push(LedgerEntry {
            key: key.clone(),
            kind: change.kind,
            detail: change.detail,
            delta: change.delta,
        });
        key
    }
}

/// The persisted form of a live player's world state (holdings travel as ledger entries).
pub fn snapshot(info: &PlayerInfo, farm: &Farm, decks: &Decks) -> PlayerState {
    PlayerState {
        zone: info.zone.clone(),
        farm: farm.clone(),
        decks: decks.clone(),
    }
}

/// A client holding a valid connect token for `account` has begun its handshake: it will
/// most likely join within a frame or two, so its player may be loaded now. Only a hint (the
/// account comes from the token's client id); nothing is attached to anyone until [`Joined`].
#[derive(Message, Debug, Clone)]
pub struct Arriving {
    pub account: AccountId,
}

/// A link authenticated as `account`.
#[derive(Message, Debug, Clone)]
pub struct Joined {
    pub account: AccountId,
    pub link: Entity,
}

/// A link of `account` went away.
#[derive(Message, Debug, Clone)]
pub struct Left {
    pub account: AccountId,
    pub link: Entity,
}

/// `player` is now driven by `link`, in `zone`: point its replication there.
#[derive(Message, Debug, Clone)]
pub struct Attached {
    pub player: Entity,
    pub link: Entity,
    pub zone: ZoneId,
}

/// Disconnect `link`, telling it why first.
#[derive(Message, Debug, Clone)]
pub struct Kick {
    pub link: Entity,
    pub reason: KickReason,
}

pub(crate) fn plugin(app: &mut App) {
    app.add_message::<Joined>()
        .add_message::<Arriving>()
        .add_message::<Left>()
        .add_message::<Attached>()
        .add_message::<Kick>();
}
