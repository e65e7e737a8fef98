//! Player lifecycle: a session (one authenticated link) asks for its account; the shard takes
//! the account's ownership lease and loads its state; the player entity is spawned and attached
//! to the link; when the link goes, a last save releases the lease and the entity is despawned.
//!
//! - A client that has begun its handshake ([`Arriving`]) has its player loaded at once, so
//!   the state is usually here by the time it joins, a frame later. That early lease is asked
//!   for only if nobody holds it (`if_free`: a 409 leaves the player where they are, and the
//!   session takes the lease when it joins, as sessions do). A player loaded so but not joined
//!   within [`PREPARED_TTL`] has its lease given back with an unchanged save.
//! - The same account connecting again *here* takes its live entity over: two links never
//!   drive one farm, and nothing is loaded twice.
//! - An account whose last save from this shard is still outstanding (it left a moment ago) is
//!   loaded only once that save is settled, so it always loads its newest state.
//! - While the sidecar is unreachable, or the shard is draining, new sessions are refused with
//!   a typed reason instead of being left waiting.
//! - A refused save ([`SaveRefused`]: another shard loaded the player since) stops the player
//!   here at once: no more requests are taken, nothing more is saved, and the link is told why.
//! - A logout elsewhere ([`EndSession`]) disconnects the player after a normal final save.
//!
//! This plugin knows nothing about sockets: it reads [`Joined`] and [`Left`] and writes
//! [`Attached`] and [`Kick`]; offline tests write the joins themselves.

use super::handoff::{Depart, DepartCause};
use super::persistence::{
    Backend, Job, Leased, SaveQueue, SaveRefused, SidecarHealth, queue_player,
};
use super::player::{Arriving, Attached, Departing, Joined, Kick, Left, Player, Session};
use super::shutdown::ShardState;
use super::{GameContent, Settings, TickSet, now};
use crate::sidecar_client::SidecarError;
use bevy::prelude::*;
use harvest_shared::api::Lease;
use harvest_shared::duel::Decks;
use harvest_shared::duel::view::ArenaStatus;
use harvest_shared::farming::Farm;
use harvest_shared::ids::AccountId;
use harvest_shared::protocol::{KickReason, PlayerInfo};
use harvest_shared::state::PlayerState;
use std::collections::HashMap;
use std::time::Duration;
use tracing::{info, warn};

/// A session waiting for its state longer than this is refused as unavailable.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(15);
/// A player loaded for a handshake that has not joined after this long is given back.
pub const PREPARED_TTL: Duration = Duration::from_secs(2);
/// Loads under way plus players loaded ahead, beyond which an [`Arriving`] loads nothing early.
pub const MAX_EARLY: usize = 1024;

/// End the game session of `account` on this shard (its owner logged out).
#[derive(Message, Debug, Clone)]
pub struct EndSession(pub AccountId);

/// A session waiting for its player.
#[derive(Debug, Clone, Copy)]
pub struct Loading {
    /// The link waiting; `None` when it left while the lease was in flight (a link of the same
    /// account that joins before the answer takes it over, so no second lease is taken).
    pub link: Option<Entity>,
    pub since: Duration,
    /// The lease request has been sent (false: waiting for an earlier save to settle).
    pub requested: bool,
    /// Loaded for a handshake under way ([`Arriving`]), no session yet: the answer is kept
    /// in [`Players::prepared`] for the session to come.
    pub early: bool,
    /// The lease request in flight asked for the lease only if free (an early load): a 409
    /// means another shard holds the player, and a session that joined meanwhile loads anew.
    pub if_free: bool,
}

impl Loading {
    /// A joined session's load, not requested yet (an unconditional lease).
    fn for_session(link: Entity, since: Duration) -> Self {
        Loading {
            link: Some(link),
            since,
            requested: false,
            early: false,
            if_free: false,
        }
    }
}

/// A player loaded for a session that has not joined yet.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub lease: Lease,
    /// When the lease arrived.
    pub at: Duration,
}

/// Who is online or loading on this shard.
#[derive(Resource, Default, Debug)]
pub struct Players {
    pub online: HashMap<AccountId, Entity>,
    pub loading: HashMap<AccountId, Loading>,
    /// Loaded ahead of their sessions (at most [`MAX_EARLY`] with `loading`).
    pub prepared: HashMap<AccountId, Prepared>,
    /// Prepared players whose session joined this frame, for `process_loads`.
    ready: Vec<(AccountId, Lease)>,
    /// Sessions whose player's load began during their handshake (done or still under way
    /// when they joined), since start.
    pub loaded_ahead: u64,
}

fn refuse(kicks: &mut MessageWriter<Kick>, link: Entity, reason: KickReason) {
    kicks.write(Kick { link, reason });
}

/// Start loading the players of handshakes under way, unless already here or loading.
fn process_arrivals(
    mut arrivals: MessageReader<Arriving>,
    mut players: ResMut<Players>,
    health: Res<SidecarHealth>,
    state: Res<State<ShardState>>,
    time: Res<Time<Real>>,
) {
    if *state.get() != ShardState::Running || !health.is_up() {
        arrivals.clear();
        return;
    }
    let at = now(&time);
    for &Arriving { account } in arrivals.read() {
        if players.online.contains_key(&account)
            || players.loading.contains_key(&account)
            || players.prepared.contains_key(&account)
            || players.loading.len() + players.prepared.len() >= MAX_EARLY
        {
            continue;
        }
        players.loading.insert(
            account,
            Loading {
                link: None,
                since: at,
                requested: false,
                early: true,
                if_free: false,
            },
        );
    }
}

/// Give back the lease of a player loaded ahead whom nobody came for: an unchanged save that
/// releases it (the record is new to the queue, which held nothing for the account).
fn give_back(queue: &mut SaveQueue, content: &GameContent, account: AccountId, lease: Lease) {
    let state = lease
        .state
        .unwrap_or_else(|| PlayerState::new_player(&content.0, account));
    queue.leased(account, lease.epoch, lease.version);
    queue.push(account, state, Vec::new(), true);
}

/// Players loaded ahead whose session never joined give their lease back.
fn release_unclaimed(
    mut players: ResMut<Players>,
    mut queue: ResMut<SaveQueue>,
    content: Res<GameContent>,
    time: Res<Time<Real>>,
) {
    if players.prepared.is_empty() {
        return;
    }
    let at = now(&time);
    let stale: Vec<AccountId> = players
        .prepared
        .iter()
        .filter(|(_, p)| at.saturating_sub(p.at) >= PREPARED_TTL)
        .map(|(a, _)| *a)
        .collect();
    for account in stale {
        if let Some(p) = players.prepared.remove(&account) {
            info!(%account, "loaded for a handshake that never joined: lease given back");
            give_back(&mut queue, &content, account, p.lease);
        }
    }
}

fn process_joins(
    mut joins: MessageReader<Joined>,
    mut players: ResMut<Players>,
    mut entities: Query<(&mut Player, &PlayerInfo)>,
    mut sessions: Query<&mut Session>,
    mut attached: MessageWriter<Attached>,
    mut kicks: MessageWriter<Kick>,
    departing: Query<&Departing>,
    mut commands: Commands,
    health: Res<SidecarHealth>,
    state: Res<State<ShardState>>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for &Joined { account, link } in joins.read() {
        if *state.get() != ShardState::Running {
            refuse(&mut kicks, link, KickReason::ShuttingDown);
            continue;
        }
        // A player already handed off (their ticket sent, or let go) is not taken over: the new
        // session loads afresh, once the journey's save is settled.
        if let Some(&player) = players.online.get(&account)
            && departing.get(player).is_ok_and(|d| d.let_go)
        {
            players.online.remove(&account);
            commands.entity(player).despawn();
        }
        if let Some(&player) = players.online.get(&account) {
            let Ok((mut p, info)) = entities.get_mut(player) else {
                continue;
            };
            if let Some(old) = p.link.replace(link).filter(|old| *old != link) {
                refuse(&mut kicks, old, KickReason::LoggedInElsewhere);
                if let Ok(mut s) = sessions.get_mut(old) {
                    s.player = None;
                }
            }
            if let Ok(mut s) = sessions.get_mut(link) {
                s.player = Some(player);
            }
            attached.write(Attached {
                player,
                link,
                zone: info.zone.clone(),
            });
            info!(%account, "session took over a live player");
            continue;
        }
        // Loaded during the handshake: spawned this frame, lease in hand.
        if let Some(prepared) = players.prepared.remove(&account) {
            players.loading.insert(
                account,
                Loading {
                    link: Some(link),
                    since: at,
                    requested: true,
                    early: false,
                    if_free: false,
                },
            );
            players.ready.push((account, prepared.lease));
            players.loaded_ahead += 1;
            continue;
        }
        if !health.is_up() {
            refuse(&mut kicks, link, KickReason::ServiceUnavailable);
            continue;
        }
        match players.loading.get_mut(&account) {
            Some(waiting) => {
                // A newer session of the same account (or the one whose handshake began the
                // load): it waits for the same load.
                if let Some(old) = waiting.link.filter(|old| *old != link) {
                    refuse(&mut kicks, old, KickReason::LoggedInElsewhere);
                }
                waiting.link = Some(link);
                let early = std::mem::take(&mut waiting.early);
                players.loaded_ahead += u64::from(early);
            }
            None => {
                players
                    .loading
                    .insert(account, Loading::for_session(link, at));
            }
        }
    }
}

/// Send lease requests for sessions whose account has nothing outstanding in the save queue;
/// give up on sessions that waited too long.
fn request_loads(
    mut players: ResMut<Players>,
    queue: Res<SaveQueue>,
    mut backend: ResMut<Backend>,
    mut kicks: MessageWriter<Kick>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    let mut expired = Vec::new();
    for (account, waiting) in players.loading.iter_mut() {
        if at.saturating_sub(waiting.since) > LOAD_TIMEOUT {
            expired.push((*account, waiting.link));
        } else if !waiting.requested && !queue.holds(*account) {
            waiting.requested = true;
            // Ahead of a handshake, never take a player from the shard they play on.
            waiting.if_free = waiting.early;
            backend.submit(Job::Lease {
                account: *account,
                if_free: waiting.if_free,
            });
        }
    }
    for (account, link) in expired {
        players.loading.remove(&account);
        if let Some(link) = link {
            warn!(%account, "load timed out");
            refuse(&mut kicks, link, KickReason::ServiceUnavailable);
        }
    }
}

fn process_loads(
    mut commands: Commands,
    mut replies: MessageReader<Leased>,
    mut players: ResMut<Players>,
    mut sessions: Query<&mut Session>,
    mut queue: ResMut<SaveQueue>,
    content: Res<GameContent>,
    mut attached: MessageWriter<Attached>,
    mut kicks: MessageWriter<Kick>,
    mut departs: MessageWriter<Depart>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    let answers: Vec<(AccountId, Result<Lease, SidecarError>)> = std::mem::take(&mut players.ready)
        .into_iter()
        .map(|(account, lease)| (account, Ok(lease)))
        .chain(replies.read().map(|r| (r.account, r.result.clone())))
        .collect();
    for (account, result) in answers {
        let link = match players.loading.remove(&account) {
            // Held by another shard (only asked if free, ahead of the handshake): a session
            // that has joined since takes the lease as any session does.
            Some(Loading {
                link,
                if_free: true,
                ..
            }) if matches!(result, Err(SidecarError::Rejected { status: 409, .. })) => {
                if let Some(link) = link {
                    players
                        .loading
                        .insert(account, Loading::for_session(link, at));
                }
                continue;
            }
            Some(Loading {
                link: Some(link), ..
            }) => link,
            Some(Loading {
                link: None,
                early: true,
                ..
            }) => {
                // Loaded for a handshake under way: kept for its session.
                if let Ok(lease) = result {
                    players.prepared.insert(account, Prepared { lease, at });
                }
                continue;
            }
            // Nobody waits any more (they left, the load timed out, or the shard is draining):
            // a lease that came anyway is given back.
            _ => {
                if let Ok(lease) = result
                    && !queue.holds(account)
                    && !players.online.contains_key(&account)
                {
                    give_back(&mut queue, &content, account, lease);
                }
                continue;
            }
        };
        let lease = match result {
            Ok(lease) => lease,
            Err(e) => {
                warn!(%account, error = %e, "loading player state failed");
                let reason = match e {
                    SidecarError::Unavailable(_) => KickReason::ServiceUnavailable,
                    SidecarError::Rejected { .. } | SidecarError::Crashed(_) => {
                        KickReason::LoadFailed
                    }
                };
                refuse(&mut kicks, link, reason);
                continue;
            }
        };
        let Ok(mut session) = sessions.get_mut(link) else {
            continue;
        };
        let is_new = lease.state.is_none();
        let state = lease
            .state
            .clone()
            .unwrap_or_else(|| PlayerState::new_player(&content.0, account));
        queue.leased(account, lease.epoch, lease.version);
        let mut player = Player::new(account, link, lease.epoch, at);
        if is_new {
            // Put the starting state on record right away.
            player.mark_dirty(at);
        }
        let zone = state.zone.clone();
        let entity = commands
            .spawn((
                player,
                PlayerInfo {
                    account,
                    zone: zone.clone(),
                },
                state.farm,
                lease.holdings.inventory.clone(),
                lease.holdings.collection.clone(),
                state.decks,
                ArenaStatus {
                    rating: lease.rating,
                    ..Default::default()
                },
            ))
            .id();
        players.online.insert(account, entity);
        session.player = Some(entity);
        if !settings.0.zones.contains(&zone) {
            // Sent here for a zone this shard does not offer (it moved since): pass them on.
            departs.write(Depart {
                player: entity,
                zone: zone.clone(),
                cause: DepartCause::ZoneMoved,
            });
        }
        attached.write(Attached {
            player: entity,
            link,
            zone,
        });
        info!(%account, epoch = lease.epoch, version = lease.version, is_new, "player loaded");
    }
}

/// A link went away: its player's last state goes to the queue (releasing the lease) and the
/// entity is despawned.
fn process_leaves(
    mut commands: Commands,
    mut leaves: MessageReader<Left>,
    mut players: ResMut<Players>,
    mut queue: ResMut<SaveQueue>,
    mut entities: Query<(&mut Player, &PlayerInfo, &Farm, &Decks)>,
) {
    for &Left { account, link } in leaves.read() {
        if let Some(waiting) = players.loading.get_mut(&account)
            && waiting.link == Some(link)
        {
            if waiting.requested {
                // The lease is on its way: keep waiting for it, with nobody attached.
                waiting.link = None;
            } else {
                players.loading.remove(&account);
            }
        }
        let Some(&entity) = players.online.get(&account) else {
            continue;
        };
        let Ok((mut p, info, farm, decks)) = entities.get_mut(entity) else {
            continue;
        };
        if p.link != Some(link) {
            continue; // another link took this player over
        }
        queue_player(&mut queue, &mut p, info, farm, decks, true);
        players.online.remove(&account);
        commands.entity(entity).despawn();
        info!(%account, "player left");
    }
}

/// Another load owns the player now: stop it here without saving, and say why.
fn process_refusals(
    mut commands: Commands,
    mut refusals: MessageReader<SaveRefused>,
    mut players: ResMut<Players>,
    entities: Query<&Player>,
    mut sessions: Query<&mut Session>,
    mut kicks: MessageWriter<Kick>,
) {
    for SaveRefused { account, outcome } in refusals.read() {
        let Some(entity) = players.online.remove(account) else {
            continue;
        };
        warn!(%account, ?outcome, "save refused: this shard no longer owns the player; letting them go");
        if let Ok(p) = entities.get(entity)
            && let Some(link) = p.link
        {
            if let Ok(mut s) = sessions.get_mut(link) {
                s.player = None;
            }
            refuse(&mut kicks, link, KickReason::SessionMovedElsewhere);
        }
        commands.entity(entity).despawn();
    }
}

/// The account logged out: disconnect it (the leave saves as usual).
fn process_end_sessions(
    mut ends: MessageReader<EndSession>,
    players: Res<Players>,
    entities: Query<&Player>,
    mut kicks: MessageWriter<Kick>,
) {
    for EndSession(account) in ends.read() {
        let link = players
            .online
            .get(account)
            .and_then(|e| entities.get(*e).ok())
            .and_then(|p| p.link)
            .or_else(|| players.loading.get(account).and_then(|w| w.link));
        if let Some(link) = link {
            info!(%account, "logged out elsewhere: ending the game session");
            refuse(&mut kicks, link, KickReason::LoggedOut);
        }
    }
}

/// Draining: sessions still waiting for their load are told the shard is going away, and any
/// lease answer that arrives later is dropped (nothing is spawned, so nothing is owed).
/// Players loaded ahead give their leases back (the drain waits for those saves too).
fn refuse_loading_on_drain(
    mut players: ResMut<Players>,
    mut kicks: MessageWriter<Kick>,
    mut queue: ResMut<SaveQueue>,
    content: Res<GameContent>,
) {
    for (_, waiting) in players.loading.drain() {
        if let Some(link) = waiting.link {
            refuse(&mut kicks, link, KickReason::ShuttingDown);
        }
    }
    for (account, p) in std::mem::take(&mut players.prepared) {
        give_back(&mut queue, &content, account, p.lease);
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Players>().add_message::<EndSession>();
    app.add_systems(OnEnter(ShardState::Draining), refuse_loading_on_drain);
    app.add_systems(
        Update,
        (
            process_refusals,
            process_leaves,
            process_end_sessions,
            process_arrivals,
            process_joins,
            request_loads,
            process_loads,
            release_unclaimed,
        )
            .chain()
            .in_set(TickSet::Simulate)
            .in_set(PlayersSet),
    );
}

/// The player lifecycle systems, which run before requests are applied.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayersSet;
