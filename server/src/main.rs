//! `harvest-server`: a zone shard. Without `--sidecar-url` it is the whole stack on one
//! machine: the shard plus an in-process sidecar with SQLite under the data directory.

use anyhow::Context;
use bevy::prelude::*;
use clap::Parser;
use harvest_server::plugins::network::{BoundAddr, public_from_bound};
use harvest_server::plugins::shutdown::ShutdownSignal;
use harvest_server::{ShardConfig, build_app};
use harvest_sidecar::telemetry::{self, LogFormat};
use harvest_sidecar::{Sidecar, SidecarConfig};
use std::net::SocketAddr;
use tracing::info;

/// Harvest Battles zone shard. With no --sidecar-url it also runs the sidecar in-process
/// (accounts, tokens, persistence) on SQLite under --data-dir: the whole stack in one command.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    shard: ShardConfig,
    /// URL of an external sidecar (e.g. http://sidecar:8080). Omit to run one in-process.
    #[arg(long, env = "HARVEST_SIDECAR_URL")]
    sidecar_url: Option<String>,
    /// HTTP address of the in-process sidecar (all-in-one mode only).
    #[arg(long, env = "HARVEST_HTTP_BIND", default_value = "127.0.0.1:8080")]
    http_bind: SocketAddr,
    /// Database of the in-process sidecar (default: SQLite at DATA_DIR/harvest.db).
    #[arg(long, env = "HARVEST_DATABASE_URL")]
    database_url: Option<String>,
    /// Log format: text for people, json for log collectors.
    #[arg(long, env = "HARVEST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("harvest-server: {e:#}");
            std::process::exit(1);
        }
    }
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

fn run(cli: Cli) -> anyhow::Result<i32> {
    // Validate the shard's own config (and content) before starting anything.
    let mut settings = cli
        .shard
        .resolve(cli.sidecar_url.clone().unwrap_or_default())?;
    // The in-process sidecar gets its own small runtime on background threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sidecar")
        .enable_all()
        .build()?;
    let (sidecar, url) = match &cli.sidecar_url {
        Some(url) => (None, url.clone()),
        None => {
            let mut cfg = SidecarConfig::for_data_dir(&cli.shard.data_dir);
            cfg.bind = cli.http_bind;
            cfg.database_url = cli.database_url.clone();
            let sidecar = runtime
                .block_on(Sidecar::start(&cfg))
                .context("starting the in-process sidecar")?;
            let url = sidecar.url();
            (Some(sidecar), url)
        }
    };
    if let Some(link) = settings.sidecar.as_mut() {
        link.url = url.trim_end_matches('/').to_owned();
    }
    info!(content_version = %settings.content.version, zones = settings.zones.len(), tick_hz = settings.tick_hz, "starting shard");
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
        sidecar_url: url,
        printed: false,
    });
    app.add_systems(Update, print_banner);
    let exit = app.run();
    if let Some(sidecar) = sidecar {
        runtime.block_on(sidecar.stop())?;
    }
    Ok(match exit {
        AppExit::Success => 0,
        AppExit::Error(code) => code.get() as i32,
    })
}
