//! Sidecar configuration: one clap struct, every setting also readable from the environment.
//! [`Resolved`] is the validated form handlers use (secrets loaded, content loaded, addresses
//! and limits checked). A bad setting stops the program with a message that names the flag.

use anyhow::{Context, bail};
use clap::Args;
use harvest_ops::secrets;
use harvest_shared::content::Content;
use ipnet::IpNet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub struct SidecarConfig {
    /// Public HTTP(S) listen address for players (port 0 picks a free port; the bound address
    /// is printed).
    #[arg(
        long = "bind",
        env = "HARVEST_SIDECAR_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: SocketAddr,

    /// Serve the shard-only `/internal/*` routes on this address only (the public listener
    /// then answers 404 for them). Keep it on a private network; never publish it. Without it,
    /// `/internal/*` is served on the public listener behind the service secret.
    #[arg(long = "internal-bind", env = "HARVEST_INTERNAL_BIND")]
    pub internal_bind: Option<SocketAddr>,

    /// sqlite://PATH (created if missing) or postgres://USER@HOST:PORT/DB.
    /// Default: SQLite at DATA_DIR/harvest.db.
    #[arg(long = "database-url", env = "HARVEST_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and generated dev secrets.
    #[arg(long = "data-dir", env = "HARVEST_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Directory of the designer content (*.ron); the start zone and start coins of new
    /// players come from it, exactly as on the shards.
    #[arg(
        long = "content-dir",
        env = "HARVEST_CONTENT_DIR",
        default_value = "./assets/data"
    )]
    pub content_dir: PathBuf,

    /// Serve HTTPS on the public listener with this PEM certificate chain (needs --tls-key).
    #[arg(long = "tls-cert", env = "HARVEST_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long = "tls-key", env = "HARVEST_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Reverse proxies (CIDRs, comma-separated) whose X-Forwarded-For header is believed.
    /// Empty (the default): the client IP is always the TCP peer.
    #[arg(
        long = "trusted-proxies",
        env = "HARVEST_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

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
    /// A refresh token presented again within this many seconds of its first use is a race
    /// between two requests of the same client (clean 401); later, it is a stolen copy and
    /// the whole session is revoked.
    #[arg(long, env = "HARVEST_REFRESH_REUSE_GRACE_SECS", default_value_t = 10)]
    pub refresh_reuse_grace_secs: u64,
    /// Connect token expiry in seconds (1–30).
    #[arg(long, env = "HARVEST_CONNECT_TOKEN_SECS", default_value_t = 30)]
    pub connect_token_secs: u32,
    /// Netcode idle timeout written into connect tokens, in seconds.
    #[arg(long, env = "HARVEST_NETCODE_TIMEOUT_SECS", default_value_t = 10)]
    pub netcode_timeout_secs: u32,

    /// Login attempts per client IP per minute, over all accounts (IPv6: per /64).
    #[arg(long, env = "HARVEST_LOGIN_PER_IP_PER_MINUTE", default_value_t = 60)]
    pub login_per_ip_per_minute: u32,
    /// Login attempts per account from one client IP per minute: the strict limit against
    /// guessing, which a stranger elsewhere cannot spend for the owner.
    #[arg(
        long,
        env = "HARVEST_LOGIN_PER_ACCOUNT_IP_PER_MINUTE",
        default_value_t = 10
    )]
    pub login_per_account_ip_per_minute: u32,
    /// Login attempts per account per minute from all IPs together: the loose limit against
    /// distributed guessing, well above what one IP may send.
    #[arg(
        long,
        env = "HARVEST_LOGIN_PER_ACCOUNT_PER_MINUTE",
        default_value_t = 200
    )]
    pub login_per_account_per_minute: u32,
    /// Registrations allowed per client IP per minute.
    #[arg(long, env = "HARVEST_REGISTER_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub register_per_ip_per_minute: u32,
    /// Token refreshes allowed per client IP per minute.
    #[arg(long, env = "HARVEST_REFRESH_PER_IP_PER_MINUTE", default_value_t = 120)]
    pub refresh_per_ip_per_minute: u32,
    /// `/v1/play` calls allowed per account per minute (each mints a connect token).
    #[arg(
        long,
        env = "HARVEST_PLAY_PER_ACCOUNT_PER_MINUTE",
        default_value_t = 30
    )]
    pub play_per_account_per_minute: u32,
    /// `/v1/play` calls allowed per client IP per minute.
    #[arg(long, env = "HARVEST_PLAY_PER_IP_PER_MINUTE", default_value_t = 120)]
    pub play_per_ip_per_minute: u32,
    /// `/v1/players/me` reads allowed per client IP per minute.
    #[arg(long, env = "HARVEST_READS_PER_IP_PER_MINUTE", default_value_t = 300)]
    pub reads_per_ip_per_minute: u32,
    /// Concurrent argon2 hashes (default: number of CPUs).
    #[arg(long, env = "HARVEST_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// A connection must send its complete request headers within this many seconds.
    #[arg(long, env = "HARVEST_HEADER_READ_TIMEOUT_SECS", default_value_t = 5)]
    pub header_read_timeout_secs: u64,
    /// A request (body included) must be answered within this many seconds (408 beyond).
    #[arg(long, env = "HARVEST_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Requests handled at once per listener; beyond it the sidecar answers 503 `busy` at once.
    #[arg(long, env = "HARVEST_MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,
    /// Requests handled at once for one client IP (IPv6: per /64); 503 `busy` beyond.
    #[arg(long, env = "HARVEST_MAX_REQUESTS_PER_IP", default_value_t = 64)]
    pub max_requests_per_ip: usize,

    /// A shard registration, and the zone leases it holds, lapse after this many seconds
    /// without a heartbeat; its zones then pass to another shard offering them.
    #[arg(long, env = "HARVEST_SHARD_TTL_SECS", default_value_t = 15)]
    pub shard_ttl_secs: u64,
    /// How often expired sessions, used refresh tokens and dead shard rows are pruned.
    #[arg(long, env = "HARVEST_PRUNE_INTERVAL_SECS", default_value_t = 300)]
    pub prune_interval_secs: u64,

    /// NATS server of the cross-shard bus (e.g. nats://nats:4222): presence
    /// (`/v1/presence`) is kept from the shards' events, and `/v1/admin/announce` publishes
    /// there. Without it those routes answer 503 `bus_unavailable`. Retried in the background
    /// while unreachable.
    #[arg(long, env = "HARVEST_NATS_URL")]
    pub nats_url: Option<String>,
    /// An in-process bus instead of NATS (the all-in-one `harvest-server` shares one with its
    /// shard).
    #[arg(skip)]
    pub bus: Option<harvest_ops::bus::Bus>,
}

impl SidecarConfig {
    /// Defaults for tests and embedding: port 0, SQLite in `data_dir`, the repository's content
    /// (when `HARVEST_CONTENT_DIR` is not set).
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

    /// Lift every per-IP and per-account rate limit (tests and load runs, where every client
    /// comes from one address). Never for production.
    pub fn lift_rate_limits(&mut self) {
        for limit in [
            &mut self.login_per_ip_per_minute,
            &mut self.login_per_account_ip_per_minute,
            &mut self.login_per_account_per_minute,
            &mut self.register_per_ip_per_minute,
            &mut self.refresh_per_ip_per_minute,
            &mut self.play_per_account_per_minute,
            &mut self.play_per_ip_per_minute,
            &mut self.reads_per_ip_per_minute,
        ] {
            *limit = 1_000_000;
        }
    }

    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("harvest.db").display()))
    }
}

/// Per-minute attempt limits (see `auth::limits`).
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub login_per_ip: u32,
    pub login_per_account_ip: u32,
    pub login_per_account: u32,
    pub register_per_ip: u32,
    pub refresh_per_ip: u32,
    pub play_per_account: u32,
    pub play_per_ip: u32,
    pub reads_per_ip: u32,
}

/// Validated configuration with secrets and content loaded.
#[derive(Clone)]
pub struct Resolved {
    pub database_url: String,
    pub content: Arc<Content>,
    pub jwt_secret: [u8; 32],
    pub service_secret: [u8; 32],
    pub netcode_key: [u8; 32],
    pub trusted_proxies: Vec<IpNet>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub refresh_reuse_grace_secs: u64,
    pub connect_token_secs: u32,
    pub netcode_timeout_secs: u32,
    pub limits: RateLimits,
    pub hash_concurrency: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_requests_per_ip: usize,
    pub shard_ttl_secs: u64,
    pub prune_interval: Duration,
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
        let limits = RateLimits {
            login_per_ip: c.login_per_ip_per_minute,
            login_per_account_ip: c.login_per_account_ip_per_minute,
            login_per_account: c.login_per_account_per_minute,
            register_per_ip: c.register_per_ip_per_minute,
            refresh_per_ip: c.refresh_per_ip_per_minute,
            play_per_account: c.play_per_account_per_minute,
            play_per_ip: c.play_per_ip_per_minute,
            reads_per_ip: c.reads_per_ip_per_minute,
        };
        if [
            limits.login_per_ip,
            limits.login_per_account_ip,
            limits.login_per_account,
            limits.register_per_ip,
            limits.refresh_per_ip,
            limits.play_per_account,
            limits.play_per_ip,
            limits.reads_per_ip,
        ]
        .contains(&0)
        {
            bail!("every rate limit (--*-per-minute) must be at least 1 per minute");
        }
        if c.header_read_timeout_secs == 0 || c.request_timeout_secs == 0 {
            bail!("--header-read-timeout-secs and --request-timeout-secs must be at least 1");
        }
        if c.max_concurrent_requests == 0 || c.max_requests_per_ip == 0 {
            bail!("--max-concurrent-requests and --max-requests-per-ip must be at least 1");
        }
        let trusted_proxies = c
            .trusted_proxies
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .with_context(|| {
                        format!("--trusted-proxies: '{s}' is not a CIDR (e.g. 10.0.0.0/8) or an IP")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(url) = &c.nats_url
            && !(url.starts_with("nats://") || url.starts_with("tls://"))
        {
            anyhow::bail!("--nats-url must start with nats:// or tls://, got '{url}'");
        }
        let content = Content::load(&c.content_dir).with_context(|| {
            format!(
                "loading content from {} (--content-dir)",
                c.content_dir.display()
            )
        })?;
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
            content: Arc::new(content),
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
            trusted_proxies,
            access_ttl_secs: c.access_ttl_secs,
            refresh_ttl_secs: c.refresh_ttl_secs,
            refresh_reuse_grace_secs: c.refresh_reuse_grace_secs,
            connect_token_secs: c.connect_token_secs,
            netcode_timeout_secs: c.netcode_timeout_secs,
            limits,
            hash_concurrency: c
                .hash_concurrency
                .unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2)
                })
                .max(1),
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            request_timeout: Duration::from_secs(c.request_timeout_secs),
            max_concurrent_requests: c.max_concurrent_requests,
            max_requests_per_ip: c.max_requests_per_ip,
            shard_ttl_secs: c.shard_ttl_secs.max(1),
            prune_interval: Duration::from_secs(c.prune_interval_secs.max(1)),
        })
    }
}
