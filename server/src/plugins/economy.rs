//! Applies farming, market and crafting requests with the one pure rule of each feature
//! (`harvest_shared::{farming, market, crafting}::apply`). A rule that refuses changes nothing
//! (and marks nothing changed, so nothing is replicated or saved); the reason goes back to the
//! client as a typed [`RejectReason`]. What a rule changes in holdings is counted per kind
//! ([`EconomyStats`]) and saved with the player's state.

use super::clock::GameClock;
use super::intents::{Answer, Incoming, RequestStats, intake};
use super::player::Player;
use super::shutdown::ShardState;
use super::{GameContent, TickSet, now};
use bevy::prelude::*;
use harvest_shared::action::{Action, Applied};
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::farming::{self, Farm, FarmAction, FarmState};
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
        let result = match req.player.and_then(|p| self.players.get_mut(p).ok()) {
            None => Err(RejectReason::NotReady),
            // Draining: the final snapshot is taken; nothing may change after it.
            Some(_) if !running => Err(RejectReason::NotReady),
            Some(mut data) => match rule(&mut data, &self.content, self.clock.now) {
                Ok(applied) => {
                    let (mut p, _, mut farm, mut inv, mut col) = data;
                    if touches_farm {
                        farm.set_changed();
                    }
                    if let Some(change) = &applied.change {
                        *self.economy.changes.entry(change.kind).or_default() += 1;
                        inv.set_changed();
                        if !change.delta.cards.is_empty() {
                            col.set_changed();
                        }
                    }
                    p.mark_dirty(at);
                    trace!(account = %p.account, feature = A::FEATURE, event = ?applied.event, "applied");
                    Ok(())
                }
                Err(e) => Err(e.into()),
            },
        };
        if result.is_ok() {
            self.stats.accepted += 1;
        } else {
            self.stats.rejected += 1;
        }
        self.answers.write(Answer {
            link: req.link,
            notice: ActionNotice {
                request_id: req.request_id,
                result,
            },
        });
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

pub(crate) fn plugin(app: &mut App) {
    intake::<FarmAction>(app);
    intake::<MarketAction>(app);
    intake::<CraftAction>(app);
    app.init_resource::<EconomyStats>();
    app.add_systems(
        Update,
        (farm_requests, market_requests, craft_requests)
            .chain()
            .in_set(TickSet::Simulate)
            .after(super::players::PlayersSet),
    );
}
