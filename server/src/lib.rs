//! # harvest_server — the zone shard
//!
//! A headless Bevy app with a fixed tick that runs farming authoritatively and replicates each
//! player's farm to that player over UDP with lightyear (netcode connect tokens, encrypted).
//!
//! Layout:
//!
//! | module             | owns                                                              |
//! |--------------------|-------------------------------------------------------------------|
//! | [`config`]         | the clap `ShardConfig` and its resolved form [`ShardSettings`]    |
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
pub mod plugins;
pub mod sidecar_client;

pub use config::{ShardConfig, ShardSettings};
pub use plugins::ServerPlugin;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;

/// Build the shard app. With `settings.network` off (benches, offline tests) no socket is
/// opened and requests are written straight as `plugins::intents::Incoming` messages; with
/// `settings.sidecar` off an in-memory store stands in for persistence.
pub fn build_app(settings: ShardSettings) -> App {
    let tick = settings.tick_duration();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(tick)));
    app.add_plugins(StatesPlugin);
    // A system or observer that fails (lightyear's included) logs a warning; it never takes
    // the shard down.
    app.set_error_handler(bevy::ecs::error::warn);
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
