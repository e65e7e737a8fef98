//! The pure economy rules: the cost of deciding one request through each feature's `apply`
//! (farming, market, crafting), the entry points the shard and the client share, and of the
//! holdings check every one of them runs. Content is the shipped `assets/data`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use harvest_shared::content::Content;
use harvest_shared::crafting::{self, CraftAction, CraftState};
use harvest_shared::farming::{self, Farm, FarmAction, FarmState};
use harvest_shared::ids::{CropId, ItemId, PlotId, RecipeId, ZoneId};
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::market::{self, MarketAction, MarketState};
use harvest_shared::time::Tick;
use std::hint::black_box;

fn content() -> Content {
    Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data"))
        .expect("assets/data loads")
}

fn farm_step(
    a: &FarmAction,
    (farm, inventory): &mut (Farm, Inventory),
    c: &Content,
    now: u64,
) -> bool {
    farming::apply(a, FarmState { farm, inventory }, c, Tick(now)).is_ok()
}

fn rules(c: &mut Criterion) {
    let content = content();
    let inv = Inventory {
        coins: 100_000,
        items: [
            (ItemId::new("radish_seed"), 50),
            (ItemId::new("radish"), 50),
            (ItemId::new("wheat"), 50),
            (ItemId::new("compost"), 10),
        ]
        .into(),
    };
    let fresh = (Farm::new(16, 1), inv.clone());
    let plant = FarmAction::Plant {
        plot: PlotId(3),
        crop: CropId::new("radish"),
    };
    let water = FarmAction::Water { plot: PlotId(3) };
    let harvest = FarmAction::Harvest { plot: PlotId(3) };
    let batch = |s: &(Farm, Inventory)| s.clone();

    c.bench_function("farm/plant", |b| {
        b.iter_batched_ref(
            || batch(&fresh),
            |s| farm_step(black_box(&plant), s, &content, 1000),
            BatchSize::SmallInput,
        )
    });
    let mut planted = fresh.clone();
    assert!(farm_step(&plant, &mut planted, &content, 1000));
    c.bench_function("farm/water", |b| {
        b.iter_batched_ref(
            || batch(&planted),
            |s| farm_step(black_box(&water), s, &content, 1010),
            BatchSize::SmallInput,
        )
    });
    let mut watered = planted.clone();
    assert!(farm_step(&water, &mut watered, &content, 1010));
    c.bench_function("farm/harvest", |b| {
        b.iter_batched_ref(
            || batch(&watered),
            |s| farm_step(black_box(&harvest), s, &content, 100_000),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("farm/rejected_plant_occupied", |b| {
        b.iter_batched_ref(
            || batch(&planted),
            |s| farm_step(black_box(&plant), s, &content, 1000),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("farm/summary_16_plots", |b| {
        b.iter(|| black_box(&watered.0).summary(Tick(1050)))
    });

    let zone = ZoneId::new("meadow");
    let buy = MarketAction::Buy {
        item: ItemId::new("radish_seed"),
        count: 5,
    };
    let sell = MarketAction::Sell {
        item: ItemId::new("radish"),
        count: 5,
    };
    for (name, action) in [("market/buy", &buy), ("market/sell", &sell)] {
        c.bench_function(name, |b| {
            b.iter_batched_ref(
                || inv.clone(),
                |i| {
                    market::apply(
                        black_box(action),
                        MarketState {
                            zone: &zone,
                            inventory: i,
                        },
                        &content,
                    )
                    .is_ok()
                },
                BatchSize::SmallInput,
            )
        });
    }
    let craft = CraftAction::Craft {
        recipe: RecipeId::new("mill_flour"),
    };
    c.bench_function("craft/item", |b| {
        b.iter_batched_ref(
            || (inv.clone(), Collection::default()),
            |(i, col)| {
                crafting::apply(
                    black_box(&craft),
                    CraftState {
                        inventory: i,
                        collection: col,
                    },
                    &content,
                )
                .is_ok()
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("content/load_and_validate", |b| {
        b.iter(|| Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data")).is_ok())
    });
}

criterion_group!(benches, rules);
criterion_main!(benches);
