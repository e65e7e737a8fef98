//! Content hot reload in a running shard, driven by real file changes: a designer adds a crop,
//! its seed, a card and the recipe that makes it; the shard swaps the new content in at a tick
//! boundary and a player buys, plants and crafts with it, without a restart. A broken edit is
//! refused with its file and line, and the shard keeps ticking on the old content.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_server::build_app;
use harvest_server::config::ShardSettings;
use harvest_server::plugins::GameContent;
use harvest_server::plugins::content::ContentReloads;
use harvest_server::plugins::intents::RequestStats;
use harvest_shared::content::CONTENT_FILES;
use harvest_shared::farming::{FarmAction, Plot};
use harvest_shared::ids::{AccountId, CropId, ItemId, PlotId};
use harvest_shared::inventory::Inventory;
use harvest_shared::market::MarketAction;
use std::time::{Duration, Instant};

fn append_entry(path: &std::path::Path, entry: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let end = text.rfind(']').expect("a list");
    let new = format!("{}    {entry}\n{}", &text[..end], &text[end..]);
    std::fs::write(path, new).unwrap();
}

/// Step the app (and real time, for the watcher thread) until `done`.
fn until(app: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let start = Instant::now();
    while !done(app) {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out: {what}"
        );
        app.update();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn valid_edits_are_swapped_in_and_broken_ones_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    for f in CONTENT_FILES {
        std::fs::copy(content_dir().join(f), dir.join(f)).unwrap();
    }
    let mut s = ShardSettings::for_tests(content(), [1; 32], None);
    s.network = false;
    s.content_dir = Some(dir.clone());
    s.content_poll = Duration::from_millis(50);
    let mut app = ready(build_app(s));
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
        Duration::from_millis(50),
    ));
    let (link, player) = offline_join(&mut app, AccountId(1));
    let v0 = app.world().resource::<GameContent>().0.version.clone();

    // The designer's edit: a crop with its seed and produce, a card and its recipe.
    append_entry(
        &dir.join("items.ron"),
        r#"(id: "beet_seed", name: "Beet seeds", kind: Seed, stack: 99, buy_price: Some(4), sell_price: Some(2)),"#,
    );
    append_entry(
        &dir.join("items.ron"),
        r#"(id: "beet", name: "Beet", kind: Produce, stack: 99, sell_price: Some(7)),"#,
    );
    append_entry(
        &dir.join("crops.ron"),
        r#"(id: "beet", name: "Beet", seed: "beet_seed", growth_ticks: 40, drought_ticks: 3600, produce: "beet", yield_min: 2, yield_max: 2),"#,
    );
    append_entry(
        &dir.join("cards.ron"),
        r#"(id: "beet_bear", name: "Beet Bear", kind: Unit, cost: 3, attack: 3, health: 4),"#,
    );
    append_entry(
        &dir.join("recipes.ron"),
        r#"(id: "card_beet_bear", name: "Beet Bear card", inputs: {"beet": 2}, output: Card("beet_bear")),"#,
    );
    until(&mut app, "reload applied", |a| {
        a.world().resource::<ContentReloads>().applied == 1
    });
    let c = app.world().resource::<GameContent>().0.clone();
    assert_ne!(c.version, v0);
    // Applied at a frame boundary, with its wait recorded (the figure P9 reports).
    assert!(app.world().resource::<ContentReloads>().last_wait.is_some());
    assert!(c.crop(&CropId::new("beet")).is_some());

    // Played with at once: buy the seed, plant, water, harvest, craft the card.
    let beet_seed = ItemId::new("beet_seed");
    offline_send(
        &mut app,
        link,
        player,
        1,
        MarketAction::Buy {
            item: beet_seed.clone(),
            count: 1,
        },
    );
    assert_eq!(
        app.world()
            .get::<Inventory>(player)
            .unwrap()
            .count(&beet_seed),
        1
    );
    offline_send(
        &mut app,
        link,
        player,
        1,
        FarmAction::Plant {
            plot: PlotId(0),
            crop: CropId::new("beet"),
        },
    );
    offline_send(
        &mut app,
        link,
        player,
        1,
        FarmAction::Water { plot: PlotId(0) },
    );
    let Plot::Crop(crop) = &app
        .world()
        .get::<harvest_shared::farming::Farm>(player)
        .unwrap()
        .plots[0]
    else {
        panic!("planted")
    };
    let ripe = crop.ripe_at().unwrap();
    let now = app
        .world()
        .resource::<harvest_server::plugins::clock::GameClock>()
        .now;
    app.world_mut()
        .resource_mut::<harvest_server::plugins::clock::GameClock>()
        .skew = now.until(ripe) + 1;
    offline_send(
        &mut app,
        link,
        player,
        1,
        FarmAction::Harvest { plot: PlotId(0) },
    );
    assert_eq!(
        app.world()
            .get::<Inventory>(player)
            .unwrap()
            .count(&ItemId::new("beet")),
        2
    );
    offline_send(
        &mut app,
        link,
        player,
        1,
        harvest_shared::crafting::CraftAction::Craft {
            recipe: "card_beet_bear".into(),
        },
    );
    let cards = app
        .world()
        .get::<harvest_shared::inventory::Collection>(player)
        .unwrap();
    assert_eq!(cards.count(&"beet_bear".into()), 1);

    // A broken edit: refused with the file and line, the old content stays, the shard ticks.
    let accepted = app.world().resource::<RequestStats>().accepted;
    let crops = std::fs::read_to_string(dir.join("crops.ron")).unwrap();
    std::fs::write(
        dir.join("crops.ron"),
        crops.replacen("growth_ticks: 40", "growth_ticks: 0", 1),
    )
    .unwrap();
    until(&mut app, "reload refused", |a| {
        a.world().resource::<ContentReloads>().refused == 1
    });
    let r = app.world().resource::<ContentReloads>().clone();
    assert!(
        r.last_problems
            .iter()
            .any(|p| p.contains("crops.ron:") && p.contains("growth_ticks")),
        "{r:?}"
    );
    assert_eq!(app.world().resource::<GameContent>().0.version, c.version);
    offline_send(
        &mut app,
        link,
        player,
        1,
        FarmAction::Till { plot: PlotId(0) },
    );
    assert_eq!(
        app.world().resource::<RequestStats>().accepted,
        accepted + 1,
        "still playing"
    );

    // Undone: the directory is valid again, and it is what runs.
    std::fs::write(dir.join("crops.ron"), crops).unwrap();
    until(&mut app, "valid again", |a| {
        a.world()
            .resource::<ContentReloads>()
            .last_problems
            .is_empty()
    });
    assert_eq!(app.world().resource::<ContentReloads>().applied, 1);
}
