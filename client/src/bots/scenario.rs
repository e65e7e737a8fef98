//! What a bot does once its farm has arrived.
//!
//! The `farming` bot plays the whole loop: harvest what is ripe, clear what withered, water
//! what is dry, craft a few of each card (and the materials for them), sell surplus produce, buy seeds when it has
//! none, expand when it is rich, till wild plots and plant tilled ones. It lists the moves in
//! that order and sends the first one the shared rules accept locally (the same `apply` the
//! shard runs), so a bot's requests are rejected only when the shard knows better.

use super::duelist;
use crate::net::NetClient;
use harvest_shared::content::{Content, RecipeOutput};
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::duel::view::{ArenaStatus, DuelBoard, DuelSeat};
use harvest_shared::farming::{self, Farm, FarmAction, FarmState, Plot, Stage};
use harvest_shared::ids::PlotId;
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::protocol::PlayerInfo;
use harvest_shared::time::Tick;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The full farming loop (buy seeds, till, plant, water, harvest, sell, craft, expand),
    /// one action every ~1.5 s.
    Farming,
    /// The same loop at one action every ~250 ms, selling all but 2 of each produce and
    /// buying and selling seeds when there is nothing else to do: economy events all the time
    /// (for crash tests and economy load).
    Trading,
    /// Card duels: build a deck from owned cards (farming and crafting first when there are
    /// too few), travel to the arena, queue, and play sensible legal moves until the duel
    /// ends; then queue again. Pairs of bots duel each other.
    Duel,
    /// Farm, and every few seconds travel to the next zone (every zone but the arena, in
    /// turn): when zones are on several shards each journey is a handoff, whose latency the
    /// report gives (`handoff_ms_p50`, `handoff_ms_p99`).
    Travel,
    /// A third of the bots each: `farming`, `travel` and `duel`.
    Mixed,
    /// Connect and stay idle (measures the idle bandwidth floor).
    Idle,
}

/// How often a `travel` bot sets off.
const TRAVEL_EVERY: Duration = Duration::from_secs(4);

impl Scenario {
    /// What bot number `index` plays (`mixed` deals the roles out in turn).
    pub fn role(self, index: usize) -> Scenario {
        match self {
            Scenario::Mixed => [Scenario::Farming, Scenario::Travel, Scenario::Duel][index % 3],
            other => other,
        }
    }
}

/// Keep this many of each produce for crafting; sell the rest.
const KEEP_PRODUCE: u32 = 8;
/// Buy this many seeds at a time.
const SEED_BATCH: u32 = 4;
/// Copies of each card a bot crafts before it stops crafting that card.
const CARD_GOAL: u32 = 2;
/// Crafted materials a bot keeps in stock.
const MATERIAL_GOAL: u32 = 2;
/// Expand only with this many coins to spare after paying.
const EXPAND_RESERVE: u32 = 50;

/// How a scenario plays the loop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// Time between actions.
    interval: Duration,
    /// Produce kept for crafting; the rest is sold.
    keep_produce: u32,
    /// Buy and sell seeds when there is nothing else to do.
    trade_seeds: bool,
}

impl Scenario {
    fn policy(self) -> Policy {
        match self {
            Scenario::Trading => Policy {
                interval: Duration::from_millis(250),
                keep_produce: 2,
                trade_seeds: true,
            },
            Scenario::Duel => Policy {
                interval: Duration::from_millis(250),
                keep_produce: KEEP_PRODUCE,
                trade_seeds: false,
            },
            Scenario::Travel => Policy {
                interval: Duration::from_millis(500),
                keep_produce: KEEP_PRODUCE,
                trade_seeds: false,
            },
            Scenario::Farming | Scenario::Idle | Scenario::Mixed => Policy {
                interval: Duration::from_millis(1500),
                keep_produce: KEEP_PRODUCE,
                trade_seeds: false,
            },
        }
    }
}

/// One move the bot may make.
#[derive(Clone, Debug)]
pub(crate) enum Move {
    Farm(FarmAction),
    Market(MarketAction),
    Craft(CraftAction),
}

impl Move {
    /// The move's kind, as reports and the ledger name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Move::Farm(FarmAction::Till { .. }) => "till",
            Move::Farm(FarmAction::Plant { .. }) => "plant",
            Move::Farm(FarmAction::Water { .. }) => "water",
            Move::Farm(FarmAction::Fertilize { .. }) => "fertilize",
            Move::Farm(FarmAction::Harvest { .. }) => "harvest",
            Move::Farm(FarmAction::Clear { .. }) => "clear",
            Move::Farm(FarmAction::Expand) => "expand",
            Move::Market(MarketAction::Buy { .. }) => "buy",
            Move::Market(MarketAction::Sell { .. }) => "sell",
            Move::Craft(_) => "craft",
        }
    }

    /// Answered only once committed (see `harvest_shared::ledger::EntryKind::is_economy`).
    pub fn is_economy(kind: &str) -> bool {
        matches!(kind, "buy" | "sell" | "craft" | "expand")
    }
}

pub(crate) struct Brain {
    scenario: Scenario,
    content: Arc<Content>,
    next_action: Instant,
    /// Requests sent and not answered yet, with their kind.
    pending: HashMap<u32, &'static str>,
    /// The duel board and hand when the duel bot last moved.
    seen: Option<(DuelBoard, DuelSeat)>,
    /// The last duel result seen (its match id).
    last_match: Option<String>,
    /// Duels finished and recorded, by result (`win`, `loss`, `draw`).
    pub duel_results: BTreeMap<String, u64>,
    /// Match ids of the duels finished, with the rating change.
    pub matches: Vec<(String, f64, f64)>,
    /// The next journey (travel bots).
    next_travel: Instant,
    /// A journey under way: where to, and when it was asked for.
    pub journey: Option<(harvest_shared::ids::ZoneId, Instant)>,
    /// The journey under way went through a handoff (the bot followed a ticket).
    pub handed_off: bool,
    /// Journeys completed through a handoff: from the request to the player's state arriving
    /// from the new shard, in milliseconds.
    pub handoffs_ms: Vec<f64>,
    /// Journeys completed within one shard (a room change), in milliseconds.
    pub room_changes_ms: Vec<f64>,
}

impl Brain {
    pub fn new(scenario: Scenario, content: Arc<Content>) -> Self {
        // Spread bots out so they do not all act on the same frame.
        let jitter = Duration::from_millis(rand::random::<u64>() % 1500);
        Brain {
            scenario,
            content,
            next_action: Instant::now() + jitter,
            pending: HashMap::new(),
            seen: None,
            last_match: None,
            duel_results: BTreeMap::new(),
            matches: Vec::new(),
            next_travel: Instant::now() + TRAVEL_EVERY + jitter,
            journey: None,
            handed_off: false,
            handoffs_ms: Vec::new(),
            room_changes_ms: Vec::new(),
        }
    }

    /// The client reconnected (a handoff or a new login): requests sent to the old shard
    /// will not be answered.
    pub fn reconnected(&mut self) {
        self.pending.clear();
        self.seen = None;
    }

    /// After a handoff: has the new shard's state arrived, in the journey's zone?
    fn note_arrival(&mut self, client: &mut NetClient) {
        let Some((to, since)) = &self.journey else {
            return;
        };
        if client
            .replicated::<PlayerInfo>()
            .is_some_and(|info| &info.zone == to)
        {
            self.handoffs_ms.push(since.elapsed().as_secs_f64() * 1e3);
            self.journey = None;
            self.handed_off = false;
        }
    }

    /// A travel bot's journey: when due, the next zone (every zone but the arena, in turn).
    fn travel(&mut self, client: &mut NetClient, info: &PlayerInfo) -> bool {
        if let Some((to, since)) = &self.journey {
            if &info.zone == to {
                let ms = since.elapsed().as_secs_f64() * 1e3;
                if std::mem::take(&mut self.handed_off) {
                    self.handoffs_ms.push(ms);
                } else {
                    self.room_changes_ms.push(ms);
                }
                self.journey = None;
            } else if since.elapsed() < Duration::from_secs(30) {
                return true; // on the way: nothing else to do
            } else {
                self.journey = None; // lost (refused, or the shard died): try again later
                self.handed_off = false;
            }
        }
        if Instant::now() < self.next_travel {
            return false;
        }
        self.next_travel = Instant::now() + TRAVEL_EVERY;
        let mut zones: Vec<_> = self
            .content
            .zones
            .values()
            .filter(|z| !z.arena)
            .map(|z| z.id.clone())
            .collect();
        zones.sort();
        let Some(i) = zones.iter().position(|z| z == &info.zone) else {
            return false;
        };
        let to = zones[(i + 1) % zones.len()].clone();
        if to == info.zone {
            return false;
        }
        let id = client.send(harvest_shared::travel::TravelAction { to: to.clone() });
        if id != 0 {
            self.pending.insert(id, "travel");
            self.journey = Some((to, Instant::now()));
        }
        true
    }

    /// A request was refused: plan again from the board as it is.
    pub fn refused(&mut self) {
        self.seen = None;
        // A journey the shard refused is not under way.
        self.journey = None;
        self.handed_off = false;
    }

    /// Note a newly recorded duel result.
    fn note_result(&mut self, client: &mut NetClient) {
        let Some(last) = client.replicated::<ArenaStatus>().and_then(|s| s.last) else {
            return;
        };
        if self.last_match.as_deref() == Some(last.match_id.as_str()) {
            return;
        }
        self.last_match = Some(last.match_id.clone());
        let result = format!("{:?}", last.result).to_lowercase();
        *self.duel_results.entry(result).or_default() += 1;
        self.matches.push((
            last.match_id,
            last.rating_before.rating,
            last.rating_after.rating,
        ));
    }

    /// The request `request_id` was answered: its kind, if this bot sent it.
    pub fn answered(&mut self, request_id: u32) -> Option<&'static str> {
        self.pending.remove(&request_id)
    }

    pub fn step(&mut self, client: &mut NetClient) {
        // A journey through a handoff ends when the new shard's state shows the destination:
        // checked every frame, so the measure is the journey's, not the decision interval's.
        // (Room changes are noted at the next decision: before a ticket arrives, a zone
        // change on screen may still be the old shard's, on its way to a handoff.)
        if self.handed_off {
            self.note_arrival(client);
        }
        if self.scenario == Scenario::Idle
            || Instant::now() < self.next_action
            || !self.pending.is_empty()
        {
            return;
        }
        let policy = self.scenario.policy();
        self.next_action = Instant::now() + policy.interval;
        let Some((info, farm, inv)) = client.farm() else {
            return;
        };
        if self.scenario == Scenario::Travel && self.travel(client, &info) {
            return;
        }
        if self.scenario == Scenario::Duel {
            self.note_result(client);
            match duelist::next(client, &self.content, &info, &mut self.seen) {
                duelist::Next::Send(m, kind) => {
                    let id = m.send(client);
                    if id != 0 {
                        self.pending.insert(id, kind);
                    }
                    return;
                }
                duelist::Next::Wait => return,
                duelist::Next::Farm => {}
            }
        }
        let col = client.collection().unwrap_or_default();
        let Some(m) = choose(&self.content, &info, &farm, &inv, &col, Tick::now(), policy) else {
            return;
        };
        let kind = m.kind();
        let id = match m {
            Move::Farm(a) => client.send(a),
            Move::Market(a) => client.send(a),
            Move::Craft(a) => client.send(a),
        };
        if id != 0 {
            self.pending.insert(id, kind);
        }
    }
}

/// The farming bot's next move: the first candidate, in priority order, that the rules accept.
pub(crate) fn choose(
    c: &Content,
    info: &PlayerInfo,
    farm: &Farm,
    inv: &Inventory,
    col: &Collection,
    now: Tick,
    policy: Policy,
) -> Option<Move> {
    candidates(c, farm, inv, col, now, policy)
        .into_iter()
        .find(|m| accepted(c, info, farm, inv, col, m, now))
}

fn candidates(
    c: &Content,
    farm: &Farm,
    inv: &Inventory,
    col: &Collection,
    now: Tick,
    policy: Policy,
) -> Vec<Move> {
    let mut out = Vec::new();
    let plots = || {
        farm.plots
            .iter()
            .enumerate()
            .map(|(i, p)| (PlotId(i as u16), p))
    };
    let stage_is = |want: Stage| {
        plots()
            .filter(move |(_, p)| matches!(p, Plot::Crop(cr) if cr.stage(now) == want))
            .map(|(id, _)| id)
    };
    out.extend(stage_is(Stage::Ripe).map(|plot| Move::Farm(FarmAction::Harvest { plot })));
    out.extend(stage_is(Stage::Withered).map(|plot| Move::Farm(FarmAction::Clear { plot })));
    out.extend(stage_is(Stage::Dry).map(|plot| Move::Farm(FarmAction::Water { plot })));
    // Collect a few of each card, and keep a few of each material for them; cards first.
    let mut recipes: Vec<_> = c
        .recipes
        .values()
        .filter(|r| match &r.output {
            RecipeOutput::Card(card) => col.count(card) < CARD_GOAL,
            RecipeOutput::Item(item, _) => inv.count(item) < MATERIAL_GOAL,
        })
        .collect();
    recipes.sort_by_key(|r| !matches!(r.output, RecipeOutput::Card(_)));
    out.extend(recipes.into_iter().map(|r| {
        Move::Craft(CraftAction::Craft {
            recipe: r.id.clone(),
        })
    }));
    for crop in c.crops.values() {
        let have = inv.count(&crop.produce);
        if have > policy.keep_produce {
            out.push(Move::Market(MarketAction::Sell {
                item: crop.produce.clone(),
                count: have - policy.keep_produce,
            }));
        }
    }
    // Seeds of the quickest crop when none are left.
    let mut crops: Vec<_> = c.crops.values().collect();
    crops.sort_by_key(|k| k.growth_ticks);
    if crops.iter().all(|k| inv.count(&k.seed) == 0)
        && let Some(k) = crops.first()
    {
        out.push(Move::Market(MarketAction::Buy {
            item: k.seed.clone(),
            count: SEED_BATCH,
        }));
    }
    let next_price = c
        .economy
        .expansion
        .prices
        .get(farm.expansions as usize)
        .copied();
    if next_price.is_some_and(|p| inv.coins >= p.saturating_add(EXPAND_RESERVE)) {
        out.push(Move::Farm(FarmAction::Expand));
    }
    out.extend(
        plots()
            .filter(|(_, p)| matches!(p, Plot::Wild))
            .map(|(plot, _)| Move::Farm(FarmAction::Till { plot })),
    );
    if let Some(k) = crops.iter().find(|k| inv.count(&k.seed) > 0) {
        out.extend(
            plots()
                .filter(|(_, p)| matches!(p, Plot::Tilled))
                .map(|(plot, _)| {
                    Move::Farm(FarmAction::Plant {
                        plot,
                        crop: k.id.clone(),
                    })
                }),
        );
    }
    if policy.trade_seeds
        && let Some(k) = crops.first()
    {
        let item = k.seed.clone();
        let start = c.economy.start_items.get(&item).copied().unwrap_or(0);
        out.push(Move::Market(if inv.count(&item) > start {
            MarketAction::Sell { item, count: 1 }
        } else {
            MarketAction::Buy { item, count: 1 }
        }));
    }
    out
}

/// Would the shard's rule accept `m` now? Runs it on copies.
fn accepted(
    c: &Content,
    info: &PlayerInfo,
    farm: &Farm,
    inv: &Inventory,
    col: &Collection,
    m: &Move,
    now: Tick,
) -> bool {
    let (mut farm, mut inv, mut col) = (farm.clone(), inv.clone(), col.clone());
    match m {
        Move::Farm(a) => farming::apply(
            a,
            FarmState {
                farm: &mut farm,
                inventory: &mut inv,
            },
            c,
            now,
        )
        .is_ok(),
        Move::Market(a) => market::apply(
            a,
            MarketState {
                zone: &info.zone,
                inventory: &mut inv,
            },
            c,
        )
        .is_ok(),
        Move::Craft(a) => crafting::apply(
            a,
            CraftState {
                inventory: &mut inv,
                collection: &mut col,
            },
            c,
        )
        .is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harvest_shared::ids::{AccountId, CardId};
    use harvest_shared::state::PlayerState;

    /// Playing the bot's own choices against the rules goes round the whole loop: it buys,
    /// tills, plants, waters, harvests, sells, crafts a card and expands.
    #[test]
    fn the_farming_bot_plays_the_whole_loop() {
        let c = harvest_shared::testing::fixture();
        let mut st = PlayerState::new_player(&c, AccountId(1));
        let mut h = harvest_shared::inventory::Holdings::start(&c);
        h.inventory.coins = 200;
        let info = PlayerInfo {
            account: AccountId(1),
            zone: st.zone.clone(),
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut now = 1000;
        for _ in 0..400 {
            if let Some(m) = choose(
                &c,
                &info,
                &st.farm,
                &h.inventory,
                &h.collection,
                Tick(now),
                Scenario::Farming.policy(),
            ) {
                seen.insert(m.kind());
                let ok = match m {
                    Move::Farm(a) => farming::apply(
                        &a,
                        FarmState {
                            farm: &mut st.farm,
                            inventory: &mut h.inventory,
                        },
                        &c,
                        Tick(now),
                    )
                    .is_ok(),
                    Move::Market(a) => market::apply(
                        &a,
                        MarketState {
                            zone: &st.zone,
                            inventory: &mut h.inventory,
                        },
                        &c,
                    )
                    .is_ok(),
                    Move::Craft(a) => crafting::apply(
                        &a,
                        CraftState {
                            inventory: &mut h.inventory,
                            collection: &mut h.collection,
                        },
                        &c,
                    )
                    .is_ok(),
                };
                assert!(ok, "the bot only sends what the rules accept");
            }
            now += 30;
        }
        for k in [
            "buy", "till", "plant", "water", "harvest", "sell", "craft", "expand",
        ] {
            assert!(seen.contains(k), "never did {k}: {seen:?}");
        }
        assert!(h.collection.count(&CardId::new("x")) > 0);
    }
}
