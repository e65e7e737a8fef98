//! Applies farming intents with the pure rules of `harvest_shared::farming`. A rule that
//! refuses changes nothing (and marks nothing changed, so nothing is replicated or saved); the
//! reason goes back to the client as a typed [`RejectReason`].

use super::clock::GameClock;
use super::players::Player;
use super::shutdown::ShutdownState;
use super::{GameContent, TickSet};
use bevy::prelude::*;
use harvest_shared::farming::{self, Farm, Inventory};
use harvest_shared::ids::{CropId, PlotId};
use harvest_shared::protocol::{ActionNotice, RejectReason};
use tracing::trace;

/// A farming intent, as received from a client (already stripped of transport details).
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    Plant { plot: PlotId, crop: CropId },
    Water { plot: PlotId },
    Harvest { plot: PlotId },
}

/// One intent from one link.
#[derive(Clone, Debug)]
pub struct IntentFrom {
    pub link: Entity,
    /// The link's player, if loaded.
    pub player: Option<Entity>,
    pub request_id: u32,
    pub intent: Intent,
}

/// Intents waiting to be applied this frame.
#[derive(Resource, Default)]
pub struct Intents(pub Vec<IntentFrom>);

/// Answers waiting to be sent this frame: (link, notice).
#[derive(Resource, Default)]
pub struct Notices(pub Vec<(Entity, ActionNotice)>);

/// Counters since start.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct ActionStats {
    pub accepted: u64,
    pub rejected: u64,
}

fn apply_intents(
    mut intents: ResMut<Intents>,
    mut notices: ResMut<Notices>,
    mut stats: ResMut<ActionStats>,
    mut players: Query<(&mut Player, &mut Farm, &mut Inventory)>,
    content: Res<GameContent>,
    clock: Res<GameClock>,
    shutdown: Res<ShutdownState>,
) {
    let now = clock.now;
    for IntentFrom {
        link,
        player,
        request_id,
        intent,
    } in intents.0.drain(..)
    {
        let result = match player.and_then(|p| players.get_mut(p).ok()) {
            None => Err(RejectReason::NotReady),
            Some(_) if !matches!(*shutdown, ShutdownState::Running) => Err(RejectReason::NotReady),
            Some((mut p, mut farm, mut inv)) => {
                // Work on the inner values so a refused intent does not trip change detection.
                let (f, i) = (
                    farm.bypass_change_detection(),
                    inv.bypass_change_detection(),
                );
                let outcome = match &intent {
                    Intent::Plant { plot, crop } => {
                        farming::plant(f, i, *plot, crop, &content.0, now)
                    }
                    Intent::Water { plot } => farming::water(f, *plot, &content.0, now),
                    Intent::Harvest { plot } => farming::harvest(f, i, *plot, &content.0, now),
                };
                match outcome {
                    Ok(event) => {
                        farm.set_changed();
                        if !matches!(intent, Intent::Water { .. }) {
                            inv.set_changed();
                        }
                        p.mark_dirty();
                        trace!(account = %p.account, ?event, "intent applied");
                        Ok(())
                    }
                    Err(e) => Err(RejectReason::Farm(e)),
                }
            }
        };
        if result.is_ok() {
            stats.accepted += 1;
        } else {
            stats.rejected += 1;
        }
        notices.0.push((link, ActionNotice { request_id, result }));
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Intents>()
        .init_resource::<Notices>()
        .init_resource::<ActionStats>();
    app.add_systems(
        Update,
        apply_intents
            .in_set(TickSet::Simulate)
            .after(super::players::PlayersSet),
    );
}
