//! Duels end to end over UDP with the real sidecar: what a duelist is sent (their own hand;
//! the opponent's hand as a count; no deck order; nothing at all for a bystander), a duel played
//! to its end by two clients choosing sensible moves from what they can see, the rating change
//! and reward in the sidecar's ledger, the replay verified by `harvest-server replay`; and the
//! `duel` bot scenario.

mod common;

use common::*;
use harvest_client::bots::{self, Scenario, SwarmConfig};
use harvest_client::net::NetClient;
use harvest_server::build_app;
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_shared::duel::arena::ArenaAction;
use harvest_shared::duel::policy::sensible_move;
use harvest_shared::duel::view::{ArenaState, ArenaStatus, DuelBoard, DuelSeat, Result3};
use harvest_shared::duel::{DeckAction, Decks};
use harvest_shared::ids::{CardId, ZoneId};
use harvest_shared::time::Tick;
use harvest_shared::travel::TravelAction;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn starter(stack: &Stack) -> Vec<CardId> {
    stack
        .content
        .economy
        .start_cards
        .iter()
        .flat_map(|(c, n)| std::iter::repeat_n(c.clone(), *n as usize))
        .collect()
}

/// Build a deck, go to the arena and queue.
fn queue(stack: &Stack, server: &mut bevy::app::App, c: &mut NetClient) {
    act(
        server,
        c,
        DeckAction::Create {
            name: "Main".into(),
        },
    )
    .unwrap();
    act(
        server,
        c,
        DeckAction::SetCards {
            deck: 0,
            cards: starter(stack),
        },
    )
    .unwrap();
    act(
        server,
        c,
        TravelAction {
            to: ZoneId::new("arena"),
        },
    )
    .unwrap();
    act(server, c, ArenaAction::Queue { deck: 0 }).unwrap();
}

#[test]
fn a_duel_over_udp_hides_what_it_must_ends_rated_paid_and_replays() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let (ia, ib, ic) = (
        stack.account("ann"),
        stack.account("ben"),
        stack.account("cat"),
    );
    let mut a = stack.client_of(&mut server, ia);
    let mut b = stack.client_of(&mut server, ib);
    let mut c = stack.client_of(&mut server, ic);
    queue(&stack, &mut server, &mut a);
    queue(&stack, &mut server, &mut b);
    step_until(
        &mut server,
        &mut [&mut a, &mut b, &mut c],
        Duration::from_secs(10),
        "both duelists see the board and their seat",
        |_, cs| {
            (0..2).all(|i| {
                cs[i].replicated::<DuelBoard>().is_some()
                    && cs[i].replicated::<DuelSeat>().is_some()
            })
        },
    );
    // Each duelist holds exactly one seat, its own, and one board; its world holds the
    // opponent's hand only as a count. The bystander is sent nothing of the duel.
    for (me, other) in [(&mut a, ib), (&mut b, ia)] {
        let world = me.app.world_mut();
        let seats: Vec<DuelSeat> = world.query::<&DuelSeat>().iter(world).cloned().collect();
        assert_eq!(seats.len(), 1, "a duelist is sent its own seat only");
        let boards: Vec<DuelBoard> = world.query::<&DuelBoard>().iter(world).cloned().collect();
        assert_eq!(boards.len(), 1);
        let board = &boards[0];
        let mine = seats[0].side;
        let theirs = usize::from(mine == harvest_shared::duel::Side::A);
        assert!(board.accounts.contains(&other));
        assert!(board.hand_counts[theirs] > 0);
        // Nothing replicated names a card beyond the duelist's own hand and the boards: the
        // board's JSON holds counts for hands and decks.
        let json = serde_json::to_value(board).unwrap();
        assert!(json["hand_counts"][theirs].is_u64());
        assert!(json.get("deck").is_none() && json.get("hands").is_none());
    }
    {
        let world = c.app.world_mut();
        assert_eq!(world.query::<&DuelBoard>().iter(world).count(), 0);
        assert_eq!(world.query::<&DuelSeat>().iter(world).count(), 0);
    }
    let decks = b.replicated::<Decks>().unwrap();
    assert_eq!(
        decks.decks[0].cards.len(),
        12,
        "decks are replicated to their owner"
    );

    // Play it out: each side makes the sensible move on what it can see, one at a time.
    let content = stack.content.clone();
    let filler = content.cards.keys().next().unwrap().clone();
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let status = a.replicated::<ArenaStatus>().unwrap();
        if status.last.is_some() && status.state == ArenaState::Idle {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the duel ended in time"
        );
        let mut moved = false;
        for cl in [&mut a, &mut b] {
            let Some((board, seat)) = cl.duel() else {
                continue;
            };
            if board.outcome.is_some() || board.active != seat.side {
                continue;
            }
            let known = board.reconstruct(seat.side, &seat.hand, &content.duel, &filler);
            if let Some(m) = sensible_move(&known, &content, Tick::now()) {
                if act(&mut server, cl, m).is_err() {
                    refused += 1;
                }
                moved = true;
            }
        }
        // Let the new board arrive before planning again.
        step_until(
            &mut server,
            &mut [&mut a, &mut b],
            Duration::from_secs(5),
            "frames",
            {
                let mut n = 0;
                move |_, _| {
                    n += 1;
                    n > if moved { 8 } else { 2 }
                }
            },
        );
    }
    assert!(
        refused <= 2,
        "moves planned on the visible board are legal ({refused} refused)"
    );
    step_until(
        &mut server,
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        "both results",
        |_, cs| {
            cs.iter_mut()
                .all(|c| c.replicated::<ArenaStatus>().unwrap().last.is_some())
        },
    );
    let ra = a.replicated::<ArenaStatus>().unwrap().last.unwrap();
    let rb = b.replicated::<ArenaStatus>().unwrap().last.unwrap();
    assert_eq!(ra.match_id, rb.match_id);
    assert!(
        a.replicated::<DuelSeat>().is_none(),
        "the seat goes when the duel ends"
    );
    let (winner, loser) = if ra.result == Result3::Win {
        (&ra, &rb)
    } else {
        (&rb, &ra)
    };
    assert_eq!(loser.result, Result3::Loss);
    assert!(winner.rating_after.rating > winner.rating_before.rating);
    assert!(loser.rating_after.rating < loser.rating_before.rating);
    assert_eq!(winner.reward, content.duel.rewards.win);

    // In the sidecar: the rewards are ledger entries, the record is whole.
    let db = &stack.sidecar.as_ref().unwrap().state.db;
    for (acc, r) in [(ia, &ra), (ib, &rb)] {
        let ledger = stack.rt.block_on(db.ledger_page(acc.0, 50)).unwrap();
        let paid: i64 = ledger
            .iter()
            .filter(|e| e.kind.as_str() == "duel_reward")
            .map(|e| e.delta.coins)
            .sum();
        assert_eq!(paid, i64::from(r.reward));
        let board = stack.rt.block_on(db.leaderboard(10, Some(acc.0))).unwrap();
        assert_eq!(board.total, 2);
    }
    let audit = stack.rt.block_on(db.audit()).unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");

    // `harvest-server replay` reads the record from the database and verifies it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harvest-server"))
        .args(["replay", &ra.match_id, "--json", "--data-dir"])
        .arg(&stack.cfg.data_dir)
        .args(["--content-dir"])
        .arg(content_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["verified"], true);
    // An unknown match: exit 2 with a clear message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harvest-server"))
        .args(["replay", "m-nope", "--data-dir"])
        .arg(&stack.cfg.data_dir)
        .arg("--content-dir")
        .arg(content_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no match 'm-nope'"), "{err}");
    // Content that is not there: exit 2, naming the directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_harvest-server"))
        .args(["replay", &ra.match_id, "--content-dir", "/nonexistent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"));
}

#[test]
fn duel_bots_play_each_other_to_rated_results() {
    let stack = Stack::start();
    let flag = Arc::new(AtomicBool::new(false));
    let signal = ShutdownSignal(flag.clone());
    let settings = stack.settings();
    let shard = std::thread::spawn(move || {
        let mut app = build_app(settings);
        app.insert_resource(ShutdownSignal(flag));
        app.run()
    });
    let cfg = SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: 2,
        duration: Duration::from_secs(45),
        scenario: Scenario::Duel,
        user_prefix: "duelist".into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 30,
        login_concurrency: 2,
        content: content(),
    };
    let report = bots::run(&cfg, |_| {}).expect("swarm runs");
    signal.request();
    assert_eq!(shard.join().unwrap(), bevy::app::AppExit::Success);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.duels_completed >= 1, "{report:?}");
    assert_eq!(report.duel_actions_rejected, 0, "{:?}", report.rejects);
    let json = serde_json::to_value(&report).unwrap();
    for f in ["duels_completed", "duel_actions_rejected"] {
        assert!(json.get(f).is_some(), "report field {f}");
    }
    // Every duel a bot saw recorded moved its rating, and its reward is in the ledger (a duel
    // that lasted `min_turns` pays both sides).
    for d in &report.duels {
        assert_ne!(d.rating_before, d.rating_after, "{d:?}");
    }
    let db = &stack.sidecar.as_ref().unwrap().state.db;
    let mut rewards = 0;
    for d in &report.duels {
        let rec = stack
            .rt
            .block_on(db.match_record(&d.match_id))
            .unwrap()
            .expect("recorded");
        let id = stack
            .rt
            .block_on(db.account_by_name(&d.bot))
            .unwrap()
            .unwrap()
            .id;
        let side = usize::from(rec.report.players[1].0 == id);
        let paid: i64 = stack
            .rt
            .block_on(db.ledger_page(id, 500))
            .unwrap()
            .iter()
            .filter(|e| e.kind.as_str() == "duel_reward" && e.detail.ends_with(&d.match_id))
            .map(|e| e.delta.coins)
            .sum();
        assert_eq!(paid, i64::from(rec.settled.rewards[side]), "{d:?}");
        rewards += paid;
    }
    assert!(
        rewards > 0,
        "the bots' duels paid rewards through the ledger"
    );
    let audit = stack.rt.block_on(db.audit()).unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}
