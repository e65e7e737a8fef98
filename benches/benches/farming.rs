//! The pure farming rules: the cost of deciding one request through `farming::apply`, the one
//! entry point the shard and the client share.

use criterion::{Criterion, criterion_group, criterion_main};
use harvest_shared::content::Content;
use harvest_shared::farming::{self, Farm, FarmAction, FarmState, Inventory};
use harvest_shared::ids::{CropId, PlotId};
use harvest_shared::time::Tick;
use std::hint::black_box;

fn content() -> Content {
    Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data"))
        .expect("assets/data loads")
}

fn apply(
    action: &FarmAction,
    farm: &mut Farm,
    inventory: &mut Inventory,
    content: &Content,
    now: Tick,
) -> Result<farming::FarmEvent, farming::FarmError> {
    farming::apply(action, FarmState { farm, inventory }, content, now)
}

fn rules(c: &mut Criterion) {
    let content = content();
    let farm = Farm::new(16);
    let inv = Inventory {
        coins: 1_000_000,
        ..Default::default()
    };
    let plant = FarmAction::Plant {
        plot: PlotId(3),
        crop: CropId::new("radish"),
    };

    c.bench_function("plant", |b| {
        b.iter_batched_ref(
            || (farm.clone(), inv.clone()),
            |(f, i)| apply(black_box(&plant), f, i, &content, Tick(1000)),
            criterion::BatchSize::SmallInput,
        )
    });

    let mut planted = farm.clone();
    let mut pinv = inv.clone();
    apply(&plant, &mut planted, &mut pinv, &content, Tick(1000)).unwrap();
    let water = FarmAction::Water { plot: PlotId(3) };
    c.bench_function("water", |b| {
        b.iter_batched_ref(
            || (planted.clone(), pinv.clone()),
            |(f, i)| apply(black_box(&water), f, i, &content, Tick(1010)),
            criterion::BatchSize::SmallInput,
        )
    });
    let harvest = FarmAction::Harvest { plot: PlotId(3) };
    c.bench_function("harvest", |b| {
        b.iter_batched_ref(
            || (planted.clone(), pinv.clone()),
            |(f, i)| apply(black_box(&harvest), f, i, &content, Tick(100_000)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("rejected_plant_occupied", |b| {
        b.iter_batched_ref(
            || (planted.clone(), pinv.clone()),
            |(f, i)| apply(black_box(&plant), f, i, &content, Tick(1000)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("summary_16_plots", |b| {
        b.iter(|| black_box(&planted).summary(Tick(1050)))
    });
}

criterion_group!(benches, rules);
criterion_main!(benches);
