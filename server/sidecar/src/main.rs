//! `harvest-sidecar`: the accounts / tokens / persistence service on its own.

use anyhow::Context;
use clap::{Parser, Subcommand};
use harvest_ops::telemetry::{self, LogFormat};
use harvest_sidecar::{Sidecar, SidecarConfig};

/// Harvest Battles sidecar: accounts, login, connect tokens, shard directory, persistence.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// Without a command: serve.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    sidecar: SidecarConfig,
    /// Log format: text for people, json for log collectors.
    #[arg(long, env = "HARVEST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Check every account's economy: the sum of its ledger equals its holdings, asset by
    /// asset. Prints a report; exits 0 when every account agrees, 1 when any does not (or the
    /// database cannot be read).
    Audit {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The database to audit (default: SQLite at DATA_DIR/harvest.db).
        #[arg(long, env = "HARVEST_DATABASE_URL")]
        database_url: Option<String>,
        /// The sidecar's data directory (for the default SQLite database).
        #[arg(long, env = "HARVEST_DATA_DIR", default_value = "./data")]
        data_dir: std::path::PathBuf,
    },
    /// Give an account the operator role (the admin routes: `GET /v1/shards`, drain), or take
    /// it away. Exits 0 when done, 1 when there is no such account or the database fails.
    Admin {
        #[command(subcommand)]
        change: AdminChange,
        /// The database (default: SQLite at DATA_DIR/harvest.db).
        #[arg(long, env = "HARVEST_DATABASE_URL", global = true)]
        database_url: Option<String>,
        /// The sidecar's data directory (for the default SQLite database).
        #[arg(
            long,
            env = "HARVEST_DATA_DIR",
            default_value = "./data",
            global = true
        )]
        data_dir: std::path::PathBuf,
    },
}

#[derive(Subcommand, Clone)]
enum AdminChange {
    /// Make USERNAME an operator.
    Grant { username: String },
    /// Make USERNAME a player again.
    Revoke { username: String },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Some(Command::Audit {
        json,
        database_url,
        data_dir,
    }) = &cli.command
    {
        let mut cfg = SidecarConfig::for_data_dir(data_dir);
        cfg.database_url.clone_from(database_url);
        std::process::exit(audit(&cfg, *json).await);
    }
    if let Some(Command::Admin {
        change,
        database_url,
        data_dir,
    }) = &cli.command
    {
        let mut cfg = SidecarConfig::for_data_dir(data_dir);
        cfg.database_url.clone_from(database_url);
        std::process::exit(admin(&cfg, change.clone()).await);
    }
    telemetry::init(cli.log_format);
    if let Err(e) = run(cli).await {
        eprintln!("harvest-sidecar: {e:#}");
        std::process::exit(1);
    }
}

async fn audit(cfg: &SidecarConfig, json: bool) -> i32 {
    let url = cfg.effective_database_url();
    let report = match harvest_sidecar::db::Db::connect(&url).await {
        Ok(db) => db.audit().await.map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("harvest-sidecar audit: {e:#}");
            return 1;
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("harvest-sidecar audit: {e}");
                return 1;
            }
        }
    } else {
        for m in &report.mismatches {
            println!(
                "MISMATCH account {}: {}: ledger sum {}, holding {}",
                m.account_id, m.asset, m.ledger_sum, m.holding
            );
        }
        println!(
            "audited {} accounts, {} ledger entries: {}",
            report.accounts,
            report.entries,
            if report.mismatches.is_empty() {
                "every holding equals its ledger".to_owned()
            } else {
                format!("{} mismatches", report.mismatches.len())
            }
        );
    }
    i32::from(!report.mismatches.is_empty())
}

async fn admin(cfg: &SidecarConfig, change: AdminChange) -> i32 {
    let (username, grant) = match &change {
        AdminChange::Grant { username } => (username, true),
        AdminChange::Revoke { username } => (username, false),
    };
    let url = cfg.effective_database_url();
    let done = match harvest_sidecar::db::Db::connect(&url).await {
        Ok(db) => db
            .set_admin(username, grant)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(true) => {
            let role = if grant { "an operator" } else { "a player" };
            println!("{username} is now {role}");
            0
        }
        Ok(false) => {
            eprintln!("harvest-sidecar admin: no account named '{username}'");
            1
        }
        Err(e) => {
            eprintln!("harvest-sidecar admin: {e:#}");
            1
        }
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
