//! # harvest_server — the zone shard
//!
//! A headless Bevy app with a fixed tick that runs farming, the market, crafting and card
//! duels authoritatively and replicates each player's farm and holdings to that player over UDP with
//! lightyear (netcode connect tokens, encrypted).
//!
//! Layout:
//!
//! | module             | owns                                                              |
//! |--------------------|-------------------------------------------------------------------|
//! | [`config`]         | the clap `ShardConfig` and its resolved form [`ShardSettings`]    |
//! | [`content_check`]  | `harvest-server content check`: the designers' validator          |
//! | [`replay`]         | `harvest-server replay MATCH_ID`: re-simulate and check a duel    |
//! | [`runner`]         | the frame loop: every tick, and early for an awaited answer       |
//! | [`sidecar_client`] | the HTTP client for the sidecar's `/internal` routes              |
//! | [`plugins`]        | one Bevy plugin per feature, ordered by [`plugins::TickSet`]      |
//!
//! [`build_app`] is the one constructor: `main.rs`, tests and benches all call it. The shard
//! never trusts a client: requests carry no ids of entities or accounts, every request goes
//! through a rate limit and the same pure rule the client uses for feedback, and the network
//! stack runs with the patched lightyear crates under `patches/`. Any error a system or
//! observer returns is logged, never a panic: no bytes a client sends may stop the shard.
//!
//! This library does not depend on the sidecar; the `harvest-server` binary can embed one
//! (feature `embedded-sidecar`, on by default) to run the whole stack in one process.

pub mod config;
pub mod content_check;
pub mod plugins;
pub mod replay;
pub mod runner;
pub mod sidecar_client;

pub use config::{ShardConfig, ShardSettings};
pub use plugins::ServerPlugin;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;

/// The shard's error handler: an error that any system, observer or command returns is
/// logged as a warning (Bevy's default would panic), at most once a second per source, with a
/// count of those held back. Remote peers can trigger some of these at will, so neither a
/// panic nor a log line per error is acceptable.
fn log_errors(error: bevy::ecs::error::BevyError, ctx: bevy::ecs::error::ErrorContext) {
    use harvest_ops::throttle::Throttle;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::{Duration, Instant};
    static GATES: Mutex<Option<HashMap<String, Throttle>>> = Mutex::new(None);
    static START: OnceLock<Instant> = OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed();
    let source = ctx.name().to_string();
    let held_back = {
        let mut gates = GATES.lock().unwrap_or_else(|p| p.into_inner());
        let gates = gates.get_or_insert_with(HashMap::new);
        if gates.len() > 1024 {
            gates.clear(); // sources are code locations; never let the map grow without bound
        }
        gates
            .entry(source)
            .or_insert_with(|| Throttle::new(Duration::from_secs(1)))
            .ready(now)
    };
    if let Some(held_back) = held_back {
        tracing::warn!(%error, context = %ctx, held_back, "a system failed");
    }
}

/// Build the shard app. With `settings.network` off (benches, offline tests) no socket is
/// opened and requests are written straight as `plugins::intents::Incoming` messages; with
/// `settings.sidecar` off an in-memory store stands in for persistence.
pub fn build_app(settings: ShardSettings) -> App {
    let tick = settings.tick_duration();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(tick)));
    // Our own loop instead of the plugin's: the same tick, plus early frames on a wake.
    let (wake, wakes) = runner::FrameWake::new();
    app.insert_resource(wake);
    app.set_runner(runner::frame_loop(tick, wakes));
    app.add_plugins(StatesPlugin);
    // A system or observer that fails (lightyear's included) logs a warning; it never takes
    // the shard down.
    app.set_error_handler(log_errors);
    if settings.network {
        app.add_plugins(lightyear::prelude::server::ServerPlugins {
            tick_duration: tick,
        });
        app.add_plugins(harvest_shared::protocol::ProtocolPlugin);
        app.add_plugins(lightyear::prelude::RoomPlugin);
    }
    app.add_plugins(ServerPlugin { settings });
    app
}
