//! A headless shard tick with no network: the players plugin, the economy plugin applying
//! requests with the pure rules, write-behind saves and ledger entries through the save queue
//! into the in-memory store.
//!
//! - `shard_tick/N`: N players on new 12-plot farms; 1 in 20 players acts per tick (≈1 action
//!   a second each at 20 Hz), cycling till / plant / water / harvest on a few plots.
//! - `shard_tick_farms/1000x50`: the capacity case P1 names, 1,000 farms of 50 plots, every
//!   plot planted (50,000 crops) before measuring. Each measured frame is one world tick
//!   (the clock is moved on by one tick a frame, so crops ripen, dry and wither as they would),
//!   and 1 in 20 players makes the move its farm needs (harvest, clear, water, till, plant,
//!   sell produce, buy seeds). Each farm is one entity however many plots it has, which is what
//!   replication pays for: entities × clients, not plots.

use bevy::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use harvest_server::plugins::GameContent;
use harvest_server::plugins::clock::GameClock;
use harvest_server::plugins::intents::Incoming;
use harvest_server::plugins::player::{Joined, Session};
use harvest_server::{ShardSettings, build_app};
use harvest_shared::content::Content;
use harvest_shared::farming::{Farm, FarmAction, Plot, Stage};
use harvest_shared::ids::{AccountId, CropId, PlotId};
use harvest_shared::inventory::Inventory;
use harvest_shared::market::MarketAction;
use std::sync::Arc;

fn shipped_content() -> Content {
    Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data")).expect("content")
}

fn app_with_players(content: Content, n: usize) -> (App, Vec<(Entity, Entity)>) {
    let mut settings = ShardSettings::for_tests(Arc::new(content), [0; 32], None);
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
        let (mut app, pairs) = app_with_players(shipped_content(), n);
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

/// Farms in the capacity case, and plots on each.
const FARMS: usize = 1000;
const PLOTS: u16 = 50;
/// Sell a produce once this many are held; buy seeds when fewer than this are left.
const SELL_AT: u32 = 60;
const BUY_BELOW: u32 = 5;

/// A move of the bench's player.
enum Need {
    Farm(FarmAction),
    Market(MarketAction),
}

/// The move a farm needs: sell a full stack of produce, else the first of up to 8 plots from
/// `cursor` that needs something (buying its seeds first when they run low).
fn need(content: &Content, farm: &Farm, inv: &Inventory, cursor: usize, now: u64) -> Option<Need> {
    if farm.plots.is_empty() {
        return None;
    }
    let now = harvest_shared::time::Tick(now);
    for produce in content.crops.values().map(|c| &c.produce) {
        if inv.count(produce) >= SELL_AT {
            let count = inv.count(produce);
            let item = produce.clone();
            return Some(Need::Market(MarketAction::Sell { item, count }));
        }
    }
    for k in 0..8 {
        let i = (cursor + k) % farm.plots.len();
        let plot = PlotId(i as u16);
        let crop = content.crops.values().nth(i % content.crops.len())?;
        let action = match &farm.plots[i] {
            Plot::Wild => FarmAction::Till { plot },
            Plot::Tilled if inv.count(&crop.seed) < BUY_BELOW => {
                let item = crop.seed.clone();
                return Some(Need::Market(MarketAction::Buy { item, count: 20 }));
            }
            Plot::Tilled => FarmAction::Plant {
                plot,
                crop: crop.id.clone(),
            },
            Plot::Crop(c) => match c.stage(now) {
                Stage::Ripe => FarmAction::Harvest { plot },
                Stage::Withered => FarmAction::Clear { plot },
                Stage::Dry => FarmAction::Water { plot },
                Stage::Growing => continue,
            },
        };
        return Some(Need::Farm(action));
    }
    None
}

/// One world tick: players `frame, frame + every, …` make their move, then the shard runs.
fn step(
    app: &mut App,
    pairs: &[(Entity, Entity)],
    content: &Content,
    frame: usize,
    every: usize,
    request_id: &mut u32,
) {
    let skew = {
        let mut clock = app.world_mut().resource_mut::<GameClock>();
        clock.skew += 1;
        clock.skew
    };
    let now = harvest_shared::time::Tick::now().0 + skew;
    let mut farm_moves = Vec::new();
    let mut market_moves = Vec::new();
    for (i, (link, player)) in pairs.iter().enumerate().skip(frame % every).step_by(every) {
        let world = app.world();
        let (Some(farm), Some(inv)) = (world.get::<Farm>(*player), world.get::<Inventory>(*player))
        else {
            continue;
        };
        *request_id = request_id.wrapping_add(1);
        let (link, player, request_id) = (*link, Some(*player), *request_id);
        match need(
            content,
            farm,
            inv,
            (frame / every + i * 7) % PLOTS as usize,
            now,
        ) {
            Some(Need::Farm(action)) => farm_moves.push(Incoming {
                link,
                player,
                request_id,
                action,
            }),
            Some(Need::Market(action)) => market_moves.push(Incoming {
                link,
                player,
                request_id,
                action,
            }),
            None => {}
        }
    }
    app.world_mut()
        .resource_mut::<Messages<Incoming<FarmAction>>>()
        .write_batch(farm_moves);
    app.world_mut()
        .resource_mut::<Messages<Incoming<MarketAction>>>()
        .write_batch(market_moves);
    app.update();
}

/// Crops on every farm, by stage.
fn census(app: &mut App) -> [usize; 5] {
    let now = app.world().resource::<GameClock>().now;
    let mut counts = [0; 5];
    let mut farms = app.world_mut().query::<&Farm>();
    for farm in farms.iter(app.world()) {
        for p in &farm.plots {
            let k = match p {
                Plot::Wild | Plot::Tilled => 0,
                Plot::Crop(c) => match c.stage(now) {
                    Stage::Growing => 1,
                    Stage::Dry => 2,
                    Stage::Ripe => 3,
                    Stage::Withered => 4,
                },
            };
            counts[k] += 1;
        }
    }
    counts
}

fn farms(c: &mut Criterion) {
    let mut content = shipped_content();
    let start = content.economy.start_zone.clone();
    content
        .zones
        .get_mut(&start)
        .expect("start zone")
        .farm_plots = PLOTS;
    content.economy.start_coins = 1_000_000;
    for crop in content.crops.values() {
        content.economy.start_items.insert(crop.seed.clone(), 20);
    }
    let (mut app, pairs) = app_with_players(content, FARMS);
    // Plant and water every plot first: frames in which every player acts.
    let content = Arc::clone(&app.world().resource::<GameContent>().0);
    let mut request_id = 0;
    for frame in 0..3 * PLOTS as usize {
        step(&mut app, &pairs, &content, frame, 1, &mut request_id);
    }
    let before = census(&mut app);
    eprintln!(
        "shard_tick_farms: {} farms, {} plots: empty {}, growing {}, dry {}, ripe {}, withered {}",
        FARMS,
        FARMS * PLOTS as usize,
        before[0],
        before[1],
        before[2],
        before[3],
        before[4]
    );
    let mut group = c.benchmark_group("shard_tick_farms");
    let mut frame = 0usize;
    group.bench_function(format!("{FARMS}x{PLOTS}"), |b| {
        b.iter(|| {
            frame += 1;
            step(&mut app, &pairs, &content, frame, 20, &mut request_id);
        })
    });
    group.finish();
    let after = census(&mut app);
    eprintln!(
        "shard_tick_farms: after {frame} measured ticks: empty {}, growing {}, dry {}, ripe {}, withered {}",
        after[0], after[1], after[2], after[3], after[4]
    );
}

criterion_group!(benches, tick, farms);
criterion_main!(benches);
