//! Zone shards over UDP with the real sidecar: two shard apps hosting different zones, one
//! client travelling between them (a handoff each way, its state and holdings intact, the
//! ledger clean), and a draining shard handing its player to the shard that takes its zone.

mod common;

use bevy::app::App;
use common::*;
use harvest_client::net::NetClient;
use harvest_server::build_app;
use harvest_server::plugins::directory::{Directory, Hosting};
use harvest_server::plugins::handoff::HandoffStats;
use harvest_server::plugins::players::Players;
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_shared::ids::{ItemId, ZoneId};
use harvest_shared::inventory::Inventory;
use harvest_shared::market::MarketAction;
use harvest_shared::protocol::{KickReason, RejectReason};
use harvest_shared::travel::{TravelAction, TravelError};
use std::time::Duration;

/// A shard named `id` offering `zones`, stepped until the sidecar has granted it what it can.
fn shard(stack: &Stack, id: &str, zones: &[&str]) -> App {
    let mut s = stack.settings();
    s.shard_id = id.into();
    s.zones = zones.iter().map(|z| ZoneId::new(*z)).collect();
    let mut app = ready(build_app(s));
    step_until(
        &mut app,
        &mut [],
        Duration::from_secs(10),
        "registered",
        |a, _| a.world().resource::<Directory>().renewals > 0,
    );
    app
}

fn hosts(app: &App, zone: &str) -> bool {
    app.world().resource::<Hosting>().hosts(&ZoneId::new(zone))
}

fn online(app: &App) -> usize {
    app.world().resource::<Players>().online.len()
}

/// Step until the client is handed off and its state has arrived from the new shard in `zone`.
fn follow(servers: &mut [&mut App], client: &mut NetClient, zone: &str) -> Inventory {
    let mut followed = false;
    step_all(
        servers,
        &mut [client],
        Duration::from_secs(10),
        "handoff",
        |_, c| {
            if !followed && !c[0].is_connected() {
                match c[0].kicked().map(|k| k.reason) {
                    Some(KickReason::Handoff(t)) => assert_eq!(t.zone.as_str(), zone),
                    other => panic!("disconnected without a ticket: {other:?}"),
                }
                followed = c[0].follow_handoff().expect("ticket decodes").is_some();
            }
            followed
                && c[0]
                    .farm()
                    .is_some_and(|(info, ..)| info.zone.as_str() == zone)
        },
    );
    client.farm().expect("farm").2
}

/// Log `user` in through shard-a (it must host meadow), buy `count` of `item` there, and wait
/// until the client sees it: the client and its inventory.
fn arrive_and_buy(
    stack: &Stack,
    a: &mut App,
    b: &mut App,
    user: &str,
    item: &ItemId,
    count: u32,
) -> (NetClient, Inventory) {
    let t = stack.user(user);
    let p = play(stack, &mut [&mut *a, &mut *b], &t.access_token);
    assert_eq!(p.shard_id, "shard-a");
    let mut c = NetClient::connect(&p.connect_token).unwrap();
    step_all(
        &mut [&mut *a, &mut *b],
        &mut [&mut c],
        Duration::from_secs(10),
        "farm",
        |_, c| c[0].farm().is_some(),
    );
    // An economy event just before leaving: acknowledged only once committed.
    act(
        a,
        &mut c,
        MarketAction::Buy {
            item: item.clone(),
            count,
        },
    )
    .unwrap();
    step_until(
        a,
        &mut [&mut c],
        Duration::from_secs(5),
        "bought",
        |_, c| c[0].farm().unwrap().2.coins < 50,
    );
    let inv = c.farm().unwrap().2;
    (c, inv)
}

#[test]
fn travel_between_two_shards_hands_the_player_off_and_back() {
    let stack = Stack::start();
    let mut a = shard(&stack, "shard-a", &["meadow", "arena"]);
    let mut b = shard(&stack, "shard-b", &["riverside"]);
    assert!(hosts(&a, "meadow") && !hosts(&a, "riverside"));
    assert!(hosts(&b, "riverside"));
    // shard-a learns at its next heartbeat that riverside is hosted (until then a journey
    // there is refused as unreachable).
    step_all(
        &mut [&mut a, &mut b],
        &mut [],
        Duration::from_secs(10),
        "riverside live",
        |s, _| {
            s[0].world()
                .resource::<Hosting>()
                .is_live(&ZoneId::new("riverside"))
        },
    );
    let seed = ItemId::new("radish_seed");
    let (mut c, before) = arrive_and_buy(&stack, &mut a, &mut b, "walker", &seed, 3);
    let account = c.farm().unwrap().0.account;

    act(
        &mut a,
        &mut c,
        TravelAction {
            to: ZoneId::new("riverside"),
        },
    )
    .unwrap();
    let there = follow(&mut [&mut a, &mut b], &mut c, "riverside");
    assert_eq!(there, before, "holdings travel intact");
    assert_eq!((online(&a), online(&b)), (0, 1));
    assert_eq!(
        b.world().resource::<Players>().loaded_ahead,
        1,
        "the new shard began loading the player during the handshake (the token's client id names the account)"
    );
    assert_eq!(
        stored(&stack, account).state.unwrap().zone.as_str(),
        "riverside"
    );
    // A journey to where the player is, and to a zone nobody knows, are refused as before.
    assert_eq!(
        act(
            &mut b,
            &mut c,
            TravelAction {
                to: ZoneId::new("riverside")
            }
        ),
        Err(RejectReason::Travel(TravelError::AlreadyThere(
            ZoneId::new("riverside")
        )))
    );
    // Buy on the second shard, then straight back: a second handoff, the other way.
    act(
        &mut b,
        &mut c,
        MarketAction::Buy {
            item: seed.clone(),
            count: 1,
        },
    )
    .expect_err("riverside has no market stall");
    act(
        &mut b,
        &mut c,
        TravelAction {
            to: ZoneId::new("meadow"),
        },
    )
    .unwrap();
    let back = follow(&mut [&mut a, &mut b], &mut c, "meadow");
    assert_eq!(back, before);
    assert_eq!((online(&a), online(&b)), (1, 0));
    act(
        &mut a,
        &mut c,
        MarketAction::Buy {
            item: seed.clone(),
            count: 1,
        },
    )
    .unwrap();
    step_until(
        &mut a,
        &mut [&mut c],
        Duration::from_secs(5),
        "bought again",
        |_, c| c[0].farm().unwrap().2.count(&seed) == before.count(&seed) + 1,
    );
    // Within one shard a journey is still a room change: no handoff.
    act(
        &mut a,
        &mut c,
        TravelAction {
            to: ZoneId::new("arena"),
        },
    )
    .unwrap();
    step_until(
        &mut a,
        &mut [&mut c],
        Duration::from_secs(5),
        "room change",
        |_, c| {
            c[0].farm()
                .is_some_and(|(info, ..)| info.zone.as_str() == "arena")
        },
    );
    assert!(c.is_connected());
    let (sa, sb) = (
        a.world().resource::<HandoffStats>().clone(),
        b.world().resource::<HandoffStats>().clone(),
    );
    assert_eq!(
        (sa.completed, sb.completed, sa.failed + sb.failed),
        (1, 1, 0)
    );
    // shard-b leaves: riverside has no host, and a journey there is refused at once, with
    // nothing saved, instead of stranding the player.
    b.world().resource::<ShutdownSignal>().request();
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut c],
        Duration::from_secs(10),
        "riverside unhosted",
        |s, _| {
            !s[0]
                .world()
                .resource::<Hosting>()
                .is_live(&ZoneId::new("riverside"))
        },
    );
    assert_eq!(
        act(
            &mut a,
            &mut c,
            TravelAction {
                to: ZoneId::new("riverside")
            }
        ),
        Err(RejectReason::Travel(TravelError::Unreachable(ZoneId::new(
            "riverside"
        ))))
    );
    assert!(c.is_connected());
    // What the client sees is what is stored, and every holding equals its ledger: nothing
    // lost or duplicated on the way.
    let seen = c.farm().unwrap().2;
    step_until(
        &mut a,
        &mut [&mut c],
        Duration::from_secs(5),
        "saved",
        |_, _| stored_holdings(&stack, account).is_some_and(|h| h.inventory == seen),
    );
    let db = &stack.sidecar.as_ref().unwrap().state.db;
    let audit = stack.rt.block_on(db.audit()).unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

#[test]
fn a_draining_shard_hands_its_player_to_the_zones_new_host() {
    let stack = Stack::start();
    let mut a = shard(&stack, "shard-a", &["meadow"]);
    // A standby for meadow: it holds nothing while shard-a is alive.
    let mut b = shard(&stack, "shard-b", &["meadow"]);
    assert!(hosts(&a, "meadow") && !hosts(&b, "meadow"));
    let wheat = ItemId::new("wheat_seed");
    let (mut c, before) = arrive_and_buy(&stack, &mut a, &mut b, "stayer", &wheat, 2);
    a.world().resource::<ShutdownSignal>().request();
    let after = follow(&mut [&mut a, &mut b], &mut c, "meadow");
    assert_eq!(after, before, "state intact on the new host");
    assert_eq!(online(&b), 1);
    assert_eq!(a.world().resource::<HandoffStats>().completed, 1);
    // shard-a exits cleanly once everything is confirmed; shard-b hosts meadow now.
    let mut exit = None;
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut c],
        Duration::from_secs(15),
        "shard-a exits",
        |s, _| {
            exit = s[0].should_exit();
            exit.is_some()
        },
    );
    assert_eq!(exit, Some(bevy::app::AppExit::Success));
    step_until(
        &mut b,
        &mut [&mut c],
        Duration::from_secs(5),
        "shard-b hosts meadow",
        |b, _| hosts(b, "meadow"),
    );
    assert!(c.is_connected());
}
