//! The bot swarm against a running shard (its own thread, real schedule runner) and an
//! in-process sidecar: bots register, log in, connect, farm, and the report adds up. A second
//! run with the same prefix plays the same accounts.

mod common;

use common::*;
use harvest_client::bots::{self, Scenario, SwarmConfig};
use harvest_server::build_app;
use harvest_server::plugins::shutdown::ShutdownSignal;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Run a shard on its own thread with its real schedule runner; the signal drains it.
fn run_shard(
    settings: harvest_server::ShardSettings,
) -> (std::thread::JoinHandle<bevy::app::AppExit>, ShutdownSignal) {
    let flag = Arc::new(AtomicBool::new(false));
    let signal = ShutdownSignal(flag.clone());
    let shard = std::thread::spawn(move || {
        let mut app = build_app(settings);
        app.insert_resource(ShutdownSignal(flag));
        app.run()
    });
    (shard, signal)
}

#[test]
fn swarm_farms_and_reports() {
    let stack = Stack::start();
    let (shard, signal) = run_shard(stack.settings());

    let mut cfg = SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: 4,
        duration: Duration::from_secs(9),
        scenario: Scenario::Farming,
        user_prefix: "swarm".into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 20,
        login_concurrency: 4,
        content: content(),
    };
    let mut lines = 0;
    let report = bots::run(&cfg, |_| lines += 1).expect("swarm runs");
    assert_eq!(report.bots, 4);
    assert_eq!(report.ever_connected, 4, "{report:?}");
    assert_eq!(report.connected, 4, "{report:?}");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // plant + water + harvest for each bot at least once in 9 s (radish ripens in ≤ 5 s).
    assert!(report.actions_accepted >= 12, "{report:?}");
    assert!(report.bytes_in_per_client_per_s > 0.0 && report.bytes_out_per_client_per_s > 0.0);
    assert!(
        report.login_to_first_state_ms_p50 > 0.0
            && report.login_to_first_state_ms_p99 >= report.login_to_first_state_ms_p50
    );
    assert!(report.rtt_ms_p99 >= report.rtt_ms_p50);
    assert!(lines >= 1, "progress is reported");
    let json = serde_json::to_value(&report).unwrap();
    for f in [
        "bots",
        "connected",
        "actions_accepted",
        "actions_rejected",
        "bytes_in_per_client_per_s",
        "bytes_out_per_client_per_s",
        "rtt_ms_p50",
        "rtt_ms_p99",
        "login_to_first_state_ms_p50",
        "login_to_first_state_ms_p99",
        "errors",
    ] {
        assert!(json.get(f).is_some(), "report field {f}");
    }

    // Same prefix again: the same accounts log in and find their farms.
    cfg.duration = Duration::from_secs(4);
    let again = bots::run(&cfg, |_| {}).expect("second run");
    assert_eq!(again.ever_connected, 4, "{again:?}");
    assert!(again.errors.is_empty(), "{:?}", again.errors);

    signal.request();
    let exit = shard.join().expect("shard thread");
    assert_eq!(exit, bevy::app::AppExit::Success);
}

/// End to end over UDP: trading bots go round the economy loop (buy seeds, till, plant,
/// water, harvest, sell, craft) through the real shard and sidecar; afterwards every holding
/// equals its ledger, and every acknowledged economy event is in it.
#[test]
fn bots_play_the_economy_loop_and_the_audit_passes() {
    let stack = Stack::start();
    let (shard, signal) = run_shard(stack.settings());
    let cfg = SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: 4,
        duration: Duration::from_secs(25),
        scenario: Scenario::Trading,
        user_prefix: "trader".into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 30,
        login_concurrency: 4,
        content: content(),
    };
    let report = bots::run(&cfg, |_| {}).expect("swarm runs");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for kind in ["buy", "till", "plant", "water", "harvest", "sell", "craft"] {
        assert!(
            report.actions.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {:?}",
            report.actions
        );
    }
    signal.request();
    assert_eq!(
        shard.join().expect("shard thread"),
        bevy::app::AppExit::Success
    );

    assert_acknowledged_in_ledger(&stack, &report);
}

/// The bots (and so the client's HTTP code) reach an HTTPS sidecar whose certificate comes
/// from a private CA, given with `--ca-cert`; without it they refuse to connect.
#[test]
fn bots_play_over_https_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(pki.path());
    let stack = Stack::start_with(|cfg| {
        cfg.tls_cert = Some(cert.clone());
        cfg.tls_key = Some(key.clone());
    });
    assert!(stack.url.starts_with("https://"), "{}", stack.url);
    let (shard, signal) = run_shard(stack.settings());
    let mut cfg = SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: Some(ca.clone()),
        bots: 2,
        duration: Duration::from_secs(5),
        scenario: Scenario::Farming,
        user_prefix: "tls".into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 20,
        login_concurrency: 2,
        content: content(),
    };
    let report = bots::run(&cfg, |_| {}).expect("swarm runs");
    assert_eq!(report.ever_connected, 2, "{report:?}");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // Without the CA the certificate is not trusted: nobody logs in.
    cfg.ca_cert = None;
    cfg.duration = Duration::from_secs(2);
    cfg.user_prefix = "untrusted".into();
    let report = bots::run(&cfg, |_| {}).expect("swarm runs");
    assert_eq!(report.ever_connected, 0);
    assert!(
        report.errors.iter().any(|e| e.contains("login")),
        "{:?}",
        report.errors
    );
    signal.request();
    assert_eq!(shard.join().unwrap(), bevy::app::AppExit::Success);
}
