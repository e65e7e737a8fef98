//! The shard's features, one plugin each, aggregated by [`ServerPlugin`]. Every frame runs
//! `Receive → Simulate → Persist → Send` ([`TickSet`]) in `Update`; lightyear's own receive and
//! send run in `PreUpdate` / `PostUpdate` around them.

pub mod clock;
pub mod farming;
pub mod network;
pub mod persistence;
pub mod players;
pub mod shutdown;
pub mod stats;

use crate::config::ShardSettings;
use bevy::prelude::*;
use harvest_shared::content::Content;
use std::sync::Arc;

/// Order of the shard's own work within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickSet {
    /// Drain network intents and background replies into queues.
    Receive,
    /// Apply intents with the pure rules; spawn and release players.
    Simulate,
    /// Hand dirty state to the persistence worker.
    Persist,
    /// Send notices and kicks.
    Send,
}

/// The loaded, validated content, shared read-only by every system.
#[derive(Resource, Clone)]
pub struct GameContent(pub Arc<Content>);

/// The settings the app was built with.
#[derive(Resource, Clone)]
pub struct Settings(pub ShardSettings);

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
        persistence::plugin(app);
        players::plugin(app);
        farming::plugin(app);
        shutdown::plugin(app);
        stats::plugin(app);
        if self.settings.network {
            network::plugin(app);
        } else {
            // Nobody sends these without a network; drop them each frame (benches, app tests).
            app.add_systems(
                Last,
                |mut n: ResMut<farming::Notices>,
                 mut k: ResMut<players::Kicks>,
                 mut a: ResMut<players::Attached>| {
                    n.0.clear();
                    k.0.clear();
                    a.0.clear();
                },
            );
        }
    }
}
