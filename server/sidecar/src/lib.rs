//! # harvest_sidecar
//!
//! The small HTTP service beside the zone shards. It owns accounts, sessions and tokens, mints
//! netcode connect tokens, keeps the shard directory, and persists player state under
//! ownership leases. It is stateless apart from its database, so several replicas can run
//! behind one Service.
//!
//! Layout:
//!
//! | module        | owns                                                                  |
//! |---------------|-----------------------------------------------------------------------|
//! | [`config`]    | the clap `SidecarConfig` (every flag has an env var) and its `Resolved` form |
//! | [`error`]     | `ApiError`: every failure as JSON `{error, message}`, never internals |
//! | [`extract`]   | request extractors: JSON bodies, bearer users, the shard secret, client IP |
//! | [`net`]       | client IPs behind trusted proxies; rate-limit keys (IPv6 per /64)     |
//! | [`auth`]      | password hashing pool, access/refresh tokens, rate limits             |
//! | [`db`]        | the SQLite / PostgreSQL pool, migrations and one module per table area |
//! | [`routes`]    | one module per route area; public and internal routers; OpenAPI       |
//! | [`serve`]     | listeners: header-read timeouts, TLS, graceful stop                   |
//! | [`presence`]  | who is online where, kept from the shards' events on the bus (NATS)   |
//!
//! [`Sidecar::start`] binds and serves; tests, `harvest-sidecar` and the all-in-one
//! `harvest-server` all go through it. Secrets and logging come from `harvest_ops`. This crate
//! never depends on the shard crate.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod net;
pub mod presence;
pub mod routes;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::SidecarConfig;

/// Everything a request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub cfg: Arc<config::Resolved>,
    pub hasher: auth::password::Hasher,
    pub tokens: Arc<auth::tokens::TokenKeys>,
    pub limits: Arc<auth::limits::Limits>,
    /// The cross-shard bus, once connected (never, without `--nats-url` or an in-process bus).
    pub bus: Arc<std::sync::OnceLock<harvest_ops::bus::Bus>>,
    pub presence: Arc<presence::Presence>,
}

impl AppState {
    /// Load content, resolve secrets, connect to the database and run migrations.
    pub async fn new(cfg: &SidecarConfig) -> anyhow::Result<Self> {
        let resolved = config::Resolved::from_config(cfg)?;
        let db = db::Db::connect(&resolved.database_url).await?;
        Ok(AppState {
            db,
            hasher: auth::password::Hasher::new(resolved.hash_concurrency),
            tokens: Arc::new(auth::tokens::TokenKeys::new(&resolved.jwt_secret)),
            limits: Arc::new(auth::limits::Limits::new(&resolved.limits)),
            cfg: Arc::new(resolved),
            bus: Arc::new(std::sync::OnceLock::new()),
            presence: Arc::new(presence::Presence::default()),
        })
    }
}

/// Connects to the bus (retrying while NATS is unreachable), then follows presence on it.
fn spawn_bus(cfg: &SidecarConfig, state: &AppState) -> tokio::task::JoinHandle<()> {
    let local = cfg.bus.clone();
    let url = cfg.nats_url.clone();
    let slot = state.bus.clone();
    let presence = state.presence.clone();
    tokio::spawn(async move {
        let bus = match (local, url) {
            (_, Some(url)) => loop {
                match harvest_ops::bus::Bus::nats(&url, "harvest-sidecar", Duration::from_secs(3))
                    .await
                {
                    Ok(bus) => {
                        tracing::info!(%url, "bus: connected to NATS");
                        break bus;
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "bus: NATS unreachable; retrying");
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                }
            },
            (Some(local), None) => local,
            (None, None) => return,
        };
        let _ = slot.set(bus.clone());
        if let Err(e) = presence.follow(bus).await {
            tracing::error!(error = %format!("{e:#}"), "bus: presence stopped");
        }
    })
}

/// A running sidecar: its bound addresses and a handle to stop it.
pub struct Sidecar {
    /// The public listener (players).
    pub addr: SocketAddr,
    /// Where `/internal/*` is served: the internal listener, or `addr` when there is none.
    pub internal_addr: SocketAddr,
    /// The public listener speaks HTTPS.
    pub tls: bool,
    pub state: AppState,
    listeners: Vec<serve::Listener>,
    /// Errors of listeners that stopped on their own.
    failures: tokio::sync::mpsc::UnboundedReceiver<anyhow::Error>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Sidecar {
    /// Bind `cfg.bind` (and `cfg.internal_bind`; port 0 picks a free port) and serve until
    /// [`Sidecar::stop`].
    pub async fn start(cfg: &SidecarConfig) -> anyhow::Result<Sidecar> {
        let state = AppState::new(cfg).await?;
        let separate = cfg.internal_bind.is_some();
        let routers = routes::routers(state.clone(), separate);
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(cert), Some(key)) => Some(serve::load_tls(cert, key).await?),
            _ => None,
        };
        let (fail_tx, failures) = tokio::sync::mpsc::unbounded_channel();
        let public = serve::Listener::start(
            cfg.bind,
            routers.public,
            tls.clone(),
            &state.cfg,
            fail_tx.clone(),
        )
        .await?;
        let mut listeners = vec![];
        let addr = public.addr;
        let internal_addr = match cfg.internal_bind {
            Some(bind) => {
                let internal =
                    serve::Listener::start(bind, routers.internal, None, &state.cfg, fail_tx)
                        .await?;
                let a = internal.addr;
                listeners.push(internal);
                a
            }
            None => addr,
        };
        listeners.insert(0, public);
        harvest_ops::metrics::install();
        let background = vec![
            auth::limits::spawn_housekeeping(state.limits.clone()),
            db::spawn_pruner(state.db.clone(), state.cfg.clone()),
            spawn_bus(cfg, &state),
        ];
        tracing::info!(%addr, %internal_addr, tls = tls.is_some(), database = %state.db.backend(), "sidecar listening");
        Ok(Sidecar {
            addr,
            internal_addr,
            tls: tls.is_some(),
            state,
            listeners,
            failures,
            background,
        })
    }

    /// The public base URL, `http(s)://ADDR`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The base URL shards use for `/internal/*`.
    pub fn internal_url(&self) -> String {
        if self.internal_addr == self.addr {
            self.url()
        } else {
            format!("http://{}", self.internal_addr)
        }
    }

    /// Stop accepting, finish in-flight requests (up to a few seconds), close the pool.
    pub async fn stop(self) -> anyhow::Result<()> {
        for task in &self.background {
            task.abort();
        }
        for listener in self.listeners {
            listener.stop().await?;
        }
        self.state.db.close().await;
        Ok(())
    }

    /// Serve until `signal` completes (or a listener fails), then stop gracefully (used by
    /// `harvest-sidecar`).
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            Some(e) = self.failures.recv() => Err(e.context("a listener stopped")),
            _ = signal => {
                tracing::info!(addr = %self.addr, "shutting down");
                self.stop().await
            }
        }
    }
}
