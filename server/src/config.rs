//! Shard configuration: the clap [`ShardConfig`] (every flag also an env var) and the resolved
//! [`ShardSettings`] that [`crate::build_app`] takes. Tests build `ShardSettings` directly.

use anyhow::{Context, bail};
use clap::Args;
use harvest_ops::secrets::resolve_key;
use harvest_shared::api::MAX_SAVES_PER_BATCH;
use harvest_shared::content::Content;
use harvest_shared::ids::ZoneId;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Clone, Debug)]
pub struct ShardConfig {
    /// UDP listen address for game clients (port 0 picks a free port; the bound one is printed).
    #[arg(long, env = "HARVEST_UDP_BIND", default_value = "127.0.0.1:5000")]
    pub udp_bind: SocketAddr,
    /// Address clients are told to connect to, when it differs from the bound one (NAT, pods).
    #[arg(long, env = "HARVEST_PUBLIC_ADDR")]
    pub public_addr: Option<SocketAddr>,
    /// Serve `/healthz` and `/readyz` (JSON) on this TCP address for probes and operators.
    /// `/readyz` answers 503, with the reason, while the shard is starting, draining, or cannot
    /// use its sidecar (unreachable, or refusing the shard's requests).
    #[arg(long, env = "HARVEST_ADMIN_BIND")]
    pub admin_bind: Option<SocketAddr>,
    /// Simulation ticks per second.
    #[arg(long, env = "HARVEST_TICK_HZ", default_value_t = 20)]
    pub tick_hz: u32,
    /// Directory of the designer content (*.ron). Watched while the shard runs: a valid
    /// change is swapped in at a tick boundary; an invalid one is logged and ignored.
    #[arg(long, env = "HARVEST_CONTENT_DIR", default_value = "./assets/data")]
    pub content_dir: PathBuf,
    /// How often to check the content directory for changes, in ms (0: never reload).
    #[arg(long, env = "HARVEST_CONTENT_POLL_MS", default_value_t = 500)]
    pub content_poll_ms: u64,
    /// Directory for generated dev secrets (and the embedded database in all-in-one mode).
    #[arg(long, env = "HARVEST_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Name of this shard in the directory (the pod name under Kubernetes): 1-64 characters of
    /// A-Z, a-z, 0-9, '-', '_' and '.'.
    #[arg(long, env = "HARVEST_SHARD_ID", default_value = "shard-0")]
    pub shard_id: String,
    /// Zones this shard hosts, comma-separated (default: every zone in the content).
    #[arg(
        long,
        env = "HARVEST_ZONES",
        value_delimiter = ',',
        conflicts_with = "zones_by_ordinal"
    )]
    pub zones: Vec<String>,
    /// Zones by StatefulSet ordinal: groups separated by ';', zones in a group by ',', e.g.
    /// `meadow,arena;riverside`. The ordinal is the number ending --shard-id (`shard-1` → 1);
    /// ordinal N offers group N mod the number of groups, so replicas past the last group are
    /// standbys for the zones of the first ones.
    #[arg(long, env = "HARVEST_ZONES_BY_ORDINAL")]
    pub zones_by_ordinal: Option<String>,
    /// NATS server for the cross-shard bus (events, presence, announcements), e.g.
    /// nats://nats:4222. Without it, a shard with an in-process sidecar uses an in-process
    /// bus, and a shard alone publishes nothing.
    #[arg(long, env = "HARVEST_NATS_URL")]
    pub nats_url: Option<String>,
    /// Netcode private key (64 hex chars), shared with the sidecar.
    #[arg(long, env = "HARVEST_NETCODE_KEY", hide_env_values = true)]
    pub netcode_key: Option<String>,
    #[arg(long, env = "HARVEST_NETCODE_KEY_FILE")]
    pub netcode_key_file: Option<PathBuf>,
    /// Secret for the sidecar's /internal routes (64 hex chars).
    #[arg(long, env = "HARVEST_SERVICE_SECRET", hide_env_values = true)]
    pub service_secret: Option<String>,
    #[arg(long, env = "HARVEST_SERVICE_SECRET_FILE")]
    pub service_secret_file: Option<PathBuf>,
    /// Extra CA certificate (PEM) to trust when --sidecar-url is https://.
    #[arg(long, env = "HARVEST_SIDECAR_CA_CERT")]
    pub sidecar_ca_cert: Option<PathBuf>,
    /// Most simultaneous clients (lightyear's own default is 256).
    #[arg(long, env = "HARVEST_MAX_CLIENTS", default_value_t = 4096)]
    pub max_clients: usize,
    /// Unauthenticated links (no completed handshake) are dropped after this many ms.
    #[arg(long, env = "HARVEST_UNAUTH_TIMEOUT_MS", default_value_t = 3000)]
    pub unauth_timeout_ms: u64,
    /// Most unauthenticated links at once; past it the oldest are dropped first (a flood of
    /// spoofed sources cannot grow them without bound).
    #[arg(long, env = "HARVEST_MAX_PENDING_LINKS", default_value_t = 4096)]
    pub max_pending_links: usize,
    /// Changed player state is saved at most this long after the change (write-behind).
    #[arg(long, env = "HARVEST_SAVE_INTERVAL_MS", default_value_t = 500)]
    pub save_interval_ms: u64,
    /// Most saves per request to the sidecar (capped at the sidecar's own limit).
    #[arg(long, env = "HARVEST_SAVE_BATCH_MAX", default_value_t = MAX_SAVES_PER_BATCH)]
    pub save_batch_max: usize,
    /// Player loads (lease requests) in flight at once.
    #[arg(long, env = "HARVEST_LOAD_CONCURRENCY", default_value_t = 32)]
    pub load_concurrency: usize,
    /// SIGTERM budget in seconds: save everyone, wait for confirmation, tell clients, exit.
    /// Give Kubernetes a `terminationGracePeriodSeconds` a few seconds longer.
    #[arg(long, env = "HARVEST_SHUTDOWN_TIMEOUT", default_value_t = 25)]
    pub shutdown_timeout: u64,
    /// Requests per second a client may send, sustained (a token bucket per link).
    #[arg(long, env = "HARVEST_REQUEST_RATE", default_value_t = 20.0)]
    pub request_rate: f32,
    /// Requests a client may send in one burst above the sustained rate.
    #[arg(long, env = "HARVEST_REQUEST_BURST", default_value_t = 40.0)]
    pub request_burst: f32,
    /// A client whose dropped (over-limit) requests pile up past this many, decaying at the
    /// sustained rate, is disconnected for flooding.
    #[arg(long, env = "HARVEST_FLOOD_KICK_AFTER", default_value_t = 200.0)]
    pub flood_kick_after: f32,
    /// Packets per second a client may send, whatever they carry (an honest client sends one or
    /// two per frame). Bursts of twice as many pass; past four times as many in excess, the
    /// client is disconnected for flooding.
    #[arg(long, env = "HARVEST_MAX_PACKETS_PER_SECOND", default_value_t = 500.0)]
    pub max_packets_per_second: f32,
    /// How often replicated state is sent to clients, in ms (the tick length sends every tick).
    /// Answers to requests are messages and go out every frame regardless.
    #[arg(long, env = "HARVEST_REPLICATION_INTERVAL_MS", default_value_t = 100)]
    pub replication_interval_ms: u64,
    /// UDP socket receive/send buffer size in bytes (0 keeps the OS default).
    #[arg(long, env = "HARVEST_UDP_BUFFER_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub udp_buffer_bytes: usize,
}

/// Where the sidecar's internal routes are and how to authenticate to them.
#[derive(Clone, Debug)]
pub struct SidecarLink {
    pub url: String,
    pub service_secret: [u8; 32],
    pub ca_cert: Option<PathBuf>,
}

/// A per-link token bucket: `rate` per second, bursts of `burst`, and a disconnection once the
/// dropped excess (draining at `rate`) passes `flood_kick_after` (see `plugins::intents`).
#[derive(Clone, Copy, Debug)]
pub struct RequestLimits {
    pub rate: f32,
    pub burst: f32,
    pub flood_kick_after: f32,
}

/// Which bus the shard publishes on.
#[derive(Clone, Debug, Default)]
pub enum BusSetting {
    /// None: events are not published (benches, most tests, a shard run alone).
    #[default]
    None,
    /// NATS at this URL.
    Nats(String),
    /// The in-process bus shared with an in-process sidecar.
    Local(harvest_ops::bus::Bus),
}

/// Everything the shard needs, validated.
#[derive(Clone)]
pub struct ShardSettings {
    pub udp_bind: SocketAddr,
    pub public_addr: Option<SocketAddr>,
    pub admin_bind: Option<SocketAddr>,
    pub tick_hz: u32,
    pub content: Arc<Content>,
    /// Where the content came from: watched for hot reload (`None`: no reload).
    pub content_dir: Option<PathBuf>,
    /// How often the content directory is checked for changes (zero: never).
    pub content_poll: Duration,
    pub shard_id: String,
    pub zones: Vec<ZoneId>,
    pub netcode_key: [u8; 32],
    /// `None`: an in-memory store stands in for the sidecar (benches, offline tests).
    pub sidecar: Option<SidecarLink>,
    pub max_clients: usize,
    pub unauth_timeout: Duration,
    pub max_pending_links: usize,
    pub save_interval: Duration,
    pub save_batch_max: usize,
    pub load_concurrency: usize,
    pub shutdown_timeout: Duration,
    pub requests: RequestLimits,
    /// Packets per link, whatever they carry (checked before they are parsed).
    pub packets: RequestLimits,
    pub replication_interval: Duration,
    pub udp_buffer_bytes: usize,
    /// Open the UDP socket and run lightyear (off for benches and offline tests).
    pub network: bool,
    pub bus: BusSetting,
}

impl RequestLimits {
    /// The packet budget for `per_second` packets a second.
    pub fn packets(per_second: f32) -> Self {
        RequestLimits {
            rate: per_second,
            burst: per_second * 2.0,
            flood_kick_after: per_second * 4.0,
        }
    }
}

impl ShardSettings {
    pub fn tick_duration(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.tick_hz.max(1) as f64)
    }

    /// Settings for tests: loopback port 0, everything else default.
    pub fn for_tests(
        content: Arc<Content>,
        netcode_key: [u8; 32],
        sidecar: Option<SidecarLink>,
    ) -> Self {
        ShardSettings {
            udp_bind: "127.0.0.1:0".parse().expect("literal"),
            public_addr: None,
            admin_bind: None,
            tick_hz: 20,
            zones: content.zones.keys().cloned().collect(),
            content,
            content_dir: None,
            content_poll: Duration::from_millis(500),
            shard_id: "test-shard".into(),
            netcode_key,
            sidecar,
            max_clients: 4096,
            unauth_timeout: Duration::from_millis(1500),
            max_pending_links: 4096,
            save_interval: Duration::from_millis(200),
            save_batch_max: MAX_SAVES_PER_BATCH,
            load_concurrency: 32,
            shutdown_timeout: Duration::from_secs(15),
            requests: RequestLimits {
                rate: 20.0,
                burst: 40.0,
                flood_kick_after: 200.0,
            },
            packets: RequestLimits::packets(500.0),
            replication_interval: Duration::from_millis(100),
            udp_buffer_bytes: 0,
            network: true,
            bus: BusSetting::None,
        }
    }
}

/// The zones `--zones-by-ordinal` gives the shard named `shard_id` (see the flag).
pub fn zones_by_ordinal(map: &str, shard_id: &str) -> anyhow::Result<Vec<ZoneId>> {
    let groups: Vec<Vec<ZoneId>> = map
        .split(';')
        .map(|g| {
            g.split(',')
                .map(str::trim)
                .filter(|z| !z.is_empty())
                .map(ZoneId::new)
                .collect()
        })
        .collect();
    if groups.iter().any(Vec::is_empty) {
        bail!(
            "--zones-by-ordinal has an empty group: '{map}' (groups are separated by ';', zones by ',')"
        );
    }
    let digits = shard_id
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("");
    let ordinal: usize = digits.parse().map_err(|_| {
        anyhow::anyhow!("--zones-by-ordinal needs a --shard-id ending in its ordinal (like shard-0), got '{shard_id}'")
    })?;
    Ok(groups[ordinal % groups.len()].clone())
}

/// Is `id` a valid shard id (the sidecar checks the same)?
pub fn valid_shard_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl ShardConfig {
    /// Check the flags, load content and secrets. The sidecar's URL is left empty: the caller
    /// fills it in once it knows it (an in-process sidecar binds first).
    pub fn resolve(&self) -> anyhow::Result<ShardSettings> {
        if !(1..=240).contains(&self.tick_hz) {
            bail!("--tick-hz must be 1..=240, got {}", self.tick_hz);
        }
        if self.max_clients == 0 {
            bail!("--max-clients must be at least 1");
        }
        if !valid_shard_id(&self.shard_id) {
            bail!(
                "--shard-id must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' and '.', got '{}'",
                self.shard_id
            );
        }
        if !(self.request_rate > 0.0 && self.request_burst >= 1.0 && self.flood_kick_after >= 1.0) {
            bail!("--request-rate must be > 0, --request-burst and --flood-kick-after at least 1");
        }
        if self.shutdown_timeout < 3 {
            bail!("--shutdown-timeout must be at least 3 seconds");
        }
        if !(self.max_packets_per_second >= 20.0 && self.max_packets_per_second.is_finite()) {
            bail!(
                "--max-packets-per-second must be at least 20 (one packet per frame at 20 Hz), got {}",
                self.max_packets_per_second
            );
        }
        if !(10..=1000).contains(&self.save_interval_ms) {
            bail!(
                "--save-interval-ms must be 10..=1000, got {}",
                self.save_interval_ms
            );
        }
        if !(1..=1000).contains(&self.replication_interval_ms) {
            bail!(
                "--replication-interval-ms must be 1..=1000, got {}",
                self.replication_interval_ms
            );
        }
        if self.unauth_timeout_ms < 100 {
            bail!(
                "--unauth-timeout-ms must be at least 100, got {}",
                self.unauth_timeout_ms
            );
        }
        if self.max_pending_links == 0 {
            bail!("--max-pending-links must be at least 1");
        }
        if self.save_batch_max == 0 || self.load_concurrency == 0 {
            bail!("--save-batch-max and --load-concurrency must be at least 1");
        }
        let content = Content::load(&self.content_dir)
            .with_context(|| format!("loading content from {}", self.content_dir.display()))?;
        let zones: Vec<ZoneId> = match &self.zones_by_ordinal {
            Some(map) => zones_by_ordinal(map, &self.shard_id)?,
            None if self.zones.is_empty() => content.zones.keys().cloned().collect(),
            None => self.zones.iter().map(|z| ZoneId::new(z.trim())).collect(),
        };
        if let Some(z) = zones.iter().find(|z| content.zone(z).is_none()) {
            bail!(
                "--zones names '{z}', which is not in {}/zones.ron",
                self.content_dir.display()
            );
        }
        let bus = match &self.nats_url {
            Some(url) if url.starts_with("nats://") || url.starts_with("tls://") => {
                BusSetting::Nats(url.clone())
            }
            Some(url) => bail!("--nats-url must start with nats:// or tls://, got '{url}'"),
            None => BusSetting::None,
        };
        if let Some(ca) = &self.sidecar_ca_cert {
            harvest_ops::tls::ca_certificates(ca).context("--sidecar-ca-cert")?;
        }
        let (netcode_key, _) = resolve_key(
            "netcode key",
            self.netcode_key.as_deref(),
            self.netcode_key_file.as_deref(),
            &self.data_dir,
            "netcode.key",
        )?;
        let (service_secret, _) = resolve_key(
            "service secret",
            self.service_secret.as_deref(),
            self.service_secret_file.as_deref(),
            &self.data_dir,
            "service.key",
        )?;
        Ok(ShardSettings {
            udp_bind: self.udp_bind,
            public_addr: self.public_addr,
            admin_bind: self.admin_bind,
            tick_hz: self.tick_hz,
            content: Arc::new(content),
            content_dir: Some(self.content_dir.clone()),
            content_poll: Duration::from_millis(self.content_poll_ms),
            shard_id: self.shard_id.clone(),
            zones,
            netcode_key,
            sidecar: Some(SidecarLink {
                url: String::new(),
                service_secret,
                ca_cert: self.sidecar_ca_cert.clone(),
            }),
            max_clients: self.max_clients,
            unauth_timeout: Duration::from_millis(self.unauth_timeout_ms),
            max_pending_links: self.max_pending_links,
            save_interval: Duration::from_millis(self.save_interval_ms),
            save_batch_max: self.save_batch_max.min(MAX_SAVES_PER_BATCH),
            load_concurrency: self.load_concurrency,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            requests: RequestLimits {
                rate: self.request_rate,
                burst: self.request_burst,
                flood_kick_after: self.flood_kick_after,
            },
            packets: RequestLimits::packets(self.max_packets_per_second),
            replication_interval: Duration::from_millis(self.replication_interval_ms),
            udp_buffer_bytes: self.udp_buffer_bytes,
            network: true,
            bus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::zones_by_ordinal;
    use harvest_shared::ids::ZoneId;

    #[test]
    fn ordinals_pick_their_group_and_wrap_round_as_standbys() {
        let map = "meadow, arena;riverside";
        let z = |s: &[&str]| s.iter().map(|z| ZoneId::new(*z)).collect::<Vec<_>>();
        assert_eq!(
            zones_by_ordinal(map, "shard-0").unwrap(),
            z(&["meadow", "arena"])
        );
        assert_eq!(zones_by_ordinal(map, "shard-1").unwrap(), z(&["riverside"]));
        assert_eq!(
            zones_by_ordinal(map, "harvest-shard-2").unwrap(),
            z(&["meadow", "arena"])
        );
        let no_ordinal = zones_by_ordinal(map, "shard").unwrap_err().to_string();
        assert!(no_ordinal.contains("ordinal"), "{no_ordinal}");
        let empty = zones_by_ordinal("meadow;;riverside", "shard-0")
            .unwrap_err()
            .to_string();
        assert!(empty.contains("empty group"), "{empty}");
    }
}
