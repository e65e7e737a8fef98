//! `harvest-bots`: a swarm of headless players for tests and load runs.

use clap::Parser;
use harvest_client::bots::{self, Scenario, SwarmConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Run N bot players against a Harvest Battles sidecar + shard and write a JSON report.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Sidecar base URL.
    #[arg(
        long,
        env = "HARVEST_SIDECAR_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    sidecar_url: String,
    /// Extra CA certificate (PEM) to trust when the sidecar URL is https:// with a private CA.
    #[arg(long, env = "HARVEST_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Number of bots.
    #[arg(long, default_value_t = 10)]
    bots: usize,
    /// Run time in seconds (logins included).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    #[arg(long, value_enum, default_value_t = Scenario::Farming)]
    scenario: Scenario,
    /// Write the JSON report here (it is always printed to stdout too).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Bots are named PREFIX0 … PREFIX{N-1}; the same prefix plays the same accounts again.
    #[arg(long, default_value = "bot")]
    user_prefix: String,
    /// Password of every bot account (8-128 characters).
    #[arg(long, env = "HARVEST_BOT_PASSWORD", default_value = "bot-password")]
    password: String,
    /// Threads stepping bot apps.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Bot frames per second.
    #[arg(long, default_value_t = 20)]
    hz: u32,
    /// Concurrent logins.
    #[arg(long, default_value_t = 8)]
    login_concurrency: usize,
    /// The content directory the shard runs (bots check each move with the shared rules).
    #[arg(long, env = "HARVEST_CONTENT_DIR", default_value = "assets/data")]
    content_dir: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    harvest_client::net::init_logging();
    if cli.bots == 0 || cli.duration == 0 {
        eprintln!("harvest-bots: --bots and --duration must be at least 1");
        std::process::exit(2);
    }
    if !(8..=128).contains(&cli.password.chars().count()) {
        eprintln!("harvest-bots: --password must be 8-128 characters");
        std::process::exit(2);
    }
    let content = match harvest_shared::content::Content::load(&cli.content_dir) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => {
            eprintln!(
                "harvest-bots: cannot load content from {}:\n{e}",
                cli.content_dir.display()
            );
            std::process::exit(2);
        }
    };
    let cfg = SwarmConfig {
        sidecar_url: cli.sidecar_url,
        ca_cert: cli.ca_cert,
        bots: cli.bots,
        duration: Duration::from_secs(cli.duration),
        scenario: cli.scenario,
        user_prefix: cli.user_prefix,
        password: cli.password,
        threads: cli.threads,
        hz: cli.hz,
        login_concurrency: cli.login_concurrency,
        content,
    };
    eprintln!(
        "harvest-bots: {} bots for {} s against {}",
        cfg.bots, cli.duration, cfg.sidecar_url
    );
    let report = match bots::run(&cfg, |line| eprintln!("harvest-bots: {line}")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("harvest-bots: {e:#}");
            std::process::exit(1);
        }
    };
    let json = serde_json::to_string_pretty(&report).expect("report serializes");
    println!("{json}");
    if let Some(path) = cli.report
        && let Err(e) = std::fs::write(&path, &json)
    {
        eprintln!("harvest-bots: cannot write {}: {e}", path.display());
        std::process::exit(1);
    }
    if report.ever_connected == 0 {
        eprintln!("harvest-bots: no bot connected");
        std::process::exit(1);
    }
}
