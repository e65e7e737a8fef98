//! A headless shard tick with N players and no network: the players plugin, the farming
//! plugin applying intents (1 in 20 players acts per tick, ≈1 action/s each at 20 Hz), and
//! write-behind batching into the in-memory store.

use bevy::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use harvest_server::plugins::farming::{Intent, IntentFrom, Intents};
use harvest_server::plugins::players::{Joins, Session};
use harvest_server::{ShardSettings, build_app};
use harvest_shared::content::Content;
use harvest_shared::ids::{AccountId, CropId, PlotId};
use std::sync::Arc;

fn app_with_players(n: usize) -> (App, Vec<(Entity, Entity)>) {
    let content = Arc::new(
        Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data")).expect("content"),
    );
    let mut settings = ShardSettings::for_tests(content, [0; 32], None);
    settings.network = false;
    let mut app = build_app(settings);
    app.finish();
    app.cleanup();
    let links: Vec<Entity> = (0..n)
        .map(|i| {
            app.world_mut()
                .spawn(Session {
                    account: AccountId(i as i64 + 1),
                    player: None,
                })
                .id()
        })
        .collect();
    for (i, l) in links.iter().enumerate() {
        app.world_mut()
            .resource_mut::<Joins>()
            .0
            .push((AccountId(i as i64 + 1), *l));
    }
    for _ in 0..3 {
        app.update();
    }
    let pairs = links
        .iter()
        .map(|l| {
            (
                *l,
                app.world()
                    .get::<Session>(*l)
                    .and_then(|s| s.player)
                    .expect("player loaded"),
            )
        })
        .collect();
    (app, pairs)
}

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("shard_tick");
    for n in [100usize, 1000, 5000] {
        let (mut app, pairs) = app_with_players(n);
        let mut frame = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                frame += 1;
                let mut intents = app.world_mut().resource_mut::<Intents>();
                for (i, (link, player)) in pairs.iter().enumerate().skip(frame % 20).step_by(20) {
                    let plot = PlotId(((frame / 20 + i) % 12) as u16);
                    let intent = match frame % 3 {
                        0 => Intent::Plant {
                            plot,
                            crop: CropId::new("radish"),
                        },
                        1 => Intent::Water { plot },
                        _ => Intent::Harvest { plot },
                    };
                    intents.0.push(IntentFrom {
                        link: *link,
                        player: Some(*player),
                        request_id: frame as u32,
                        intent,
                    });
                }
                app.update();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
