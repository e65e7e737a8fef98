//! The pure farming rules: the cost of deciding one intent.

use criterion::{Criterion, criterion_group, criterion_main};
use harvest_shared::content::Content;
use harvest_shared::farming::{self, Farm, Inventory};
use harvest_shared::ids::{CropId, PlotId};
use harvest_shared::time::Tick;
use std::hint::black_box;

fn content() -> Content {
    Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data"))
        .expect("assets/data loads")
}

fn rules(c: &mut Criterion) {
    let content = content();
    let radish = CropId::new("radish");
    let farm = Farm::new(16);
    let inv = Inventory {
        coins: 1_000_000,
        ..Default::default()
    };

    c.bench_function("plant", |b| {
        b.iter_batched_ref(
            || (farm.clone(), inv.clone()),
            |(f, i)| farming::plant(f, i, black_box(PlotId(3)), &radish, &content, Tick(1000)),
            criterion::BatchSize::SmallInput,
        )
    });

    let mut planted = farm.clone();
    let mut pinv = inv.clone();
    farming::plant(
        &mut planted,
        &mut pinv,
        PlotId(3),
        &radish,
        &content,
        Tick(1000),
    )
    .unwrap();
    c.bench_function("water", |b| {
        b.iter_batched_ref(
            || planted.clone(),
            |f| farming::water(f, black_box(PlotId(3)), &content, Tick(1010)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("harvest", |b| {
        b.iter_batched_ref(
            || (planted.clone(), pinv.clone()),
            |(f, i)| farming::harvest(f, i, black_box(PlotId(3)), &content, Tick(100_000)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("rejected_plant_occupied", |b| {
        b.iter_batched_ref(
            || (planted.clone(), pinv.clone()),
            |(f, i)| farming::plant(f, i, black_box(PlotId(3)), &radish, &content, Tick(1000)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("summary_16_plots", |b| {
        b.iter(|| black_box(&planted).summary(Tick(1050)))
    });
}

criterion_group!(benches, rules);
criterion_main!(benches);
