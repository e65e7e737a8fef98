//! The shard's features, one plugin each, aggregated by [`ServerPlugin`]. Every frame runs
//! `Receive → Simulate → Persist → Send` ([`TickSet`]) in `Update`; lightyear's own receive and
//! send run in `PreUpdate` / `PostUpdate` around them. Plugins talk through Bevy `Message`s
//! (joins, leaves, requests, answers, kicks), never by reaching into each other's resources.
//!
//! | plugin          | owns                                                                  |
//! |-----------------|-----------------------------------------------------------------------|
//! | [`clock`]       | absolute world time for the rules ([`clock::GameClock`])              |
//! | [`content`]     | content hot reload at a frame boundary; clients' content check      |
//! | [`player`]      | data only: the `Session` and `Player` components, lifecycle messages |
//! | [`players`]     | joining (lease + load), taking over, leaving, letting go on refusal  |
//! | [`persistence`] | the save queue (coalesced, chunked, compare-and-swap) and load lane  |
//! | [`directory`]   | the shard's heartbeat in the sidecar's directory: zones hosted, logouts, drain requests |
//! | [`handoff`]     | passing a player to another shard: save + release, ticket, reconnect  |
//! | [`intents`]     | per-feature request intake with a token bucket per link; answers out |
//! | [`economy`]     | applying farming, market and crafting requests with their pure rules |
//! | [`arena`]       | decks, travel between zones (rooms), the arena queue and matchmaking |
//! | [`duels`]       | live duels: moves, turn timers, disconnect forfeits, match records   |
//! | [`transport`]   | the netcode server over UDP, socket buffers, the unauthenticated-link reaper |
//! | [`sessions`]    | authenticated links ↔ accounts, kicks                                 |
//! | [`replication`] | each farm replicated to its owner only, paused when idle             |
//! | [`shutdown`]    | [`ShardState`]: SIGTERM → save, confirm, kick, stop, exit code        |
//! | [`bus`]         | events, presence and announcements on the cross-shard bus (NATS)     |
//! | [`admin`]       | `/healthz`, `/readyz` and `/metrics` on `--admin-bind`                |
//! | [`stats`]       | tick duration percentiles, CPU and memory, logged every 10 s          |
//!
//! Systems read time from Bevy's `Time<Real>` (never `Instant::now()`), so tests advance time
//! instead of sleeping.

pub mod admin;
pub mod arena;
pub mod bus;
pub mod clock;
pub mod content;
pub mod directory;
pub mod duels;
pub mod economy;
pub mod handoff;
pub mod intents;
pub mod persistence;
pub mod player;
pub mod players;
pub mod replication;
pub mod sessions;
pub mod shutdown;
pub mod stats;
pub mod transport;

pub use shutdown::ShardState;

use crate::config::ShardSettings;
use bevy::prelude::*;
use harvest_shared::content::Content;
use std::sync::Arc;

/// Order of the shard's own work within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSet {
    /// Drain network requests and background replies into messages.
    Receive,
    /// Spawn and release players; apply requests with the pure rules.
    Simulate,
    /// Hand changed state to the save queue and send due batches.
    Persist,
    /// Send answers and kicks; point replication.
    Send,
}

/// The loaded, validated content, shared read-only by every system.
#[derive(Resource, Clone)]
pub struct GameContent(pub Arc<Content>);

/// The settings the app was built with.
#[derive(Resource, Clone)]
pub struct Settings(pub ShardSettings);

/// Seconds since the app started, from Bevy's real-time clock (advanced by hand in tests).
pub fn now(time: &Time<Real>) -> std::time::Duration {
    time.elapsed()
}

/// The shard: every feature plugin, in order.
pub struct ServerPlugin {
    pub settings: ShardSettings,
}

impl Plugin for ServerPlugin {
    fn build(&self, app: &mut App) {
        app.configure_sets(
            Update,
            (
                TickSet::Receive,
                TickSet::Simulate,
                TickSet::Persist,
                TickSet::Send,
            )
                .chain(),
        );
        app.insert_resource(GameContent(self.settings.content.clone()));
        app.insert_resource(Settings(self.settings.clone()));
        clock::plugin(app);
        content::plugin(app);
        player::plugin(app);
        shutdown::plugin(app);
        persistence::plugin(app);
        directory::plugin(app);
        players::plugin(app);
        handoff::plugin(app);
        intents::plugin(app);
        economy::plugin(app);
        arena::plugin(app);
        duels::plugin(app);
        bus::plugin(app);
        stats::plugin(app);
        admin::plugin(app);
        if self.settings.network {
            transport::plugin(app);
            sessions::plugin(app);
            replication::plugin(app);
        }
    }
}
