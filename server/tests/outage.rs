//! The sidecar goes away for 20 s while bots farm, and comes back on the same database.
//!
//! - The shard keeps ticking and answering the players it has.
//! - Its memory stays bounded: at most two snapshots per player it owes (the one being
//!   retried and the newest), however long the outage.
//! - A session that arrives during the outage is refused with a typed reason.
//! - After recovery, every connected player's state and every player who left during the
//!   outage is saved exactly as the shard last had it. Then a SIGTERM exits 0.
//!
//! Also: a 4xx (a wrong service secret) shows in the shard's readiness, not as an outage.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_client::bots::{self, Scenario, SwarmConfig};
use harvest_client::net::NetClient;
use harvest_server::plugins::persistence::{SaveQueue, SidecarHealth};
use harvest_server::plugins::player::{Player, snapshot};
use harvest_server::plugins::players::Players;
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_server::plugins::transport::public_from_bound;
use harvest_shared::farming::{Farm, Plot, Stage};
use harvest_shared::ids::{AccountId, CropId, ItemId, PlotId};
use harvest_shared::inventory::{Collection, Holdings, Inventory};
use harvest_shared::protocol::{KickReason, PlayerInfo};
use harvest_shared::state::PlayerState;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The last state the shard held for every player, kept up to date each frame.
#[derive(Resource, Default)]
struct LastKnown(HashMap<AccountId, (PlayerState, Holdings)>);

fn remember(
    mut last: ResMut<LastKnown>,
    players: Query<(
        &Player,
        &PlayerInfo,
        &Farm,
        &Inventory,
        &Collection,
        &harvest_shared::duel::Decks,
    )>,
) {
    for (p, info, farm, inv, col, decks) in &players {
        let holdings = Holdings {
            inventory: inv.clone(),
            collection: col.clone(),
        };
        last.0
            .insert(p.account, (snapshot(info, farm, decks), holdings));
    }
}

/// One farming move for a bot that farms on its own plots.
fn next_move(client: &mut NetClient) -> Option<FarmAction> {
    let (_, farm, inv) = client.farm()?;
    let now = harvest_shared::time::Tick::now();
    for (i, plot) in farm.plots.iter().enumerate().take(6) {
        let plot_id = PlotId(i as u16);
        match plot {
            Plot::Crop(g) if g.stage(now) == Stage::Ripe => {
                return Some(FarmAction::Harvest { plot: plot_id });
            }
            Plot::Crop(g) if g.stage(now) == Stage::Dry => {
                return Some(FarmAction::Water { plot: plot_id });
            }
            Plot::Wild => return Some(FarmAction::Till { plot: plot_id }),
            Plot::Tilled if inv.count(&ItemId::new("radish_seed")) > 0 => {
                return Some(FarmAction::Plant {
                    plot: plot_id,
                    crop: CropId::new("radish"),
                });
            }
            _ => {}
        }
    }
    None
}

#[test]
fn a_sidecar_outage_loses_nothing_and_stays_bounded() {
    let mut stack = Stack::start();
    let mut server = stack.shard();
    server.init_resource::<LastKnown>();
    server.add_systems(Last, remember);
    let addr = public_from_bound(bound_addr(&mut server));

    // Bots through the real login path; they stop (leave) during the outage.
    let swarm_cfg = SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: 4,
        duration: Duration::from_secs(12),
        scenario: Scenario::Farming,
        user_prefix: "outage".into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 20,
        login_concurrency: 4,
        content: content(),
    };
    let swarm = std::thread::spawn(move || bots::run(&swarm_cfg, |_| {}));
    // Players who stay through it all.
    let stayers: Vec<AccountId> = (0..3)
        .map(|i| stack.account(&format!("stayer{i}")))
        .collect();
    let mut clients: Vec<NetClient> = stayers
        .iter()
        .map(|a| NetClient::connect(&stack.token(*a, addr)).unwrap())
        .collect();
    // A latecomer's token, fetched before the outage.
    let late = stack.account("latecomer");
    let late_token = stack.token(late, addr);
    let step = |server: &mut App, clients: &mut [NetClient]| {
        server.update();
        for c in clients.iter_mut() {
            c.update();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let start = Instant::now();
    while server.world().resource::<Players>().online.len() < 7 {
        assert!(start.elapsed() < Duration::from_secs(15), "everyone online");
        step(&mut server, &mut clients);
    }
    for _ in 0..50 {
        step(&mut server, &mut clients);
    }

    // The outage.
    stack.stop_sidecar();
    let outage = Instant::now();
    let mut late_client: Option<NetClient> = None;
    let mut last_move = Instant::now();
    let mut answered = 0usize;
    let mut worst = (0usize, 0usize);
    let rss_start = harvest_shared::procstat::rss_mb();
    while outage.elapsed() < Duration::from_secs(20) {
        step(&mut server, &mut clients);
        if last_move.elapsed() > Duration::from_millis(400) {
            last_move = Instant::now();
            for c in clients.iter_mut() {
                if let Some(m) = next_move(c) {
                    c.send(m);
                }
            }
        }
        for c in clients.iter_mut() {
            answered += c.take_notices().iter().filter(|n| n.result.is_ok()).count();
        }
        if late_client.is_none() && outage.elapsed() > Duration::from_secs(3) {
            late_client = Some(NetClient::connect(&late_token).unwrap());
        }
        if let Some(lc) = late_client.as_mut() {
            lc.update();
        }
        // A record holds one pending and one retried snapshot at most (its two fields), so the
        // bound to check is the records: only players this shard loaded, whatever they do.
        let q = server.world().resource::<SaveQueue>();
        assert!(q.len() <= 7, "only players this shard loaded");
        worst = worst.max((q.len(), q.snapshots_held()));
    }
    let rss_end = harvest_shared::procstat::rss_mb();
    assert!(
        answered > 20,
        "the shard kept playing during the outage ({answered} moves)"
    );
    assert!(!server.world().resource::<SidecarHealth>().is_up());
    let late_client = late_client.unwrap();
    assert_eq!(
        late_client.kicked().map(|k| k.reason),
        Some(KickReason::ServiceUnavailable),
        "a join during the outage is refused with a reason"
    );
    let report = swarm.join().unwrap().expect("the swarm ran");
    assert_eq!(report.ever_connected, 4, "{report:?}");
    println!(
        "outage: {answered} moves answered, queue at worst {} records / {} snapshots, rss {rss_start:.1} -> {rss_end:.1} MB",
        worst.0, worst.1
    );

    // Recovery on the same database.
    stack.restart_sidecar();
    let start = Instant::now();
    loop {
        step(&mut server, &mut clients);
        let q = server.world().resource::<SaveQueue>();
        if q.len() == 3 && q.is_settled() && server.world().resource::<SidecarHealth>().is_up() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "saved after recovery"
        );
    }
    // Every player's stored state and ledger holdings are what the shard last had: the 3
    // connected and the 4 who left during the outage.
    let last = server.world().resource::<LastKnown>().0.clone();
    assert_eq!(last.len(), 7);
    for (account, (state, holdings)) in &last {
        let saved = stored(&stack, *account);
        assert_eq!(saved.state.as_ref(), Some(state), "account {account}");
        assert_eq!(
            stored_holdings(&stack, *account).as_ref(),
            Some(holdings),
            "account {account}"
        );
    }
    let audit = stack
        .rt
        .block_on(stack.sidecar.as_ref().unwrap().state.db.audit())
        .unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
    assert!(audit.entries >= 7, "{audit:?}");
    assert_eq!(server.world().resource::<SaveQueue>().counters.refused, 0);

    server.world().resource::<ShutdownSignal>().request();
    step_until(
        &mut server,
        &mut [],
        Duration::from_secs(20),
        "exit",
        |s, _| s.should_exit().is_some(),
    );
    assert_eq!(server.should_exit(), Some(AppExit::Success));
}

/// A shard with the wrong service secret: the sidecar answers 401. That is not an outage:
/// the shard says so in its readiness (with the status), keeps what it owes, and does not
/// retry in a loop.
#[test]
fn a_wrong_service_secret_shows_in_readiness() {
    let stack = Stack::start();
    let mut settings = stack.settings();
    if let Some(link) = settings.sidecar.as_mut() {
        link.service_secret = [0x42; 32];
    }
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    settings.admin_bind = Some(admin);
    let mut server = ready(harvest_server::build_app(settings));
    bound_addr(&mut server);
    step_until(
        &mut server,
        &mut [],
        Duration::from_secs(10),
        "rejected",
        |s, _| s.world().resource::<SidecarHealth>().rejecting() == Some(401),
    );
    for _ in 0..5 {
        server.update();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = rt.block_on(async {
        let r = reqwest::get(format!("http://{admin}/readyz"))
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().await.unwrap(),
        )
    });
    assert_eq!(status, 503, "{body}");
    let reasons = body["reasons"].to_string();
    assert!(
        reasons.contains("rejects") && reasons.contains("401"),
        "{body}"
    );
    let health = rt.block_on(async {
        reqwest::get(format!("http://{admin}/healthz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(health, 200, "alive, just not ready");
}
