//! The shard's entry in the sidecar's shard directory.
//!
//! Once the UDP socket is bound, the shard registers (address, the zones it offers to host,
//! load, content version, and a random incarnation) and renews the entry with a heartbeat
//! every [`HEARTBEAT_EVERY`] (or sooner, if the sidecar's TTL asks for it; every second while
//! the sidecar is unreachable). Each answer says:
//!
//! - which zones this shard **hosts** now ([`Hosting`]): a zone is hosted by one shard at a
//!   time under a lease, so of the zones it offers it hosts those no other live shard holds.
//!   Players in a zone it does not host (it lost the lease) are handed off to the holder
//!   ([`Depart`]);
//! - the accounts leased here whose owner logged out: their game sessions end ([`EndSession`]);
//! - whether an operator asked this shard to drain (then it drains, as on SIGTERM).
//!
//! When the shard starts draining it leaves the directory, so `/v1/play` sends nobody new here
//! and its zones pass at once to the other shards offering them.

use super::handoff::{Depart, DepartCause};
use super::persistence::{Backend, HeartbeatAnswered, Job};
use super::player::{Departing, Player};
use super::players::{EndSession, Players};
use super::shutdown::{ShardState, ShutdownSignal};
use super::transport::{BoundAddr, public_from_bound};
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::api::ShardRegistration;
use harvest_shared::ids::ZoneId;
use harvest_shared::protocol::PlayerInfo;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tracing::{info, warn};

/// Heartbeat period while the sidecar answers (also bounds how long a logout takes to end the
/// game session).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// Heartbeat period while it does not.
pub const HEARTBEAT_RETRY: Duration = Duration::from_secs(1);

#[derive(Resource, Debug)]
pub struct Directory {
    next_at: Duration,
    /// When the heartbeat in flight was sent.
    in_flight: Option<Duration>,
    every: Option<Duration>,
    /// Drawn at start: the sidecar tells a restart of this shard id from a late heartbeat of
    /// the process that left.
    pub incarnation: i64,
    /// Heartbeats answered successfully since start.
    pub renewals: u64,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            next_at: Duration::ZERO,
            in_flight: None,
            every: None,
            incarnation: (rand::random::<u64>() >> 2) as i64 + 1,
            renewals: 0,
        }
    }
}

/// The zones this shard hosts now, with the epochs of their leases. Without a sidecar the
/// shard hosts every zone it offers; with one, those the last heartbeat granted.
#[derive(Resource, Debug, Default, Clone)]
pub struct Hosting {
    pub zones: BTreeMap<ZoneId, i64>,
    /// Every zone some live shard hosts, as of the last heartbeat (a journey to any other is
    /// refused at once rather than saved and stranded).
    pub live: BTreeSet<ZoneId>,
}

impl Hosting {
    pub fn hosts(&self, zone: &ZoneId) -> bool {
        self.zones.contains_key(zone)
    }

    /// Is `zone` hosted by some live shard (this one included)?
    pub fn is_live(&self, zone: &ZoneId) -> bool {
        self.hosts(zone) || self.live.contains(zone)
    }
}

fn heartbeat(
    mut dir: ResMut<Directory>,
    bound: Option<Res<BoundAddr>>,
    settings: Res<Settings>,
    content: Res<super::GameContent>,
    players: Res<Players>,
    time: Res<Time<Real>>,
    mut backend: ResMut<Backend>,
) {
    let Some(addr) = bound.and_then(|b| b.0) else {
        return;
    };
    let at = now(&time);
    if dir.in_flight.is_some() || at < dir.next_at {
        return;
    }
    let s = &settings.0;
    dir.in_flight = Some(at);
    backend.submit(Job::Heartbeat(ShardRegistration {
        shard_id: s.shard_id.clone(),
        address: s
            .public_addr
            .unwrap_or_else(|| public_from_bound(addr))
            .to_string(),
        zones: s.zones.clone(),
        content_version: content.0.version.clone(),
        players: u32::try_from(players.online.len()).unwrap_or(u32::MAX),
        capacity: u32::try_from(s.max_clients).unwrap_or(u32::MAX),
        incarnation: dir.incarnation,
    }));
}

fn answered(
    mut dir: ResMut<Directory>,
    mut hosting: ResMut<Hosting>,
    mut replies: MessageReader<HeartbeatAnswered>,
    mut ends: MessageWriter<EndSession>,
    mut departs: MessageWriter<Depart>,
    signal: Res<ShutdownSignal>,
    players: Query<(Entity, &Player, &PlayerInfo), Without<Departing>>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for HeartbeatAnswered(result) in replies.read() {
        let sent = dir.in_flight.take().unwrap_or(at);
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
                let granted: BTreeMap<ZoneId, i64> = reg
                    .hosted
                    .iter()
                    .map(|g| (g.zone.clone(), g.epoch))
                    .collect();
                if granted != hosting.zones {
                    let lost: Vec<&ZoneId> = hosting
                        .zones
                        .keys()
                        .filter(|z| !granted.contains_key(*z))
                        .collect();
                    info!(hosted = ?granted, ?lost, "zones hosted here changed");
                    hosting.zones = granted;
                }
                hosting.live = reg.live_zones.iter().cloned().collect();
                // Players in a zone this shard does not host go to its holder. Those who
                // arrived after this heartbeat was sent are left for the next one: the zone
                // may have passed to this shard in between (a drain elsewhere).
                for (entity, p, info) in &players {
                    if !hosting.hosts(&info.zone) && p.arrived < sent {
                        departs.write(Depart {
                            player: entity,
                            zone: info.zone.clone(),
                            cause: DepartCause::ZoneMoved,
                        });
                    }
                }
                if reg.drain {
                    warn!("an operator asked this shard to drain");
                    signal.request();
                }
            }
            // The persistence plugin logs the failure and marks the sidecar's health.
            Err(_) => dir.next_at = at + HEARTBEAT_RETRY,
        }
    }
}

fn leave(mut backend: ResMut<Backend>, dir: Res<Directory>) {
    backend.submit(Job::Deregister {
        incarnation: dir.incarnation,
        timeout: Duration::from_secs(3),
    });
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Directory>();
    let settings = &app.world().resource::<Settings>().0;
    // Alone, the shard hosts what it offers from the start; with a sidecar, what it is granted.
    let alone = Hosting {
        zones: settings.zones.iter().map(|z| (z.clone(), 1)).collect(),
        live: settings.zones.iter().cloned().collect(),
    };
    let hosting = if settings.sidecar.is_none() {
        alone
    } else {
        Hosting::default()
    };
    app.insert_resource(hosting);
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
