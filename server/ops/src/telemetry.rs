//! Structured logging for the server-side binaries: human-readable text locally, JSON lines
//! in production (`--log-format json`). Filter with `RUST_LOG` (default `info`).

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Install the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // lightyear logs every new source address at info; keep its crates at warn by default.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,lightyear_udp=warn,lightyear_netcode=warn,lightyear_connection=warn,lightyear_replication=warn,bevy_replicon=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
