//! Sidecar configuration: one clap struct, every setting also readable from the environment.
//! `Resolved` is the validated form handlers use (secrets loaded, URL checked).

use crate::secrets;
use anyhow::{Context, bail};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Clone, Debug)]
pub struct SidecarConfig {
    /// HTTP listen address (port 0 picks a free port; the bound address is printed).
    #[arg(
        long = "bind",
        env = "HARVEST_SIDECAR_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,

    /// sqlite://PATH (created if missing) or postgres://USER@HOST:PORT/DB.
    /// Default: SQLite at DATA_DIR/harvest.db.
    #[arg(long = "database-url", env = "HARVEST_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and generated dev secrets.
    #[arg(long = "data-dir", env = "HARVEST_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// HMAC key for access tokens, 64 hex chars. Without it (and without the file) a dev key is
    /// generated in the data dir.
    #[arg(
        long = "jwt-secret",
        env = "HARVEST_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    #[arg(long = "jwt-secret-file", env = "HARVEST_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Shared secret shards present on /internal routes, 64 hex chars.
    #[arg(
        long = "service-secret",
        env = "HARVEST_SERVICE_SECRET",
        hide_env_values = true
    )]
    pub service_secret: Option<String>,
    #[arg(long = "service-secret-file", env = "HARVEST_SERVICE_SECRET_FILE")]
    pub service_secret_file: Option<PathBuf>,

    /// Netcode private key shared with the shards, 64 hex chars.
    #[arg(
        long = "netcode-key",
        env = "HARVEST_NETCODE_KEY",
        hide_env_values = true
    )]
    pub netcode_key: Option<String>,
    #[arg(long = "netcode-key-file", env = "HARVEST_NETCODE_KEY_FILE")]
    pub netcode_key_file: Option<PathBuf>,

    /// Access token lifetime in seconds.
    #[arg(long, env = "HARVEST_ACCESS_TTL_SECS", default_value_t = 900)]
    pub access_ttl_secs: u64,
    /// Refresh token (session) lifetime in seconds.
    #[arg(long, env = "HARVEST_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,
    /// Connect token expiry in seconds (1–30).
    #[arg(long, env = "HARVEST_CONNECT_TOKEN_SECS", default_value_t = 30)]
    pub connect_token_secs: u32,
    /// Netcode idle timeout written into connect tokens, in seconds.
    #[arg(long, env = "HARVEST_NETCODE_TIMEOUT_SECS", default_value_t = 10)]
    pub netcode_timeout_secs: u32,

    /// Login attempts allowed per client IP per minute (burst of the same size).
    #[arg(long, env = "HARVEST_LOGIN_PER_IP_PER_MINUTE", default_value_t = 60)]
    pub login_per_ip_per_minute: u32,
    /// Login attempts allowed per account per minute (burst of the same size).
    #[arg(
        long,
        env = "HARVEST_LOGIN_PER_ACCOUNT_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_per_account_per_minute: u32,
    /// Registrations allowed per client IP per minute (burst of the same size).
    #[arg(long, env = "HARVEST_REGISTER_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub register_per_ip_per_minute: u32,
    /// Concurrent argon2 hashes (default: number of CPUs).
    #[arg(long, env = "HARVEST_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// Zone for players who have never been saved.
    #[arg(long, env = "HARVEST_START_ZONE", default_value = "meadow")]
    pub start_zone: String,
    /// A shard registration lapses after this many seconds without renewal.
    #[arg(long, env = "HARVEST_SHARD_TTL_SECS", default_value_t = 15)]
    pub shard_ttl_secs: u64,
}

impl SidecarConfig {
    /// Defaults for tests and embedding: port 0, SQLite in `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            cfg: SidecarConfig,
        }
        let mut cfg = Wrapper::parse_from(["harvest-sidecar"]).cfg;
        cfg.bind = "127.0.0.1:0".parse().expect("literal address");
        cfg.data_dir = data_dir.into();
        cfg
    }

    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("harvest.db").display()))
    }
}

/// Validated configuration with secrets loaded.
#[derive(Clone)]
pub struct Resolved {
    pub database_url: String,
    pub jwt_secret: [u8; 32],
    pub service_secret: [u8; 32],
    pub netcode_key: [u8; 32],
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub connect_token_secs: u32,
    pub netcode_timeout_secs: u32,
    pub login_per_ip_per_minute: u32,
    pub login_per_account_per_minute: u32,
    pub register_per_ip_per_minute: u32,
    pub hash_concurrency: usize,
    pub start_zone: String,
    pub shard_ttl_secs: u64,
}

impl Resolved {
    pub fn from_config(c: &SidecarConfig) -> anyhow::Result<Self> {
        let url = c.effective_database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            bail!("--database-url must start with sqlite: or postgres://, got '{url}'");
        }
        if !(1..=30).contains(&c.connect_token_secs) {
            bail!(
                "--connect-token-secs must be 1..=30, got {}",
                c.connect_token_secs
            );
        }
        if c.netcode_timeout_secs == 0 {
            bail!("--netcode-timeout-secs must be at least 1");
        }
        if c.access_ttl_secs == 0 || c.refresh_ttl_secs == 0 {
            bail!("token lifetimes must be at least 1 second");
        }
        if c.login_per_ip_per_minute == 0
            || c.login_per_account_per_minute == 0
            || c.register_per_ip_per_minute == 0
        {
            bail!("login and registration limits must be at least 1 per minute");
        }
        let key = |what: &str, v: &Option<String>, f: &Option<PathBuf>, name: &str| {
            let (k, source) =
                secrets::resolve_key(what, v.as_deref(), f.as_deref(), &c.data_dir, name)
                    .with_context(|| format!("resolving the {what}"))?;
            if matches!(
                source,
                secrets::Source::DevGenerated(_) | secrets::Source::DevReused(_)
            ) {
                tracing::warn!(
                    ?source,
                    "using a development {what}; set it through the environment in production"
                );
            }
            anyhow::Ok(k)
        };
        Ok(Resolved {
            database_url: url,
            jwt_secret: key(
                "access-token secret",
                &c.jwt_secret,
                &c.jwt_secret_file,
                "jwt.key",
            )?,
            service_secret: key(
                "service secret",
                &c.service_secret,
                &c.service_secret_file,
                "service.key",
            )?,
            netcode_key: key(
                "netcode key",
                &c.netcode_key,
                &c.netcode_key_file,
                "netcode.key",
            )?,
            access_ttl_secs: c.access_ttl_secs,
            refresh_ttl_secs: c.refresh_ttl_secs,
            connect_token_secs: c.connect_token_secs,
            netcode_timeout_secs: c.netcode_timeout_secs,
            login_per_ip_per_minute: c.login_per_ip_per_minute,
            login_per_account_per_minute: c.login_per_account_per_minute,
            register_per_ip_per_minute: c.register_per_ip_per_minute,
            hash_concurrency: c
                .hash_concurrency
                .unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2)
                })
                .max(1),
            start_zone: c.start_zone.clone(),
            shard_ttl_secs: c.shard_ttl_secs.max(1),
        })
    }
}
