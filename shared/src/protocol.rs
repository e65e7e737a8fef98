//! The one lightyear protocol (feature `net`). Every channel, message and replicated component
//! is registered here, in one order, for both the shard and the client; lightyear checks a hash
//! of it at connect time. Bump [`crate::api::PROTOCOL_ID`] when this file changes.
//!
//! Naming: clients send requests named `*Request` (one per feature: a request id and the
//! feature's action, see [`crate::action`]); the server answers with `*Notice` messages;
//! replicated state uses nouns (`Farm`, `Inventory`, `PlayerInfo`). Requests carry no entity or
//! account: the shard acts on the state of the link that sent them, so a client can only ever
//! drive its own state.
//!
//! Message sizes are bounded by construction: the largest message either side can send is
//! [`MAX_MESSAGE_BYTES`], and the shard's transport refuses fragmented messages that would
//! reassemble to more than that.

use crate::action::Request;
use crate::crafting::{CraftAction, CraftError};
use crate::duel::arena::{ArenaAction, ArenaError};
use crate::duel::view::{ArenaStatus, DuelBoard, DuelSeat};
use crate::duel::{DeckAction, DeckEditError, Decks, DuelAction, DuelError};
use crate::farming::{Farm, FarmAction, FarmError};
use crate::ids::{AccountId, ZoneId};
use crate::inventory::{Collection, Inventory};
use crate::market::{MarketAction, MarketError};
use crate::travel::{TravelAction, TravelError};
use bevy::prelude::*;
use lightyear::prelude::*;
use serde::{Deserialize, Serialize};

/// Reliable, ordered: intents and their answers.
pub struct ActionChannel;

/// A farming request: till, plant, water, harvest... (see [`FarmAction`]).
pub type FarmRequest = Request<FarmAction>;
/// A market request: buy or sell (see [`MarketAction`]).
pub type MarketRequest = Request<MarketAction>;
/// A crafting request (see [`CraftAction`]).
pub type CraftRequest = Request<CraftAction>;
/// A deck edit (see [`DeckAction`]).
pub type DeckRequest = Request<DeckAction>;
/// A journey to another zone (see [`TravelAction`]).
pub type TravelRequest = Request<TravelAction>;
/// Queueing in the arena (see [`ArenaAction`]).
pub type ArenaRequest = Request<ArenaAction>;
/// A move in your current duel (see [`DuelAction`]).
pub type DuelRequest = Request<DuelAction>;

/// The largest message the protocol can carry, in bytes, either way. The biggest today is a
/// replicated `Farm` (at most 64 plots of a few dozen bytes) or an `Inventory`; 64 KiB leaves
/// ample room for the features to come while bounding what a peer can make the other
/// reassemble (see the transport patch under `patches/`).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Why the shard refused a request. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RejectReason {
    #[error(transparent)]
    Farm(#[from] FarmError),
    #[error(transparent)]
    Market(#[from] MarketError),
    #[error(transparent)]
    Craft(#[from] CraftError),
    #[error(transparent)]
    Deck(#[from] DeckEditError),
    #[error(transparent)]
    Travel(#[from] TravelError),
    #[error(transparent)]
    Arena(#[from] ArenaError),
    #[error(transparent)]
    Duel(#[from] DuelError),
    /// A duel move from a player who is not in a duel.
    #[error("you are not in a duel")]
    NotInDuel,
    /// The player's state is still loading, or the shard is draining.
    #[error("not ready: your farm is loading or the shard is shutting down")]
    NotReady,
    /// The player is on their way to another shard (a handoff): this shard takes no more of
    /// their requests.
    #[error("you are on your way to another zone")]
    Departing,
    /// Too many requests in a short time: this one and others were dropped.
    #[error("too many requests")]
    RateLimited,
    /// Too many of this player's changes are waiting to be saved (the sidecar is slow or
    /// away). Nothing changed; try again shortly.
    #[error("too many of your actions are waiting to be saved; try again shortly")]
    SavePending,
}

impl RejectReason {
    /// A short, fixed name for the kind of refusal (a metrics label).
    pub fn label(&self) -> &'static str {
        match self {
            RejectReason::Farm(_) => "farm",
            RejectReason::Market(_) => "market",
            RejectReason::Craft(_) => "craft",
            RejectReason::Deck(_) => "deck",
            RejectReason::Travel(_) => "travel",
            RejectReason::Arena(_) => "arena",
            RejectReason::Duel(_) => "duel",
            RejectReason::NotInDuel => "not_in_duel",
            RejectReason::NotReady => "not_ready",
            RejectReason::Departing => "departing",
            RejectReason::RateLimited => "rate_limited",
            RejectReason::SavePending => "save_pending",
        }
    }
}

/// The answer to one request, matched by `request_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionNotice {
    pub request_id: u32,
    pub result: Result<(), RejectReason>,
}

/// Sent just before the shard disconnects a client on purpose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KickNotice {
    pub reason: KickReason,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KickReason {
    /// The shard is shutting down; your state has been saved. Log in again to continue.
    ShuttingDown,
    /// The same account connected again elsewhere.
    LoggedInElsewhere,
    /// The player's state could not be loaded.
    LoadFailed,
    /// The shard cannot reach its persistence service right now, so it takes no new players.
    /// Try again shortly.
    ServiceUnavailable,
    /// Another shard loaded this player since; this shard may no longer save them, so it let
    /// them go. Log in again to continue where the newest state is.
    SessionMovedElsewhere,
    /// The account logged out (for example from another device).
    LoggedOut,
    /// The client sent far more requests than allowed.
    Flooding,
    /// The client runs other game content than the shard (its `ClientHello` named another
    /// content version): update the game data and connect again.
    StaleContent,
    /// A handoff: the player travelled to a zone another shard hosts, or this shard is handing
    /// its players on (draining, or its zone moved). The state was saved and released first;
    /// connect to the shard in the ticket (it is what `/v1/play` would answer) to go on.
    Handoff(Box<crate::api::PlayResponse>),
    /// The zone the player is going to has no live shard right now. The state was saved;
    /// log in again shortly (`/v1/play` answers 503 with Retry-After until a shard hosts it).
    ZoneUnavailable,
}

/// Sent by a client right after it connects: the content it runs (`Content::version`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientHello {
    pub content_version: String,
}

/// The shard's content changed (hot reload): the version now in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContentNotice {
    pub version: String,
}

/// A message from the operators to every connected player (sent through the bus to every
/// shard: `POST /v1/admin/announce`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnouncementNotice {
    pub text: String,
    /// Unix time in milliseconds when the operators sent it.
    pub at_ms: u64,
}

/// Who this replicated farm belongs to, and where it is.
#[derive(Component, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayerInfo {
    pub account: AccountId,
    pub zone: ZoneId,
}

/// Registers the protocol. Add after lightyear's client or server plugins, on both sides.
pub struct ProtocolPlugin;

impl Plugin for ProtocolPlugin {
    fn build(&self, app: &mut App) {
        app.add_channel::<ActionChannel>(ChannelSettings {
            mode: ChannelMode::OrderedReliable(ReliableSettings::default()),
            ..default()
        })
        .add_direction(NetworkDirection::Bidirectional);

        app.register_message::<FarmRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<MarketRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<CraftRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<DeckRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<TravelRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<ArenaRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<DuelRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<ActionNotice>()
            .add_direction(NetworkDirection::ServerToClient);
        app.register_message::<KickNotice>()
            .add_direction(NetworkDirection::ServerToClient);
        app.register_message::<ClientHello>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<ContentNotice>()
            .add_direction(NetworkDirection::ServerToClient);
        app.register_message::<AnnouncementNotice>()
            .add_direction(NetworkDirection::ServerToClient);

        app.component::<PlayerInfo>().replicate();
        app.component::<Farm>().replicate();
        app.component::<Inventory>().replicate();
        app.component::<Collection>().replicate();
        app.component::<Decks>().replicate();
        app.component::<ArenaStatus>().replicate();
        app.component::<DuelSeat>().replicate();
        app.component::<DuelBoard>().replicate();
    }
}
