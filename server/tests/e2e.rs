//! End to end over real UDP on loopback: register → login → play → connect → plant, water,
//! buy, harvest, sell → inventory visible through /v1/players/me → shard restart → state
//! intact.

mod common;

use common::*;
use harvest_client::net::NetClient;
use harvest_server::plugins::clock::GameClock;
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_shared::farming::{FarmError, Plot, Stage};
use harvest_shared::ids::{CropId, ItemId, PlotId};
use harvest_shared::market::MarketAction;
use harvest_shared::protocol::{KickReason, RejectReason};
use harvest_shared::time::Tick;
use std::time::Duration;

#[test]
fn register_play_farm_persist_restart() {
    let stack = Stack::start();
    let mut server = stack.shard();
    bound_addr(&mut server);

    stack
        .rt
        .block_on(stack.api.register("farmer_e2e", "password123"))
        .expect("register");
    let tokens = stack
        .rt
        .block_on(stack.api.login("farmer_e2e", "password123"))
        .expect("login");
    let mut client = connect(&stack, &mut server, &tokens.access_token);

    let (info, farm, inv) = client.farm().unwrap();
    assert_eq!(info.account, tokens.account_id);
    assert_eq!(
        farm.plots.len(),
        stack.content.zones[&info.zone].farm_plots as usize
    );
    assert_eq!(inv.coins, stack.content.economy.start_coins);
    assert_eq!(inv.items, stack.content.economy.start_items);

    let radish = CropId::new("radish");
    let radish_seed = stack.content.crops[&radish].seed.clone();
    let seeds = inv.count(&radish_seed);
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Plant {
                plot: PlotId(0),
                crop: radish.clone()
            }
        ),
        Ok(())
    );
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Water { plot: PlotId(0) }
        ),
        Ok(())
    );
    // Rejected intents come back typed and change nothing.
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Plant {
                plot: PlotId(0),
                crop: radish.clone()
            }
        ),
        Err(RejectReason::Farm(FarmError::PlotOccupied(PlotId(0))))
    );
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Plant {
                plot: PlotId(99),
                crop: radish.clone()
            }
        ),
        Err(RejectReason::Farm(FarmError::NoSuchPlot(PlotId(99))))
    );
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Plant {
                plot: PlotId(1),
                crop: CropId::new("unobtainium")
            }
        ),
        Err(RejectReason::Farm(FarmError::UnknownCrop))
    );
    assert!(matches!(
        act(
            &mut server,
            &mut client,
            FarmAction::Harvest { plot: PlotId(0) }
        ),
        Err(RejectReason::Farm(FarmError::NotRipe { .. }))
    ));
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "farm update",
        |_, c| {
            c[0].farm().is_some_and(|(_, f, i)| {
                matches!(&f.plots[0], Plot::Crop(g) if g.stage(Tick::now()) == Stage::Growing)
                    && i.count(&radish_seed) == seeds - 1
            })
        },
    );

    // A second crop that stays growing across the restart: its seed comes from the market.
    let pumpkin_seed = stack.content.crops[&CropId::new("pumpkin")].seed.clone();
    let price = stack.content.items[&pumpkin_seed].buy_price.unwrap();
    assert_eq!(
        act(
            &mut server,
            &mut client,
            MarketAction::Buy {
                item: pumpkin_seed.clone(),
                count: 1
            }
        ),
        Ok(())
    );
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Plant {
                plot: PlotId(3),
                crop: CropId::new("pumpkin")
            }
        ),
        Ok(())
    );

    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Water { plot: PlotId(3) }
        ),
        Ok(())
    );

    // Advance world time until the radish is ripe, then harvest it.
    let paid = stack.content.economy.start_coins - price;
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "purchase",
        |_, c| c[0].farm().is_some_and(|(_, _, i)| i.coins == paid),
    );
    let (_, farm, _) = client.farm().unwrap();
    let Plot::Crop(g) = &farm.plots[0] else {
        panic!("plot 0 should be growing")
    };
    let ripe_at = g.ripe_at().expect("watered long enough to ripen");
    let now = server.world().resource::<GameClock>().now;
    server.world_mut().resource_mut::<GameClock>().skew = now.until(ripe_at) + 1;
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Harvest { plot: PlotId(0) }
        ),
        Ok(())
    );
    let produce = ItemId::new("radish");
    let def = &stack.content.crops[&radish];
    let yield_count = g.yield_count(def.yield_min, def.yield_max);
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "inventory update",
        |_, c| {
            c[0].farm().is_some_and(|(_, f, i)| {
                i.count(&produce) == yield_count && f.plots[0] == Plot::Wild
            })
        },
    );
    // Sell one at the meadow's stall.
    let coins = client.farm().unwrap().2.coins;
    assert_eq!(
        act(
            &mut server,
            &mut client,
            MarketAction::Sell {
                item: produce.clone(),
                count: 1
            }
        ),
        Ok(())
    );
    let earned = stack.content.items[&produce].sell_price.unwrap();
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "sale",
        |_, c| {
            c[0].farm()
                .is_some_and(|(_, _, i)| i.coins == coins + earned)
        },
    );
    let (_, farm_before, inv_before) = client.farm().unwrap();

    // Write-behind reaches the sidecar within a second.
    let mut me = None;
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(3),
        "state saved",
        |_, _| {
            let m = stack
                .rt
                .block_on(stack.api.me(&tokens.access_token))
                .unwrap();
            let ok = m.inventory == inv_before;
            me = Some(m);
            ok
        },
    );
    let me = me.unwrap();
    assert_eq!(me.farm.plots as usize, farm_before.plots.len());
    assert_eq!(me.farm.growing, 1);

    // Restart: SIGTERM-equivalent drain, everyone saved and told why.
    server.world().resource::<ShutdownSignal>().request();
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(10),
        "shard exit",
        |s, _| s.should_exit().is_some(),
    );
    assert_eq!(server.should_exit(), Some(bevy::app::AppExit::Success));
    step_until(
        &mut bevy::prelude::App::new(),
        &mut [&mut client],
        Duration::from_secs(5),
        "kick notice",
        |_, c| c[0].kicked().is_some(),
    );
    assert_eq!(client.kicked().unwrap().reason, KickReason::ShuttingDown);
    drop(server);
    drop(client);
    // The drained shard left the directory: nobody is sent to it.
    let err = stack
        .rt
        .block_on(stack.api.play(&tokens.access_token))
        .unwrap_err();
    assert_eq!(err.code(), Some("no_shard"));

    let mut server = stack.shard();
    let tokens = stack
        .rt
        .block_on(stack.api.login("farmer_e2e", "password123"))
        .expect("login again");
    let mut client = connect(&stack, &mut server, &tokens.access_token);
    let (_, farm_after, inv_after) = client.farm().unwrap();
    assert_eq!(inv_after, inv_before, "inventory survives the restart");
    assert_eq!(
        farm_after, farm_before,
        "farm (including the growing pumpkin's ticks) survives the restart"
    );
    assert!(matches!(&farm_after.plots[3], Plot::Crop(g) if g.crop.as_str() == "pumpkin"));
}

#[test]
fn second_login_takes_over_the_live_player() {
    let stack = Stack::start();
    let mut server = stack.shard();
    bound_addr(&mut server);
    stack
        .rt
        .block_on(stack.api.register("twin", "password123"))
        .unwrap();
    let t1 = stack
        .rt
        .block_on(stack.api.login("twin", "password123"))
        .unwrap();
    let mut a = connect(&stack, &mut server, &t1.access_token);
    assert_eq!(act(&mut server, &mut a, plant(2)), Ok(()));
    let t2 = stack
        .rt
        .block_on(stack.api.login("twin", "password123"))
        .unwrap();
    let p = play(&stack, &mut [&mut server], &t2.access_token);
    let mut b = NetClient::connect(&p.connect_token).unwrap();
    step_until(
        &mut server,
        &mut [&mut a, &mut b],
        Duration::from_secs(10),
        "takeover",
        |_, c| {
            c[0].kicked().is_some()
                && c[1]
                    .farm()
                    .is_some_and(|(_, f, _)| matches!(&f.plots[2], Plot::Crop(_)))
        },
    );
    assert_eq!(a.kicked().unwrap().reason, KickReason::LoggedInElsewhere);
    // Exactly one player entity for the account.
    let mut q = server
        .world_mut()
        .query::<&harvest_server::plugins::player::Player>();
    assert_eq!(q.iter(server.world()).count(), 1);
}

#[test]
fn idle_farms_pause_and_resume_on_change() {
    use harvest_server::plugins::replication::{PAUSE_AFTER, Paused};
    let stack = Stack::start();
    let mut server = stack.shard();
    bound_addr(&mut server);
    stack
        .rt
        .block_on(stack.api.register("sleepy", "password123"))
        .unwrap();
    let t = stack
        .rt
        .block_on(stack.api.login("sleepy", "password123"))
        .unwrap();
    let mut client = connect(&stack, &mut server, &t.access_token);
    let paused = |s: &mut bevy::prelude::App| {
        let mut q = s.world_mut().query_filtered::<(), (
            bevy::prelude::With<harvest_server::plugins::player::Player>,
            bevy::prelude::With<Paused>,
        )>();
        q.iter(s.world()).count()
    };
    // Still for PAUSE_AFTER: out of the replication scan, and the client keeps its copy.
    step_until(
        &mut server,
        &mut [&mut client],
        PAUSE_AFTER * 3,
        "farm paused",
        |s, _| paused(s) == 1,
    );
    assert!(client.farm().is_some());
    // A change resumes it and reaches the client.
    assert_eq!(act(&mut server, &mut client, plant(5)), Ok(()));
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "update after pause",
        |_, c| {
            c[0].farm().is_some_and(
                |(_, f, _)| matches!(&f.plots[5], Plot::Crop(g) if g.crop.as_str() == "radish"),
            )
        },
    );
    assert_eq!(paused(&mut server), 0);
    // And it pauses again, then a second change still arrives.
    step_until(
        &mut server,
        &mut [&mut client],
        PAUSE_AFTER * 3,
        "farm paused again",
        |s, _| paused(s) == 1,
    );
    assert_eq!(
        act(
            &mut server,
            &mut client,
            FarmAction::Water { plot: PlotId(5) }
        ),
        Ok(())
    );
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(5),
        "second update after pause",
        |_, c| {
            c[0].farm()
                .is_some_and(|(_, f, _)| matches!(&f.plots[5], Plot::Crop(g) if g.stage(Tick::now()) == Stage::Growing))
        },
    );
}
