//! `harvest-sidecar`: the accounts / tokens / persistence service on its own.

use anyhow::Context;
use clap::Parser;
use harvest_ops::telemetry::{self, LogFormat};
use harvest_sidecar::{Sidecar, SidecarConfig};

/// Harvest Battles sidecar: accounts, login, connect tokens, shard directory, persistence.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    sidecar: SidecarConfig,
    /// Log format: text for people, json for log collectors.
    #[arg(long, env = "HARVEST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    if let Err(e) = run(cli).await {
        eprintln!("harvest-sidecar: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let sidecar = Sidecar::start(&cli.sidecar)
        .await
        .context("starting the sidecar")?;
    println!(
        "harvest-sidecar listening on {} (database: {})",
        sidecar.url(),
        sidecar.state.db.backend()
    );
    if sidecar.internal_addr != sidecar.addr {
        println!(
            "  internal routes (shards only): {}",
            sidecar.internal_url()
        );
    }
    sidecar.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
