//! Graceful shutdown. On SIGTERM/SIGINT (or [`ShutdownSignal::request`]) the shard leaves the
//! shard directory and stops taking players, saves every player with unsaved changes, tells every client why with a
//! `KickNotice`, waits for the saves to be confirmed, stops the netcode server (which sends
//! disconnect packets) and exits: code 0 when every save was confirmed, 1 otherwise.

use super::persistence::{Job, Persistence, snapshot};
use super::players::{Kicks, Player, Players, Session};
use bevy::prelude::*;
use harvest_shared::farming::{Farm, Inventory};
use harvest_shared::protocol::{KickReason, PlayerInfo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{error, info};

/// How long to wait for saves to be confirmed before giving up.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

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

#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShutdownState {
    #[default]
    Running,
    /// Saving and telling clients.
    Draining { since: Instant },
    /// Netcode stopped; exit after disconnect packets have gone out.
    Stopping { since: Instant },
}

#[allow(clippy::too_many_arguments)]
fn drive(
    signal: Res<ShutdownSignal>,
    mut state: ResMut<ShutdownState>,
    mut persistence: ResMut<Persistence>,
    mut players_q: Query<(&mut Player, &PlayerInfo, &Farm, &Inventory)>,
    players: Res<Players>,
    sessions: Query<Entity, With<Session>>,
    mut kicks: ResMut<Kicks>,
    servers: Query<Entity, With<lightyear::prelude::server::Server>>,
    settings: Res<super::Settings>,
    mut commands: Commands,
    mut exit: MessageWriter<AppExit>,
) {
    match *state {
        ShutdownState::Running => {
            if !signal.requested() {
                return;
            }
            // First leave the directory so /v1/play stops sending players here.
            persistence.send(Job::Deregister(settings.0.shard_id.clone()));
            let mut batch = Vec::new();
            for (mut p, info, farm, inv) in &mut players_q {
                if p.dirty_since.is_some() {
                    batch.push(p.next_save(snapshot(info, farm, inv)));
                }
            }
            info!(
                players = players.online.len(),
                saves = batch.len(),
                "draining: saving everyone"
            );
            persistence.send(Job::Save(batch));
            for link in &sessions {
                kicks.0.push((link, KickReason::ShuttingDown));
            }
            *state = ShutdownState::Draining {
                since: Instant::now(),
            };
        }
        ShutdownState::Draining { since } => {
            let saved = persistence.saves_in_flight == 0
                && players_q.iter().all(|(p, ..)| p.dirty_since.is_none());
            if saved || since.elapsed() > DRAIN_TIMEOUT {
                if !saved {
                    error!(
                        in_flight = persistence.saves_in_flight,
                        "drain timed out with saves unconfirmed"
                    );
                }
                for server in &servers {
                    commands.trigger(lightyear::prelude::server::Stop { entity: server });
                }
                *state = ShutdownState::Stopping {
                    since: Instant::now(),
                };
            }
        }
        ShutdownState::Stopping { since } => {
            if since.elapsed() > Duration::from_millis(300) {
                let clean = persistence.saves_in_flight == 0 && persistence.saves_refused == 0;
                info!(
                    clean,
                    confirmed = persistence.saves_confirmed,
                    "shard stopped"
                );
                exit.write(if clean {
                    AppExit::Success
                } else {
                    AppExit::error()
                });
            }
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<ShutdownSignal>()
        .init_resource::<ShutdownState>();
    app.add_systems(Update, drive.in_set(super::TickSet::Persist));
}
