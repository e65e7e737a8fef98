//! `kill -9` of a shard process while bots buy, sell and craft over UDP: after a restart, every
//! economy event a bot saw acknowledged is in the ledger, and the audit finds every holding
//! equal to its ledger. The sidecar runs in this process (its database survives); the shard is
//! the real `harvest-server` binary, killed with SIGKILL.

mod common;

use common::*;
use harvest_client::bots::{self, Scenario, SwarmConfig};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn spawn_shard(stack: &Stack, data: &std::path::Path) -> Child {
    shard_process(stack, data, "crash-0")
        .stderr(Stdio::null())
        .spawn()
        .expect("harvest-server starts")
}

/// Wait until the directory routes players to a shard at another address than `old` (the
/// killed process's entry lingers until its TTL or the new process's first heartbeat).
fn wait_for_shard(stack: &Stack, token: &str, old: Option<&str>) -> String {
    let start = Instant::now();
    loop {
        if let Ok(p) = stack.rt.block_on(stack.api.play(token))
            && Some(p.server_addr.as_str()) != old
        {
            return p.server_addr;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "shard never registered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn swarm(stack: &Stack, prefix: &str, secs: u64) -> SwarmConfig {
    SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: 6,
        duration: Duration::from_secs(secs),
        scenario: Scenario::Trading,
        user_prefix: prefix.into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 30,
        login_concurrency: 6,
        content: content(),
    }
}

#[test]
fn kill_9_loses_no_acknowledged_economy_event() {
    let stack = Stack::start();
    let tmp = tempfile::tempdir().unwrap();
    let probe = stack.user("probe");
    let mut shard = spawn_shard(&stack, tmp.path());
    let first = wait_for_shard(&stack, &probe.access_token, None);

    // Bots trade for a while; the shard is killed under them.
    let cfg = swarm(&stack, "crash", 30);
    let run = std::thread::spawn(move || bots::run(&cfg, |_| {}));
    std::thread::sleep(Duration::from_secs(22));
    shard.kill().expect("SIGKILL");
    shard.wait().unwrap();
    let report = run.join().unwrap().expect("swarm ran");
    let acked: u64 = report
        .economy_acknowledged
        .values()
        .flat_map(|k| k.values())
        .sum();
    assert!(acked >= 20, "the bots traded before the kill: {report:?}");
    for kind in ["buy", "sell", "craft"] {
        assert!(
            report.actions.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} before the kill: {:?}",
            report.actions
        );
    }

    // Restart the shard: it takes the leases over (new epochs) and plays on.
    let mut shard = spawn_shard(&stack, tmp.path());
    wait_for_shard(&stack, &probe.access_token, Some(&first));
    let again = swarm(&stack, "crash", 8);
    let after = bots::run(&again, |_| {}).expect("swarm after the restart");
    assert_eq!(after.ever_connected, 6, "{after:?}");

    // Every acknowledged economy event is in that bot's ledger; the audit is clean.
    assert_acknowledged_in_ledger(&stack, &report);
    let db = &stack.sidecar.as_ref().unwrap().state.db;
    let audit = stack.rt.block_on(db.audit()).unwrap();
    assert!(audit.accounts >= 6, "every bot has a ledger: {audit:?}");
    shard.kill().ok();
    shard.wait().ok();
}
