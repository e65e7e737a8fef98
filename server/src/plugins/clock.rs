//! Absolute world time for the rules. Derived from the wall clock each frame (see
//! `harvest_shared::time`), so growth is the same on every shard and across restarts.

use bevy::prelude::*;
use harvest_shared::time::Tick;

/// The current world tick. `skew` shifts it (tests and replays); it is 0 in production.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct GameClock {
    pub now: Tick,
    pub skew: u64,
}

fn advance(mut clock: ResMut<GameClock>) {
    clock.now = Tick::now().saturating_add(clock.skew);
}

pub(crate) fn plugin(app: &mut App) {
    app.insert_resource(GameClock {
        now: Tick::now(),
        skew: 0,
    });
    app.add_systems(First, advance);
}
