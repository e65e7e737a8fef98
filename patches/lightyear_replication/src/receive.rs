use crate::ReplicationSystems;
use bevy_app::prelude::*;
use bevy_ecs::prelude::*;
use bevy_reflect::Reflect;
use bevy_replicon::client::ClientSystems;
// TODO: add special rules so that entities with Predicted/Interpolation apply components differently

/// Replicated is used as a marker component to find entities that were replicated from a remote.
///
/// Replicon adds [`Remote`](bevy_replicon::prelude::Remote) on entities spawned
/// from a remote, and Lightyear keeps `Replicated` as its receiver-side name.
pub use bevy_replicon::prelude::Remote as Replicated;

/// Marker component added to a link entity to enable incoming replication.
///
/// A link entity represents a connection to a remote peer. Adding
/// `ReplicationReceiver` to it allows the replication systems to process
/// entity data received through that connection.
///
/// On the server, this is only needed if you want to receive client-to-server
/// entity replication (e.g. for [`PreSpawned`](crate::prespawn::PreSpawned)
/// entities). For normal server-to-client replication, only
/// [`ReplicationSender`](crate::send::ReplicationSender) is required on the
/// server side.
///
/// Removing this component ends the receiver's current replication epoch and cleans up received
/// entities unless they are marked [`Persistent`].
#[derive(Component, Default)]
pub struct ReplicationReceiver;

/// Prevents receiver-side entities from being despawned when the connection ends or their
/// [`ReplicationReceiver`] is removed.
///
/// Add this marker to a received [`Replicated`] entity to preserve only that entity, or add it to
/// the entity holding [`ReplicationReceiver`] to preserve every entity received through the
/// receiver.
///
/// This only affects disconnect cleanup. A despawn explicitly replicated by the sender will still
/// despawn the entity.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq, Reflect)]
#[reflect(Component)]
pub struct Persistent;

pub struct ReceivePlugin;
impl Plugin for ReceivePlugin {
    fn build(&self, app: &mut App) {
        // make sure that any ordering relative to ReplicationSystems is also applied to ClientSystems
        app.configure_sets(
            PreUpdate,
            ClientSystems::Receive.in_set(ReplicationSystems::Receive),
        );
        app.configure_sets(
            PostUpdate,
            ClientSystems::Receive.in_set(ReplicationSystems::Receive),
        );
    }
}
