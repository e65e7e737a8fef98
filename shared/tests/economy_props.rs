//! Property tests of the economy rules (farming, market, crafting) over the shipped content and
//! over randomly priced content:
//! - a refused action changes nothing;
//! - holdings never break their invariants (stacks, collection size);
//! - the ledger reconciles: start holdings + every change's delta = final holdings;
//! - nothing comes from nothing: harvests never give more than planted seeds allow, and from
//!   coins alone no sequence of buying, crafting and selling ends with more worth than it
//!   started with, in any content the validator accepts.

use harvest_shared::action::Applied;
use harvest_shared::content::{Content, ItemKind};
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::farming::{self, Farm, FarmAction, FarmState};
use harvest_shared::ids::{CropId, ItemId, PlotId, RecipeId, ZoneId};
use harvest_shared::inventory::{Collection, Inventory, MAX_CARD_COPIES};
use harvest_shared::ledger::{Change, Delta, EntryKind};
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::time::Tick;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

fn shipped() -> &'static Content {
    static C: OnceLock<Content> = OnceLock::new();
    C.get_or_init(|| {
        Content::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/data")).unwrap()
    })
}

#[derive(Clone, Debug)]
enum Step {
    Farm(FarmAction),
    Market(MarketAction),
    Craft(CraftAction),
    Wait(u64),
}

/// Any action over `content`'s ids (and a few unknown ones), or a wait.
fn step(c: &Content) -> impl Strategy<Value = Step> + use<> {
    let items: Vec<ItemId> = c
        .items
        .keys()
        .cloned()
        .chain([ItemId::new("ghost")])
        .collect();
    let crops: Vec<CropId> = c.crops.keys().cloned().collect();
    let recipes: Vec<RecipeId> = c
        .recipes
        .keys()
        .cloned()
        .chain([RecipeId::new("ghost")])
        .collect();
    let plot = (0u16..20).prop_map(PlotId);
    let item = proptest::sample::select(items);
    let crop = proptest::sample::select(crops);
    let recipe = proptest::sample::select(recipes);
    prop_oneof![
        plot.clone()
            .prop_map(|plot| Step::Farm(FarmAction::Till { plot })),
        (plot.clone(), crop).prop_map(|(plot, crop)| Step::Farm(FarmAction::Plant { plot, crop })),
        plot.clone()
            .prop_map(|plot| Step::Farm(FarmAction::Water { plot })),
        (plot.clone(), item.clone())
            .prop_map(|(plot, item)| Step::Farm(FarmAction::Fertilize { plot, item })),
        plot.clone()
            .prop_map(|plot| Step::Farm(FarmAction::Harvest { plot })),
        plot.prop_map(|plot| Step::Farm(FarmAction::Clear { plot })),
        Just(Step::Farm(FarmAction::Expand)),
        (item.clone(), 0u32..30)
            .prop_map(|(item, count)| Step::Market(MarketAction::Buy { item, count })),
        (item, 0u32..30).prop_map(|(item, count)| Step::Market(MarketAction::Sell { item, count })),
        recipe.prop_map(|recipe| Step::Craft(CraftAction::Craft { recipe })),
        (1u64..3000).prop_map(Step::Wait),
    ]
}

#[derive(Clone, Debug, PartialEq)]
struct Player {
    zone: ZoneId,
    farm: Farm,
    inv: Inventory,
    col: Collection,
}

fn start(c: &Content, coins: u32, items: BTreeMap<ItemId, u32>) -> Player {
    Player {
        zone: c.economy.start_zone.clone(),
        farm: Farm::new(6, 42),
        inv: Inventory { coins, items },
        col: Collection::default(),
    }
}

/// Apply one step; the change it recorded, if any. Asserts a refusal changed nothing.
fn run(p: &mut Player, s: &Step, c: &Content, now: &mut u64) -> Option<Change> {
    let before = p.clone();
    let tick = Tick(*now);
    let (ok, change) = match s {
        Step::Wait(t) => {
            *now += t;
            return None;
        }
        Step::Farm(a) => split(farming::apply(
            a,
            FarmState {
                farm: &mut p.farm,
                inventory: &mut p.inv,
            },
            c,
            tick,
        )),
        Step::Market(a) => split(market::apply(
            a,
            MarketState {
                zone: &p.zone,
                inventory: &mut p.inv,
            },
            c,
        )),
        Step::Craft(a) => split(crafting::apply(
            a,
            CraftState {
                inventory: &mut p.inv,
                collection: &mut p.col,
            },
            c,
        )),
    };
    if !ok {
        assert_eq!(*p, before, "a refused {s:?} changed the state");
    }
    change
}

fn split<E, R>(r: Result<Applied<E>, R>) -> (bool, Option<Change>) {
    match r {
        Ok(a) => (true, a.change),
        Err(_) => (false, None),
    }
}

fn holdings_delta(from: &Player, to: &Player) -> Delta {
    let mut d = Delta::coins(i64::from(to.inv.coins) - i64::from(from.inv.coins));
    for id in from.inv.items.keys().chain(to.inv.items.keys()) {
        let n = i64::from(to.inv.count(id)) - i64::from(from.inv.count(id));
        d.items.insert(id.clone(), n);
    }
    for id in from.col.cards.keys().chain(to.col.cards.keys()) {
        let n = i64::from(to.col.count(id)) - i64::from(from.col.count(id));
        d.cards.insert(id.clone(), n);
    }
    d.items.retain(|_, v| *v != 0);
    d.cards.retain(|_, v| *v != 0);
    d
}

fn assert_invariants(p: &Player, c: &Content) {
    for (item, &n) in &p.inv.items {
        assert!(n > 0, "zero entries are removed");
        assert!(n <= c.stack(item), "{item}: {n} over its stack");
    }
    for (card, &n) in &p.col.cards {
        assert!(n > 0 && n <= MAX_CARD_COPIES, "{card}: {n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any sequence over the shipped content: refusals change nothing, invariants hold, the
    /// ledger reconciles, and harvests stay within what the planted seeds allow.
    #[test]
    fn ledger_reconciles_with_holdings(
        steps in proptest::collection::vec(step(shipped()), 1..120),
        coins in 0u32..2000,
    ) {
        let c = shipped();
        let seeds: BTreeMap<ItemId, u32> = c.crops.values().map(|k| (k.seed.clone(), 3)).collect();
        let first = start(c, coins, seeds);
        let mut p = first.clone();
        let mut now = 1_000_000u64;
        let mut ledger = Delta::default();
        let mut planted: BTreeMap<CropId, u64> = BTreeMap::new();
        let mut harvested: BTreeMap<ItemId, u64> = BTreeMap::new();
        for s in &steps {
            if let Some(change) = run(&mut p, s, c, &mut now) {
                prop_assert!(!change.delta.is_empty());
                ledger.merge(&change.delta);
                match (change.kind, s) {
                    (EntryKind::Plant, Step::Farm(FarmAction::Plant { crop, .. })) => {
                        *planted.entry(crop.clone()).or_default() += 1;
                    }
                    (EntryKind::Harvest, _) => {
                        for (item, n) in &change.delta.items {
                            *harvested.entry(item.clone()).or_default() += *n as u64;
                        }
                    }
                    _ => {}
                }
            }
            assert_invariants(&p, c);
        }
        prop_assert_eq!(holdings_delta(&first, &p), ledger);
        for (item, n) in harvested {
            let most: u64 = c
                .crops
                .values()
                .filter(|k| k.produce == item)
                .map(|k| {
                    let extra = c.items.values().filter_map(|d| match d.kind {
                        ItemKind::Fertilizer { extra_yield, .. } => Some(extra_yield),
                        _ => None,
                    }).max().unwrap_or(0);
                    planted.get(&k.id).copied().unwrap_or(0) * u64::from(k.yield_max + extra)
                })
                .sum();
            prop_assert!(n <= most, "{} harvested {} but planting allows {}", item, n, most);
        }
    }
}

/// A small economy with random prices, in RON.
fn priced_content(
    (seed_buy, seed_sell, mat_buy, mat_sell, out_sell, fee, k1, k2, n): (
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
    ),
) -> Result<Content, String> {
    let mut files = harvest_shared::testing::fixture_files();
    files.insert(
        "items.ron".into(),
        format!(
            r#"[
    (id: "seed_a", name: "S", kind: Seed, stack: 99, buy_price: Some({seed_buy}), sell_price: Some({seed_sell})),
    (id: "a", name: "A", kind: Produce, stack: 99, sell_price: Some(3)),
    (id: "raw", name: "Raw", kind: Material, stack: 99, buy_price: Some({mat_buy}), sell_price: Some({mat_sell})),
    (id: "m", name: "M", kind: Material, stack: 99, sell_price: Some({out_sell})),
]"#
        ),
    );
    files.insert(
        "recipes.ron".into(),
        format!(
            r#"[
    (id: "make_m", name: "Make M", inputs: {{"seed_a": {k1}, "raw": {k2}}}, fee: {fee}, output: Item("m", {n})),
    (id: "card_x", name: "X card", inputs: {{"m": 1}}, output: Card("x")),
]"#
        ),
    );
    Content::load_from(&files).map_err(|e| e.to_string())
}

fn worth(p: &Player, c: &Content) -> u64 {
    u64::from(p.inv.coins)
        + p.inv
            .items
            .iter()
            .map(|(id, n)| {
                u64::from(c.item(id).and_then(|d| d.sell_price).unwrap_or(0)) * u64::from(*n)
            })
            .sum::<u64>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// From coins alone, buying, crafting and selling never end with more worth (coins plus
    /// what the market would pay for what is held) than the coins we started with, whenever
    /// the validator accepts the prices.
    #[test]
    fn no_coins_from_nothing_in_accepted_content(
        prices in (0u32..12, 0u32..12, 0u32..12, 0u32..12, 0u32..40, 0u32..5, 1u32..3, 0u32..3, 1u32..4),
        picks in proptest::collection::vec((0usize..4, 1u32..6, 0u8..3), 1..60),
    ) {
        let c = match priced_content(prices) {
            Ok(c) => c,
            // A loophole the validator refused: nothing to run.
            Err(e) => {
                prop_assert!(e.contains("coins from nothing") || e.contains("out of range"), "{}", e);
                return Ok(());
            }
        };
        let ids = ["seed_a", "raw", "m", "a"].map(ItemId::new);
        let first = start(&c, 500, BTreeMap::new());
        let mut p = first.clone();
        let mut now = 0;
        for (which, count, op) in picks {
            let item = ids[which].clone();
            let s = match op {
                0 => Step::Market(MarketAction::Buy { item, count }),
                1 => Step::Market(MarketAction::Sell { item, count }),
                _ => Step::Craft(CraftAction::Craft { recipe: RecipeId::new("make_m") }),
            };
            run(&mut p, &s, &c, &mut now);
            prop_assert!(worth(&p, &c) <= 500, "worth {} after {:?} in {:?}", worth(&p, &c), s, c.items);
        }
    }
}

/// The validator is not vacuous: selling above the buy price is refused with the item named.
#[test]
fn a_buy_sell_loophole_is_refused() {
    let e = priced_content((2, 3, 1, 0, 0, 0, 1, 1, 1)).unwrap_err();
    assert!(
        e.contains("items.ron") && e.contains("'seed_a'") && e.contains("coins from nothing"),
        "{e}"
    );
    // Crafting loophole: inputs cost 2 + 1, the output sells for 10.
    let e = priced_content((2, 1, 1, 0, 10, 0, 1, 1, 1)).unwrap_err();
    assert!(e.contains("'m'") && e.contains("recipe 'make_m'"), "{e}");
}
