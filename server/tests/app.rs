//! The shard's plugins in a plain app, with no network: sessions join through the players
//! plugin, intents go through the farming plugin, state goes through in-memory persistence.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_server::plugins::farming::{ActionStats, Intent, IntentFrom, Intents};
use harvest_server::plugins::persistence::Persistence;
use harvest_server::plugins::players::{Joins, Leaves, Player, Players, Session};
use harvest_server::{ShardSettings, build_app};
use harvest_shared::farming::{Farm, Inventory, Plot};
use harvest_shared::ids::{AccountId, CropId, PlotId};
use std::time::Duration;

fn offline_app() -> App {
    let mut s = ShardSettings::for_tests(content(), [1; 32], None);
    s.network = false;
    ready(build_app(s))
}

fn join(app: &mut App, account: AccountId) -> (Entity, Entity) {
    let link = app
        .world_mut()
        .spawn(Session {
            account,
            player: None,
        })
        .id();
    app.world_mut()
        .resource_mut::<Joins>()
        .0
        .push((account, link));
    for _ in 0..3 {
        app.update();
    }
    let player = app
        .world()
        .get::<Session>(link)
        .and_then(|s| s.player)
        .expect("player attached");
    (link, player)
}

fn intent(app: &mut App, link: Entity, player: Entity, intent: Intent) {
    app.world_mut()
        .resource_mut::<Intents>()
        .0
        .push(IntentFrom {
            link,
            player: Some(player),
            request_id: 1,
            intent,
        });
    app.update();
}

/// Plot 0 is growing and the player holds `coins`.
fn assert_planted_and_paid(app: &App, player: Entity, coins: u32) {
    assert!(matches!(
        app.world().get::<Farm>(player).unwrap().plots[0],
        Plot::Growing(_)
    ));
    assert_eq!(app.world().get::<Inventory>(player).unwrap().coins, coins);
}

#[test]
fn join_plant_reject_and_leave_saves() {
    let mut app = offline_app();
    let (link, player) = join(&mut app, AccountId(5));
    let coins = app.world().get::<Inventory>(player).unwrap().coins;

    intent(
        &mut app,
        link,
        player,
        Intent::Plant {
            plot: PlotId(0),
            crop: CropId::new("radish"),
        },
    );
    assert_planted_and_paid(&app, player, coins - 2);
    assert!(
        app.world()
            .get::<Player>(player)
            .unwrap()
            .dirty_since
            .is_some()
    );

    // A refused intent leaves state and change ticks alone.
    let before = app.world().get::<Farm>(player).unwrap().clone();
    intent(&mut app, link, player, Intent::Harvest { plot: PlotId(0) });
    assert_eq!(app.world().get::<Farm>(player).unwrap(), &before);
    let stats = *app.world().resource::<ActionStats>();
    assert_eq!((stats.accepted, stats.rejected), (1, 1));

    // Intents from a link with no loaded player are refused, not applied anywhere.
    app.world_mut()
        .resource_mut::<Intents>()
        .0
        .push(IntentFrom {
            link,
            player: None,
            request_id: 2,
            intent: Intent::Water { plot: PlotId(0) },
        });
    app.update();
    assert_eq!(app.world().resource::<ActionStats>().rejected, 2);

    // Leaving saves (in-memory store here) and despawns.
    app.world_mut()
        .resource_mut::<Leaves>()
        .0
        .push((AccountId(5), link));
    app.update();
    assert!(app.world().get_entity(player).is_err());
    assert!(app.world().resource::<Players>().online.is_empty());
    app.update();
    let p = app.world().resource::<Persistence>();
    assert_eq!(p.saves_in_flight, 0);
    assert!(p.saves_confirmed >= 1);

    // Coming back loads the saved state.
    let (_, player) = join(&mut app, AccountId(5));
    assert_planted_and_paid(&app, player, coins - 2);
}

#[test]
fn write_behind_flushes_within_the_interval() {
    let mut app = offline_app();
    let (link, player) = join(&mut app, AccountId(9));
    // New players are saved right away (their starting state goes on record).
    std::thread::sleep(Duration::from_millis(250));
    app.update();
    app.update();
    let confirmed = app.world().resource::<Persistence>().saves_confirmed;
    assert!(confirmed >= 1);
    intent(
        &mut app,
        link,
        player,
        Intent::Plant {
            plot: PlotId(1),
            crop: CropId::new("radish"),
        },
    );
    std::thread::sleep(Duration::from_millis(250));
    app.update();
    app.update();
    assert!(app.world().resource::<Persistence>().saves_confirmed > confirmed);
    assert!(
        app.world()
            .get::<Player>(player)
            .unwrap()
            .dirty_since
            .is_none()
    );
}
