//! The network edge of the shard: the lightyear netcode server over UDP.
//!
//! - Starts the server with the shared key, a raised client limit and one room per zone.
//! - On `Connected`, reads the account from the token's encrypted user data and opens a
//!   [`Session`]; on `Disconnected`, closes it.
//! - Reaps links that never authenticate (lightyear spawns one entity per new source address
//!   and never cleans them up).
//! - Turns `*Request` messages into [`Intents`], sends [`Notices`] back, points each player's
//!   replication at its own link only, and kicks through `Disconnecting` after a `KickNotice`.
//! - Pauses replication of farms that have not changed for [`PAUSE_AFTER`]: replicon scans
//!   every replicated entity for every client each tick, so idle farms would make the shard's
//!   cost grow with players². Paused entities leave the scan; their owner keeps its copy; the
//!   next change (or a new link taking the player over) resumes them.
//! - Publishes the bound address ([`BoundAddr`]) and registers the shard with the sidecar.
//!
//! No input plugin is registered: intents are messages with no entity in them, so there is no
//! input-target to spoof; the sender's link decides whose farm is touched.

use super::farming::{Intent, IntentFrom, Intents, Notices};
use super::persistence::{Job, Persistence};
use super::players::{Attached, Joins, Kicks, Leaves, Player, Session};
use super::shutdown::ShutdownState;
use super::{Settings, TickSet};
use bevy::prelude::*;
use harvest_shared::api::{PROTOCOL_ID, ShardRegistration, decode_user_data};
use harvest_shared::farming::{Farm, Inventory};
use harvest_shared::ids::ZoneId;
use harvest_shared::protocol::{
    ActionChannel, ActionNotice, HarvestRequest, KickNotice, KickReason, PlantRequest, WaterRequest,
};
use lightyear::prelude::server::{
    ClientOf, NetcodeConfig, NetcodeServer, ServerUdpIo, Start, TokenUserData,
};
use lightyear::prelude::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// Most intents taken from one link per frame; the rest are refused as rate-limited.
pub const MAX_INTENTS_PER_FRAME: usize = 16;
/// Time between a `KickNotice` and the disconnect, so the notice gets out first.
const KICK_GRACE: Duration = Duration::from_millis(150);

/// A farm unchanged for this long is paused: about 20 replication sends after its last change,
/// each of which re-sends the change until the client acknowledges it.
pub const PAUSE_AFTER: Duration = Duration::from_secs(1);

/// On a player entity whose replication is paused.
#[derive(Component)]
pub struct Paused;

/// When a player's replicated state last changed.
#[derive(Component)]
pub struct LastChange(pub Instant);

/// The UDP address the server bound (known after the first frames; port 0 resolved).
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct BoundAddr(pub Option<SocketAddr>);

/// The lightyear room of each zone this shard hosts.
#[derive(Resource, Default)]
pub struct ZoneRooms(pub HashMap<ZoneId, RoomId>);

/// When a link entity first appeared (for the reaper).
#[derive(Component)]
pub struct LinkSeen(pub Instant);

/// A link told to go; disconnected once the grace period is over.
#[derive(Component)]
pub struct Kicking(pub Instant);

fn start_server(
    mut commands: Commands,
    settings: Res<Settings>,
    mut alloc: ResMut<RoomAllocator>,
    mut rooms: ResMut<ZoneRooms>,
) {
    let s = &settings.0;
    for zone in &s.zones {
        rooms.0.insert(zone.clone(), alloc.allocate());
    }
    let mut config = NetcodeConfig::default()
        .with_protocol_id(PROTOCOL_ID)
        .with_key(s.netcode_key)
        .with_max_clients(s.max_clients);
    if let Some(public) = s.public_addr {
        config = config.with_additional_expected_addresses(vec![public]);
    }
    commands.insert_resource(ReplicationMetadata::new(s.replication_interval));
    let server = commands
        .spawn((
            NetcodeServer::new(config),
            LocalAddr(s.udp_bind),
            ServerUdpIo::default(),
        ))
        .id();
    commands.trigger(Start { entity: server });
}

/// Once the socket is bound: publish the address, size the socket buffers, join the directory.
fn on_bound(
    mut bound: ResMut<BoundAddr>,
    server: Query<&LocalAddr, (With<NetcodeServer>, With<Linked>)>,
    settings: Res<Settings>,
    mut persistence: ResMut<Persistence>,
) {
    if bound.0.is_some() {
        return;
    }
    let Ok(addr) = server.single() else { return };
    bound.0 = Some(addr.0);
    let s = &settings.0;
    if s.udp_buffer_bytes > 0 {
        socket::set_udp_buffers(addr.0, s.udp_buffer_bytes);
    }
    let public = s.public_addr.unwrap_or_else(|| public_from_bound(addr.0));
    info!(bound = %addr.0, %public, "shard listening on UDP");
    persistence.send(Job::Register(ShardRegistration {
        shard_id: s.shard_id.clone(),
        address: public.to_string(),
        zones: s.zones.clone(),
        content_version: s.content.version.clone(),
    }));
}

/// `0.0.0.0:P` is announced as `127.0.0.1:P` (netcode accepts loopback for an unspecified bind).
pub fn public_from_bound(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bound.port())
    } else {
        bound
    }
}

fn on_link_added(trigger: On<Add, LinkOf>, mut commands: Commands) {
    if let Ok(mut e) = commands.get_entity(trigger.entity) {
        e.insert(LinkSeen(Instant::now()));
    }
}

fn on_connected(
    trigger: On<Add, Connected>,
    links: Query<&TokenUserData, With<ClientOf>>,
    mut commands: Commands,
    mut joins: ResMut<Joins>,
    mut kicks: ResMut<Kicks>,
    shutdown: Res<ShutdownState>,
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
        ReplicationSender,
    ));
    if matches!(*shutdown, ShutdownState::Running) {
        joins.0.push((account, link));
    } else {
        kicks.0.push((link, KickReason::ShuttingDown));
    }
    info!(%account, ?link, "client authenticated");
}

fn on_disconnected(
    trigger: On<Add, Disconnected>,
    links: Query<&Session>,
    mut leaves: ResMut<Leaves>,
) {
    if let Ok(session) = links.get(trigger.entity) {
        leaves.0.push((session.account, trigger.entity));
    }
}

/// Despawn links that have not completed the netcode handshake in time.
fn reap_unauthenticated(
    mut commands: Commands,
    settings: Res<Settings>,
    links: Query<(Entity, &LinkSeen), (With<LinkOf>, Without<ClientOf>)>,
) {
    let timeout = settings.0.unauth_timeout;
    let mut reaped = 0usize;
    for (entity, seen) in &links {
        if seen.0.elapsed() > timeout {
            commands.entity(entity).despawn();
            reaped += 1;
        }
    }
    if reaped > 0 {
        debug!(reaped, "reaped unauthenticated links");
    }
}

type Receivers<'a> = (
    Entity,
    &'a Session,
    Option<&'a mut MessageReceiver<PlantRequest>>,
    Option<&'a mut MessageReceiver<WaterRequest>>,
    Option<&'a mut MessageReceiver<HarvestRequest>>,
);

fn receive_intents(
    mut links: Query<Receivers, With<Connected>>,
    mut intents: ResMut<Intents>,
    mut notices: ResMut<Notices>,
) {
    for (link, session, plant, water, harvest) in &mut links {
        let mut incoming: Vec<(u32, Intent)> = Vec::new();
        if let Some(mut r) = plant {
            incoming.extend(r.receive().map(|m| {
                (
                    m.request_id,
                    Intent::Plant {
                        plot: m.plot,
                        crop: m.crop,
                    },
                )
            }));
        }
        if let Some(mut r) = water {
            incoming.extend(
                r.receive()
                    .map(|m| (m.request_id, Intent::Water { plot: m.plot })),
            );
        }
        if let Some(mut r) = harvest {
            incoming.extend(
                r.receive()
                    .map(|m| (m.request_id, Intent::Harvest { plot: m.plot })),
            );
        }
        for (i, (request_id, intent)) in incoming.into_iter().enumerate() {
            if i < MAX_INTENTS_PER_FRAME {
                intents.0.push(IntentFrom {
                    link,
                    player: session.player,
                    request_id,
                    intent,
                });
            } else {
                use harvest_shared::protocol::RejectReason;
                notices.0.push((
                    link,
                    ActionNotice {
                        request_id,
                        result: Err(RejectReason::RateLimited),
                    },
                ));
            }
        }
    }
}

/// Point each newly attached player's replication at its own link, in its zone's room.
fn attach(mut commands: Commands, mut attached: ResMut<Attached>, rooms: Res<ZoneRooms>) {
    for (player, link, zone) in attached.0.drain(..) {
        let Ok(mut p) = commands.get_entity(player) else {
            continue;
        };
        p.insert(Replicate::manual(vec![link]));
        if let Some(room) = rooms.0.get(&zone) {
            p.insert(Rooms::single(*room));
            if let Ok(mut l) = commands.get_entity(link) {
                l.insert(Rooms::single(*room));
            }
        } else {
            warn!(%zone, "player is in a zone this shard does not host");
        }
    }
}

/// Resume paused farms that changed; note when each farm last changed.
fn track_changes(
    mut commands: Commands,
    changed: Query<(Entity, Has<Paused>), (With<Player>, Or<(Changed<Farm>, Changed<Inventory>)>)>,
) {
    let now = Instant::now();
    for (entity, paused) in &changed {
        let mut e = commands.entity(entity);
        e.insert(LastChange(now));
        if paused {
            e.remove::<Paused>().insert(Replicating);
        }
    }
}

/// Take farms that have been still for `PAUSE_AFTER` out of the replication scan.
fn pause_idle(
    mut commands: Commands,
    idle: Query<(Entity, &LastChange), (With<Player>, With<Replicating>, Without<Paused>)>,
) {
    for (entity, last) in &idle {
        if last.0.elapsed() >= PAUSE_AFTER {
            commands
                .entity(entity)
                .remove::<Replicating>()
                .insert(Paused);
        }
    }
}

fn send_notices(
    mut notices: ResMut<Notices>,
    mut senders: Query<&mut MessageSender<ActionNotice>>,
) {
    for (link, notice) in notices.0.drain(..) {
        if let Ok(mut s) = senders.get_mut(link) {
            s.send::<ActionChannel>(notice);
        }
    }
}

fn send_kicks(
    mut commands: Commands,
    mut kicks: ResMut<Kicks>,
    mut senders: Query<&mut MessageSender<KickNotice>, Without<Kicking>>,
) {
    for (link, reason) in kicks.0.drain(..) {
        if let Ok(mut s) = senders.get_mut(link) {
            info!(?link, ?reason, "kicking");
            s.send::<ActionChannel>(KickNotice { reason });
            commands.entity(link).insert(Kicking(Instant::now()));
        }
    }
}

fn finish_kicks(mut commands: Commands, kicking: Query<(Entity, &Kicking), With<Connected>>) {
    for (link, k) in &kicking {
        if k.0.elapsed() >= KICK_GRACE {
            // The documented way to drop one client in lightyear 0.30 (never despawn it).
            commands
                .entity(link)
                .insert(lightyear::connection::client::Disconnecting);
        }
    }
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<BoundAddr>()
        .init_resource::<ZoneRooms>();
    app.add_systems(Startup, start_server);
    app.add_observer(on_link_added)
        .add_observer(on_connected)
        .add_observer(on_disconnected);
    app.add_systems(
        Update,
        (on_bound, reap_unauthenticated, receive_intents).in_set(TickSet::Receive),
    );
    app.add_systems(
        Update,
        (
            attach,
            track_changes,
            pause_idle,
            send_notices,
            send_kicks,
            finish_kicks,
        )
            .chain()
            .in_set(TickSet::Send),
    );
}

pub mod socket {
    //! Socket buffer sizing. lightyear_udp keeps its socket private and offers no hook, so the
    //! shard finds its own UDP socket by bound port and sets `SO_RCVBUF`/`SO_SNDBUF` on it.
    //! The default ~208 KiB receive buffer drops client packets at a few hundred clients.
    #![allow(unsafe_code)]

    use std::net::SocketAddr;

    /// Best effort: logs what it got. Capped by `net.core.rmem_max` / `wmem_max`.
    pub fn set_udp_buffers(addr: SocketAddr, bytes: usize) {
        #[cfg(target_os = "linux")]
        match find_and_set(addr, bytes as libc::c_int) {
            Some((rcv, snd)) => {
                tracing::info!(rcvbuf = rcv, sndbuf = snd, "UDP socket buffers set")
            }
            None => tracing::warn!(%addr, "could not find the UDP socket to size its buffers"),
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (addr, bytes);
    }

    #[cfg(target_os = "linux")]
    fn find_and_set(addr: SocketAddr, bytes: libc::c_int) -> Option<(i32, i32)> {
        let dir = std::fs::read_dir("/proc/self/fd").ok()?;
        for ent in dir.flatten() {
            let Ok(fd) = ent.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            // SAFETY: getsockname/getsockopt/setsockopt only read/write the local buffers passed,
            // and fail harmlessly (ENOTSOCK/EBADF) on descriptors that are not sockets.
            unsafe {
                let mut storage: libc::sockaddr_storage = std::mem::zeroed();
                let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                if libc::getsockname(fd, &mut storage as *mut _ as *mut libc::sockaddr, &mut len)
                    != 0
                {
                    continue;
                }
                let port = match storage.ss_family as i32 {
                    libc::AF_INET => {
                        u16::from_be((*(&storage as *const _ as *const libc::sockaddr_in)).sin_port)
                    }
                    libc::AF_INET6 => u16::from_be(
                        (*(&storage as *const _ as *const libc::sockaddr_in6)).sin6_port,
                    ),
                    _ => continue,
                };
                let mut ty: libc::c_int = 0;
                let mut tl = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_TYPE,
                    &mut ty as *mut _ as *mut libc::c_void,
                    &mut tl,
                );
                if port != addr.port() || ty != libc::SOCK_DGRAM {
                    continue;
                }
                let set = |opt: libc::c_int| {
                    libc::setsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        opt,
                        &bytes as *const _ as *const libc::c_void,
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                    let mut out: libc::c_int = 0;
                    let mut ol = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                    libc::getsockopt(
                        fd,
                        libc::SOL_SOCKET,
                        opt,
                        &mut out as *mut _ as *mut libc::c_void,
                        &mut ol,
                    );
                    out
                };
                return Some((set(libc::SO_RCVBUF), set(libc::SO_SNDBUF)));
            }
        }
        None
    }
}
