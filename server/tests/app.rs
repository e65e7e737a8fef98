//! The shard's plugins in a plain app: no network, an in-memory store with the sidecar's lease
//! and compare-and-swap rules, and Bevy time advanced by hand (no sleeping). Sessions join
//! through `Joined` messages, requests arrive as `Incoming<FarmAction>` messages.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_server::plugins::ShardState;
use harvest_server::plugins::intents::{Incoming, RequestStats};
use harvest_server::plugins::persistence::{Backend, LaneHealth, SaveQueue, SidecarHealth};
use harvest_server::plugins::player::{Arriving, Left, Player, Session};
use harvest_server::plugins::players::{PREPARED_TTL, Players};
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_shared::api::MAX_SAVES_PER_BATCH;
use harvest_shared::farming::{Farm, Plot};
use harvest_shared::ids::{AccountId, PlotId};
use harvest_shared::inventory::Inventory;
use harvest_shared::protocol::KickReason;
use std::time::Duration;

const STEP: Duration = Duration::from_millis(50);

fn request(app: &mut App, link: Entity, player: Entity, action: FarmAction) {
    offline_send(app, link, player, 1, action);
}

fn store(app: &mut App) -> &mut harvest_server::plugins::persistence::memory::MemoryStore {
    app.world_mut()
        .resource_mut::<Backend>()
        .into_inner()
        .memory_store()
        .expect("offline apps use the memory store")
}

fn run(app: &mut App, d: Duration) {
    for _ in 0..(d.as_millis() / STEP.as_millis()).max(1) {
        app.update();
    }
}

#[test]
fn join_plant_reject_and_leave_saves() {
    let mut app = offline_app(STEP);
    let (link, player) = offline_join(&mut app, AccountId(5));
    let seed = harvest_shared::ids::ItemId::new("radish_seed");
    let seeds = app.world().get::<Inventory>(player).unwrap().count(&seed);

    request(&mut app, link, player, plant(0));
    assert!(matches!(
        app.world().get::<Farm>(player).unwrap().plots[0],
        Plot::Crop(_)
    ));
    assert_eq!(
        app.world().get::<Inventory>(player).unwrap().count(&seed),
        seeds - 1
    );
    assert!(
        app.world()
            .get::<Player>(player)
            .unwrap()
            .dirty_since
            .is_some()
    );

    // A refused request leaves state and change ticks alone.
    let before = app.world().get::<Farm>(player).unwrap().clone();
    request(
        &mut app,
        link,
        player,
        FarmAction::Harvest { plot: PlotId(0) },
    );
    assert_eq!(app.world().get::<Farm>(player).unwrap(), &before);
    let stats = *app.world().resource::<RequestStats>();
    assert_eq!((stats.accepted, stats.rejected), (1, 1));

    // Requests from a link with no loaded player are refused, not applied anywhere.
    app.world_mut().write_message(Incoming {
        link,
        player: None,
        request_id: 2,
        action: FarmAction::Water { plot: PlotId(0) },
    });
    app.update();
    assert_eq!(app.world().resource::<RequestStats>().rejected, 2);

    // Leaving saves (releasing the lease) and despawns.
    app.world_mut().write_message(Left {
        account: AccountId(5),
        link,
    });
    run(&mut app, Duration::from_millis(200));
    assert!(app.world().get_entity(player).is_err());
    assert!(app.world().resource::<Players>().online.is_empty());
    assert!(
        app.world().resource::<SaveQueue>().is_empty(),
        "released after confirmation"
    );
    let (version, stored) = store(&mut app).stored(AccountId(5)).unwrap();
    assert!(version >= 1);
    assert!(stored.is_some());
    let held = store(&mut app).holdings(AccountId(5)).unwrap();
    assert_eq!(held.inventory.count(&seed), seeds - 1);

    // Coming back loads the saved state.
    let (_, player) = offline_join(&mut app, AccountId(5));
    assert_eq!(
        app.world().get::<Inventory>(player).unwrap().count(&seed),
        seeds - 1
    );
}

#[test]
fn write_behind_saves_after_the_interval_not_before() {
    let mut app = offline_app(STEP);
    let (link, player) = offline_join(&mut app, AccountId(9));
    // A new player's starting state goes on record right away (after the interval).
    run(&mut app, Duration::from_millis(300));
    let confirmed = app.world().resource::<SaveQueue>().counters.confirmed;
    assert_eq!(confirmed, 1);
    request(&mut app, link, player, plant(1));
    // Not yet: the change is younger than the 200 ms interval.
    app.update();
    assert_eq!(
        app.world().resource::<SaveQueue>().counters.confirmed,
        confirmed
    );
    run(&mut app, Duration::from_millis(300));
    assert_eq!(
        app.world().resource::<SaveQueue>().counters.confirmed,
        confirmed + 1
    );
    assert!(
        app.world()
            .get::<Player>(player)
            .unwrap()
            .dirty_since
            .is_none()
    );
    // Many changes within one interval are one save.
    for plot in 2..6 {
        request(&mut app, link, player, plant(plot));
    }
    run(&mut app, Duration::from_millis(300));
    assert_eq!(
        app.world().resource::<SaveQueue>().counters.confirmed,
        confirmed + 2
    );
}

/// 5,000 dirty players, no network: their saves go out in chunks no larger than the sidecar's
/// batch limit, and every one is confirmed.
#[test]
fn five_thousand_dirty_players_save_in_chunks() {
    let mut app = offline_app(STEP);
    let n = 5000;
    for i in 0..n {
        offline_link(&mut app, AccountId(i + 1));
    }
    run(&mut app, Duration::from_millis(500));
    assert_eq!(app.world().resource::<Players>().online.len(), n as usize);
    let sizes = std::mem::take(&mut store(&mut app).batch_sizes);
    assert!(sizes.len() >= n as usize / MAX_SAVES_PER_BATCH, "{sizes:?}");
    assert!(sizes.iter().all(|&s| s <= MAX_SAVES_PER_BATCH), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), n as usize);
    // Everyone changes again: again chunked, again all confirmed.
    let players: Vec<(Entity, Entity)> = {
        let mut q = app.world_mut().query::<(Entity, &Session)>();
        q.iter(app.world())
            .map(|(l, s)| (l, s.player.unwrap()))
            .collect()
    };
    for (link, player) in &players {
        app.world_mut().write_message(Incoming {
            link: *link,
            player: Some(*player),
            request_id: 2,
            action: plant(3),
        });
    }
    run(&mut app, Duration::from_millis(500));
    let sizes = std::mem::take(&mut store(&mut app).batch_sizes);
    assert!(sizes.iter().all(|&s| s <= MAX_SAVES_PER_BATCH), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), n as usize);
    let q = app.world().resource::<SaveQueue>();
    assert_eq!(q.counters.confirmed, 2 * n as u64);
    assert!(q.is_settled());
}

/// While the store is down: ticking goes on, joins are refused, the queue holds at most one
/// pending snapshot per player however long it lasts, and players who leave stay owed. After
/// recovery everything is saved, and a drain exits 0.
#[test]
fn outage_keeps_memory_bounded_and_loses_nothing() {
    let mut app = offline_app(STEP);
    record_kicks(&mut app);
    let players: Vec<(AccountId, Entity, Entity)> = (1..=20)
        .map(|i| {
            let (l, p) = offline_join(&mut app, AccountId(i));
            (AccountId(i), l, p)
        })
        .collect();
    run(&mut app, Duration::from_millis(500));
    store(&mut app).down = true;
    // A long outage: every player keeps farming every tick.
    for frame in 0..400u32 {
        for (_, link, player) in &players {
            let plot = (frame % 12) as u16;
            app.world_mut().write_message(Incoming {
                link: *link,
                player: Some(*player),
                request_id: frame,
                action: if frame % 24 < 12 {
                    plant(plot)
                } else {
                    FarmAction::Water { plot: PlotId(plot) }
                },
            });
        }
        app.update();
        let q = app.world().resource::<SaveQueue>();
        // Each record holds two snapshots at most (its two fields): the records are the bound.
        assert!(q.len() <= players.len(), "frame {frame}");
    }
    assert!(!app.world().resource::<SidecarHealth>().is_up());
    // Backoff: a long outage costs few requests.
    assert!(
        store(&mut app).failed_requests < 60,
        "{}",
        store(&mut app).failed_requests
    );
    // Half the players leave during the outage: they stay owed.
    for (account, link, _) in &players[..10] {
        app.world_mut().write_message(Left {
            account: *account,
            link: *link,
        });
    }
    run(&mut app, Duration::from_millis(200));
    assert_eq!(app.world().resource::<SaveQueue>().len(), 20);
    // A join now is refused with a typed reason.
    let newcomer = offline_link(&mut app, AccountId(99));
    app.update();
    let kicks = &app.world().resource::<Kicked>().0;
    assert!(
        kicks
            .iter()
            .any(|k| k.link == newcomer && k.reason == KickReason::ServiceUnavailable),
        "{kicks:?}"
    );
    // Recovery: everything owed is saved within the backoff, the players who left included.
    let farms: Vec<(AccountId, Farm)> = players
        .iter()
        .filter_map(|(a, _, p)| app.world().get::<Farm>(*p).map(|f| (*a, f.clone())))
        .collect();
    store(&mut app).down = false;
    run(&mut app, Duration::from_secs(8));
    assert!(app.world().resource::<SidecarHealth>().is_up());
    let q = app.world().resource::<SaveQueue>();
    assert_eq!(q.len(), 10, "only the online players keep a record");
    assert!(q.is_settled());
    for (account, farm) in &farms {
        let (_, stored) = store(&mut app).stored(*account).unwrap();
        assert_eq!(&stored.unwrap().farm, farm, "{account}");
    }
    // And a drain exits 0.
    app.world().resource::<ShutdownSignal>().request();
    run(&mut app, Duration::from_secs(2));
    assert_eq!(app.should_exit(), Some(AppExit::Success));
}

/// Another load of the account (a new epoch) makes this shard's next save fail: the player is
/// let go here at once, with a reason, and nothing more is saved from this shard.
#[test]
fn a_refused_save_stops_the_player() {
    let mut app = offline_app(STEP);
    record_kicks(&mut app);
    let (link, player) = offline_join(&mut app, AccountId(7));
    run(&mut app, Duration::from_millis(300));
    // Elsewhere, another shard loads the player.
    store(&mut app).lease(AccountId(7), "other-shard").unwrap();
    request(&mut app, link, player, plant(0));
    run(&mut app, Duration::from_millis(300));
    assert!(app.world().get_entity(player).is_err(), "player let go");
    assert!(app.world().resource::<Players>().online.is_empty());
    assert!(!app.world().resource::<SaveQueue>().holds(AccountId(7)));
    assert_eq!(app.world().resource::<SaveQueue>().counters.refused, 1);
    assert!(
        app.world()
            .resource::<Kicked>()
            .0
            .iter()
            .any(|k| k.link == link && k.reason == KickReason::SessionMovedElsewhere)
    );
    // Requests from that link no longer touch anything.
    request(&mut app, link, player, plant(1));
    assert_eq!(app.world().resource::<RequestStats>().accepted, 1);
    // The stored state is untouched by this shard's refused save.
    let (_, stored) = store(&mut app).stored(AccountId(7)).unwrap();
    assert!(matches!(stored.unwrap().farm.plots[0], Plot::Tilled));
}

/// A 4xx (e.g. a wrong service secret) is not an outage: it is not retried in a loop, the
/// shard says so in its health, and the unsaved state is kept.
#[test]
fn rejected_requests_are_parked_not_looped() {
    let mut app = offline_app(STEP);
    let (link, player) = offline_join(&mut app, AccountId(3));
    run(&mut app, Duration::from_millis(300));
    store(&mut app).reject_with = Some(401);
    request(&mut app, link, player, plant(0));
    run(&mut app, Duration::from_secs(20));
    assert!(matches!(
        app.world().resource::<SidecarHealth>().saves,
        LaneHealth::Rejecting { status: 401, .. }
    ));
    assert_eq!(
        store(&mut app).failed_requests,
        1,
        "parked after one refusal"
    );
    let q = app.world().resource::<SaveQueue>();
    assert!(q.outstanding(AccountId(3)).is_some(), "the save is kept");
    // Fixed: the parked save goes through at its next try, nothing lost.
    store(&mut app).reject_with = None;
    run(&mut app, Duration::from_secs(12));
    assert!(app.world().resource::<SidecarHealth>().is_up());
    let (_, stored) = store(&mut app).stored(AccountId(3)).unwrap();
    assert!(matches!(stored.unwrap().farm.plots[0], Plot::Crop(_)));
}

/// SIGTERM with the store down: the drain waits for its budget, then exits 1, because saves
/// are unconfirmed. Requests during the drain change nothing.
/// Take the store down and ask for a drain: the shard is draining, with saves it cannot make.
fn drain_with_the_store_down(app: &mut App) {
    store(app).down = true;
    app.world().resource::<ShutdownSignal>().request();
    app.update();
    app.update();
    assert_eq!(
        *app.world().resource::<State<ShardState>>().get(),
        ShardState::Draining
    );
}

#[test]
fn drain_with_unconfirmed_saves_exits_1() {
    let mut app = offline_app(STEP);
    let (link, player) = offline_join(&mut app, AccountId(11));
    run(&mut app, Duration::from_millis(300));
    drain_with_the_store_down(&mut app);
    request(&mut app, link, player, plant(0));
    assert_eq!(app.world().resource::<RequestStats>().accepted, 0);
    // The budget is --shutdown-timeout (15 s in tests) minus the goodbye margin.
    run(&mut app, Duration::from_secs(10));
    assert!(
        app.should_exit().is_none(),
        "still trying within the budget"
    );
    run(&mut app, Duration::from_secs(6));
    assert!(matches!(app.should_exit(), Some(AppExit::Error(_))));
}

/// SIGTERM while a session waits for its load: it is told the shard is going away, the late
/// lease answer is dropped, nothing is owed, and the drain ends at once with exit 0 instead of
/// waiting out its budget.
#[test]
fn sigterm_while_loading_drains_at_once() {
    let mut app = offline_app(STEP);
    record_kicks(&mut app);
    let (_, _) = offline_join(&mut app, AccountId(1));
    let link = offline_link(&mut app, AccountId(2));
    app.world().resource::<ShutdownSignal>().request();
    run(&mut app, Duration::from_secs(2));
    assert_eq!(app.should_exit(), Some(AppExit::Success));
    assert!(
        app.world()
            .resource::<Kicked>()
            .0
            .iter()
            .any(|k| k.link == link && k.reason == KickReason::ShuttingDown)
    );
    let players = app.world().resource::<Players>();
    assert!(players.loading.is_empty());
    assert!(
        !players.online.contains_key(&AccountId(2)),
        "nothing spawned late"
    );
}

/// A link that leaves while its lease is in flight, and a new link of the same account that
/// joins before the answer: the one lease serves the new link (no second load, no stale epoch).
#[test]
fn a_quick_reconnect_while_loading_reuses_the_lease() {
    let mut app = offline_app(STEP);
    let account = AccountId(4);
    let first = offline_link(&mut app, account);
    app.update(); // lease requested; its answer is drained next frame
    app.world_mut().write_message(Left {
        account,
        link: first,
    });
    let second = offline_link(&mut app, account);
    run(&mut app, Duration::from_millis(500));
    assert_eq!(lease_epoch_of(&app, second), 1, "one lease only");
    assert_eq!(app.world().resource::<SaveQueue>().counters.refused, 0);
}

/// The lease epoch of the player attached to `link` (panics if none is).
fn lease_epoch_of(app: &App, link: Entity) -> i64 {
    let player = app
        .world()
        .get::<Session>(link)
        .and_then(|s| s.player)
        .expect("a player is attached to the link");
    app.world().get::<Player>(player).unwrap().epoch
}

/// A handshake under way (`Arriving`) loads its player ahead: the session that joins finds it
/// loaded and is attached in that same frame, under the lease taken ahead (no second lease).
/// Repeated arrivals (netcode resends its request) load nothing more.
#[test]
fn a_player_loaded_during_the_handshake_is_attached_the_frame_it_joins() {
    let mut app = offline_app(STEP);
    let account = AccountId(8);
    app.world_mut().write_message(Arriving { account });
    app.update(); // lease requested
    app.world_mut().write_message(Arriving { account });
    app.update(); // answered: kept for the session
    assert!(
        app.world()
            .resource::<Players>()
            .prepared
            .contains_key(&account)
    );
    app.world_mut().write_message(Arriving { account });
    app.update();
    let link = offline_link(&mut app, account);
    app.update();
    assert_eq!(
        lease_epoch_of(&app, link),
        1,
        "attached the frame it joined, one lease"
    );
    let players = app.world().resource::<Players>();
    assert!(players.prepared.is_empty() && players.loading.is_empty());
    assert_eq!(players.loaded_ahead, 1);
}

/// A player loaded for a handshake that never completes gives the lease back with an unchanged
/// save after `PREPARED_TTL`; a later session loads as usual under a new lease.
#[test]
fn a_player_loaded_for_a_handshake_that_never_joins_is_given_back() {
    let mut app = offline_app(STEP);
    let account = AccountId(9);
    app.world_mut().write_message(Arriving { account });
    run(&mut app, Duration::from_millis(200));
    assert!(
        app.world()
            .resource::<Players>()
            .prepared
            .contains_key(&account)
    );
    run(&mut app, PREPARED_TTL + Duration::from_millis(200));
    assert!(app.world().resource::<Players>().prepared.is_empty());
    assert!(
        !app.world().resource::<SaveQueue>().holds(account),
        "the release save was confirmed"
    );
    let (version, state) = store(&mut app).stored(account).expect("stored");
    assert_eq!(version, 1);
    assert!(state.is_some());
    let (_, player) = offline_join(&mut app, account);
    assert_eq!(app.world().get::<Player>(player).unwrap().epoch, 2);
    assert_eq!(app.world().resource::<Players>().loaded_ahead, 0);
}

/// A handshake for a player another shard holds takes nothing ahead (an early lease is taken
/// only if free); a session that joins, even while that ask is in flight, then takes the
/// lease as any session does.
#[test]
fn an_early_load_never_takes_a_player_held_elsewhere() {
    let mut app = offline_app(STEP);
    let (held, racing) = (AccountId(12), AccountId(13));
    for a in [held, racing] {
        store(&mut app).lease(a, "other-shard").unwrap();
    }
    app.world_mut().write_message(Arriving { account: held });
    run(&mut app, Duration::from_millis(200));
    let players = app.world().resource::<Players>();
    assert!(players.prepared.is_empty() && players.loading.is_empty());
    let still = store(&mut app).lease_as(held, "other-shard", true);
    assert_eq!(still.map(|l| l.epoch).ok(), Some(2), "other-shard kept it");

    app.world_mut().write_message(Arriving { account: racing });
    app.update(); // asked if free; refused next frame
    let link = offline_link(&mut app, racing);
    run(&mut app, Duration::from_millis(300));
    assert_eq!(lease_epoch_of(&app, link), 2, "the session took it");
}

/// No early loads while the shard drains: its players are leaving, not arriving.
#[test]
fn arrivals_load_nothing_while_draining() {
    let mut app = offline_app(STEP);
    let _keeps_it_draining = offline_join(&mut app, AccountId(11));
    drain_with_the_store_down(&mut app);
    store(&mut app).down = false;
    app.world_mut().write_message(Arriving {
        account: AccountId(10),
    });
    run(&mut app, Duration::from_millis(200));
    let players = app.world().resource::<Players>();
    assert!(players.loading.is_empty() && players.prepared.is_empty());
    assert!(
        store(&mut app).stored(AccountId(10)).is_none(),
        "no lease taken"
    );
}

/// Every answer written, in order.
#[derive(Resource, Default)]
struct Answers(Vec<harvest_server::plugins::intents::Answer>);

fn collect_answers(
    mut answers: MessageReader<harvest_server::plugins::intents::Answer>,
    mut out: ResMut<Answers>,
) {
    out.0.extend(answers.read().cloned());
}

fn answered(
    app: &App,
    request_id: u32,
) -> Option<Result<(), harvest_shared::protocol::RejectReason>> {
    app.world()
        .resource::<Answers>()
        .0
        .iter()
        .find(|a| a.notice.request_id == request_id)
        .map(|a| a.notice.result.clone())
}

/// Acknowledged means durable: an economy event is applied at once but answered only when its
/// ledger entry is committed; a farming move is answered at once. During an outage the event
/// waits; after it, it is answered and in the ledger. A refused save answers nothing.
#[test]
fn economy_events_are_answered_only_after_their_commit() {
    use harvest_shared::market::MarketAction;
    let mut app = offline_app(STEP);
    app.init_resource::<Answers>();
    app.add_systems(Last, collect_answers);
    let (link, player) = offline_join(&mut app, AccountId(11));
    run(&mut app, Duration::from_millis(300));
    let seed = harvest_shared::ids::ItemId::new("radish_seed");
    let coins = app.world().get::<Inventory>(player).unwrap().coins;

    store(&mut app).down = true;
    offline_send(&mut app, link, player, 10, plant(0));
    assert_eq!(
        answered(&app, 10),
        Some(Ok(())),
        "a farming move is answered at once"
    );
    offline_send(
        &mut app,
        link,
        player,
        11,
        MarketAction::Buy {
            item: seed.clone(),
            count: 2,
        },
    );
    // Applied (the player sees it) but not answered while the store is down.
    assert_eq!(
        app.world().get::<Inventory>(player).unwrap().coins,
        coins - 4
    );
    run(&mut app, Duration::from_secs(3));
    assert_eq!(answered(&app, 11), None, "no answer before the commit");
    assert!(
        store(&mut app).ledger_keys(AccountId(11)).len() <= 1,
        "only the opening"
    );

    store(&mut app).down = false;
    run(&mut app, Duration::from_secs(6));
    assert_eq!(answered(&app, 11), Some(Ok(())), "answered once committed");
    let keys = store(&mut app).ledger_keys(AccountId(11));
    assert_eq!(keys.len(), 3, "opening, plant, buy: {keys:?}");
    let held = store(&mut app).holdings(AccountId(11)).unwrap();
    assert_eq!(
        &held.inventory,
        app.world().get::<Inventory>(player).unwrap()
    );
    assert_eq!(held.inventory.coins, coins - 4);

    // Another shard takes the lease: this shard's next save is refused, and the sale that
    // rode on it is never acknowledged.
    store(&mut app).lease(AccountId(11), "other-shard").unwrap();
    offline_send(
        &mut app,
        link,
        player,
        12,
        MarketAction::Sell {
            item: seed,
            count: 1,
        },
    );
    run(&mut app, Duration::from_secs(2));
    assert_eq!(answered(&app, 12), None);
    assert_eq!(
        store(&mut app).holdings(AccountId(11)).unwrap(),
        held,
        "nothing applied"
    );
    assert!(
        app.world().get_entity(player).is_err(),
        "the player was let go"
    );
}

/// A player owing the most unconfirmed ledger entries gets `SavePending` until the sidecar
/// catches up: nothing grows without bound during an outage.
#[test]
fn unconfirmed_ledger_entries_are_bounded() {
    use harvest_shared::api::MAX_LEDGER_PER_SAVE;
    use harvest_shared::market::MarketAction;
    use harvest_shared::protocol::RejectReason;
    let mut app = offline_app(STEP);
    app.init_resource::<Answers>();
    app.add_systems(Last, collect_answers);
    let (link, player) = offline_join(&mut app, AccountId(12));
    run(&mut app, Duration::from_millis(300));
    app.world_mut().get_mut::<Inventory>(player).unwrap().coins = 1_000_000;
    store(&mut app).down = true;
    let seed = harvest_shared::ids::ItemId::new("radish_seed");
    for i in 0..(MAX_LEDGER_PER_SAVE as u32 + 5) {
        // Buy one, sell one: each is a ledger entry, and the stack never fills.
        let action = if i % 2 == 0 {
            MarketAction::Buy {
                item: seed.clone(),
                count: 1,
            }
        } else {
            MarketAction::Sell {
                item: seed.clone(),
                count: 1,
            }
        };
        offline_send(&mut app, link, player, 100 + i, action);
    }
    let refused = app
        .world()
        .resource::<Answers>()
        .0
        .iter()
        .filter(|a| a.notice.result == Err(RejectReason::SavePending))
        .count();
    assert_eq!(refused, 5, "everything past the bound is refused");
    let q = app.world().resource::<SaveQueue>();
    assert!(q.owed_entries(AccountId(12)) <= MAX_LEDGER_PER_SAVE);
}
