//! The shard's entry in the sidecar's shard directory.
//!
//! Once the UDP socket is bound, the shard registers (address, zones, content version) and
//! renews the entry with a heartbeat every [`HEARTBEAT_EVERY`] (or sooner, if the sidecar's
//! TTL asks for it; every second while the sidecar is unreachable). Each answer lists the
//! accounts leased to this shard whose owner logged out; their game sessions end
//! ([`EndSession`]). When the shard starts draining it leaves the directory, so `/v1/play`
//! sends nobody new here.

use super::persistence::{Backend, HeartbeatAnswered, Job};
use super::players::EndSession;
use super::shutdown::ShardState;
use super::transport::{BoundAddr, public_from_bound};
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::api::ShardRegistration;
use std::time::Duration;

/// Heartbeat period while the sidecar answers (also bounds how long a logout takes to end the
/// game session).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Heartbeat period while it does not.
pub const HEARTBEAT_RETRY: Duration = Duration::from_secs(1);

#[derive(Resource, Debug, Default)]
pub struct Directory {
    next_at: Duration,
    in_flight: bool,
    every: Option<Duration>,
    /// Heartbeats answered successfully since start.
    pub renewals: u64,
}

fn heartbeat(
    mut dir: ResMut<Directory>,
    bound: Option<Res<BoundAddr>>,
    settings: Res<Settings>,
    content: Res<super::GameContent>,
    time: Res<Time<Real>>,
    mut backend: ResMut<Backend>,
) {
    let Some(addr) = bound.and_then(|b| b.0) else {
        return;
    };
    let at = now(&time);
    if dir.in_flight || at < dir.next_at {
        return;
    }
    let s = &settings.0;
    dir.in_flight = true;
    backend.submit(Job::Heartbeat(ShardRegistration {
        shard_id: s.shard_id.clone(),
        address: s
            .public_addr
            .unwrap_or_else(|| public_from_bound(addr))
            .to_string(),
        zones: s.zones.clone(),
        content_version: content.0.version.clone(),
    }));
}

fn answered(
    mut dir: ResMut<Directory>,
    mut replies: MessageReader<HeartbeatAnswered>,
    mut ends: MessageWriter<EndSession>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for HeartbeatAnswered(result) in replies.read() {
        dir.in_flight = false;
        match result {
            Ok(reg) => {
                dir.renewals += 1;
                let every = Duration::from_secs(reg.ttl_secs / 3)
                    .clamp(Duration::from_secs(1), HEARTBEAT_EVERY);
                dir.every = Some(every);
                dir.next_at = at + every;
                for account in &reg.end_sessions {
                    ends.write(EndSession(*account));
                }
            }
            // The persistence plugin logs the failure and marks the sidecar's health.
            Err(_) => dir.next_at = at + HEARTBEAT_RETRY,
        }
    }
}

fn leave(mut backend: ResMut<Backend>) {
    backend.submit(Job::Deregister {
        timeout: Duration::from_secs(3),
    });
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Directory>();
    app.add_systems(
        Update,
        (answered, heartbeat)
            .chain()
            .in_set(TickSet::Receive)
            .after(super::persistence::RepliesSet)
            .run_if(in_state(ShardState::Running)),
    );
    app.add_systems(OnEnter(ShardState::Draining), leave);
}
