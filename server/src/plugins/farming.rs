//! Applies farming requests with the one pure rule, `harvest_shared::farming::apply`. A rule
//! that refuses changes nothing (and marks nothing changed, so nothing is replicated or saved);
//! the reason goes back to the client as a typed [`RejectReason`].

use super::clock::GameClock;
use super::intents::{Answer, Incoming, RequestStats, intake};
use super::player::Player;
use super::shutdown::ShardState;
use super::{GameContent, TickSet, now};
use bevy::prelude::*;
use harvest_shared::farming::{self, Farm, FarmAction, FarmState, Inventory};
use harvest_shared::protocol::{ActionNotice, RejectReason};
use tracing::trace;

fn apply_requests(
    mut incoming: MessageReader<Incoming<FarmAction>>,
    mut answers: MessageWriter<Answer>,
    mut stats: ResMut<RequestStats>,
    mut players: Query<(&mut Player, &mut Farm, &mut Inventory)>,
    content: Res<GameContent>,
    clock: Res<GameClock>,
    state: Res<State<ShardState>>,
    time: Res<Time<Real>>,
) {
    let running = *state.get() == ShardState::Running;
    for req in incoming.read() {
        let result = match req.player.and_then(|p| players.get_mut(p).ok()) {
            None => Err(RejectReason::NotReady),
            // Draining: the final snapshot is taken; nothing may change after it.
            Some(_) if !running => Err(RejectReason::NotReady),
            Some((mut p, mut farm, mut inv)) => {
                // Work on the inner values so a refused request does not trip change detection.
                let outcome = farming::apply(
                    &req.action,
                    FarmState {
                        farm: farm.bypass_change_detection(),
                        inventory: inv.bypass_change_detection(),
                    },
                    &content.0,
                    clock.now,
                );
                match outcome {
                    Ok(event) => {
                        farm.set_changed();
                        if event.touches_inventory() {
                            inv.set_changed();
                        }
                        p.mark_dirty(now(&time));
                        trace!(account = %p.account, ?event, "applied");
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
        answers.write(Answer {
            link: req.link,
            notice: ActionNotice {
                request_id: req.request_id,
                result,
            },
        });
    }
}

pub(crate) fn plugin(app: &mut App) {
    intake::<FarmAction>(app);
    app.add_systems(
        Update,
        apply_requests
            .in_set(TickSet::Simulate)
            .after(super::players::PlayersSet),
    );
}
