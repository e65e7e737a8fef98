//! Decks, travel and the arena queue: everything a player does before a duel starts.
//!
//! - **Decks** ([`DeckAction`]): create, rename, set cards, delete, with the shared rule
//!   (`harvest_shared::duel::deck::apply`). Decks are part of the player's saved state.
//! - **Travel** ([`TravelAction`]): to a zone this shard hosts, a journey is a room change: the
//!   player's zone changes (saved) and their replication is re-pointed at the new zone's room.
//!   To a zone another shard hosts, it is a handoff ([`super::handoff`]).
//! - **The queue** ([`ArenaAction`]): a player in an arena zone queues with a legal deck (checked
//!   against what they own now) and may leave at any time; leaving the shard leaves the queue.
//!   [`matchmake`] pairs the queue every frame with the shared rating-window rule
//!   (`harvest_shared::duel::arena::pair`) and hands each pair to the duels plugin as a
//!   [`MatchFound`]. The queue is bounded ([`MAX_QUEUE`]).

use super::clock::GameClock;
use super::directory::Hosting;
use super::handoff::{Depart, DepartCause};
use super::intents::{Answer, Incoming, RequestStats, intake, respond};
use super::persistence::SidecarHealth;
use super::player::{Attached, Left, Player};
use super::shutdown::ShardState;
use super::{GameContent, Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::action::Action;
use harvest_shared::duel::Decks;
use harvest_shared::duel::arena::{self, ArenaAction, ArenaError, Waiting};
use harvest_shared::duel::deck::{self, DeckAction};
use harvest_shared::duel::rating::Rating;
use harvest_shared::duel::validate_deck;
use harvest_shared::duel::view::{ArenaState, ArenaStatus};
use harvest_shared::ids::{AccountId, CardId};
use harvest_shared::inventory::Collection;
use harvest_shared::protocol::{PlayerInfo, RejectReason};
use harvest_shared::time::Tick;
use harvest_shared::travel::{self, TravelAction, TravelError};
use tracing::{debug, info};

/// The most players waiting in the arena queue of one shard.
pub const MAX_QUEUE: usize = 4096;

/// One player waiting for an opponent.
#[derive(Debug, Clone)]
pub struct Queued {
    pub account: AccountId,
    pub player: Entity,
    /// The deck's cards, as checked when the player queued.
    pub deck: Vec<CardId>,
    pub rating: Rating,
    pub since: Tick,
}

/// The arena queue, oldest first.
#[derive(Resource, Debug, Default)]
pub struct ArenaQueue(pub Vec<Queued>);

impl ArenaQueue {
    /// Take `account` out of the queue; true if it was there.
    pub fn remove(&mut self, account: AccountId) -> bool {
        let before = self.0.len();
        self.0.retain(|q| q.account != account);
        self.0.len() != before
    }
}

/// Two queued players were paired: side A is the first.
#[derive(Message, Debug, Clone)]
pub struct MatchFound(pub [Queued; 2]);

/// A player's data as the arena's requests see it.
type Arena = (
    &'static mut Player,
    &'static mut PlayerInfo,
    &'static mut Decks,
    &'static Collection,
    &'static mut ArenaStatus,
);
/// One player's row of [`Arena`]; a rule writes through it only when it changes something,
/// so a refusal trips no change detection.
type ArenaItem<'a> = (
    Mut<'a, Player>,
    Mut<'a, PlayerInfo>,
    Mut<'a, Decks>,
    &'a Collection,
    Mut<'a, ArenaStatus>,
);

/// What every arena request handler needs from the world.
#[derive(bevy::ecs::system::SystemParam)]
struct Ctx<'w, 's> {
    players: Query<'w, 's, Arena>,
    answers: MessageWriter<'w, Answer>,
    stats: ResMut<'w, RequestStats>,
    content: Res<'w, GameContent>,
    state: Res<'w, State<ShardState>>,
    time: Res<'w, Time<Real>>,
}

impl Ctx<'_, '_> {
    /// Run `rule` on the requesting player's data (with the content and the time) and answer.
    fn handle<A: Action>(
        &mut self,
        req: &Incoming<A>,
        rule: impl FnOnce(ArenaItem<'_>, &GameContent, std::time::Duration) -> Result<(), RejectReason>,
    ) {
        let running = *self.state.get() == ShardState::Running;
        let at = now(&self.time);
        let result = match req.player.and_then(|p| self.players.get_mut(p).ok()) {
            Some(_) if !running => Err(RejectReason::NotReady),
            None => Err(RejectReason::NotReady),
            Some(data) => rule(data, &self.content, at),
        };
        respond(
            &mut self.answers,
            &mut self.stats,
            req.link,
            req.request_id,
            result,
        );
    }
}

fn deck_requests(mut incoming: MessageReader<Incoming<DeckAction>>, mut ctx: Ctx) {
    for req in incoming.read() {
        ctx.handle(req, |(mut p, _, mut decks, col, _), content, at| {
            let mut edited = decks.clone();
            deck::apply(&req.action, &mut edited, col, &content.0)?;
            *decks = edited;
            p.mark_dirty(at);
            Ok(())
        });
    }
}

fn travel_requests(
    mut incoming: MessageReader<Incoming<TravelAction>>,
    mut ctx: Ctx,
    mut attached: MessageWriter<Attached>,
    mut departs: MessageWriter<Depart>,
    hosting: Res<Hosting>,
    health: Res<SidecarHealth>,
    settings: Res<Settings>,
) {
    for req in incoming.read() {
        let mut moved = None;
        let mut leaves = None;
        ctx.handle(req, |(mut p, mut info, _, _, status), content, at| {
            let to = travel::check(&req.action, &info.zone, &content.0)?;
            if status.state != ArenaState::Idle {
                return Err(TravelError::Busy.into());
            }
            if !hosting.hosts(&to) {
                // Another shard's zone: a handoff (only with a sidecar to find that shard),
                // and only when it can go through: a shard hosts the zone and the sidecar is
                // reachable; otherwise nothing is saved and the player stays.
                if settings.0.sidecar.is_none() {
                    return Err(TravelError::NotHostedHere(to).into());
                }
                if !hosting.is_live(&to) || !health.is_up() {
                    return Err(TravelError::Unreachable(to).into());
                }
                leaves = Some(to);
                return Ok(());
            }
            info.zone = to.clone();
            p.mark_dirty(at);
            moved = Some(to);
            Ok(())
        });
        if let (Some(zone), Some(player)) = (moved, req.player) {
            // The same room change a new link gets: replication follows the player's zone.
            attached.write(Attached {
                player,
                link: req.link,
                zone,
            });
        }
        if let (Some(zone), Some(player)) = (leaves, req.player) {
            departs.write(Depart {
                player,
                zone,
                cause: DepartCause::Travel,
            });
        }
    }
}

fn arena_requests(
    mut incoming: MessageReader<Incoming<ArenaAction>>,
    mut ctx: Ctx,
    mut queue: ResMut<ArenaQueue>,
    clock: Res<GameClock>,
) {
    for req in incoming.read() {
        ctx.handle(req, |(p, info, decks, col, mut status), content, _| {
            let c = &content.0;
            match &req.action {
                ArenaAction::Queue { deck } => {
                    match status.state {
                        ArenaState::Queued { .. } => return Err(ArenaError::AlreadyQueued.into()),
                        ArenaState::InDuel => return Err(ArenaError::InDuel.into()),
                        ArenaState::Idle => {}
                    }
                    if !c.zone(&info.zone).is_some_and(|z| z.arena) {
                        return Err(ArenaError::NotInArena.into());
                    }
                    let cards = &decks.get(*deck).ok_or(ArenaError::NoSuchDeck(*deck))?.cards;
                    validate_deck(cards, col, c, &c.duel).map_err(ArenaError::IllegalDeck)?;
                    if queue.0.len() >= MAX_QUEUE {
                        return Err(ArenaError::QueueFull.into());
                    }
                    let Some(entity) = req.player else {
                        return Err(RejectReason::NotReady);
                    };
                    queue.0.push(Queued {
                        account: p.account,
                        player: entity,
                        deck: cards.clone(),
                        rating: status.rating,
                        since: clock.now,
                    });
                    status.state = ArenaState::Queued {
                        deck: *deck,
                        since: clock.now,
                    };
                    debug!(account = %p.account, rating = status.rating.rating, "queued for a duel");
                }
                ArenaAction::Leave => {
                    let was_queued = matches!(status.state, ArenaState::Queued { .. });
                    if !queue.remove(p.account) && !was_queued {
                        return Err(ArenaError::NotQueued.into());
                    }
                    if was_queued {
                        status.state = ArenaState::Idle;
                    }
                }
            }
            Ok(())
        });
    }
}

/// Whoever left the shard leaves the queue (not a player whose link was merely taken over by
/// a new one: they are still here, still queued).
fn leave_queue_on_exit(
    mut left: MessageReader<Left>,
    mut queue: ResMut<ArenaQueue>,
    players: Res<super::players::Players>,
) {
    for l in left.read() {
        if !players.online.contains_key(&l.account) {
            queue.remove(l.account);
        }
    }
}

/// Pair the queue (see the module docs).
fn matchmake(
    mut queue: ResMut<ArenaQueue>,
    mut found: MessageWriter<MatchFound>,
    content: Res<GameContent>,
    clock: Res<GameClock>,
    state: Res<State<ShardState>>,
    health: Res<super::persistence::SidecarHealth>,
) {
    // No duel starts on a shard that is shutting down, nor while the sidecar is away (its
    // record could not be kept): the queue waits.
    if queue.0.len() < 2 || *state.get() != ShardState::Running || !health.is_up() {
        return;
    }
    let waiting: Vec<Waiting> = queue
        .0
        .iter()
        .map(|q| Waiting {
            rating: q.rating.rating,
            since: q.since,
        })
        .collect();
    let pairs = arena::pair(&waiting, clock.now, &content.0.duel.matchmaking);
    if pairs.is_empty() {
        return;
    }
    let mut taken = vec![false; queue.0.len()];
    for &(a, b) in &pairs {
        // The one who waited longer plays first.
        let (first, second) = if queue.0[a].since <= queue.0[b].since {
            (a, b)
        } else {
            (b, a)
        };
        taken[a] = true;
        taken[b] = true;
        info!(a = %queue.0[first].account, b = %queue.0[second].account, "match found");
        found.write(MatchFound([
            queue.0[first].clone(),
            queue.0[second].clone(),
        ]));
    }
    let mut i = 0;
    queue.0.retain(|_| {
        i += 1;
        !taken[i - 1]
    });
}

/// The arena systems (after the player lifecycle, before the duels).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArenaSet;

pub(crate) fn plugin(app: &mut App) {
    intake::<DeckAction>(app);
    intake::<TravelAction>(app);
    intake::<ArenaAction>(app);
    app.init_resource::<ArenaQueue>()
        .add_message::<MatchFound>();
    app.add_systems(
        Update,
        (
            leave_queue_on_exit,
            deck_requests,
            travel_requests,
            arena_requests,
            matchmake,
        )
            .chain()
            .in_set(TickSet::Simulate)
            .in_set(ArenaSet)
            .after(super::players::PlayersSet),
    );
}
