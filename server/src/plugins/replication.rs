//! What each client sees: its own farm, holdings, decks and arena status, replicated to its
//! link only, in its zone's room. (A duel's board is replicated by `duels` to its two duelists.)
//!
//! replicon scans every replicated entity for every client on each send, so idle farms would
//! make the shard's cost grow with players². A farm that has not changed for [`PAUSE_AFTER`]
//! is paused (taken out of the scan; its owner keeps its copy); the next change, or a new link
//! taking the player over, resumes it.
//!
//! Replication goes out every `--replication-interval-ms`, but a player just attached to a link
//! (a login, a handoff's arrival) is sent in the frame it arrives: waiting for the next
//! interval would add up to that interval to every login and journey. The extra send happens
//! only in a frame with an arrival that would otherwise send nothing, and at most once a tick
//! (a client reconnecting over and over cannot make the shard send to everyone at will).

use super::player::{Attached, Player};
use super::transport::ZoneRooms;
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use bevy_replicon::server::server_tick::ServerTick;
use harvest_shared::duel::Decks;
use harvest_shared::duel::view::{ArenaStatus, DuelSeat};
use harvest_shared::farming::Farm;
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::protocol::PlayerInfo;
use lightyear::prelude::*;
use std::time::Duration;
use tracing::warn;

/// A farm unchanged for this long is paused: about 20 replication sends after its last change,
/// each of which re-sends the change until the client acknowledges it.
pub const PAUSE_AFTER: Duration = Duration::from_secs(1);

/// On a player entity whose replication is paused.
#[derive(Component)]
pub struct Paused;

/// When a player's replicated state last changed.
#[derive(Component)]
pub struct LastChange(pub Duration);

/// Point each newly attached player's replication at its own link, in its zone's room, and
/// have replication go out this frame.
fn attach(
    mut commands: Commands,
    mut attached: MessageReader<Attached>,
    rooms: Res<ZoneRooms>,
    tick: Option<ResMut<ServerTick>>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
    mut last_extra: Local<Option<Duration>>,
) {
    let mut any = false;
    for Attached { player, link, zone } in attached.read() {
        any = true;
        let Ok(mut p) = commands.get_entity(*player) else {
            continue;
        };
        // A (re)attached farm replicates at once, paused or not, so the new link gets it.
        p.remove::<Paused>()
            .insert((Replicate::manual(vec![*link]), Replicating));
        if let Some(room) = rooms.0.get(zone) {
            p.insert(Rooms::single(*room));
            if let Ok(mut l) = commands.get_entity(*link) {
                l.insert(Rooms::single(*room));
            }
        } else {
            warn!(%zone, "player is in a zone this shard does not host");
        }
    }
    // Replicon sends whenever its tick advances; lightyear advances it every interval, before
    // `Update`. If it has not this frame, advance it for the arrivals.
    let at = now(&time);
    if any
        && let Some(mut tick) = tick
        && !tick.is_changed()
        && last_extra.is_none_or(|t| at.saturating_sub(t) >= settings.0.tick_duration())
    {
        tick.increment();
        *last_extra = Some(at);
    }
}

/// Resume paused farms that changed; note when each farm last changed.
fn track_changes(
    mut commands: Commands,
    changed: Query<
        (Entity, Has<Paused>),
        (
            With<Player>,
            Or<(
                Changed<Farm>,
                Changed<Inventory>,
                Changed<Collection>,
                Changed<PlayerInfo>,
                Changed<Decks>,
                Changed<ArenaStatus>,
                Changed<DuelSeat>,
            )>,
        ),
    >,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for (entity, paused) in &changed {
        let mut e = commands.entity(entity);
        e.insert(LastChange(at));
        if paused {
            e.remove::<Paused>().insert(Replicating);
        }
    }
}

/// Take farms that have been still for `PAUSE_AFTER` out of the replication scan. A duelist
/// is never paused: their seat's removal at the duel's end must reach them, and replicon sends
/// a removal only for an entity it is replicating.
fn pause_idle(
    mut commands: Commands,
    idle: Query<
        (Entity, &LastChange),
        (
            With<Player>,
            With<Replicating>,
            Without<Paused>,
            Without<DuelSeat>,
        ),
    >,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for (entity, last) in &idle {
        if at.saturating_sub(last.0) >= PAUSE_AFTER {
            commands
                .entity(entity)
                .remove::<Replicating>()
                .insert(Paused);
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (attach, track_changes, pause_idle)
            .chain()
            .in_set(TickSet::Send),
    );
}
