//! Zone shards end to end, as operators run them: the sidecar (in this process) on
//! PostgreSQL with NATS, and two real `harvest-server` processes hosting different zones.
//!
//! - `travel_through_a_shard_kill`: bots farm and travel between meadow (shard A) and
//!   riverside (shard B) for 60 s; B is killed with SIGKILL mid-run and started again. Every
//!   bot plays again afterwards, every acknowledged economy event is in the ledger, the audit
//!   is clean (nothing lost or duplicated), the events reached NATS and its JetStream stream,
//!   presence and an announcement crossed the bus, and the shards' `/metrics` count the
//!   handoffs. Handoff latency p50/p99 is printed (the release figures are in
//!   benches/RESULTS.md; tests never assert on speed).
//! - `sigterm_drain_hands_every_bot_to_the_standby`: both shards offer every zone, A hosts
//!   them; SIGTERM on A hands every bot to B with its state intact, and A says `shard_down`.
//!
//! Both need PostgreSQL and NATS (with JetStream). They skip when either is unreachable,
//! unless `HARVEST_TEST_POSTGRES=1` / `HARVEST_TEST_NATS=1` (CI sets both) make that a failure.

mod common;

use common::*;
use harvest_client::bots::{self, Report, Scenario, SwarmConfig};
use harvest_ops::bus::Bus;
use harvest_shared::api::PresenceView;
use harvest_shared::ids::ZoneId;
use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BOTS: usize = 6;

/// A fresh PostgreSQL database's URL, or `None` (skip) as described above.
fn fresh_postgres(rt: &tokio::runtime::Runtime) -> Option<String> {
    let admin = std::env::var("HARVEST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let required = std::env::var("HARVEST_TEST_POSTGRES").as_deref() == Ok("1");
    rt.block_on(async {
        let pool = match sqlx::postgres::PgPool::connect(&admin).await {
            Ok(p) => p,
            Err(e) if required => panic!("HARVEST_TEST_POSTGRES=1 but {admin}: {e}"),
            Err(e) => {
                eprintln!("skipped: PostgreSQL at {admin}: {e}");
                return None;
            }
        };
        let name = format!("harvest_zones_{}", hex::encode(rand::random::<[u8; 6]>()));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&pool)
            .await
            .expect("create database");
        pool.close().await;
        let base = admin
            .rsplit_once('/')
            .map_or(admin.clone(), |(b, _)| b.into());
        Some(format!("{base}/{name}"))
    })
}

fn nats_url() -> String {
    std::env::var("HARVEST_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// The stack on PostgreSQL and NATS, or `None` (skip).
fn stack() -> Option<(Stack, Bus)> {
    let probe = tokio::runtime::Runtime::new().unwrap();
    let db = fresh_postgres(&probe)?;
    drop(probe);
    let stack = Stack::start_with(|cfg| {
        cfg.database_url = Some(db);
        cfg.nats_url = Some(nats_url());
        // A killed shard's zones lapse quickly.
        cfg.shard_ttl_secs = 4;
    });
    // The test's own NATS connection lives on the stack's runtime.
    let bus = stack.rt.block_on(harvest_ops::bus::test_nats())?;
    Some((stack, bus))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Shard {
    id: String,
    zones: String,
    admin: u16,
    child: Child,
}

impl Shard {
    fn spawn(stack: &Stack, data: &std::path::Path, id: &str, zones: &str) -> Shard {
        let admin = free_port();
        let child = shard_process(stack, data, id)
            .args(["--zones", zones, "--shutdown-timeout", "10"])
            .args(["--nats-url", &nats_url()])
            .arg("--admin-bind")
            .arg(format!("127.0.0.1:{admin}"))
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .expect("harvest-server starts");
        Shard {
            id: id.into(),
            zones: zones.into(),
            admin,
            child,
        }
    }

    fn restart(&mut self, stack: &Stack, data: &std::path::Path) {
        *self = Shard::spawn(stack, data, &self.id, &self.zones);
    }

    fn sigterm(&self) {
        // SAFETY: signalling our own child process.
        #[allow(unsafe_code)]
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(r, 0, "SIGTERM delivered");
    }

    fn metrics(&self, rt: &tokio::runtime::Runtime) -> String {
        rt.block_on(async {
            reqwest::get(format!("http://127.0.0.1:{}/metrics", self.admin))
                .await
                .expect("metrics")
                .text()
                .await
                .unwrap()
        })
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Wait until each zone in `want` is hosted by the shard named with it.
fn wait_hosted(stack: &Stack, want: &[(&str, &str)]) {
    let db = &stack.sidecar.as_ref().unwrap().state.db;
    let start = Instant::now();
    loop {
        let view = stack
            .rt
            .block_on(db.directory(
                stack.content.zones.keys().cloned(),
                harvest_sidecar::db::now_secs(),
            ))
            .unwrap();
        let holders: BTreeMap<String, Option<String>> = view
            .zones
            .iter()
            .map(|z| (z.zone.to_string(), z.shard_id.clone()))
            .collect();
        if want
            .iter()
            .all(|(zone, shard)| holders.get(*zone) == Some(&Some((*shard).to_owned())))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "zones never hosted as {want:?}: {holders:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn swarm(stack: &Stack, prefix: &str, scenario: Scenario, secs: u64) -> SwarmConfig {
    SwarmConfig {
        sidecar_url: stack.url.clone(),
        ca_cert: None,
        bots: BOTS,
        duration: Duration::from_secs(secs),
        scenario,
        user_prefix: prefix.into(),
        password: "bot-password".into(),
        threads: 1,
        hz: 30,
        login_concurrency: BOTS,
        content: content(),
    }
}

/// Names of the events seen on `harvest.events.>` since the call.
fn record_events(stack: &Stack, bus: &Bus) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut sub = stack
        .rt
        .block_on(bus.subscribe("harvest.events.>"))
        .unwrap();
    let out = seen.clone();
    stack.rt.spawn(async move {
        while let Some(m) = sub.next().await {
            let e: harvest_shared::events::Event =
                serde_json::from_slice(&m.payload).expect("events are well-formed");
            assert_eq!(m.subject, e.subject());
            out.lock().unwrap().push(e.kind.name().to_owned());
        }
    });
    seen
}

fn get_json<T: serde::de::DeserializeOwned>(stack: &Stack, token: &str, path: &str) -> T {
    stack.rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", stack.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    })
}

fn report_latency(what: &str, r: &Report) {
    eprintln!(
        "{what}: handoffs {} p50 {:.1} ms p99 {:.1} ms; room changes {} p50 {:.1} ms; reconnects {}; announcements {} ({} bots)",
        r.handoffs,
        r.handoff_ms_p50,
        r.handoff_ms_p99,
        r.room_changes,
        r.room_change_ms_p50,
        r.reconnects,
        r.announcements,
        r.bots_announced
    );
}

#[test]
fn travel_through_a_shard_kill() {
    let Some((stack, bus)) = stack() else {
        return;
    };
    let events = record_events(&stack, &bus);
    let (da, db_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Shard::spawn(&stack, da.path(), "zone-a", "meadow,arena");
    let mut b = Shard::spawn(&stack, db_dir.path(), "zone-b", "riverside");
    wait_hosted(&stack, &[("meadow", "zone-a"), ("riverside", "zone-b")]);
    let operator = stack.user("operator");
    let sidecar = stack.sidecar.as_ref().unwrap();
    assert!(
        stack
            .rt
            .block_on(sidecar.state.db.set_admin("operator", true))
            .unwrap()
    );

    let cfg = swarm(&stack, "trav", Scenario::Travel, 60);
    let run = std::thread::spawn(move || bots::run(&cfg, |_| {}));
    std::thread::sleep(Duration::from_secs(15));

    // Presence crosses the bus: every bot is seen somewhere (a bot mid-handoff may be
    // between two shards for a moment).
    let view: PresenceView = get_json(&stack, &operator.access_token, "/v1/presence");
    assert!(
        view.online >= 1 && view.online <= BOTS as u64,
        "presence: {view:?}"
    );
    let me: harvest_shared::api::PlayerPresence =
        get_json(&stack, &operator.access_token, "/v1/presence/operator");
    assert!(!me.online, "the operator does not play: {me:?}");

    // SIGKILL shard B mid-run; start it again a few seconds later.
    b.child.kill().expect("SIGKILL");
    b.child.wait().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    b.restart(&stack, db_dir.path());
    wait_hosted(&stack, &[("meadow", "zone-a"), ("riverside", "zone-b")]);

    // An announcement reaches the bots connected on either shard.
    std::thread::sleep(Duration::from_secs(10));
    let status = stack.rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v1/admin/announce", stack.url))
            .bearer_auth(&operator.access_token)
            .json(&serde_json::json!({"text": "the river is rising"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 202);

    let report = run.join().unwrap().expect("swarm ran");
    report_latency("travel with a SIGKILL", &report);
    assert_eq!(report.ever_connected, BOTS as u64, "{report:?}");
    assert!(report.handoffs >= BOTS as u64, "bots travelled: {report:?}");
    assert!(
        report.reconnects >= 1,
        "bots on the killed shard logged in again: {report:?}"
    );
    assert!(
        report.bots_announced >= 1,
        "the announcement reached bots: {report:?}"
    );

    // Every bot plays again, on whichever shard hosts its zone.
    let again = bots::run(&swarm(&stack, "trav", Scenario::Farming, 6), |_| {})
        .expect("swarm after the run");
    assert_eq!(again.ever_connected, BOTS as u64, "{again:?}");

    // Nothing lost, nothing duplicated: every acknowledged economy event is in the ledger
    // and every holding equals the sum of its ledger lines.
    assert_acknowledged_in_ledger(&stack, &report);
    let audit = stack.rt.block_on(sidecar.state.db.audit()).unwrap();
    assert!(audit.accounts >= BOTS as u64, "{audit:?}");

    // The events went out on their subjects, and the stream kept them.
    let names = events.lock().unwrap().clone();
    for e in ["shard_up", "player_login", "player_logout", "zone_changed"] {
        assert!(names.iter().any(|n| n == e), "no {e} event: {names:?}");
    }
    let Bus::Nats(client) = &bus else {
        unreachable!()
    };
    let js = async_nats_stream_last(client, "harvest.events.zone_changed", &stack);
    assert!(js.contains("zone_changed"), "{js}");

    // The shards' metrics count what happened.
    let m = a.metrics(&stack.rt);
    for series in [
        "harvest_shard_players ",
        "harvest_shard_tick_seconds_bucket",
        "harvest_shard_handoffs_total{outcome=\"completed\"}",
        "harvest_shard_saves_total{outcome=\"confirmed\"}",
        "harvest_shard_bytes_received_total",
        "harvest_shard_bus_events_total{event=\"zone_changed\"}",
    ] {
        assert!(m.contains(series), "no {series} in /metrics:\n{m}");
    }
}

/// The last message the JetStream stream holds on `subject`, as text.
fn async_nats_stream_last(
    client: &harvest_ops::bus::NatsClient,
    subject: &str,
    stack: &Stack,
) -> String {
    stack.rt.block_on(async {
        let raw = harvest_ops::bus::stream_last(client, subject)
            .await
            .expect("the stream holds the subject");
        String::from_utf8_lossy(&raw).into_owned()
    })
}

#[test]
fn sigterm_drain_hands_every_bot_to_the_standby() {
    let Some((stack, bus)) = stack() else {
        return;
    };
    let events = record_events(&stack, &bus);
    let (da, db_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let every = "meadow,riverside,arena";
    let mut a = Shard::spawn(&stack, da.path(), "drain-a", every);
    wait_hosted(&stack, &[("meadow", "drain-a"), ("riverside", "drain-a")]);
    let b = Shard::spawn(&stack, db_dir.path(), "drain-b", every);
    let observer = stack.user("observer");

    let cfg = swarm(&stack, "drain", Scenario::Farming, 25);
    let run = std::thread::spawn(move || bots::run(&cfg, |_| {}));
    std::thread::sleep(Duration::from_secs(10));
    a.sigterm();
    let exit = a.child.wait().unwrap();
    assert!(exit.success(), "the drained shard exits 0: {exit:?}");
    wait_hosted(&stack, &[("meadow", "drain-b"), ("riverside", "drain-b")]);
    std::thread::sleep(Duration::from_secs(6));
    // Every bot is on B now (presence from B's events and snapshots).
    let view: PresenceView = get_json(&stack, &observer.access_token, "/v1/presence");
    assert_eq!(view.online, BOTS as u64, "{view:?}");
    assert!(
        view.shards
            .iter()
            .all(|s| s.shard_id == "drain-b" || s.players == 0),
        "{view:?}"
    );
    // The owner of record of every bot is B (its lease), with the state A saved and released.
    let sidecar = stack.sidecar.as_ref().unwrap();
    for i in 0..BOTS {
        let name = format!("drain{i}");
        let id = stack
            .rt
            .block_on(sidecar.state.db.account_by_name(&name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} exists"))
            .id;
        let s = stored(&stack, harvest_shared::ids::AccountId(id));
        assert_eq!(s.owner_shard.as_deref(), Some("drain-b"), "{name}");
        let zone: ZoneId = s.state.expect("saved").zone;
        assert!(every.split(',').any(|z| z == zone.as_str()), "{zone}");
    }

    let report = run.join().unwrap().expect("swarm ran");
    report_latency("SIGTERM drain", &report);
    assert_eq!(report.ever_connected, BOTS as u64, "{report:?}");
    assert_eq!(
        report.handoffs, BOTS as u64,
        "every bot followed a ticket: {report:?}"
    );
    assert_eq!(
        report.reconnects, 0,
        "nobody had to log in again: {report:?}"
    );
    assert_acknowledged_in_ledger(&stack, &report);
    let names = events.lock().unwrap().clone();
    assert!(
        names.iter().any(|n| n == "shard_down"),
        "the drained shard said goodbye: {names:?}"
    );
    drop(b);
}
