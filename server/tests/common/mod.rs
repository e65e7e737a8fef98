//! Test harness: an in-process sidecar (real HTTP, SQLite in a temp dir) and shard apps
//! stepped by hand next to headless clients, all over real UDP on loopback.
#![allow(dead_code)]

pub mod wire;

use bevy::prelude::*;
use harvest_client::http::SidecarApi;
use harvest_client::net::NetClient;
use harvest_server::config::SidecarLink;
use harvest_server::plugins::transport::BoundAddr;
use harvest_server::{ShardSettings, build_app};
use harvest_shared::content::Content;
#[allow(unused_imports)]
pub use harvest_shared::farming::FarmAction;
use harvest_shared::ids::{CropId, PlotId};
use harvest_sidecar::{Sidecar, SidecarConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn content_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/data")
}

pub fn content() -> Arc<Content> {
    Arc::new(Content::load(content_dir()).expect("assets/data loads"))
}

pub struct Stack {
    pub rt: tokio::runtime::Runtime,
    pub sidecar: Option<Sidecar>,
    /// The public URL (players).
    pub url: String,
    /// The internal URL (shards).
    pub internal_url: String,
    /// The sidecar's configuration (restart it with the same one).
    pub cfg: SidecarConfig,
    pub api: SidecarApi,
    pub netcode_key: [u8; 32],
    pub service_secret: [u8; 32],
    pub content: Arc<Content>,
    _tmp: tempfile::TempDir,
}

impl Stack {
    pub fn start() -> Stack {
        Self::start_with(|_| {})
    }

    /// Start with the sidecar's configuration adjusted by `tweak` (TLS, limits...).
    pub fn start_with(tweak: impl FnOnce(&mut SidecarConfig)) -> Stack {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let netcode_key: [u8; 32] = rand::random();
        let service_secret: [u8; 32] = rand::random();
        let mut cfg = sidecar_config(tmp.path(), netcode_key, service_secret);
        tweak(&mut cfg);
        let sidecar = rt.block_on(Sidecar::start(&cfg)).expect("sidecar starts");
        let url = sidecar.url();
        let internal_url = sidecar.internal_url();
        Stack {
            rt,
            api: SidecarApi::new(&url, None).expect("client"),
            url,
            internal_url,
            cfg,
            sidecar: Some(sidecar),
            netcode_key,
            service_secret,
            content: content(),
            _tmp: tmp,
        }
    }

    pub fn settings(&self) -> ShardSettings {
        ShardSettings::for_tests(
            self.content.clone(),
            self.netcode_key,
            Some(SidecarLink {
                url: self.internal_url.clone(),
                service_secret: self.service_secret,
                ca_cert: None,
            }),
        )
    }

    pub fn shard(&self) -> App {
        ready(build_app(self.settings()))
    }

    /// A shard with another shard id (a second process in the same cluster).
    pub fn shard_named(&self, id: &str) -> App {
        let mut s = self.settings();
        s.shard_id = id.into();
        ready(build_app(s))
    }

    /// Stop the sidecar (an outage); [`Stack::restart_sidecar`] brings it back.
    pub fn stop_sidecar(&mut self) {
        if let Some(s) = self.sidecar.take() {
            self.rt.block_on(s.stop()).expect("sidecar stops");
        }
    }

    /// Start the sidecar again on the same addresses and database.
    pub fn restart_sidecar(&mut self) {
        let mut cfg = self.cfg.clone();
        let old =
            |u: &str| -> std::net::SocketAddr { u.rsplit("://").next().unwrap().parse().unwrap() };
        cfg.bind = old(&self.url);
        cfg.internal_bind = Some(old(&self.internal_url));
        let sidecar = self
            .rt
            .block_on(Sidecar::start(&cfg))
            .expect("sidecar restarts");
        self.sidecar = Some(sidecar);
    }

    /// Register and log in `user`: its access token.
    pub fn user(&self, user: &str) -> harvest_shared::api::TokenResponse {
        self.rt
            .block_on(self.api.register(user, "password123"))
            .expect("register");
        self.rt
            .block_on(self.api.login(user, "password123"))
            .expect("login")
    }
}

/// A real `harvest-server` process for this stack's sidecar (shard `id`, dev files in
/// `data`, UDP on a free loopback port); callers add their flags and spawn it.
pub fn shard_process(stack: &Stack, data: &std::path::Path, id: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_harvest-server"));
    cmd.args(["--udp-bind", "127.0.0.1:0", "--shard-id", id])
        .arg("--sidecar-url")
        .arg(&stack.internal_url)
        .arg("--netcode-key")
        .arg(hex::encode(stack.netcode_key))
        .arg("--service-secret")
        .arg(hex::encode(stack.service_secret))
        .arg("--content-dir")
        .arg(content_dir())
        .arg("--data-dir")
        .arg(data)
        .stdout(std::process::Stdio::null());
    cmd
}

/// The sidecar's test configuration: SQLite in `dir`, internal routes on their own port,
/// loose rate limits.
pub fn sidecar_config(
    dir: &std::path::Path,
    netcode_key: [u8; 32],
    service_secret: [u8; 32],
) -> SidecarConfig {
    let mut cfg = SidecarConfig::for_data_dir(dir);
    cfg.content_dir = content_dir();
    cfg.internal_bind = Some("127.0.0.1:0".parse().unwrap());
    cfg.netcode_key = Some(hex::encode(netcode_key));
    cfg.service_secret = Some(hex::encode(service_secret));
    cfg.lift_rate_limits();
    cfg
}

pub fn ready(mut app: App) -> App {
    app.finish();
    app.cleanup();
    app
}

/// Step the server and clients (at ~100 Hz) until `done` or the timeout; panics on timeout.
pub fn step_until(
    server: &mut App,
    clients: &mut [&mut NetClient],
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut App, &mut [&mut NetClient]) -> bool,
) {
    step_all(&mut [server], clients, timeout, what, |s, c| {
        done(&mut *s[0], c)
    });
}

pub fn bound_addr(server: &mut App) -> std::net::SocketAddr {
    step_until(
        server,
        &mut [],
        Duration::from_secs(10),
        "UDP bind",
        |s, _| s.world().resource::<BoundAddr>().0.is_some(),
    );
    server.world().resource::<BoundAddr>().0.unwrap()
}

/// `/v1/play`, retried while the shard has not registered yet.
pub fn play(
    stack: &Stack,
    servers: &mut [&mut App],
    access: &str,
) -> harvest_shared::api::PlayResponse {
    let start = Instant::now();
    loop {
        for s in servers.iter_mut() {
            s.update();
        }
        match stack.rt.block_on(stack.api.play(access)) {
            Ok(p) => return p,
            Err(e) if e.code() == Some("no_shard") && start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("play failed: {e}"),
        }
    }
}

/// Play and connect a client; returns once its farm has arrived.
pub fn connect(stack: &Stack, server: &mut App, access: &str) -> NetClient {
    let p = play(stack, &mut [&mut *server], access);
    until_farm(
        server,
        NetClient::connect(&p.connect_token).expect("token decodes"),
    )
}

/// Step a freshly connected client until its farm has arrived.
fn until_farm(server: &mut App, mut client: NetClient) -> NetClient {
    step_until(
        server,
        &mut [&mut client],
        Duration::from_secs(10),
        "farm replicated",
        |_, c| c[0].farm().is_some(),
    );
    client
}

/// Send one request and wait for its answer.
pub fn act<A: harvest_shared::action::Action>(
    server: &mut App,
    client: &mut NetClient,
    action: A,
) -> Result<(), harvest_shared::protocol::RejectReason> {
    let id = client.send(action);
    assert_ne!(id, 0, "client not connected");
    let mut result = None;
    step_until(
        server,
        &mut [client],
        Duration::from_secs(5),
        "action notice",
        |_, c| {
            for n in c[0].take_notices() {
                if n.request_id == id {
                    result = Some(n.result);
                }
            }
            result.is_some()
        },
    );
    result.unwrap()
}

/// A shard with no network and no sidecar (in-memory store), with Bevy time advanced by hand:
/// each `update()` is `step` later.
pub fn offline_app(step: Duration) -> App {
    let mut s = ShardSettings::for_tests(content(), [1; 32], None);
    s.network = false;
    let mut app = build_app(s);
    app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(step));
    ready(app)
}

/// A fresh link entity of `account` on an offline app, announced with a `Joined` message.
pub fn offline_link(app: &mut App, account: harvest_shared::ids::AccountId) -> Entity {
    use harvest_server::plugins::player::{Joined, Session};
    let link = app
        .world_mut()
        .spawn(Session {
            account,
            player: None,
        })
        .id();
    app.world_mut().write_message(Joined { account, link });
    link
}

/// Join `account` on an offline app through a fresh link entity: (link, player).
pub fn offline_join(app: &mut App, account: harvest_shared::ids::AccountId) -> (Entity, Entity) {
    use harvest_server::plugins::player::Session;
    let link = offline_link(app, account);
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

/// Every kick written, in order (add with [`record_kicks`]).
#[derive(Resource, Default)]
pub struct Kicked(pub Vec<harvest_server::plugins::player::Kick>);

fn collect_kicks(
    mut kicks: MessageReader<harvest_server::plugins::player::Kick>,
    mut out: ResMut<Kicked>,
) {
    out.0.extend(kicks.read().cloned());
}

/// Record every kick the app writes into [`Kicked`].
pub fn record_kicks(app: &mut App) {
    app.init_resource::<Kicked>();
    app.add_systems(Last, collect_kicks);
}

impl Stack {
    /// An account created straight in the database (no argon2 hash: fast for many players).
    pub fn account(&self, name: &str) -> harvest_shared::ids::AccountId {
        let db = &self.sidecar.as_ref().expect("sidecar up").state.db;
        match self
            .rt
            .block_on(db.create_account(name, "unusable", harvest_sidecar::db::now_secs()))
            .expect("create account")
        {
            harvest_sidecar::db::accounts::CreateAccount::Created(id) => {
                harvest_shared::ids::AccountId(id)
            }
            harvest_sidecar::db::accounts::CreateAccount::Taken => panic!("{name} is taken"),
        }
    }

    /// A connect token for `account` to the shard at `addr`, minted as `/v1/play` does.
    pub fn token(
        &self,
        account: harvest_shared::ids::AccountId,
        addr: std::net::SocketAddr,
    ) -> String {
        let state = &self.sidecar.as_ref().expect("sidecar up").state;
        harvest_sidecar::routes::play::mint_connect_token(state, account, addr).expect("token")
    }

    /// A client of `account` connected to `server` with its farm loaded.
    pub fn client_of(
        &self,
        server: &mut App,
        account: harvest_shared::ids::AccountId,
    ) -> NetClient {
        let addr = harvest_server::plugins::transport::public_from_bound(bound_addr(server));
        until_farm(
            server,
            NetClient::connect(&self.token(account, addr)).expect("token decodes"),
        )
    }
}

/// The server-side link entity of `account`'s session, if connected.
pub fn link_of(server: &mut App, account: harvest_shared::ids::AccountId) -> Option<Entity> {
    let mut q = server
        .world_mut()
        .query::<(Entity, &harvest_server::plugins::player::Session)>();
    q.iter(server.world())
        .find(|(_, s)| s.account == account)
        .map(|(e, _)| e)
}

/// Step several servers and clients until `done` or the timeout; panics on timeout.
pub fn step_all(
    servers: &mut [&mut App],
    clients: &mut [&mut NetClient],
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&mut [&mut App], &mut [&mut NetClient]) -> bool,
) {
    let start = Instant::now();
    loop {
        for s in servers.iter_mut() {
            s.update();
        }
        for c in clients.iter_mut() {
            c.update();
        }
        if done(servers, clients) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The state the sidecar has stored for `account`.
pub fn stored(
    stack: &Stack,
    account: harvest_shared::ids::AccountId,
) -> harvest_sidecar::db::states::Stored {
    let db = &stack.sidecar.as_ref().expect("sidecar up").state.db;
    stack
        .rt
        .block_on(db.load_state(account.0))
        .expect("load state")
}

/// What the sidecar's ledger says `account` holds (`None`: never leased).
pub fn stored_holdings(
    stack: &Stack,
    account: harvest_shared::ids::AccountId,
) -> Option<harvest_shared::inventory::Holdings> {
    let db = &stack.sidecar.as_ref().expect("sidecar up").state.db;
    stack
        .rt
        .block_on(db.holdings(account.0))
        .expect("load holdings")
}

/// Every economy event a bot saw acknowledged is in its ledger (at least as many of each
/// kind: an event can be committed after the bot stopped listening), and the audit is clean.
pub fn assert_acknowledged_in_ledger(stack: &Stack, report: &harvest_client::bots::Report) {
    let db = &stack.sidecar.as_ref().expect("sidecar up").state.db;
    for (bot, kinds) in &report.economy_acknowledged {
        let id = stack
            .rt
            .block_on(db.account_by_name(bot))
            .unwrap()
            .expect("bot account")
            .id;
        let ledger = stack.rt.block_on(db.ledger_page(id, 500)).unwrap();
        for (kind, &n) in kinds {
            let found = ledger.iter().filter(|e| e.kind.as_str() == kind).count() as u64;
            assert!(
                found >= n,
                "{bot}: {n} {kind} acknowledged, {found} in the ledger"
            );
        }
    }
    let audit = stack.rt.block_on(db.audit()).unwrap();
    assert!(audit.mismatches.is_empty(), "{audit:?}");
}

/// Write one request as the network intake would, and run a frame.
pub fn offline_send<A: harvest_shared::action::Action>(
    app: &mut App,
    link: Entity,
    player: Entity,
    request_id: u32,
    action: A,
) {
    app.world_mut()
        .write_message(harvest_server::plugins::intents::Incoming {
            link,
            player: Some(player),
            request_id,
            action,
        });
    app.update();
}

/// A CA and a certificate for 127.0.0.1 and localhost signed by it: (ca, cert, key) PEM paths.
pub fn test_pki(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    harvest_ops::tls::test_pki(dir).expect("test PKI")
}

/// Plant a radish (the quickest crop) on `plot`.
pub fn plant(plot: u16) -> FarmAction {
    FarmAction::Plant {
        plot: PlotId(plot),
        crop: CropId::new("radish"),
    }
}
