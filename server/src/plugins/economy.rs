//! Applies farming, market and crafting requests with the one pure rule of each feature
//! (`harvest_shared::{farming, market, crafting}::apply`). A rule that refuses changes nothing
//! (and marks nothing changed, so nothing is replicated or saved); the reason goes back to the
//! client as a typed [`RejectReason`].
//!
//! What a rule changes in holdings becomes a ledger entry on the player (key `EPOCH:SEQ`),
//! saved with the next snapshot. **Acknowledged means durable**: a farming move (till, plant,
//! water, fertilize, harvest, clear) is answered at once and saved write-behind; an economy
//! event (buy, sell, craft, expand) is applied at once (the player sees it, marked pending by
//! the client) but answered only when the sidecar has committed its entry ([`acknowledge`]).
//! If the save is refused, it never is. A player owing [`MAX_LEDGER_PER_SAVE`] unconfirmed
//! entries gets `SavePending` refusals until the sidecar catches up, so nothing grows without
//! bound during an outage.

use super::clock::GameClock;
use super::intents::{Answer, Incoming, RequestStats, intake, respond};
use super::persistence::{RepliesSet, SaveQueue, SaveRefused};
use super::player::Player;
use super::shutdown::ShardState;
use super::{GameContent, TickSet, now};
use bevy::prelude::*;
use harvest_shared::action::{Action, Applied};
use harvest_shared::api::MAX_LEDGER_PER_SAVE;
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::farming::{self, Farm, FarmAction, FarmState};
use harvest_shared::ids::AccountId;
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::ledger::EntryKind;
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::protocol::{ActionNotice, PlayerInfo, RejectReason};
use std::collections::HashMap;
use std::time::Duration;
use tracing::trace;

/// Holdings changes applied since start, per kind.
#[derive(Resource, Debug, Default)]
pub struct EconomyStats {
    pub changes: HashMap<EntryKind, u64>,
    /// Economy events acknowledged after their commit.
    pub acknowledged: u64,
}

/// Economy requests applied and waiting for their ledger entry's commit, per account.
#[derive(Resource, Debug, Default)]
pub struct AwaitingCommit(pub HashMap<AccountId, Vec<Awaiting>>);

#[derive(Debug, Clone)]
pub struct Awaiting {
    pub link: Entity,
    pub request_id: u32,
    pub key: String,
}

/// A player's state as the rules see it.
type PlayerData<'a> = (
    Mut<'a, Player>,
    &'a PlayerInfo,
    Mut<'a, Farm>,
    Mut<'a, Inventory>,
    Mut<'a, Collection>,
);

/// Everything one request handler needs from the world.
#[derive(bevy::ecs::system::SystemParam)]
struct Ctx<'w, 's> {
    answers: MessageWriter<'w, Answer>,
    stats: ResMut<'w, RequestStats>,
    economy: ResMut<'w, EconomyStats>,
    players: Query<
        'w,
        's,
        (
            &'static mut Player,
            &'static PlayerInfo,
            &'static mut Farm,
            &'static mut Inventory,
            &'static mut Collection,
        ),
    >,
    content: Res<'w, GameContent>,
    clock: Res<'w, GameClock>,
    queue: Res<'w, SaveQueue>,
    awaiting: ResMut<'w, AwaitingCommit>,
    state: Res<'w, State<ShardState>>,
    time: Res<'w, Time<Real>>,
}

impl Ctx<'_, '_> {
    /// Run `rule` on the requesting player's state and answer the request. The rule works on
    /// the inner values, so a refused request does not trip change detection. `touches_farm`:
    /// the feature changes the farm when it succeeds (holdings changes come with the result).
    fn handle<A: Action, E: std::fmt::Debug, R: Into<RejectReason>>(
        &mut self,
        req: &Incoming<A>,
        rule: impl FnOnce(
            &mut PlayerData<'_>,
            &GameContent,
            harvest_shared::time::Tick,
        ) -> Result<Applied<E>, R>,
        touches_farm: bool,
    ) {
        let running = *self.state.get() == ShardState::Running;
        let at: Duration = now(&self.time);
        let owed = |p: &Player| self.queue.owed_entries(p.account) + p.ledger.len();
        let result = match req.player.and_then(|p| self.players.get_mut(p).ok()) {
            None => Err(RejectReason::NotReady),
            // Draining: the final snapshot is taken; nothing may change after it.
            Some(_) if !running => Err(RejectReason::NotReady),
            Some(data) if owed(&data.0) >= MAX_LEDGER_PER_SAVE => Err(RejectReason::SavePending),
            Some(mut data) => match rule(&mut data, &self.content, self.clock.now) {
                Ok(applied) => {
                    let (mut p, _, mut farm, mut inv, mut col) = data;
                    if touches_farm {
                        farm.set_changed();
                    }
                    p.mark_dirty(at);
                    trace!(account = %p.account, feature = A::FEATURE, event = ?applied.event, "applied");
                    if let Some(change) = applied.change {
                        *self.economy.changes.entry(change.kind).or_default() += 1;
                        inv.set_changed();
                        if !change.delta.cards.is_empty() {
                            col.set_changed();
                        }
                        let economy = change.kind.is_economy();
                        let key = p.record(change);
                        if economy {
                            // Answered by `acknowledge` once committed.
                            p.urgent = true;
                            self.awaiting
                                .0
                                .entry(p.account)
                                .or_default()
                                .push(Awaiting {
                                    link: req.link,
                                    request_id: req.request_id,
                                    key,
                                });
                            self.stats.accepted += 1;
                            return;
                        }
                    }
                    Ok(())
                }
                Err(e) => Err(e.into()),
            },
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

fn farm_requests(mut incoming: MessageReader<Incoming<FarmAction>>, mut ctx: Ctx) {
    for req in incoming.read() {
        ctx.handle(
            req,
            |(_, _, farm, inv, _), content, now| {
                let state = FarmState {
                    farm: farm.bypass_change_detection(),
                    inventory: inv.bypass_change_detection(),
                };
                farming::apply(&req.action, state, &content.0, now)
            },
            true,
        );
    }
}

fn market_requests(mut incoming: MessageReader<Incoming<MarketAction>>, mut ctx: Ctx) {
    for req in incoming.read() {
        ctx.handle(
            req,
            |(_, info, _, inv, _), content, _| {
                let state = MarketState {
                    zone: &info.zone,
                    inventory: inv.bypass_change_detection(),
                };
                market::apply(&req.action, state, &content.0)
            },
            false,
        );
    }
}

fn craft_requests(mut incoming: MessageReader<Incoming<CraftAction>>, mut ctx: Ctx) {
    for req in incoming.read() {
        ctx.handle(
            req,
            |(_, _, _, inv, col), content, _| {
                let state = CraftState {
                    inventory: inv.bypass_change_detection(),
                    collection: col.bypass_change_detection(),
                };
                crafting::apply(&req.action, state, &content.0)
            },
            false,
        );
    }
}

/// Answer the economy requests whose ledger entries the sidecar has committed; forget those
/// of players whose save was refused (they are let go, and their events never happened).
fn acknowledge(
    mut queue: ResMut<SaveQueue>,
    mut awaiting: ResMut<AwaitingCommit>,
    mut refused: MessageReader<SaveRefused>,
    mut answers: MessageWriter<Answer>,
    mut economy: ResMut<EconomyStats>,
) {
    for (account, key) in queue.take_confirmed() {
        let Some(list) = awaiting.0.get_mut(&account) else {
            continue;
        };
        if let Some(i) = list.iter().position(|a| a.key == key) {
            let a = list.remove(i);
            economy.acknowledged += 1;
            answers.write(Answer {
                link: a.link,
                notice: ActionNotice {
                    request_id: a.request_id,
                    result: Ok(()),
                },
            });
        }
        if list.is_empty() {
            awaiting.0.remove(&account);
        }
    }
    for r in refused.read() {
        awaiting.0.remove(&r.account);
    }
}

pub(crate) fn plugin(app: &mut App) {
    intake::<FarmAction>(app);
    intake::<MarketAction>(app);
    intake::<CraftAction>(app);
    app.init_resource::<EconomyStats>()
        .init_resource::<AwaitingCommit>();
    app.add_systems(
        Update,
        acknowledge.in_set(TickSet::Receive).after(RepliesSet),
    );
    app.add_systems(
        Update,
        (farm_requests, market_requests, craft_requests)
            .chain()
            .in_set(TickSet::Simulate)
            .after(super::players::PlayersSet),
    );
}
