//! Graceful shutdown as a Bevy state machine, [`ShardState`]: `Running → Draining → Stopping`.
//!
//! On SIGTERM/SIGINT, an operator's drain request (`POST /v1/admin/shards/{id}/drain`, seen at
//! the next heartbeat), or [`ShutdownSignal::request`]:
//! 1. **Draining.** The shard leaves the directory (no new players are sent here, and its
//!    zones pass at once to the other live shards offering them) and refuses new sessions.
//!    Every player is handed off ([`super::handoff`]): their final state is saved and the lease
//!    released, then they get a ticket to the shard that hosts their zone now. The shard waits
//!    until the sidecar has confirmed (or refused) every save the queue holds, including those
//!    of players who left earlier, and every handoff is done, within the budget
//!    (`--shutdown-timeout`, minus a margin to say goodbye).
//! 2. A player whose zone no other shard hosts is told why (`KickNotice::ShuttingDown`) once
//!    their save is confirmed, and disconnected: when they log in again, anywhere, they load
//!    the state that was just confirmed.
//! 3. **Stopping.** The netcode server stops and the app exits: code 0 when every save was
//!    confirmed and none was refused during this drain, 1 otherwise.

use super::handoff::{Depart, DepartCause};
use super::persistence::SaveQueue;
use super::player::{Departing, Kick, Player, Session};
use super::sessions::Kicking;
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::protocol::{KickReason, PlayerInfo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::{error, info};

/// Time kept at the end of the budget for telling clients and stopping.
const GOODBYE_MARGIN: Duration = Duration::from_millis(1500);
/// Between the kick notices and stopping the netcode server.
const KICK_WAIT: Duration = Duration::from_millis(300);
/// Between stopping the netcode server (disconnect packets) and exiting.
const STOP_WAIT: Duration = Duration::from_millis(300);

/// Set from a signal handler (or a test) to start draining.
#[derive(Resource, Clone, Default)]
pub struct ShutdownSignal(pub Arc<AtomicBool>);

impl ShutdownSignal {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The shard's lifecycle.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShardState {
    /// Serving players.
    #[default]
    Running,
    /// Saving everyone and waiting for confirmation; no new sessions or requests.
    Draining,
    /// Netcode stopped; exiting.
    Stopping,
}

/// The drain in progress.
#[derive(Resource, Debug, Clone)]
pub struct Drain {
    pub started: Duration,
    /// Every save must be answered by then.
    pub deadline: Duration,
    /// Refusals counted before the drain began (only those during the drain fail the exit).
    refused_before: u64,
    kicked_at: Option<Duration>,
    stopped_at: Option<Duration>,
}

impl Drain {
    /// Saves refused since the drain began.
    pub fn refused(&self, queue: &SaveQueue) -> u64 {
        queue.counters.refused - self.refused_before
    }
}

fn watch_signal(signal: Res<ShutdownSignal>, mut next: ResMut<NextState<ShardState>>) {
    if signal.requested() {
        next.set(ShardState::Draining);
    }
}

fn begin_drain(
    mut commands: Commands,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
    mut queue: ResMut<SaveQueue>,
    players: Query<(Entity, &PlayerInfo), (With<Player>, Without<Departing>)>,
    mut departs: MessageWriter<Depart>,
) {
    let at = now(&time);
    let mut saves = 0;
    for (player, info) in &players {
        departs.write(Depart {
            player,
            zone: info.zone.clone(),
            cause: DepartCause::Drain,
        });
        saves += 1;
    }
    queue.retry_now();
    let budget = settings.0.shutdown_timeout.saturating_sub(GOODBYE_MARGIN);
    info!(
        players = saves,
        owed = queue.len(),
        budget_s = budget.as_secs_f64(),
        "draining: saving everyone and handing them off"
    );
    commands.insert_resource(Drain {
        started: at,
        deadline: at + budget,
        refused_before: queue.counters.refused,
        kicked_at: None,
        stopped_at: None,
    });
}

fn drive_drain(
    mut drain: ResMut<Drain>,
    queue: Res<SaveQueue>,
    time: Res<Time<Real>>,
    sessions: Query<Entity, (With<Session>, Without<Kicking>)>,
    departing: Query<&Departing>,
    servers: Query<Entity, With<lightyear::prelude::server::Server>>,
    mut kicks: MessageWriter<Kick>,
    mut commands: Commands,
    mut next: ResMut<NextState<ShardState>>,
) {
    let at = now(&time);
    match drain.kicked_at {
        None => {
            let saved = queue.is_empty() && departing.iter().all(|d| d.let_go);
            if !saved && at < drain.deadline {
                return;
            }
            if saved {
                info!(
                    took_s = at.saturating_sub(drain.started).as_secs_f64(),
                    "every save confirmed and every player handed off or told"
                );
            } else {
                error!(
                    owed = queue.len(),
                    "drain budget spent with saves unconfirmed"
                );
            }
            // A link given its ticket is kicking already, or was this frame (its first kick
            // wins): only the others hear `ShuttingDown`.
            for link in &sessions {
                kicks.write(Kick {
                    link,
                    reason: KickReason::ShuttingDown,
                });
            }
            drain.kicked_at = Some(at);
        }
        Some(kicked) if at.saturating_sub(kicked) >= KICK_WAIT => {
            for server in &servers {
                commands.trigger(lightyear::prelude::server::Stop { entity: server });
            }
            drain.stopped_at = Some(at);
            next.set(ShardState::Stopping);
        }
        Some(_) => {}
    }
}

fn exit_when_stopped(
    drain: Res<Drain>,
    queue: Res<SaveQueue>,
    time: Res<Time<Real>>,
    mut exit: MessageWriter<AppExit>,
) {
    let at = now(&time);
    if drain
        .stopped_at
        .is_some_and(|t| at.saturating_sub(t) >= STOP_WAIT)
    {
        let refused = drain.refused(&queue);
        let clean = queue.is_empty() && refused == 0;
        info!(
            clean,
            owed = queue.len(),
            refused_during_drain = refused,
            confirmed = queue.counters.confirmed,
            "shard stopped"
        );
        exit.write(if clean {
            AppExit::Success
        } else {
            AppExit::error()
        });
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<ShutdownSignal>()
        .init_state::<ShardState>();
    app.add_systems(
        Update,
        watch_signal
            .in_set(TickSet::Receive)
            .run_if(in_state(ShardState::Running)),
    );
    app.add_systems(OnEnter(ShardState::Draining), begin_drain);
    app.add_systems(
        Update,
        drive_drain
            .in_set(TickSet::Persist)
            .after(super::persistence::PersistSet)
            .run_if(in_state(ShardState::Draining)),
    );
    app.add_systems(
        Update,
        exit_when_stopped
            .in_set(TickSet::Persist)
            .run_if(in_state(ShardState::Stopping)),
    );
}
