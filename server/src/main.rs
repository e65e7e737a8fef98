//! `harvest-server`: a zone shard. Without `--sidecar-url` it is the whole stack on one
//! machine: the shard plus an in-process sidecar with SQLite under the data directory (its
//! internal routes on a loopback port of their own).

use anyhow::Context;
use bevy::prelude::*;
use clap::{Parser, Subcommand};
use harvest_ops::telemetry::{self, LogFormat};
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_server::plugins::transport::{BoundAddr, public_from_bound};
use harvest_server::{ShardConfig, build_app};
use std::net::SocketAddr;
use tracing::info;

/// Harvest Battles zone shard. With no --sidecar-url it also runs the sidecar in-process
/// (accounts, tokens, persistence) on SQLite under --data-dir: the whole stack in one command.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Without a command: run the shard.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    shard: ShardConfig,
    /// Base URL of the sidecar's internal routes (e.g. http://sidecar:8081, its
    /// --internal-bind). Omit to run a sidecar in-process.
    #[arg(long, env = "HARVEST_SIDECAR_URL")]
    sidecar_url: Option<String>,
    /// Public HTTP address of the in-process sidecar (all-in-one mode only). Its other settings
    /// (TLS, rate limits, trusted proxies) come from the same HARVEST_* environment variables
    /// as `harvest-sidecar`.
    #[arg(long, env = "HARVEST_HTTP_BIND", default_value = "127.0.0.1:8080")]
    http_bind: SocketAddr,
    /// Database of the in-process sidecar (default: SQLite at DATA_DIR/harvest.db).
    #[arg(long, env = "HARVEST_DATABASE_URL")]
    database_url: Option<String>,
    /// Log format: text for people, json for log collectors.
    #[arg(long, env = "HARVEST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Tools for the designers' content files.
    #[command(subcommand)]
    Content(ContentCommand),
    /// Re-simulate a recorded duel from its seed, decks and log and check that it reproduces
    /// the recorded result and final-state hash. Reads the record from the sidecar given by
    /// --sidecar-url (with the shard's service secret), or else from the one-machine stack's
    /// database (--database-url, default DATA_DIR/harvest.db). Cards' numbers come from
    /// --content-dir. Exits 0 when verified, 1 on a mismatch, 2 when the record cannot be read.
    Replay {
        /// The match id (from `GET /v1/matches` or the shard's `duel started` log line).
        match_id: String,
        /// Print a JSON report instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        from: ReplaySource,
    },
}

/// Where `replay` reads from (each defaults to the shard's own setting).
#[derive(clap::Args)]
struct ReplaySource {
    /// The sidecar's internal URL (default: HARVEST_SIDECAR_URL; without one, the database).
    #[arg(long)]
    sidecar_url: Option<String>,
    /// The database of the one-machine stack (default: HARVEST_DATABASE_URL, else SQLite at
    /// DATA_DIR/harvest.db).
    #[arg(long)]
    database_url: Option<String>,
    /// The one-machine stack's data directory (default: HARVEST_DATA_DIR, else ./data).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// The content to replay with (default: HARVEST_CONTENT_DIR, else ./assets/data).
    #[arg(long)]
    content_dir: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum ContentCommand {
    /// Validate a content directory the way a shard loads it: syntax and unknown fields
    /// (file:line:column), unknown ids, ranges, and economic sanity (no coins from nothing,
    /// every card obtainable). Exits 0 when valid, 1 when not.
    Check {
        /// The content directory (default: --content-dir, i.e. ./assets/data).
        dir: Option<std::path::PathBuf>,
        /// Print a JSON report instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Some(Command::Content(ContentCommand::Check { dir, json })) = &cli.command {
        let dir = dir.as_ref().unwrap_or(&cli.shard.content_dir);
        std::process::exit(harvest_server::content_check::run(dir, *json));
    }
    if let Some(Command::Replay {
        match_id,
        json,
        from,
    }) = &cli.command
    {
        std::process::exit(replay(&cli, from, match_id, *json));
    }
    telemetry::init(cli.log_format);
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("harvest-server: {e:#}");
            std::process::exit(1);
        }
    }
}

/// `harvest-server replay`: fetch, verify, report. The exit code says what happened.
fn replay(cli: &Cli, from: &ReplaySource, match_id: &str, json: bool) -> i32 {
    let dir = from.content_dir.as_ref().unwrap_or(&cli.shard.content_dir);
    let content = match harvest_shared::content::Content::load(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "harvest-server replay: cannot load content from {}:\n{e}",
                dir.display()
            );
            return 2;
        }
    };
    let record = match fetch_record(cli, from, match_id) {
        Ok(Some(r)) => r,
        Ok(None) => {
            eprintln!("harvest-server replay: no match '{match_id}' is recorded");
            return 2;
        }
        Err(e) => {
            eprintln!("harvest-server replay: cannot read match '{match_id}': {e:#}");
            return 2;
        }
    };
    let report = harvest_server::replay::verify(&record, &content);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{report}");
    }
    if report.verified { 0 } else { 1 }
}

fn fetch_record(
    cli: &Cli,
    from: &ReplaySource,
    match_id: &str,
) -> anyhow::Result<Option<harvest_shared::api::MatchRecord>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(url) = from.sidecar_url.as_ref().or(cli.sidecar_url.as_ref()) {
        let settings = cli.shard.resolve()?;
        let link = settings
            .sidecar
            .context("a service secret is needed to read match records")?;
        let client = harvest_server::sidecar_client::SidecarClient::new(
            url,
            &link.service_secret,
            link.ca_cert.as_deref(),
        )?;
        return match rt.block_on(client.match_record(match_id)) {
            Ok(r) => Ok(Some(r)),
            Err(harvest_server::sidecar_client::SidecarError::Rejected { status: 404, .. }) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        };
    }
    #[cfg(feature = "embedded-sidecar")]
    {
        let data_dir = from.data_dir.as_ref().unwrap_or(&cli.shard.data_dir);
        let mut cfg = harvest_sidecar::SidecarConfig::for_data_dir(data_dir);
        cfg.database_url = from.database_url.clone().or(cli.database_url.clone());
        let url = cfg.effective_database_url();
        rt.block_on(async {
            let db = harvest_sidecar::db::Db::connect(&url).await?;
            let record = db.match_record(match_id).await;
            db.close().await;
            Ok(record?)
        })
    }
    #[cfg(not(feature = "embedded-sidecar"))]
    anyhow::bail!("--sidecar-url is required (this build has no in-process sidecar)")
}

/// Prints where clients should point once the UDP port is known.
#[derive(Resource)]
struct Banner {
    sidecar_url: String,
    printed: bool,
}

fn print_banner(bound: Res<BoundAddr>, mut banner: ResMut<Banner>) {
    if banner.printed {
        return;
    }
    if let Some(addr) = bound.0 {
        banner.printed = true;
        println!("harvest-server ready");
        println!("  sidecar (HTTP): {}", banner.sidecar_url);
        println!("  shard   (UDP):  {}", public_from_bound(addr));
        println!(
            "  play:  cargo run --release -p harvest_client -- --sidecar-url {}",
            banner.sidecar_url
        );
        println!(
            "  bots:  cargo run --release -p harvest_client --no-default-features --bin harvest-bots -- --sidecar-url {} --bots 10 --duration 30",
            banner.sidecar_url
        );
    }
}

/// The in-process sidecar of the all-in-one mode.
#[cfg(feature = "embedded-sidecar")]
mod embedded {
    use super::Cli;
    use anyhow::Context;

    pub struct Embedded {
        pub sidecar: harvest_sidecar::Sidecar,
        /// The public URL players use.
        pub public_url: String,
        /// The internal URL the shard uses.
        pub internal_url: String,
    }

    pub fn start(
        cli: &Cli,
        rt: &tokio::runtime::Runtime,
        bus: Option<harvest_ops::bus::Bus>,
    ) -> anyhow::Result<Embedded> {
        let mut cfg = harvest_sidecar::SidecarConfig::for_data_dir(&cli.shard.data_dir);
        cfg.bind = cli.http_bind;
        // Internal routes on a loopback port of their own: never reachable from outside.
        cfg.internal_bind = Some("127.0.0.1:0".parse().expect("literal"));
        cfg.content_dir = cli.shard.content_dir.clone();
        cfg.database_url = cli.database_url.clone();
        cfg.netcode_key = cli.shard.netcode_key.clone();
        cfg.netcode_key_file = cli.shard.netcode_key_file.clone();
        cfg.service_secret = cli.shard.service_secret.clone();
        cfg.service_secret_file = cli.shard.service_secret_file.clone();
        // One bus for both halves: NATS when given, else in process.
        cfg.nats_url = cli.shard.nats_url.clone();
        cfg.bus = bus;
        let sidecar = rt
            .block_on(harvest_sidecar::Sidecar::start(&cfg))
            .context("starting the in-process sidecar")?;
        Ok(Embedded {
            public_url: sidecar.url(),
            internal_url: sidecar.internal_url(),
            sidecar,
        })
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    // Validate the shard's own config (and content) before starting anything; the sidecar's
    // internal URL is filled in below.
    let mut settings = cli.shard.resolve()?;
    // The in-process sidecar gets its own small runtime on background threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sidecar")
        .enable_all()
        .build()?;
    #[cfg(feature = "embedded-sidecar")]
    let mut embedded = None;
    let (public_url, internal_url) = match &cli.sidecar_url {
        Some(url) => (url.clone(), url.clone()),
        #[cfg(feature = "embedded-sidecar")]
        None => {
            let local = match settings.bus {
                harvest_server::config::BusSetting::None => {
                    let bus = harvest_ops::bus::Bus::local();
                    settings.bus = harvest_server::config::BusSetting::Local(bus.clone());
                    Some(bus)
                }
                _ => None,
            };
            let e = embedded::start(&cli, &runtime, local)?;
            let urls = (e.public_url.clone(), e.internal_url.clone());
            embedded = Some(e);
            urls
        }
        #[cfg(not(feature = "embedded-sidecar"))]
        None => anyhow::bail!("--sidecar-url is required (this build has no in-process sidecar)"),
    };
    if let Some(link) = settings.sidecar.as_mut() {
        // SidecarClient trims a trailing slash itself.
        link.url = internal_url;
    }
    info!(content_version = %settings.content.version, zones = settings.zones.len(), tick_hz = settings.tick_hz, shard = %settings.shard_id, "starting shard");
    let mut app = build_app(settings);
    let signal = app.world().resource::<ShutdownSignal>().clone();
    let mut presses = 0u32;
    ctrlc::set_handler(move || {
        presses += 1;
        if presses > 1 {
            eprintln!("harvest-server: second signal, exiting now");
            std::process::exit(130);
        }
        signal.request();
    })
    .context("installing the signal handler")?;
    app.insert_resource(Banner {
        sidecar_url: public_url,
        printed: false,
    });
    app.add_systems(Update, print_banner.run_if(resource_exists::<BoundAddr>));
    let exit = app.run();
    #[cfg(feature = "embedded-sidecar")]
    if let Some(e) = embedded {
        runtime.block_on(e.sidecar.stop())?;
    }
    drop(runtime);
    Ok(match exit {
        AppExit::Success => 0,
        AppExit::Error(code) => code.get() as i32,
    })
}
