//! Authenticated links and accounts. On `Connected` the account is read from the connect
//! token's encrypted user data and the link gets a [`Session`], a request budget and
//! replication; on `Disconnected` the session ends. Kicks send a `KickNotice`, then insert
//! `Disconnecting` once the notice has had time to leave: lightyear 0.30 has no per-client
//! disconnect on the netcode server, and despawning a link directly would skip `Disconnected`.

use super::intents::RequestBudget;
use super::player::{Joined, Kick, Left, Session};
use super::transport::PacketBudget;
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::api::decode_user_data;
use harvest_shared::protocol::{ActionChannel, KickNotice};
use lightyear::prelude::server::{ClientOf, TokenUserData};
use lightyear::prelude::*;
use std::time::Duration;
use tracing::info;

/// Time between a `KickNotice` and the disconnect, so the notice gets out first.
pub const KICK_GRACE: Duration = Duration::from_millis(150);

/// A link told to go; disconnected once the grace period is over.
#[derive(Component)]
pub struct Kicking(pub Duration);

fn on_connected(
    trigger: On<Add, Connected>,
    links: Query<&TokenUserData, With<ClientOf>>,
    mut commands: Commands,
    mut joins: MessageWriter<Joined>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
) {
    let link = trigger.entity;
    let Ok(user_data) = links.get(link) else {
        return;
    };
    let account = decode_user_data(&user_data.0);
    commands.entity(link).insert((
        Session {
            account,
            player: None,
        },
        RequestBudget::new(&settings.0.requests, now(&time)),
        PacketBudget(RequestBudget::new(&settings.0.packets, now(&time))),
        ReplicationSender,
    ));
    joins.write(Joined { account, link });
    info!(%account, ?link, "client authenticated");
}

fn on_disconnected(
    trigger: On<Add, Disconnected>,
    links: Query<&Session>,
    mut leaves: MessageWriter<Left>,
) {
    if let Ok(session) = links.get(trigger.entity) {
        leaves.write(Left {
            account: session.account,
            link: trigger.entity,
        });
    }
}

fn send_kicks(
    mut commands: Commands,
    mut kicks: MessageReader<Kick>,
    mut senders: Query<&mut MessageSender<KickNotice>, Without<Kicking>>,
    time: Res<Time<Real>>,
) {
    // The first kick of a link wins (its `Kicking` lands only when the frame's commands apply).
    let mut told = std::collections::HashSet::new();
    for Kick { link, reason } in kicks.read() {
        if !told.insert(*link) {
            continue;
        }
        if let Ok(mut s) = senders.get_mut(*link) {
            info!(?link, ?reason, "kicking");
            s.send::<ActionChannel>(KickNotice {
                reason: reason.clone(),
            });
            commands.entity(*link).insert(Kicking(now(&time)));
        }
    }
}

fn finish_kicks(
    mut commands: Commands,
    kicking: Query<(Entity, &Kicking), With<Connected>>,
    time: Res<Time<Real>>,
) {
    let at = now(&time);
    for (link, k) in &kicking {
        if at.saturating_sub(k.0) >= KICK_GRACE {
            commands
                .entity(link)
                .insert(lightyear::connection::client::Disconnecting);
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.add_observer(on_connected).add_observer(on_disconnected);
    app.add_systems(
        Update,
        (send_kicks, finish_kicks).chain().in_set(TickSet::Send),
    );
}
