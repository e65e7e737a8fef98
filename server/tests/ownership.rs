//! One owner per account, over real UDP with a real sidecar: the ownership lease and
//! compare-and-swap saves across two shards, drain order, logout, and a failed load.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_client::net::NetClient;
use harvest_server::plugins::persistence::SaveQueue;
use harvest_server::plugins::players::Players;
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_server::plugins::transport::public_from_bound;
use harvest_shared::farming::Plot;
use harvest_shared::ids::AccountId;
use harvest_shared::protocol::KickReason;
use std::time::Duration;

fn queue(app: &App) -> &SaveQueue {
    app.world().resource::<SaveQueue>()
}

/// The player loads on shard A and plays; then logs in again and lands on shard B. A's next
/// save is refused and A lets the player go. The stored state is B's, and every save A had
/// confirmed before B's load is in it.
#[test]
fn two_shards_one_account_the_newest_load_owns_it() {
    let stack = Stack::start();
    let mut a = stack.shard_named("shard-a");
    let mut b = stack.shard_named("shard-b");
    let addr_a = public_from_bound(bound_addr(&mut a));
    let addr_b = public_from_bound(bound_addr(&mut b));
    let account = stack.account("twin");

    let mut on_a = NetClient::connect(&stack.token(account, addr_a)).unwrap();
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut on_a],
        Duration::from_secs(10),
        "load on A",
        |_, c| c[0].farm().is_some(),
    );
    assert_eq!(act(&mut a, &mut on_a, plant(0)), Ok(()));
    // A's save of the plant is confirmed.
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut on_a],
        Duration::from_secs(5),
        "A's save confirmed",
        |s, _| {
            queue(s[0]).is_settled()
                && stored(&stack, account)
                    .state
                    .is_some_and(|st| matches!(st.farm.plots[0], Plot::Crop(_)))
        },
    );

    // The same account logs in again and lands on B: a new lease, the newest state.
    let mut on_b = NetClient::connect(&stack.token(account, addr_b)).unwrap();
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut on_a, &mut on_b],
        Duration::from_secs(10),
        "load on B",
        |_, c| c[1].farm().is_some(),
    );
    let (_, farm_b, _) = on_b.farm().unwrap();
    assert!(
        matches!(farm_b.plots[0], Plot::Crop(_)),
        "B loaded A's confirmed save"
    );

    // A does not know yet: it takes one more request, but cannot save it, and lets go.
    assert_eq!(act(&mut a, &mut on_a, plant(1)), Ok(()));
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut on_a, &mut on_b],
        Duration::from_secs(5),
        "A lets the player go",
        |s, c| s[0].world().resource::<Players>().online.is_empty() && c[0].kicked().is_some(),
    );
    assert_eq!(
        on_a.kicked().unwrap().reason,
        KickReason::SessionMovedElsewhere
    );
    assert_eq!(queue(&a).counters.refused, 1);
    assert!(
        !queue(&a).holds(account),
        "A owes nothing for a player it no longer owns"
    );

    // B plays on and saves.
    assert_eq!(act(&mut b, &mut on_b, plant(2)), Ok(()));
    step_all(
        &mut [&mut a, &mut b],
        &mut [&mut on_b],
        Duration::from_secs(5),
        "B saved",
        |s, _| queue(s[1]).is_settled() && queue(s[1]).counters.confirmed >= 1,
    );
    let state = stored(&stack, account).state.expect("stored");
    assert!(
        matches!(state.farm.plots[0], Plot::Crop(_)),
        "A's confirmed plant kept"
    );
    assert!(
        matches!(state.farm.plots[1], Plot::Tilled),
        "A's refused plant never stored"
    );
    assert!(
        matches!(state.farm.plots[2], Plot::Crop(_)),
        "B's plant stored"
    );
    assert_eq!(queue(&b).counters.refused, 0);
}

/// SIGTERM: everything is saved and confirmed *before* any client is told to go, so a player
/// who reconnects at once loads the newest state.
#[test]
fn drain_confirms_saves_before_it_kicks() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let account = stack.account("drained");
    let mut client = stack.client_of(&mut server, account);
    assert_eq!(act(&mut server, &mut client, plant(4)), Ok(()));
    record_kicks(&mut server);
    // At once, before the write-behind interval.
    server.world().resource::<ShutdownSignal>().request();
    let mut stored_when_kicked = None;
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(10),
        "kick",
        |s, _| {
            // The end of the frame in which the shard decided to kick: by then every save
            // must be confirmed and stored.
            if !s.world().resource::<Kicked>().0.is_empty() && stored_when_kicked.is_none() {
                let q = queue(s);
                assert!(q.is_settled(), "kicked with saves outstanding");
                assert!(q.counters.confirmed >= 1);
                stored_when_kicked = Some(stored(&stack, account));
            }
            stored_when_kicked.is_some()
        },
    );
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "kick notice",
        |_, c| c[0].kicked().is_some(),
    );
    assert_eq!(client.kicked().unwrap().reason, KickReason::ShuttingDown);
    let state = stored_when_kicked
        .unwrap()
        .state
        .expect("saved before the kick");
    assert!(matches!(state.farm.plots[4], Plot::Crop(_)));
    step_until(
        &mut server,
        &mut [],
        Duration::from_secs(5),
        "exit",
        |s, _| s.should_exit().is_some(),
    );
    assert_eq!(server.should_exit(), Some(AppExit::Success));
}

/// Logging out (from anywhere) ends the account's live game session on its shard; the last
/// state is saved as on any leave.
#[test]
fn logout_ends_the_game_session() {
    let stack = Stack::start();
    let mut server = stack.shard();
    bound_addr(&mut server);
    let tokens = stack.user("leaver");
    let mut client = connect(&stack, &mut server, &tokens.access_token);
    assert_eq!(act(&mut server, &mut client, plant(6)), Ok(()));
    stack
        .rt
        .block_on(stack.api.logout(&tokens.access_token))
        .expect("logout");
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(8),
        "logged out",
        |_, c| c[0].kicked().is_some(),
    );
    assert_eq!(client.kicked().unwrap().reason, KickReason::LoggedOut);
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "saved on leave",
        |s, _| s.world().resource::<Players>().online.is_empty() && queue(s).is_empty(),
    );
    let state = stored(&stack, tokens.account_id).state.expect("saved");
    assert!(matches!(state.farm.plots[6], Plot::Crop(_)));
}

/// A session whose account cannot be loaded (here: it does not exist) is told so and let go,
/// never left loading.
#[test]
fn a_failed_load_answers_with_a_kick() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let addr = public_from_bound(bound_addr(&mut server));
    let mut client = NetClient::connect(&stack.token(AccountId(987_654), addr)).unwrap();
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(10),
        "kick",
        |_, c| c[0].kicked().is_some(),
    );
    assert_eq!(client.kicked().unwrap().reason, KickReason::LoadFailed);
    assert!(server.world().resource::<Players>().loading.is_empty());
}
