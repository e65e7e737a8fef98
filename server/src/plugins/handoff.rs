//! Handing a player off to another shard: the cross-shard half of travel, and how a shard
//! passes its players on when it drains or a zone moves away from it.
//!
//! 1. **Depart** ([`Depart`]: a journey to a zone this shard does not host, a drain, a zone
//!    lease lost, or a player loaded here in a zone this shard does not offer). The player's
//!    zone becomes the destination, their last state goes to the save queue with `release`,
//!    and the entity is marked [`Departing`]: its requests are refused from now on
//!    (`RejectReason::Departing`), so nothing changes after the save. A player queued for a
//!    duel leaves the queue; one in a duel whose zone moved goes when the duel ends.
//! 2. **Ticket.** Once the sidecar has confirmed that save, the shard asks for a ticket
//!    (`POST /internal/v1/players/{id}/handoff`): a connect token to the shard hosting the
//!    zone, exactly what `/v1/play` would answer. The backend asks in the same exchange as the
//!    save ([`SaveQueue::ticket_with_release`]), so the ticket is here one frame after the
//!    journey began; if it is not (the save had to be resent), the shard asks itself
//!    [`WITH_SAVE_WAIT`] after it sees the save confirmed.
//! 3. **Go.** The ticket reaches the client in a `KickNotice` (`KickReason::Handoff`), sent in
//!    an early frame that the ticket's arrival wakes (`crate::runner`), and the link is let go;
//!    the client connects to the new shard, which takes the lease (a new epoch) and loads the
//!    newest version, the one just confirmed, as soon as the client's first handshake packet
//!    names the account (`players`), and replicates it the frame the handshake completes.
//!
//! Why nothing is lost or duplicated: the journey is a compare-and-swap save like any other,
//! with the player's unsaved ledger entries; the new shard loads only after it is confirmed; a
//! stale shard's later save is refused by the lease. A client that retries a journey gets
//! `Departing`; a shard that dies mid-handoff leaves either the old zone (save not confirmed)
//! or the new one (confirmed) on record, and `/v1/play` sends the player to whichever it is.
//! If no shard hosts the zone the ticket is asked again every [`RETRY`] for [`GIVE_UP`]; then
//! (or at once while draining) the player is let go with a reason, their state saved.

use super::arena::ArenaQueue;
use super::persistence::{Backend, HandoffTicket, Job, SaveQueue, queue_player};
use super::player::{Departing, Kick, Player};
use super::shutdown::ShardState;
use super::{Settings, TickSet, now};
use crate::sidecar_client::SidecarError;
use bevy::prelude::*;
use harvest_shared::duel::Decks;
use harvest_shared::duel::view::{ArenaState, ArenaStatus};
use harvest_shared::farming::Farm;
use harvest_shared::ids::ZoneId;
use harvest_shared::protocol::{KickReason, PlayerInfo};
use std::time::Duration;
use tracing::{info, warn};

/// How long a handoff whose release save is confirmed waits for the ticket asked with it
/// before asking itself (normally the ticket arrives a few milliseconds after the save's
/// answer).
pub const WITH_SAVE_WAIT: Duration = Duration::from_millis(300);
/// Between two asks for a ticket while no shard hosts the zone.
pub const RETRY: Duration = Duration::from_millis(500);
/// A handoff not done this long after it began lets the player go (their state is saved, or
/// stays queued for saving like any player's who left).
pub const GIVE_UP: Duration = Duration::from_secs(15);

/// Why a player leaves for another shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartCause {
    /// They travelled to a zone another shard hosts.
    Travel,
    /// This shard is draining.
    Drain,
    /// Their zone is hosted elsewhere now (this shard lost its lease, or never offered it).
    ZoneMoved,
}

/// Hand `player` off to the shard hosting `zone`.
#[derive(Message, Debug, Clone)]
pub struct Depart {
    pub player: Entity,
    pub zone: ZoneId,
    pub cause: DepartCause,
}

/// Handoffs since start.
#[derive(Resource, Debug, Default, Clone)]
pub struct HandoffStats {
    pub started: u64,
    /// A ticket was given to the client.
    pub completed: u64,
    /// The player was let go without a ticket.
    pub failed: u64,
    /// Milliseconds from the start of each completed handoff to its ticket (the last 1,024).
    pub latencies_ms: std::collections::VecDeque<f64>,
}

fn start(
    mut commands: Commands,
    mut departs: MessageReader<Depart>,
    mut players: Query<
        (
            &mut Player,
            &mut PlayerInfo,
            &Farm,
            &Decks,
            &mut ArenaStatus,
        ),
        Without<Departing>,
    >,
    mut queue: ResMut<SaveQueue>,
    mut arena: ResMut<ArenaQueue>,
    mut stats: ResMut<HandoffStats>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for d in departs.read() {
        let Ok((mut p, mut info, farm, decks, mut status)) = players.get_mut(d.player) else {
            continue; // gone, or already departing
        };
        match status.state {
            // A duel is not cut short because its zone moved: the player goes when it ends
            // (the next heartbeat asks again). A drain cannot wait; travel is refused earlier.
            ArenaState::InDuel if d.cause == DepartCause::ZoneMoved => continue,
            ArenaState::Queued { .. } => {
                arena.remove(p.account);
                status.state = ArenaState::Idle;
            }
            _ => {}
        }
        if info.zone != d.zone {
            info.zone = d.zone.clone();
        }
        queue_player(&mut queue, &mut p, &info, farm, decks, true);
        let with_save = queue.ticket_with_release(p.account, d.zone.clone());
        commands.entity(d.player).insert(Departing {
            zone: d.zone.clone(),
            since: at,
            ask_at: None,
            with_save,
            let_go: false,
        });
        stats.started += 1;
        info!(account = %p.account, zone = %d.zone, cause = ?d.cause, "handoff: saving and releasing");
    }
}

/// Ask for tickets once the release save is confirmed, and again while the zone has no shard.
fn ask(
    mut departing: Query<(&Player, &mut Departing)>,
    queue: Res<SaveQueue>,
    mut backend: ResMut<Backend>,
    mut kicks: MessageWriter<Kick>,
    mut stats: ResMut<HandoffStats>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for (p, mut d) in &mut departing {
        if d.let_go {
            continue;
        }
        let confirmed = !queue.holds(p.account);
        if at.saturating_sub(d.since) > GIVE_UP {
            if let Some(link) = p.link {
                warn!(account = %p.account, zone = %d.zone, confirmed, "handoff gave up: letting the player go");
                let reason = if confirmed {
                    KickReason::ZoneUnavailable
                } else {
                    KickReason::ServiceUnavailable
                };
                kicks.write(Kick { link, reason });
                stats.failed += 1;
            }
            // Asked no more; the leave saves (if still owed) and despawns as usual.
            d.let_go = true;
            continue;
        }
        if confirmed && std::mem::take(&mut d.with_save) {
            d.ask_at = Some(at + WITH_SAVE_WAIT);
            continue;
        }
        if confirmed && d.ask_at.is_none_or(|t| at >= t) {
            d.ask_at = Some(Duration::MAX); // until the answer sets the next
            backend.submit(Job::Handoff {
                account: p.account,
                zone: d.zone.clone(),
            });
        }
    }
}

/// A ticket answered: give it to the client, or ask again later, or let the player go.
fn deliver(
    mut tickets: MessageReader<HandoffTicket>,
    players: Res<super::players::Players>,
    mut departing: Query<(&Player, &mut Departing)>,
    mut kicks: MessageWriter<Kick>,
    mut stats: ResMut<HandoffStats>,
    settings: Res<Settings>,
    state: Res<State<ShardState>>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    let draining = *state.get() != ShardState::Running;
    for HandoffTicket { account, result } in tickets.read() {
        let Some(&entity) = players.online.get(account) else {
            continue;
        };
        let Ok((p, mut d)) = departing.get_mut(entity) else {
            continue;
        };
        // An answer for a departure already settled (given up on) is of no use.
        let Some(link) = p.link.filter(|_| !d.let_go) else {
            continue;
        };
        let outcome = match result {
            // While draining, this shard may still be the holder for a moment (its leaving
            // and this ask raced): ask again.
            Ok(t) if draining && t.shard_id == settings.0.shard_id => Err(true),
            Ok(t) if t.zone != d.zone => Err(false),
            Ok(ticket) => Ok(ticket),
            Err(SidecarError::Rejected { status, body }) => {
                warn!(%account, status, %body, "handoff refused by the sidecar");
                Err(false)
            }
            // No shard hosts the zone (503), or the sidecar is away: later, unless draining
            // (then the drain's own goodbye is better than a wait).
            Err(e) => {
                info!(%account, zone = %d.zone, error = %e, "handoff: no ticket yet");
                Err(!draining)
            }
        };
        match outcome {
            Ok(ticket) => {
                let ms = at.saturating_sub(d.since).as_secs_f64() * 1e3;
                info!(%account, to = %ticket.shard_id, zone = %ticket.zone, ms, "handoff: ticket sent");
                stats.completed += 1;
                metrics::histogram!("harvest_shard_handoff_seconds").record(ms / 1e3);
                stats.latencies_ms.push_back(ms);
                if stats.latencies_ms.len() > 1024 {
                    stats.latencies_ms.pop_front();
                }
                kicks.write(Kick {
                    link,
                    reason: KickReason::Handoff(Box::new(ticket.clone())),
                });
                d.let_go = true;
            }
            Err(true) => d.ask_at = Some(at + RETRY),
            Err(false) => {
                stats.failed += 1;
                let reason = if draining {
                    KickReason::ShuttingDown
                } else {
                    KickReason::ZoneUnavailable
                };
                kicks.write(Kick { link, reason });
                d.let_go = true;
            }
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_message::<Depart>().init_resource::<HandoffStats>();
    // After every request of the frame is applied (so the journey's save carries them all),
    // before the save queue hands out this frame's batches. Tickets that arrived are given
    // out before anyone is asked again.
    app.add_systems(
        Update,
        (start, deliver, ask)
            .chain()
            .in_set(TickSet::Persist)
            .before(super::persistence::PersistSet),
    );
}
