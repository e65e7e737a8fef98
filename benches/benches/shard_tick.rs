//! A headless shard tick with N players and no network: the players plugin, the farming
//! plugin applying requests (1 in 20 players acts per tick, ≈1 action/s each at 20 Hz), and
//! write-behind saves through the save queue into the in-memory store.

use bevy::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use harvest_server::plugins::intents::Incoming;
use harvest_server::plugins::player::{Joined, Session};
use harvest_server::{ShardSettings, build_app};
use harvest_shared::content::Content;
use harvest_shared::farming::FarmAction;
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
            let account = AccountId(i as i64 + 1);
            let link = app
                .world_mut()
                .spawn(Session {
                    account,
                    player: None,
                })
                .id();
            app.world_mut().write_message(Joined { account, link });
            link
        })
        .collect();
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
                // One batch per frame, as the network intake writes them.
                let mut incoming = app
                    .world_mut()
                    .resource_mut::<Messages<Incoming<FarmAction>>>();
                for (i, (link, player)) in pairs.iter().enumerate().skip(frame % 20).step_by(20) {
                    let plot = PlotId(((frame / 20 + i) % 12) as u16);
                    let action = match frame % 4 {
                        0 => FarmAction::Till { plot },
                        1 => FarmAction::Plant {
                            plot,
                            crop: CropId::new("radish"),
                        },
                        2 => FarmAction::Water { plot },
                        _ => FarmAction::Harvest { plot },
                    };
                    incoming.write(Incoming {
                        link: *link,
                        player: Some(*player),
                        request_id: frame as u32,
                        action,
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
