//! Player lifecycle: a session (one authenticated link) asks for its account; the state is
//! loaded through persistence; the player entity (`Player`, `PlayerInfo`, `Farm`, `Inventory`)
//! is spawned and attached to the link; when the link goes, the state is saved and the entity
//! released. The same account connecting again takes its live entity over, so two links never
//! drive one farm and nothing is loaded twice.
//!
//! This plugin knows nothing about sockets: the network plugin pushes [`Joins`] and [`Leaves`]
//! and acts on [`Attached`] and [`Kicks`]; benches push joins for fake links.

use super::persistence::{Job, LoadReplies, Persistence, snapshot};
use super::{GameContent, TickSet};
use bevy::prelude::*;
use harvest_shared::api::PlayerSave;
use harvest_shared::farming::{Farm, Inventory};
use harvest_shared::ids::{AccountId, ZoneId};
use harvest_shared::protocol::{KickReason, PlayerInfo};
use harvest_shared::state::PlayerState;
use std::collections::HashMap;
use std::time::Instant;
use tracing::{error, info};

/// On a link entity: the account it authenticated as, and its player entity once loaded.
#[derive(Component, Debug, Clone)]
pub struct Session {
    pub account: AccountId,
    pub player: Option<Entity>,
}

/// On a player entity: server-only bookkeeping (not replicated).
#[derive(Component, Debug)]
pub struct Player {
    pub account: AccountId,
    pub link: Option<Entity>,
    /// Version of the last save handed to persistence (or loaded).
    pub version: i64,
    /// When the oldest unsaved change happened.
    pub dirty_since: Option<Instant>,
}

impl Player {
    pub fn mark_dirty(&mut self) {
        self.dirty_since.get_or_insert_with(Instant::now);
    }

    /// The next versioned save of `state`; clears the dirty mark.
    pub fn next_save(&mut self, state: PlayerState) -> PlayerSave {
        self.version += 1;
        self.dirty_since = None;
        PlayerSave {
            account_id: self.account,
            version: self.version,
            state,
        }
    }
}

/// Who is online or loading on this shard.
#[derive(Resource, Default, Debug)]
pub struct Players {
    pub online: HashMap<AccountId, Entity>,
    /// Account → the link waiting for its load.
    pub loading: HashMap<AccountId, Entity>,
}

/// Links that authenticated this frame.
#[derive(Resource, Default)]
pub struct Joins(pub Vec<(AccountId, Entity)>);
/// Links that went away this frame.
#[derive(Resource, Default)]
pub struct Leaves(pub Vec<(AccountId, Entity)>);
/// Players attached to a link this frame (the network plugin points replication at the link).
#[derive(Resource, Default)]
pub struct Attached(pub Vec<(Entity, Entity, ZoneId)>);
/// Links to disconnect, with the reason to tell them.
#[derive(Resource, Default)]
pub struct Kicks(pub Vec<(Entity, KickReason)>);

fn process_joins(
    mut joins: ResMut<Joins>,
    mut players: ResMut<Players>,
    mut persistence: ResMut<Persistence>,
    mut entities: Query<(&mut Player, &PlayerInfo)>,
    mut sessions: Query<&mut Session>,
    mut attached: ResMut<Attached>,
    mut kicks: ResMut<Kicks>,
) {
    for (account, link) in joins.0.drain(..) {
        if let Some(&player) = players.online.get(&account) {
            let Ok((mut p, info)) = entities.get_mut(player) else {
                continue;
            };
            if let Some(old) = p.link.replace(link).filter(|old| *old != link) {
                kicks.0.push((old, KickReason::LoggedInElsewhere));
                if let Ok(mut s) = sessions.get_mut(old) {
                    s.player = None;
                }
            }
            if let Ok(mut s) = sessions.get_mut(link) {
                s.player = Some(player);
            }
            attached.0.push((player, link, info.zone.clone()));
            info!(%account, "session took over a live player");
        } else if let Some(old) = players.loading.insert(account, link) {
            if old != link {
                kicks.0.push((old, KickReason::LoggedInElsewhere));
            }
        } else {
            persistence.send(Job::Load(account));
        }
    }
}

fn process_loads(
    mut commands: Commands,
    mut replies: ResMut<LoadReplies>,
    mut players: ResMut<Players>,
    mut sessions: Query<&mut Session>,
    content: Res<GameContent>,
    mut attached: ResMut<Attached>,
    mut kicks: ResMut<Kicks>,
) {
    for (account, result) in replies.0.drain(..) {
        let Some(link) = players.loading.remove(&account) else {
            continue;
        };
        let Ok(mut session) = sessions.get_mut(link) else {
            continue;
        };
        match result {
            Ok(stored) => {
                let is_new = stored.state.is_none();
                let state = stored
                    .state
                    .unwrap_or_else(|| PlayerState::new_player(&content.0));
                let mut player = Player {
                    account,
                    link: Some(link),
                    version: stored.version,
                    dirty_since: None,
                };
                if is_new {
                    // Persist the starting state right away so the account has a farm on record.
                    player.mark_dirty();
                }
                let zone = state.zone.clone();
                let entity = commands
                    .spawn((
                        player,
                        PlayerInfo {
                            account,
                            zone: zone.clone(),
                        },
                        state.farm,
                        state.inventory,
                    ))
                    .id();
                players.online.insert(account, entity);
                session.player = Some(entity);
                attached.0.push((entity, link, zone));
                info!(%account, version = stored.version, is_new, "player loaded");
            }
            Err(e) => {
                error!(%account, error = %e, "loading player state failed");
                kicks.0.push((link, KickReason::LoadFailed));
            }
        }
    }
}

fn process_leaves(
    mut commands: Commands,
    mut leaves: ResMut<Leaves>,
    mut players: ResMut<Players>,
    mut persistence: ResMut<Persistence>,
    mut entities: Query<(&mut Player, &PlayerInfo, &Farm, &Inventory)>,
) {
    for (account, link) in leaves.0.drain(..) {
        if players.loading.get(&account) == Some(&link) {
            players.loading.remove(&account);
        }
        let Some(&entity) = players.online.get(&account) else {
            continue;
        };
        let Ok((mut p, info, farm, inv)) = entities.get_mut(entity) else {
            continue;
        };
        if p.link != Some(link) {
            continue; // another link took this player over
        }
        if p.dirty_since.is_some() {
            let save = p.next_save(snapshot(info, farm, inv));
            persistence.send(Job::Save(vec![save]));
        }
        players.online.remove(&account);
        commands.entity(entity).despawn();
        info!(%account, "player left");
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<Players>()
        .init_resource::<Joins>()
        .init_resource::<Leaves>()
        .init_resource::<Attached>()
        .init_resource::<Kicks>();
    app.add_systems(
        Update,
        (process_leaves, process_joins, process_loads)
            .chain()
            .in_set(TickSet::Simulate)
            .in_set(PlayersSet),
    );
}

/// The player lifecycle systems, which run before intents are applied.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayersSet;
