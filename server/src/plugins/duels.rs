//! Live card duels: the shard runs every duel with the pure rules (`harvest_shared::duel`) and
//! decides everything; clients only ask.
//!
//! - A [`MatchFound`] spawns a duel entity: [`LiveDuel`] (server-only: the whole state, decks
//!   in order, the action log, the content it started with) and the replicated
//!   [`DuelBoard`], sent to the two duelists' links only (`Replicate::manual`). Each duelist's
//!   own player entity gets a [`DuelSeat`] with their hand; the opponent's hand and both decks
//!   are counts on the board and nothing more.
//! - A [`DuelAction`] request is checked and applied by `Duel::apply`; a refusal answers with
//!   the typed reason and changes nothing. Every applied call goes into the log, and so does
//!   every timer tick that ended a turn (`Duel::tick`), so the log replays exactly.
//! - A duelist whose link goes away is *away*: a grace period from content runs
//!   (`disconnect_grace_ticks`) and they forfeit (a logged concession) unless they are back,
//!   in which case their seat and the board follow them to the new link.
//! - When a duel ends its [`MatchReport`] goes to the sidecar, which rates both players,
//!   stores the record and pays the rewards through the ledger in one commit. The answer sets
//!   each duelist's [`ArenaStatus`] (result, rating change, reward) and credits the reward to the
//!   live player it was recorded for. The duelists are free (to queue again, to travel) as
//!   soon as the duel ends; the result follows. An unreachable sidecar is retried every 5 s
//!   (a lost reply after 60 s; the record is idempotent) up to [`MAX_RECORD_TRIES`]; a refusal
//!   (4xx) is logged and never retried.

use super::arena::MatchFound;
use super::bus::Publish;
use super::clock::GameClock;
use super::intents::{Answer, Incoming, RequestStats, intake, respond};
use super::persistence::{Backend, Job, MatchRecorded};
use super::player::{Attached, Left, Player};
use super::players::Players;
use super::shutdown::ShardState;
use super::{GameContent, Settings, TickSet};
use crate::sidecar_client::SidecarError;
use bevy::prelude::*;
use harvest_shared::api::{MAX_MATCH_LOG, MatchReport};
use harvest_shared::content::Content;
use harvest_shared::duel::rating::Rating;
use harvest_shared::duel::view::{
    ArenaState, ArenaStatus, DuelBoard, DuelResult, DuelSeat, Result3,
};
use harvest_shared::duel::{
    Duel, DuelAction, DuelError, DuelEvent, LogEntry, Outcome, Side, deck_hash,
};
use harvest_shared::events::EventKind;
use harvest_shared::ids::{AccountId, CardId};
use harvest_shared::inventory::{self, Inventory};
use harvest_shared::ledger::Delta;
use harvest_shared::protocol::RejectReason;
use harvest_shared::time::Tick;
use lightyear::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{error, info, warn};

/// How long to wait before sending a match record again after the sidecar was unreachable.
pub const RECORD_RETRY_TICKS: u64 = 100;
/// A record unanswered this long (its reply was lost) is sent again (it is idempotent).
pub const RECORD_TIMEOUT_TICKS: u64 = 1_200;
/// Attempts at recording a match before giving up on it (about 10 minutes of outage).
pub const MAX_RECORD_TRIES: u32 = 120;

/// One duelist's place in a live duel.
#[derive(Debug, Clone)]
pub struct Seat {
    pub account: AccountId,
    /// Their player entity while they are on this shard.
    pub player: Option<Entity>,
    pub link: Option<Entity>,
    /// They left at this tick and have not come back.
    pub away_since: Option<Tick>,
    pub rating: Rating,
    pub deck: Vec<CardId>,
}

/// A duel in play: its whole state, on the shard only (the entity exists while it is played).
#[derive(Component, Debug, Clone)]
pub struct LiveDuel {
    pub match_id: String,
    pub duel: Duel,
    /// The content the duel started with (a hot reload changes only later duels).
    pub content: Arc<Content>,
    pub seats: [Seat; 2],
    pub started: Tick,
    pub log: Vec<LogEntry>,
}

/// A finished duel whose record is on its way to the sidecar.
#[derive(Debug)]
pub struct PendingRecord {
    pub duel: LiveDuel,
    /// The player entities the result (and the reward the record pays) is for: the duelists'
    /// entities when the duel ended. A player loaded again later read the reward with their
    /// holdings, so only these entities are credited.
    pub credit: [Option<Entity>; 2],
    /// Send (again) at this tick; `None` while a request is out.
    pub retry_at: Option<Tick>,
    /// When the last request went.
    pub sent_at: Option<Tick>,
    pub tries: u32,
}

impl LiveDuel {
    fn side_of(&self, account: AccountId) -> Option<Side> {
        if self.seats[0].account == account {
            Some(Side::A)
        } else if self.seats[1].account == account {
            Some(Side::B)
        } else {
            None
        }
    }

    /// The links to replicate the board to.
    fn links(&self) -> Vec<Entity> {
        self.seats.iter().filter_map(|s| s.link).collect()
    }

    /// The record of a finished duel.
    fn report(&self, shard_id: &str) -> Option<MatchReport> {
        let outcome = self.duel.outcome?;
        let rewards = &self.duel.rules.rewards;
        let pay = |side| match Result3::of(outcome, side) {
            _ if self.duel.turn < rewards.min_turns => 0,
            Result3::Win => rewards.win,
            Result3::Draw => rewards.draw,
            Result3::Loss => rewards.loss,
        };
        Some(MatchReport {
            match_id: self.match_id.clone(),
            shard_id: shard_id.to_owned(),
            players: [self.seats[0].account, self.seats[1].account],
            decks: [self.seats[0].deck.clone(), self.seats[1].deck.clone()],
            deck_hashes: [
                deck_hash(&self.seats[0].deck),
                deck_hash(&self.seats[1].deck),
            ],
            seed: self.duel.seed,
            rules: self.duel.rules.clone(),
            content_version: self.content.version.clone(),
            started: self.started,
            log: self.log.clone(),
            outcome,
            final_hash: self.duel.state_hash(),
            rewards: [pay(Side::A), pay(Side::B)],
        })
    }
}

/// The duel each duelist is playing.
#[derive(Resource, Debug, Default)]
pub struct Duels {
    pub by_account: HashMap<AccountId, Entity>,
}

/// Finished duels whose record is on its way to the sidecar, by match id. (Their entities are
/// gone: a finished duel's board is no longer sent to anyone.)
#[derive(Resource, Debug, Default)]
pub struct Recording(pub HashMap<String, PendingRecord>);

/// Duel counters since start.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct DuelStats {
    pub started: u64,
    pub finished: u64,
    pub recorded: u64,
    pub forfeits: u64,
    pub timeouts: u64,
    pub moves: u64,
    pub moves_refused: u64,
    pub record_failures: u64,
}

fn seat_index(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

/// Spawn a duel for each pair the queue found.
#[allow(clippy::too_many_arguments)]
fn start_duels(
    mut commands: Commands,
    mut found: MessageReader<MatchFound>,
    mut duels: ResMut<Duels>,
    mut stats: ResMut<DuelStats>,
    mut players: Query<(&Player, &mut ArenaStatus)>,
    content: Res<GameContent>,
    settings: Res<Settings>,
    clock: Res<GameClock>,
    mut publish: MessageWriter<Publish>,
) {
    for MatchFound(pair) in found.read() {
        let seed: u64 = rand::random();
        // The id is replicated to the duelists: it must say nothing about the seed.
        let match_id = format!(
            "m{:016x}{:04x}",
            rand::random::<u64>(),
            stats.started & 0xffff
        );
        let duel = Duel::new(
            seed,
            content.0.duel.clone(),
            [pair[0].deck.clone(), pair[1].deck.clone()],
            clock.now,
        );
        let seats = [0, 1].map(|i| {
            let q = &pair[i];
            let link = players.get(q.player).ok().and_then(|(p, _)| p.link);
            Seat {
                account: q.account,
                player: Some(q.player),
                link,
                // Gone already (the same frame): the grace period runs from now.
                away_since: link.is_none().then_some(clock.now),
                rating: q.rating,
                deck: q.deck.clone(),
            }
        });
        let accounts = [seats[0].account, seats[1].account];
        let live = LiveDuel {
            match_id: match_id.clone(),
            content: content.0.clone(),
            seats,
            started: clock.now,
            log: Vec::new(),
            duel,
        };
        let board = DuelBoard::of(&live.duel, &match_id, accounts);
        let links = live.links();
        let hands = [
            live.duel.side(Side::A).hand.clone(),
            live.duel.side(Side::B).hand.clone(),
        ];
        let mut e = commands.spawn((live, board, Name::new("duel")));
        if settings.0.network {
            e.insert(Replicate::manual(links));
        }
        let entity = e.id();
        for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
            if let Ok((_, mut status)) = players.get_mut(pair[i].player) {
                status.state = ArenaState::InDuel;
                commands.entity(pair[i].player).insert(DuelSeat {
                    match_id: match_id.clone(),
                    side,
                    hand: hands[i].clone(),
                });
            }
            duels.by_account.insert(accounts[i], entity);
        }
        stats.started += 1;
        info!(%match_id, a = %accounts[0], b = %accounts[1], "duel started");
        publish.write(Publish(EventKind::DuelStarted {
            match_id,
            players: accounts,
        }));
    }
}

/// After a duel changed: refresh its board (appending `events` to the play log) and the
/// duelists' hands.
fn refresh(
    live: &LiveDuel,
    board: &mut DuelBoard,
    events: Vec<DuelEvent>,
    seats: &mut Query<&mut DuelSeat>,
) {
    let mut fresh = DuelBoard::of(&live.duel, &live.match_id, board.accounts);
    fresh.log = std::mem::take(&mut board.log);
    fresh.push_log(events);
    let grace = u64::from(live.duel.rules.disconnect_grace_ticks);
    fresh.away_until = [0, 1].map(|i| live.seats[i].away_since.map(|t| t.saturating_add(grace)));
    *board = fresh;
    for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
        if let Some(p) = live.seats[i].player
            && let Ok(mut seat) = seats.get_mut(p)
        {
            let hand = &live.duel.side(side).hand;
            if &seat.hand != hand {
                seat.hand = hand.clone();
            }
        }
    }
}

/// Apply duelists' moves.
#[allow(clippy::too_many_arguments)]
fn duel_requests(
    mut incoming: MessageReader<Incoming<DuelAction>>,
    duels: Res<Duels>,
    mut live: Query<(&mut LiveDuel, &mut DuelBoard)>,
    mut seats: Query<&mut DuelSeat>,
    players: Query<&Player>,
    mut answers: MessageWriter<Answer>,
    mut requests: ResMut<RequestStats>,
    mut stats: ResMut<DuelStats>,
    clock: Res<GameClock>,
    state: Res<State<ShardState>>,
) {
    let running = *state.get() == ShardState::Running;
    for req in incoming.read() {
        let result = (|| {
            let account = req
                .player
                .and_then(|p| players.get(p).ok())
                .map(|p| p.account)
                .ok_or(RejectReason::NotReady)?;
            if !running {
                return Err(RejectReason::NotReady);
            }
            let entity = *duels
                .by_account
                .get(&account)
                .ok_or(RejectReason::NotInDuel)?;
            let (mut live, mut board) =
                live.get_mut(entity).map_err(|_| RejectReason::NotInDuel)?;
            let side = live.side_of(account).ok_or(RejectReason::NotInDuel)?;
            // Room for the turn ends, timeouts and a concession still to come: a record stays
            // storable whatever the content (never reached with the shipped numbers).
            let reserve = 2 * usize::from(live.duel.rules.max_turns) + 4;
            if live.log.len() + reserve >= MAX_MATCH_LOG
                && !matches!(req.action, DuelAction::Concede | DuelAction::EndTurn)
            {
                return Err(DuelError::InvalidTarget("the duel's log is full".into()).into());
            }
            let content = live.content.clone();
            let events = live.duel.apply(side, &req.action, &content, clock.now)?;
            live.log.push(LogEntry::Act {
                side,
                action: req.action.clone(),
                at: clock.now,
            });
            refresh(&live, &mut board, events, &mut seats);
            Ok(())
        })();
        if result.is_ok() {
            stats.moves += 1;
        } else {
            stats.moves_refused += 1;
        }
        respond(
            &mut answers,
            &mut requests,
            req.link,
            req.request_id,
            result,
        );
    }
}

/// Turn timers, disconnect forfeits, ending duels, and sending their records.
#[allow(clippy::too_many_arguments)]
fn run_duels(
    mut commands: Commands,
    mut live: Query<(Entity, &mut LiveDuel, &mut DuelBoard)>,
    mut seats: Query<&mut DuelSeat>,
    mut statuses: Query<&mut ArenaStatus>,
    mut duels: ResMut<Duels>,
    mut recording: ResMut<Recording>,
    mut stats: ResMut<DuelStats>,
    mut backend: ResMut<Backend>,
    settings: Res<Settings>,
    clock: Res<GameClock>,
    mut publish: MessageWriter<Publish>,
) {
    let now = clock.now;
    for (entity, mut live, mut board) in &mut live {
        let mut events = live.duel.tick(now);
        if !events.is_empty() {
            stats.timeouts += 1;
            live.log.push(LogEntry::Tick { at: now });
        }
        let grace = u64::from(live.duel.rules.disconnect_grace_ticks);
        for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
            let gone = live.seats[i]
                .away_since
                .is_some_and(|t| t.saturating_add(grace) <= now);
            if gone && live.duel.outcome.is_none() {
                let content = live.content.clone();
                if let Ok(ev) = live.duel.apply(side, &DuelAction::Concede, &content, now) {
                    stats.forfeits += 1;
                    info!(match_id = %live.match_id, account = %live.seats[i].account, "forfeit: did not come back in time");
                    live.log.push(LogEntry::Act {
                        side,
                        action: DuelAction::Concede,
                        at: now,
                    });
                    events.extend(ev);
                }
            }
        }
        if !events.is_empty() {
            refresh(&live, &mut board, events, &mut seats);
        }
        if live.duel.outcome.is_some() {
            stats.finished += 1;
            info!(match_id = %live.match_id, outcome = ?live.duel.outcome, moves = live.log.len(), "duel over");
            let players = [live.seats[0].account, live.seats[1].account];
            publish.write(Publish(EventKind::DuelEnded {
                match_id: live.match_id.clone(),
                players,
                winner: match live.duel.outcome {
                    Some(Outcome::Won(Side::A)) => Some(players[0]),
                    Some(Outcome::Won(Side::B)) => Some(players[1]),
                    _ => None,
                },
                moves: u32::try_from(live.log.len()).unwrap_or(u32::MAX),
            }));
            // The duelists are free at once; their result follows when it is recorded.
            let mut credit = [None, None];
            for (i, seat) in live.seats.iter().enumerate() {
                duels.by_account.remove(&seat.account);
                credit[i] = seat.player;
                if let Some(p) = seat.player {
                    if let Ok(mut status) = statuses.get_mut(p) {
                        status.state = ArenaState::Idle;
                    }
                    commands.entity(p).remove::<DuelSeat>();
                }
            }
            // Its board goes from the duelists' screens; the record waits aside.
            recording.0.insert(
                live.match_id.clone(),
                PendingRecord {
                    duel: live.clone(),
                    credit,
                    retry_at: Some(now),
                    sent_at: None,
                    tries: 0,
                },
            );
            commands.entity(entity).despawn();
        }
    }
    for pending in recording.0.values_mut() {
        // A reply that never came (lost, or its task died): send again.
        let lost = pending.retry_at.is_none()
            && pending
                .sent_at
                .is_some_and(|t| t.saturating_add(RECORD_TIMEOUT_TICKS) <= now);
        if (pending.retry_at.is_some_and(|at| at <= now) || lost)
            && let Some(report) = pending.duel.report(&settings.0.shard_id)
        {
            pending.retry_at = None;
            pending.sent_at = Some(now);
            pending.tries += 1;
            backend.submit(Job::RecordMatch(Box::new(report)));
        }
    }
}

/// A duelist's link came (back): their seat and the board follow it. A duelist who left the
/// shard is marked away (the grace period starts).
#[allow(clippy::too_many_arguments)]
fn follow_duelists(
    mut commands: Commands,
    mut attached: MessageReader<Attached>,
    mut left: MessageReader<Left>,
    duels: Res<Duels>,
    mut live: Query<(&mut LiveDuel, &mut DuelBoard)>,
    mut players: Query<(&Player, &mut ArenaStatus)>,
    mut seats: Query<&mut DuelSeat>,
    settings: Res<Settings>,
    clock: Res<GameClock>,
) {
    let network = settings.0.network;
    for l in left.read() {
        let Some(&entity) = duels.by_account.get(&l.account) else {
            continue;
        };
        let Ok((mut duel, mut board)) = live.get_mut(entity) else {
            continue;
        };
        let Some(side) = duel.side_of(l.account) else {
            continue;
        };
        let seat = &mut duel.seats[seat_index(side)];
        if seat.link != Some(l.link) {
            continue; // another link took the player over
        }
        seat.link = None;
        seat.player = None;
        seat.away_since = Some(clock.now);
        info!(match_id = %duel.match_id, account = %l.account, "duelist disconnected: grace period started");
        if network {
            commands
                .entity(entity)
                .insert(Replicate::manual(duel.links()));
        }
        refresh(&duel, &mut board, Vec::new(), &mut seats);
    }
    for a in attached.read() {
        let Ok((p, mut status)) = players.get_mut(a.player) else {
            continue;
        };
        let Some(&entity) = duels.by_account.get(&p.account) else {
            continue;
        };
        let Ok((mut duel, mut board)) = live.get_mut(entity) else {
            continue;
        };
        let Some(side) = duel.side_of(p.account) else {
            continue;
        };
        let seat = &mut duel.seats[seat_index(side)];
        seat.player = Some(a.player);
        seat.link = Some(a.link);
        seat.away_since = None;
        status.state = ArenaState::InDuel;
        commands.entity(a.player).insert(DuelSeat {
            match_id: duel.match_id.clone(),
            side,
            hand: duel.duel.side(side).hand.clone(),
        });
        if network {
            commands
                .entity(entity)
                .insert(Replicate::manual(duel.links()));
        }
        refresh(&duel, &mut board, Vec::new(), &mut seats);
    }
}

/// The sidecar answered a match record: tell both duelists, credit the rewards it paid to the
/// live players it was recorded for, and end the duel.
#[allow(clippy::too_many_arguments)]
fn finish_duels(
    mut recorded: MessageReader<MatchRecorded>,
    mut recording: ResMut<Recording>,
    mut players: Query<(&mut ArenaStatus, &mut Inventory)>,
    online: Res<Players>,
    mut stats: ResMut<DuelStats>,
    clock: Res<GameClock>,
) {
    for MatchRecorded { match_id, result } in recorded.read() {
        let Some(pending) = recording.0.get_mut(match_id) else {
            continue;
        };
        let Some(outcome) = pending.duel.duel.outcome else {
            continue;
        };
        let tries = pending.tries;
        let settled = match result {
            Ok(s) => Some(s.clone()),
            Err(SidecarError::Unavailable(e)) if tries < MAX_RECORD_TRIES => {
                stats.record_failures += 1;
                warn!(%match_id, error = %e, tries, "recording the match failed; retrying");
                pending.retry_at = Some(clock.now.saturating_add(RECORD_RETRY_TICKS));
                continue;
            }
            Err(e) => {
                // A refusal will not change on a retry, nor an outage of this length: the
                // result stands unrated and unpaid (the players are told).
                stats.record_failures += 1;
                error!(%match_id, error = %e, tries, "the match could not be recorded; giving up on it");
                None
            }
        };
        if settled.is_some() {
            stats.recorded += 1;
        }
        let (duel, credit) = (&pending.duel, pending.credit);
        for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
            let seat = &duel.seats[i];
            let Some(player) = credit[i] else {
                continue;
            };
            // Only the entity the record was made for: a player loaded again since read the
            // reward with their holdings.
            if online.online.get(&seat.account) != Some(&player) {
                continue;
            }
            let Ok((mut status, mut inv)) = players.get_mut(player) else {
                continue;
            };
            let (after, reward) = match &settled {
                Some(s) => (s.ratings_after[i], s.rewards[i]),
                None => (seat.rating, 0),
            };
            if reward > 0 {
                let mut credited = inv.clone();
                match inventory::apply(
                    &Delta::coins(i64::from(reward)),
                    &mut credited,
                    None,
                    &duel.content,
                ) {
                    Ok(()) => *inv = credited,
                    Err(e) => {
                        warn!(account = %seat.account, error = %e, "reward recorded but not shown until the next login")
                    }
                }
            }
            status.rating = after;
            status.last = Some(DuelResult {
                match_id: match_id.clone(),
                opponent: duel.seats[1 - i].account,
                result: Result3::of(outcome, side),
                rating_before: seat.rating,
                rating_after: after,
                reward,
            });
        }
        recording.0.remove(match_id);
    }
}

pub(crate) fn plugin(app: &mut App) {
    intake::<DuelAction>(app);
    app.init_resource::<Duels>()
        .init_resource::<Recording>()
        .init_resource::<DuelStats>();
    app.add_systems(
        Update,
        (
            start_duels,
            follow_duelists,
            duel_requests,
            run_duels,
            finish_duels,
        )
            .chain()
            .in_set(TickSet::Simulate)
            .after(super::arena::ArenaSet),
    );
}
