//! # harvest_sidecar
//!
//! The small HTTP service beside the zone shards. It owns accounts, sessions and tokens, mints
//! netcode connect tokens, keeps the shard directory, and persists player state. It is stateless
//! apart from its database, so several replicas can run behind one Service.
//!
//! Layout:
//!
//! | module        | owns                                                                  |
//! |---------------|-----------------------------------------------------------------------|
//! | [`config`]    | the clap `SidecarConfig` (every flag has an env var)                  |
//! | [`secrets`]   | where keys come from: env, file, or a generated dev key in the data dir |
//! | [`error`]     | `ApiError`: every failure as JSON `{error, message}`, never internals |
//! | [`extract`]   | request extractors: JSON bodies, bearer users, the shard secret       |
//! | [`auth`]      | password hashing pool, access/refresh tokens, login rate limits       |
//! | [`db`]        | the SQLite / PostgreSQL pool, migrations and one module per table area |
//! | [`routes`]    | one module per route area, plus the OpenAPI document                  |
//!
//! [`app`] builds the `Router` from an [`AppState`]; [`Sidecar::start`] binds and serves it.
//! Tests, `harvest-sidecar` and the all-in-one `harvest-server` all go through `Sidecar::start`.
//! This crate never depends on the shard crate.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod routes;
pub mod secrets;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::SidecarConfig;
pub use routes::app;

/// Everything a request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub cfg: Arc<config::Resolved>,
    pub hasher: auth::password::Hasher,
    pub tokens: Arc<auth::tokens::TokenKeys>,
    pub limits: Arc<auth::limits::LoginLimits>,
}

impl AppState {
    /// Connect to the database, run migrations and resolve secrets.
    pub async fn new(cfg: &SidecarConfig) -> anyhow::Result<Self> {
        let resolved = config::Resolved::from_config(cfg)?;
        let db = db::Db::connect(&resolved.database_url).await?;
        Ok(AppState {
            db,
            hasher: auth::password::Hasher::new(resolved.hash_concurrency),
            tokens: Arc::new(auth::tokens::TokenKeys::new(&resolved.jwt_secret)),
            limits: Arc::new(auth::limits::LoginLimits::new(
                resolved.login_per_ip_per_minute,
                resolved.login_per_account_per_minute,
                resolved.register_per_ip_per_minute,
            )),
            cfg: Arc::new(resolved),
        })
    }
}

/// A running sidecar: its bound address and a handle to stop it.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Sidecar {
    /// Bind `cfg.bind` (port 0 picks a free port) and serve until [`Sidecar::stop`].
    pub async fn start(cfg: &SidecarConfig) -> anyhow::Result<Sidecar> {
        use anyhow::Context as _;
        let state = AppState::new(cfg).await?;
        let listener = tokio::net::TcpListener::bind(cfg.bind)
            .await
            .with_context(|| format!("cannot bind HTTP address {}", cfg.bind))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = app(state.clone());
        auth::limits::spawn_housekeeping(state.limits.clone());
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        tracing::info!(%addr, database = %state.db.backend(), "sidecar listening");
        Ok(Sidecar {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// `http://ADDR`, for clients in the same process.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, finish in-flight requests, close the pool.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await??;
        self.state.db.close().await;
        Ok(())
    }

    /// Serve until `signal` completes, then stop gracefully (used by `harvest-sidecar`).
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            r = &mut self.task => { r??; Ok(()) }
            _ = signal => {
                tracing::info!(addr = %self.addr, "shutting down");
                self.stop().await
            }
        }
    }
}
