//! # harvest_server — the zone shard
//!
//! A headless Bevy app with a fixed tick that runs farming authoritatively and replicates each
//! player's farm to that player over UDP with lightyear (netcode connect tokens, encrypted).
//!
//! Layout:
//!
//! | module                 | owns                                                               |
//! |------------------------|--------------------------------------------------------------------|
//! | [`config`]             | the clap `ShardConfig` and its resolved form [`ShardSettings`]     |
//! | [`sidecar_client`]     | the HTTP client for the sidecar's `/internal` routes               |
//! | [`plugins`]            | one Bevy plugin per feature, ordered by [`plugins::TickSet`]       |
//! | `plugins::clock`       | absolute world time ([`plugins::clock::GameClock`])                |
//! | `plugins::network`     | netcode server, sessions, link reaper, kicks, intents in / notices out |
//! | `plugins::players`     | loading, spawning and releasing player entities                    |
//! | `plugins::farming`     | applying intents with the pure rules from `harvest_shared::farming` |
//! | `plugins::persistence` | the background save/load worker (never blocks the tick)            |
//! | `plugins::shutdown`    | SIGTERM/SIGINT: save everyone, tell them, disconnect, exit 0       |
//! | `plugins::stats`       | tick duration percentiles, CPU and memory, logged every 10 s       |
//!
//! [`build_app`] is the one constructor: `main.rs`, tests and benches all call it. The shard
//! never trusts a client: intents carry no ids of entities or accounts, and every intent is
//! checked by the same rule function the client uses for feedback.

pub mod config;
pub mod plugins;
pub mod sidecar_client;

pub use config::{ShardConfig, ShardSettings};
pub use plugins::ServerPlugin;

use bevy::app::ScheduleRunnerPlugin;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;

/// Build the shard app. With `settings.network` off (benches) no socket is opened and intents
/// are pushed straight into [`plugins::farming::Intents`].
pub fn build_app(settings: ShardSettings) -> App {
    let tick = settings.tick_duration();
    let mut app = App::new();
    app.add_plugins(MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(tick)));
    app.add_plugins(StatesPlugin);
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
