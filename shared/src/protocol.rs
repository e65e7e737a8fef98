//! The one lightyear protocol (feature `net`). Every channel, message and replicated component
//! is registered here, in one order, for both the shard and the client; lightyear checks a hash
//! of it at connect time. Bump [`crate::api::PROTOCOL_ID`] when this file changes.
//!
//! Naming: clients send intents named `*Request`; the server answers with `*Notice` messages;
//! replicated state uses nouns (`Farm`, `Inventory`, `PlayerInfo`). Intents carry no entity or
//! account: the shard acts on the farm of the link that sent them, so a client can only ever
//! drive its own state.

use crate::farming::{Farm, FarmError, Inventory};
use crate::ids::{AccountId, CropId, PlotId, ZoneId};
use bevy::prelude::*;
use lightyear::prelude::*;
use serde::{Deserialize, Serialize};

/// Reliable, ordered: intents and their answers.
pub struct ActionChannel;

/// Plant `crop` on `plot` (pays the seed price).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantRequest {
    pub request_id: u32,
    pub plot: PlotId,
    pub crop: CropId,
}

/// Water the crop on `plot`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaterRequest {
    pub request_id: u32,
    pub plot: PlotId,
}

/// Harvest the ripe crop on `plot` into the inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HarvestRequest {
    pub request_id: u32,
    pub plot: PlotId,
}

/// Why the shard refused an intent. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum RejectReason {
    #[error(transparent)]
    Farm(#[from] FarmError),
    /// The player's state is still loading, or the shard is draining.
    #[error("not ready: your farm is loading or the shard is shutting down")]
    NotReady,
    /// Too many intents in a short time.
    #[error("too many requests")]
    RateLimited,
}

/// The answer to one intent, matched by `request_id`.
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
    /// The shard is shutting down; state has been saved. Log in again to continue.
    ShuttingDown,
    /// The same account connected again elsewhere.
    LoggedInElsewhere,
    /// The player's state could not be loaded.
    LoadFailed,
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

        app.register_message::<PlantRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<WaterRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<HarvestRequest>()
            .add_direction(NetworkDirection::ClientToServer);
        app.register_message::<ActionNotice>()
            .add_direction(NetworkDirection::ServerToClient);
        app.register_message::<KickNotice>()
            .add_direction(NetworkDirection::ServerToClient);

        app.component::<PlayerInfo>().replicate();
        app.component::<Farm>().replicate();
        app.component::<Inventory>().replicate();
    }
}
