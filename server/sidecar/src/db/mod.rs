//! The database: one `AnyPool` over SQLite (embedded default, WAL) or PostgreSQL (at scale).
//! Queries are written once in the SQL both accept (`$N` placeholders, `ON CONFLICT`,
//! `RETURNING`); only the migrations differ per backend (`migrations/sqlite`, `migrations/postgres`).
//!
//! One module per table area adds methods to [`Db`]: [`accounts`], [`sessions`], [`shards`],
//! [`states`], [`ledger`], [`matches`]. Rows are read with `FromRow` structs, never by column position.
//! [`spawn_pruner`] deletes what can never be used again, in the background.

pub mod accounts;
pub mod ledger;
pub mod matches;
pub mod sessions;
pub mod shards;
pub mod states;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Db {
    /// Connect, apply pragmas (SQLite) and run pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let mut opts = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
        opts = match backend {
            Backend::Sqlite => opts.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => opts.max_connections(16),
        };
        let pool = opts
            .connect(&url)
            .await
            .with_context(|| format!("cannot connect to the {backend} database"))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .context("running database migrations")?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// `SELECT 1`, for readiness.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://path` with `mode=rwc` so the file is created, and its directory made first.
fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && !path.is_empty()
        && let Some(dir) = std::path::Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create database directory {}", dir.display()))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".into()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Used refresh tokens are kept this long for reuse detection, then pruned.
const USED_REFRESH_TOKEN_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// Every `cfg.prune_interval`: delete expired or revoked sessions and their refresh tokens,
/// used refresh tokens past their retention, and shard rows dead for a while.
pub fn spawn_pruner(
    db: Db,
    cfg: std::sync::Arc<crate::config::Resolved>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(cfg.prune_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = now_secs();
            let dead_shards = now - (cfg.shard_ttl_secs as i64 * 4).max(60);
            match db
                .prune(now, now - USED_REFRESH_TOKEN_RETENTION_SECS, dead_shards)
                .await
            {
                Ok(p) if p != Default::default() => tracing::info!(
                    sessions = p.sessions,
                    refresh_tokens = p.refresh_tokens,
                    shards = p.shards,
                    "pruned"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning failed; will retry"),
            }
        }
    })
}

/// Is this error a unique-constraint violation (on either backend)?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
