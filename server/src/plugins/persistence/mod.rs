//! Loading and saving player state without blocking the tick, and without ever confirming a
//! save the owner of record did not accept.
//!
//! - [`queue`]: the [`SaveQueue`] (one record per leased account; coalesced, chunked,
//!   compare-and-swap saves; backoff and parking).
//! - [`backend`]: where jobs go (the sidecar's separate load and save lanes, or memory).
//! - [`memory`]: the in-memory store with the sidecar's lease and CAS rules.
//!
//! Systems here: drain the backend's replies into messages ([`Leased`], [`SaveRefused`],
//! [`HeartbeatAnswered`]) and the [`SidecarHealth`]; hand changed players to the queue once
//! their oldest change is `save_interval` old (write-behind); send the batches the queue
//! releases. While the sidecar is unreachable the shard keeps ticking, the queue keeps at most
//! one pending snapshot per account, and the health says so (logged at most once a second).

pub mod backend;
pub mod memory;
pub mod queue;

pub use backend::{Backend, Job, Reply};
pub use queue::{Refusal, SaveQueue};

use super::player::{Player, snapshot};
use super::{Settings, TickSet, now};
use crate::sidecar_client::{SidecarClient, SidecarError};
use bevy::prelude::*;
use harvest_ops::throttle::Throttle;
use harvest_shared::api::{Lease, MatchSettled, SaveOutcome, ShardRegistered};
use harvest_shared::duel::Decks;
use harvest_shared::farming::Farm;
use harvest_shared::ids::AccountId;
use harvest_shared::protocol::PlayerInfo;
use std::time::Duration;
use tracing::{error, info, warn};

/// Save batches in flight at once.
pub const MAX_BATCHES_IN_FLIGHT: usize = 4;

/// A lease (load) answered.
#[derive(Message, Debug, Clone)]
pub struct Leased {
    pub account: AccountId,
    pub result: Result<Lease, SidecarError>,
}

/// The sidecar refused a save of `account`: another load owns the player now.
#[derive(Message, Debug, Clone)]
pub struct SaveRefused {
    pub account: AccountId,
    pub outcome: SaveOutcome,
}

/// A match record answered: what recording it decided, or why not.
#[derive(Message, Debug, Clone)]
pub struct MatchRecorded {
    pub match_id: String,
    pub result: Result<MatchSettled, SidecarError>,
}

/// A handoff ticket answered: the connect token to the player's new shard, or why not.
#[derive(Message, Debug, Clone)]
pub struct HandoffTicket {
    pub account: AccountId,
    pub result: Result<harvest_shared::api::PlayResponse, SidecarError>,
}

/// A directory heartbeat answered.
#[derive(Message, Debug, Clone)]
pub struct HeartbeatAnswered(pub Result<ShardRegistered, SidecarError>);

/// How one kind of request to the sidecar is faring.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LaneHealth {
    #[default]
    Up,
    /// Unreachable or failing (5xx) since `since`.
    Unreachable { since: Duration, error: String },
    /// It refuses these requests (4xx): a bug or a misconfiguration.
    Rejecting { status: u16, body: String },
}

/// Can the shard use its sidecar? Drives join refusals, readiness and the logs. Saves and the
/// other requests (loads, heartbeats) are tracked apart, so that a refusal of saves alone is
/// not hidden by heartbeats that succeed.
#[derive(Resource, Debug, Clone, PartialEq, Eq, Default)]
pub struct SidecarHealth {
    pub saves: LaneHealth,
    /// Loads and directory heartbeats.
    pub others: LaneHealth,
}

impl SidecarHealth {
    pub fn is_up(&self) -> bool {
        self.saves == LaneHealth::Up && self.others == LaneHealth::Up
    }

    /// The status of a 4xx refusal on either lane, if any.
    pub fn rejecting(&self) -> Option<u16> {
        [&self.saves, &self.others]
            .into_iter()
            .find_map(|l| match l {
                LaneHealth::Rejecting { status, .. } => Some(*status),
                _ => None,
            })
    }

    /// Short reasons for readiness and refusals; empty when up.
    pub fn problems(&self) -> Vec<String> {
        [
            ("saves", &self.saves),
            ("loads and heartbeats", &self.others),
        ]
        .into_iter()
        .filter_map(|(what, lane)| match lane {
            LaneHealth::Up => None,
            LaneHealth::Unreachable { error, .. } => {
                Some(format!("sidecar unreachable ({what}): {error}"))
            }
            LaneHealth::Rejecting { status, body } => Some(format!(
                "sidecar rejects this shard's requests ({what}, {status}): {body}"
            )),
        })
        .collect()
    }
}

/// Keeps each lane's health log lines to one a second (so one lane cannot hide the other's).
#[derive(Resource)]
struct HealthLog {
    saves: Throttle,
    others: Throttle,
}

fn note(
    lane: &mut LaneHealth,
    log: &mut Throttle,
    outcome: Result<(), &SidecarError>,
    at: Duration,
) {
    match outcome {
        Ok(()) => {
            match lane {
                LaneHealth::Unreachable { since, .. } => info!(
                    down_for_s = (at.saturating_sub(*since)).as_secs_f64(),
                    "sidecar reachable again"
                ),
                LaneHealth::Rejecting { .. } => {
                    info!("sidecar accepts this shard's requests again")
                }
                LaneHealth::Up => {}
            }
            *lane = LaneHealth::Up;
        }
        Err(SidecarError::Rejected { status, body }) => {
            if let Some(held_back) = log.ready(at) {
                error!(status, %body, held_back, "the sidecar REJECTS this shard's requests: check the service secret and versions; unsaved state is kept and retried slowly");
            }
            *lane = LaneHealth::Rejecting {
                status: *status,
                body: body.clone(),
            };
        }
        Err(e @ (SidecarError::Unavailable(_) | SidecarError::Crashed(_))) => {
            if let Some(held_back) = log.ready(at) {
                warn!(error = %e, held_back, "sidecar unavailable: players keep playing, saves are retried, new players are refused");
            }
            match lane {
                LaneHealth::Unreachable { error, .. } => *error = e.to_string(),
                _ => {
                    *lane = LaneHealth::Unreachable {
                        since: at,
                        error: e.to_string(),
                    }
                }
            }
        }
    }
}

fn drain_replies(
    backend: Res<Backend>,
    mut queue: ResMut<SaveQueue>,
    mut health: ResMut<SidecarHealth>,
    mut log: ResMut<HealthLog>,
    mut leased: MessageWriter<Leased>,
    mut refused: MessageWriter<SaveRefused>,
    mut heartbeats: MessageWriter<HeartbeatAnswered>,
    mut matches: MessageWriter<MatchRecorded>,
    mut tickets: MessageWriter<HandoffTicket>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for reply in backend.replies() {
        match reply {
            Reply::Leased { account, result } => {
                // A missing account (404), or a lease asked only if free and held elsewhere
                // (409), says nothing about the sidecar's health.
                let health_signal = match &result {
                    Err(SidecarError::Rejected {
                        status: 404 | 409, ..
                    }) => Ok(()),
                    r => r.as_ref().map(|_| ()),
                };
                note(&mut health.others, &mut log.others, health_signal, at);
                leased.write(Leased { account, result });
            }
            Reply::Saved { batch, result } => match result {
                Ok(results) => {
                    note(&mut health.saves, &mut log.saves, Ok(()), at);
                    for Refusal { account, outcome } in queue.answered(batch, &results) {
                        refused.write(SaveRefused { account, outcome });
                    }
                }
                Err(e) => {
                    // A batch too large for the sidecar is split and resent at once: no fault
                    // of the sidecar's, unless even a single save is too large.
                    let splits = matches!(e, SidecarError::Rejected { status: 413, .. })
                        && queue.chunk() > 1;
                    if !splits {
                        note(&mut health.saves, &mut log.saves, Err(&e), at);
                    }
                    queue.failed(batch, &e, at);
                }
            },
            Reply::MatchRecorded { match_id, result } => {
                let health_signal = match &result {
                    Err(SidecarError::Rejected { .. }) => Ok(()),
                    r => r.as_ref().map(|_| ()),
                };
                note(&mut health.others, &mut log.others, health_signal, at);
                matches.write(MatchRecorded { match_id, result });
            }
            Reply::Heartbeat(result) => {
                // 409: a heartbeat that crossed this shard's own leaving (nothing is wrong).
                let health_signal = match &result {
                    Err(SidecarError::Rejected { status: 409, .. }) => Ok(()),
                    r => r.as_ref().map(|_| ()),
                };
                note(&mut health.others, &mut log.others, health_signal, at);
                heartbeats.write(HeartbeatAnswered(result));
            }
            // A zone with no live shard (503) says nothing about the sidecar's health.
            Reply::HandedOff { account, result } => {
                tickets.write(HandoffTicket { account, result });
            }
            Reply::Deregistered(result) => match result {
                Ok(()) => info!("left the shard directory"),
                Err(e) => {
                    warn!(error = %e, "leaving the shard directory failed; the entry lapses after its TTL")
                }
            },
        }
    }
}

/// Hand `p`'s state and the ledger entries recorded since its last hand-over to the queue
/// (`release`: the player leaves this shard; the lease goes with this save). False if this
/// shard holds no lease for the account.
pub fn queue_player(
    queue: &mut SaveQueue,
    p: &mut Player,
    info: &PlayerInfo,
    farm: &Farm,
    decks: &Decks,
    release: bool,
) -> bool {
    p.dirty_since = None;
    p.urgent = false;
    let ledger = std::mem::take(&mut p.ledger);
    queue.push(p.account, snapshot(info, farm, decks), ledger, release)
}

/// Write-behind: when the oldest change of any player is `save_interval` old, hand every
/// changed player to the queue (one coalesced snapshot each, with its ledger entries). A
/// player with an economy event waiting for its commit is handed over at once.
fn collect_changes(
    settings: Res<Settings>,
    time: Res<Time<Real>>,
    mut players: Query<(&mut Player, &PlayerInfo, &Farm, &Decks)>,
    mut queue: ResMut<SaveQueue>,
) {
    let at = now(&time);
    let interval = settings.0.save_interval;
    let due = players.iter().any(|(p, ..)| {
        p.dirty_since
            .is_some_and(|t| at.saturating_sub(t) >= interval)
    });
    // Players with an economy event waiting for its commit go at once, alone if nobody else
    // is due.
    for (mut p, info, farm, decks) in &mut players {
        if p.dirty_since.is_some() && (due || p.urgent) {
            queue_player(&mut queue, &mut p, info, farm, decks, false);
        }
    }
}

/// Send whatever the queue releases now.
fn send_batches(
    mut queue: ResMut<SaveQueue>,
    mut backend: ResMut<Backend>,
    time: Res<Time<Real>>,
    deadline: Option<Res<super::shutdown::Drain>>,
) {
    let at = now(&time);
    // During a drain every request must be answered before the shutdown deadline.
    let timeout = deadline
        .map(|d| {
            d.deadline
                .saturating_sub(at)
                .max(Duration::from_millis(200))
        })
        .unwrap_or(crate::sidecar_client::REQUEST_TIMEOUT)
        .min(crate::sidecar_client::REQUEST_TIMEOUT);
    for (batch, saves) in queue.take_batches(at) {
        let tickets = queue.tickets_for(&saves);
        backend.submit(Job::Save {
            batch,
            saves,
            timeout,
            tickets,
        });
    }
}

pub(crate) fn plugin(app: &mut App) {
    let settings = app.world().resource::<Settings>().0.clone();
    let backend = match &settings.sidecar {
        Some(link) => {
            let client =
                SidecarClient::new(&link.url, &link.service_secret, link.ca_cert.as_deref())
                    .expect("the sidecar client builds (the CA file was checked at start-up)");
            Backend::remote(
                client,
                settings.shard_id.clone(),
                settings.load_concurrency,
                app.world()
                    .get_resource::<crate::runner::FrameWake>()
                    .cloned(),
            )
            .expect("the shard's I/O runtime starts")
        }
        None => Backend::memory(
            settings.shard_id.clone(),
            harvest_shared::inventory::Holdings::start(&settings.content),
        ),
    };
    app.insert_resource(backend)
        .insert_resource(SaveQueue::new(
            settings.save_batch_max,
            MAX_BATCHES_IN_FLIGHT,
        ))
        .init_resource::<SidecarHealth>()
        .insert_resource(HealthLog {
            saves: Throttle::new(Duration::from_secs(1)),
            others: Throttle::new(Duration::from_secs(1)),
        })
        .add_message::<Leased>()
        .add_message::<SaveRefused>()
        .add_message::<HeartbeatAnswered>()
        .add_message::<MatchRecorded>()
        .add_message::<HandoffTicket>();
    app.add_systems(
        Update,
        drain_replies.in_set(TickSet::Receive).in_set(RepliesSet),
    );
    app.add_systems(
        Update,
        (collect_changes, send_batches)
            .chain()
            .in_set(TickSet::Persist)
            .in_set(PersistSet),
    );
}

/// Draining the backend's replies into messages (readers order after it).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepliesSet;

/// Handing state to the queue and sending batches (other plugins order around it).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersistSet;
