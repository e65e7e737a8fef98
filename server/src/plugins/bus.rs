//! The shard on the cross-shard bus (`harvest_ops::bus`; what travels is
//! `harvest_shared::events`).
//!
//! - **Events out.** Other plugins write [`Publish`] messages (a match found, a duel started or
//!   ended); this plugin adds the player events itself by watching the players' `PlayerInfo`:
//!   `player_login` when one is loaded, `zone_changed` when their zone changes (a room change,
//!   or a journey to another shard's zone), `player_logout` when they leave. `shard_up` goes
//!   out once the shard is bound and registered, `shard_down` when it stops after a drain.
//! - **Presence out.** Every [`PRESENCE_EVERY_SECS`] a snapshot of who plays here, so that a
//!   listener that started late or missed events converges (the sidecar's presence view).
//! - **Announcements in.** An operator's announcement reaches every connected client as an
//!   `AnnouncementNotice`.
//!
//! The bus runs on a thread of its own. The tick hands it events through a bounded channel and
//! never waits: when the bus is slow or NATS is away, events beyond [`OUTBOX`] are dropped and
//! counted (`harvest_shard_bus_dropped_total`). NATS is retried every few seconds until it
//! answers; the game does not depend on it.

use super::arena::MatchFound;
use super::player::{Departing, Player};
use super::shutdown::ShardState;
use super::transport::{BoundAddr, public_from_bound};
use super::{Settings, TickSet};
use crate::config::BusSetting;
use bevy::prelude::*;
use bytes::Bytes;
use harvest_ops::bus::Bus;
use harvest_ops::throttle::Throttle;
use harvest_shared::events::{
    ANNOUNCE_SUBJECT, Announcement, Event, EventKind, MAX_ANNOUNCEMENT_BYTES, PRESENCE_EVERY_SECS,
    PRESENCE_PREFIX, PresenceSnapshot, unix_ms,
};
use harvest_shared::ids::{AccountId, ZoneId};
use harvest_shared::protocol::{ActionChannel, AnnouncementNotice, PlayerInfo};
use lightyear::prelude::{Connected, MessageSender};
use std::collections::HashMap;
use std::time::Duration;
use tracing::{info, warn};

/// Events the tick may hand the bus thread before it waits on nothing and drops.
pub const OUTBOX: usize = 8192;
/// Announcements waiting for the tick.
const INBOX: usize = 64;
/// Between two attempts to reach NATS.
const RECONNECT_EVERY: Duration = Duration::from_secs(3);
/// How long the last frame waits for the bus thread to send what it holds.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(1);

/// Publish this event on the bus (stamped with the time and this shard's id).
#[derive(Message, Debug, Clone)]
pub struct Publish(pub EventKind);

enum Outbound {
    Event(Event),
    Presence(PresenceSnapshot),
    /// Send what is buffered, then say so.
    Flush(crossbeam_channel::Sender<()>),
}

/// The tick's end of the bus thread.
#[derive(Resource)]
struct BusLink {
    /// `None` when this shard has no bus.
    out: Option<tokio::sync::mpsc::Sender<Outbound>>,
    announcements: crossbeam_channel::Receiver<Announcement>,
    presence_at: Duration,
    shard_up_sent: bool,
    dropped_log: Throttle,
}

/// Counts since start (tests and the stats log read them).
#[derive(Resource, Debug, Default, Clone)]
pub struct BusStats {
    pub published: u64,
    pub dropped: u64,
    pub announcements: u64,
}

/// Who this plugin has announced as playing here, and where.
#[derive(Resource, Default)]
struct Announced(HashMap<Entity, (AccountId, ZoneId)>);

impl BusLink {
    fn send(&mut self, item: Outbound, stats: &mut BusStats, at: Duration) {
        let Some(out) = &self.out else {
            return;
        };
        match out.try_send(item) {
            Ok(()) => stats.published += 1,
            Err(_) => {
                stats.dropped += 1;
                metrics::counter!("harvest_shard_bus_dropped_total").increment(1);
                if self.dropped_log.ready(at).is_some() {
                    warn!(
                        dropped = stats.dropped,
                        "bus: events dropped (the bus is slow or away)"
                    );
                }
            }
        }
    }
}

/// Players loaded, moved or gone since the last frame become events.
fn watch_players(
    mut announced: ResMut<Announced>,
    changed: Query<(Entity, &PlayerInfo), (With<Player>, Changed<PlayerInfo>)>,
    mut gone: RemovedComponents<Player>,
    mut publish: MessageWriter<Publish>,
) {
    for entity in gone.read() {
        if let Some((player, _)) = announced.0.remove(&entity) {
            publish.write(Publish(EventKind::PlayerLogout { player }));
        }
    }
    for (entity, info) in &changed {
        match announced
            .0
            .insert(entity, (info.account, info.zone.clone()))
        {
            None => {
                publish.write(Publish(EventKind::PlayerLogin {
                    player: info.account,
                    zone: info.zone.clone(),
                }));
            }
            Some((_, from)) if from != info.zone => {
                publish.write(Publish(EventKind::ZoneChanged {
                    player: info.account,
                    from,
                    to: info.zone.clone(),
                }));
            }
            Some(_) => {}
        }
    }
}

fn watch_matches(mut found: MessageReader<MatchFound>, mut publish: MessageWriter<Publish>) {
    for MatchFound(pair) in found.read() {
        publish.write(Publish(EventKind::MatchFound {
            players: [pair[0].account, pair[1].account],
        }));
    }
}

/// `shard_up` once the socket is bound and (with a sidecar) the directory answered.
fn watch_up(
    mut link: ResMut<BusLink>,
    bound: Option<Res<BoundAddr>>,
    dir: Res<super::directory::Directory>,
    hosting: Res<super::directory::Hosting>,
    settings: Res<Settings>,
    mut publish: MessageWriter<Publish>,
) {
    let s = &settings.0;
    if link.shard_up_sent || (s.sidecar.is_some() && dir.renewals == 0) {
        return;
    }
    let Some(addr) = bound.and_then(|b| b.0) else {
        return;
    };
    link.shard_up_sent = true;
    publish.write(Publish(EventKind::ShardUp {
        incarnation: dir.incarnation,
        address: s
            .public_addr
            .unwrap_or_else(|| public_from_bound(addr))
            .to_string(),
        zones: hosting.zones.keys().cloned().collect(),
    }));
}

fn shard_down(dir: Res<super::directory::Directory>, mut publish: MessageWriter<Publish>) {
    publish.write(Publish(EventKind::ShardDown {
        incarnation: dir.incarnation,
    }));
}

fn forward(
    mut link: ResMut<BusLink>,
    mut stats: ResMut<BusStats>,
    mut publishes: MessageReader<Publish>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
) {
    let at = super::now(&time);
    for Publish(kind) in publishes.read() {
        let event = Event {
            at_ms: unix_ms(),
            shard: settings.0.shard_id.clone(),
            kind: kind.clone(),
        };
        metrics::counter!("harvest_shard_bus_events_total", "event" => kind.name()).increment(1);
        link.send(Outbound::Event(event), &mut stats, at);
    }
}

fn presence(
    mut link: ResMut<BusLink>,
    mut stats: ResMut<BusStats>,
    // A departing player is on their way elsewhere: the next shard reports them.
    players: Query<&PlayerInfo, (With<Player>, Without<Departing>)>,
    dir: Res<super::directory::Directory>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
) {
    let at = super::now(&time);
    if at < link.presence_at || !link.shard_up_sent {
        return;
    }
    link.presence_at = at + Duration::from_secs(PRESENCE_EVERY_SECS);
    let snapshot = PresenceSnapshot {
        shard: settings.0.shard_id.clone(),
        incarnation: dir.incarnation,
        at_ms: unix_ms(),
        players: players
            .iter()
            .map(|i| (i.account, i.zone.clone()))
            .collect(),
    };
    link.send(Outbound::Presence(snapshot), &mut stats, at);
}

/// Announcements from the operators go to every connected client.
fn announce(
    link: Res<BusLink>,
    mut stats: ResMut<BusStats>,
    mut links: Query<&mut MessageSender<AnnouncementNotice>, With<Connected>>,
) {
    while let Ok(a) = link.announcements.try_recv() {
        stats.announcements += 1;
        info!(text = %a.text, clients = links.iter().len(), "announcement to every player");
        for mut sender in &mut links {
            sender.send::<ActionChannel>(AnnouncementNotice {
                text: a.text.clone(),
                at_ms: a.at_ms,
            });
        }
    }
}

/// On the way out: let the bus thread send what it holds (`shard_down` included).
fn flush_at_exit(mut exits: MessageReader<AppExit>, link: Res<BusLink>) {
    if exits.read().next().is_none() {
        return;
    }
    let Some(out) = &link.out else {
        return;
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    if out.try_send(Outbound::Flush(tx)).is_ok() {
        let _ = rx.recv_timeout(FLUSH_AT_EXIT);
    }
}

/// The bus thread: connect (retrying), then publish what the tick hands over and pass
/// announcements back.
async fn run(
    setting: BusSetting,
    shard: String,
    mut out: tokio::sync::mpsc::Receiver<Outbound>,
    inbox: crossbeam_channel::Sender<Announcement>,
) {
    let bus = match setting {
        BusSetting::None => return,
        BusSetting::Local(bus) => bus,
        BusSetting::Nats(url) => loop {
            match Bus::nats(&url, &format!("harvest-shard {shard}"), RECONNECT_EVERY).await {
                Ok(bus) => {
                    info!(%url, "bus: connected to NATS");
                    break bus;
                }
                Err(e) => {
                    metrics::gauge!("harvest_shard_bus_connected").set(0.0);
                    warn!(error = %format!("{e:#}"), "bus: NATS unreachable; retrying (events wait, then drop)");
                    tokio::time::sleep(RECONNECT_EVERY).await;
                }
            }
        },
    };
    metrics::gauge!("harvest_shard_bus_connected").set(1.0);
    let listener = bus.clone();
    tokio::spawn(async move {
        let mut sub = match listener.subscribe(ANNOUNCE_SUBJECT).await {
            Ok(s) => s,
            Err(e) => return warn!(error = %e, "bus: cannot subscribe to announcements"),
        };
        while let Some(m) = sub.next().await {
            match serde_json::from_slice::<Announcement>(&m.payload) {
                Ok(a) if a.text.len() <= MAX_ANNOUNCEMENT_BYTES => {
                    let _ = inbox.try_send(a);
                }
                _ => warn!("bus: ignored a malformed or oversized announcement"),
            }
        }
    });
    while let Some(item) = out.recv().await {
        let result = match item {
            Outbound::Event(e) => match serde_json::to_vec(&e) {
                Ok(json) => bus.publish(e.subject(), Bytes::from(json)).await,
                Err(e) => Err(e.into()),
            },
            Outbound::Presence(p) => match serde_json::to_vec(&p) {
                Ok(json) => {
                    bus.publish(format!("{PRESENCE_PREFIX}.{}", p.shard), Bytes::from(json))
                        .await
                }
                Err(e) => Err(e.into()),
            },
            Outbound::Flush(done) => {
                let r = bus.flush().await;
                let _ = done.send(());
                r
            }
        };
        if let Err(e) = result {
            warn!(error = %format!("{e:#}"), "bus: publish failed");
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    let settings = app.world().resource::<Settings>().0.clone();
    let (out_tx, out_rx) = tokio::sync::mpsc::channel(OUTBOX);
    let (in_tx, in_rx) = crossbeam_channel::bounded(INBOX);
    let setting = settings.bus.clone();
    let shard = settings.shard_id.clone();
    let has_bus = !matches!(setting, BusSetting::None);
    if has_bus {
        harvest_ops::background::spawn_async("shard-bus", move || {
            run(setting, shard, out_rx, in_tx)
        });
    }
    app.add_message::<Publish>();
    app.init_resource::<BusStats>();
    app.init_resource::<Announced>();
    app.insert_resource(BusLink {
        out: has_bus.then_some(out_tx),
        announcements: in_rx,
        presence_at: Duration::ZERO,
        shard_up_sent: false,
        dropped_log: Throttle::new(Duration::from_secs(5)),
    });
    app.add_systems(
        Update,
        (
            watch_players,
            watch_matches,
            watch_up,
            forward,
            // No snapshot once draining: `shard_down` is the last word.
            presence.run_if(in_state(ShardState::Running)),
        )
            .chain()
            .in_set(TickSet::Send),
    );
    app.add_systems(OnEnter(ShardState::Stopping), shard_down);
    app.add_systems(Last, flush_at_exit);
    if settings.network {
        app.add_systems(Update, announce.in_set(TickSet::Send));
    }
}
