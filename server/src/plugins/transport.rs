//! The netcode server over UDP: start it with the shared key, a raised client limit, one room
//! per zone and the receive limits of the patched transport; size the socket buffers once
//! bound; reap links that never authenticate.
//!
//! lightyear spawns a link entity for every new source address, before any authentication.
//! The reaper despawns those that have not completed the handshake within
//! `--unauth-timeout-ms`; the patched `lightyear_udp` then forgets their address, so a
//! spoofed-source flood leaves neither entities nor map entries behind.
//!
//! The patched transport refuses fragmented messages that would reassemble to more than
//! [`MAX_MESSAGE_BYTES`], more than [`MAX_REASSEMBLIES`] reassemblies at once on one channel,
//! and more than [`MAX_BUFFERED_MESSAGES`] messages held back on a reliable channel; a link
//! that breaks any of these rules is dropped (see `patches/README.md`).
//!
//! A connection request with a valid connect token is reported as [`Arriving`] as soon as
//! netcode has checked it (through netcode's connection-request hook), a frame before the
//! handshake completes, so the player's state is loading while the handshake finishes; and
//! the frame loop is asked for an early frame [`HANDSHAKE_RECHECK`] later, when the client's
//! answer to the challenge is due, so the handshake does not wait a whole tick for it.

use super::intents::{RequestBudget, RequestStats};
use super::player::{Arriving, Kick};
use super::{Settings, TickSet, now};
use bevy::prelude::*;
use harvest_shared::api::{PROTOCOL_ID, account_of_client_id};
use harvest_shared::ids::ZoneId;
use harvest_shared::protocol::KickReason;
use harvest_shared::protocol::MAX_MESSAGE_BYTES;
use lightyear::connection::ConnectionSystems;
use lightyear::connection::shared::{ConnectionRequestHandler, DeniedReason};
use lightyear::link::LinkSystems;
use lightyear::prelude::server::{ClientOf, NetcodeConfig, NetcodeServer, ServerUdpIo, Start};
use lightyear::prelude::*;
use lightyear::transport::prelude::ReceiveLimits;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Partial fragmented messages a client may have in flight on one channel.
pub const MAX_REASSEMBLIES: usize = 8;
/// Messages a reliable channel may hold back waiting for a missing earlier one. An honest client
/// sends a few dozen requests at most before its oldest is acknowledged.
pub const MAX_BUFFERED_MESSAGES: usize = 256;

/// The UDP address the server bound (known after the first frames; port 0 resolved).
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct BoundAddr(pub Option<SocketAddr>);

/// The lightyear room of each zone this shard hosts.
#[derive(Resource, Default)]
pub struct ZoneRooms(pub HashMap<ZoneId, RoomId>);

/// When a link entity first appeared (for the reaper).
#[derive(Component)]
pub struct LinkSeen(pub Duration);

/// Unauthenticated links reaped since start.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct Reaped(pub u64);

/// After a connection request is answered with a challenge, the client's response is looked
/// for this much later (an early frame, see `crate::runner`) rather than at the next tick.
pub const HANDSHAKE_RECHECK: Duration = Duration::from_millis(20);

/// Connection requests noted between two frames, at most (more are simply not noted: the
/// players load once connected instead).
pub const MAX_ARRIVALS_NOTED: usize = 4096;

/// Netcode's connection-request hook: it runs for each request whose connect token checked out
/// (right key, unexpired, this server's address, not replayed from elsewhere) and never
/// refuses one; it only passes the client id on to the tick. Requests are resent until
/// answered, so one client is reported several times; `note_arrivals` keeps the first.
#[derive(Debug)]
struct NoteArrivals(crossbeam_channel::Sender<u64>);

impl ConnectionRequestHandler for NoteArrivals {
    fn handle_request(&self, client_id: PeerId) -> Option<DeniedReason> {
        if let PeerId::Netcode(id) = client_id {
            let _ = self.0.try_send(id);
        }
        None
    }
}

/// The tick's end of [`NoteArrivals`].
#[derive(Resource)]
struct ArrivalsNoted(crossbeam_channel::Receiver<u64>);

/// On each authenticated link: its packet budget (`--max-packets-per-second`), counted before
/// the packets are decrypted or parsed, so junk that never becomes a request counts too.
#[derive(Component, Debug, Clone)]
pub struct PacketBudget(pub RequestBudget);

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
    let (noted, arrivals) = crossbeam_channel::bounded(MAX_ARRIVALS_NOTED);
    commands.insert_resource(ArrivalsNoted(arrivals));
    let mut config = NetcodeConfig::default()
        .with_protocol_id(PROTOCOL_ID)
        .with_key(s.netcode_key)
        .with_max_clients(s.max_clients)
        .with_connection_request_handler(Arc::new(NoteArrivals(noted)));
    if let Some(public) = s.public_addr {
        config = config.with_additional_expected_addresses(vec![public]);
    }
    commands.insert_resource(ReplicationMetadata::new(s.replication_interval));
    commands.insert_resource(ReceiveLimits {
        max_message_size: MAX_MESSAGE_BYTES,
        max_concurrent_reassemblies: MAX_REASSEMBLIES,
        max_buffered_messages: MAX_BUFFERED_MESSAGES,
    });
    let server = commands
        .spawn((
            NetcodeServer::new(config),
            LocalAddr(s.udp_bind),
            ServerUdpIo::default(),
        ))
        .id();
    commands.trigger(Start { entity: server });
}

/// Once the socket is bound: publish the address and size the socket buffers.
fn on_bound(
    mut bound: ResMut<BoundAddr>,
    server: Query<&LocalAddr, (With<NetcodeServer>, With<Linked>)>,
    settings: Res<Settings>,
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
}

/// `0.0.0.0:P` is announced as `127.0.0.1:P` (netcode accepts loopback for an unspecified bind).
pub fn public_from_bound(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bound.port())
    } else {
        bound
    }
}

/// A client id noted is not noted again for this long (its client resends the request until
/// answered): only a new handshake loads a player or asks for an early frame.
pub const ARRIVAL_MEMORY: Duration = Duration::from_secs(5);

/// Pass on the accounts whose connection requests netcode accepted since the last frame, each
/// client id once per [`ARRIVAL_MEMORY`].
fn note_arrivals(
    noted: Option<Res<ArrivalsNoted>>,
    mut arriving: MessageWriter<Arriving>,
    wake: Option<Res<crate::runner::FrameWake>>,
    time: Res<Time<Real>>,
    mut seen: Local<HashMap<u64, Duration>>,
) {
    let Some(noted) = noted else { return };
    let at = now(&time);
    let mut any = false;
    for id in noted.0.try_iter() {
        if seen
            .get(&id)
            .is_some_and(|t| at.saturating_sub(*t) < ARRIVAL_MEMORY)
        {
            continue;
        }
        if seen.len() >= MAX_ARRIVALS_NOTED {
            seen.retain(|_, t| at.saturating_sub(*t) < ARRIVAL_MEMORY);
            if seen.len() >= MAX_ARRIVALS_NOTED {
                continue; // a flood of fresh handshakes: they load once connected
            }
        }
        seen.insert(id, at);
        any = true;
        if let Some(account) = account_of_client_id(id) {
            arriving.write(Arriving { account });
        }
    }
    if any && let Some(wake) = wake {
        wake.wake_in(HANDSHAKE_RECHECK);
    }
}

fn on_link_added(trigger: On<Add, LinkOf>, time: Res<Time<Real>>, mut commands: Commands) {
    if let Ok(mut e) = commands.get_entity(trigger.entity) {
        e.insert(LinkSeen(now(&time)));
    }
}

/// Despawn links that have not completed the netcode handshake in time, and the oldest ones
/// beyond `--max-pending-links`.
fn reap_unauthenticated(
    mut commands: Commands,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
    links: Query<(Entity, &LinkSeen), (With<LinkOf>, Without<ClientOf>)>,
    mut total: ResMut<Reaped>,
    mut young: Local<Vec<(Duration, Entity)>>,
) {
    let at = now(&time);
    let timeout = settings.0.unauth_timeout;
    young.clear();
    let mut reaped = 0u64;
    for (entity, seen) in &links {
        if at.saturating_sub(seen.0) > timeout {
            commands.entity(entity).despawn();
            reaped += 1;
        } else {
            young.push((seen.0, entity));
        }
    }
    let cap = settings.0.max_pending_links;
    if young.len() > cap {
        // Only the oldest are dropped: partition, don't sort.
        let over = young.len() - cap;
        if cap > 0 {
            young.select_nth_unstable_by_key(over, |(seen, _)| *seen);
        }
        for (_, entity) in &young[..over] {
            commands.entity(*entity).despawn();
            reaped += 1;
        }
    }
    if reaped > 0 {
        total.0 += reaped;
        debug!(reaped, "reaped unauthenticated links");
    }
}

/// Count each authenticated link's incoming packets against its budget; a link far over it is
/// disconnected for flooding, and what it sends while the kick goes out is thrown away unread.
fn meter_packets(
    mut links: Query<(Entity, &mut Link, &mut PacketBudget), (With<ClientOf>, With<Connected>)>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
    mut kicks: MessageWriter<Kick>,
    mut stats: ResMut<RequestStats>,
    mut scratch: Local<Vec<lightyear::link::RecvPayload>>,
) {
    let limits = &settings.0.packets;
    let at = now(&time);
    let mut bytes = 0usize;
    for (link, mut l, mut budget) in &mut links {
        bytes += recv_bytes(&mut l, &mut scratch);
        if budget.0.is_kicked() {
            l.recv.drain();
            continue;
        }
        for _ in 0..l.recv.len() {
            budget.0.admit(limits, at);
        }
        if budget.0.flood_kick(limits, &mut stats) {
            l.recv.drain();
            warn!(?link, "packet flood: disconnecting");
            kicks.write(Kick {
                link,
                reason: KickReason::Flooding,
            });
        }
    }
    metrics::counter!("harvest_shard_bytes_received_total").increment(bytes as u64);
}

/// Bytes waiting in `link`'s receive queue (lightyear offers no peek outside its test
/// features: the packets are taken out into `scratch`, a buffer reused across frames, and put
/// back in order).
fn recv_bytes(link: &mut Mut<Link>, scratch: &mut Vec<lightyear::link::RecvPayload>) -> usize {
    let link = link.bypass_change_detection();
    scratch.extend(std::iter::from_fn(|| link.recv.pop()));
    let bytes = scratch.iter().map(|p| p.len()).sum();
    for p in scratch.drain(..) {
        link.recv.push_raw(p);
    }
    bytes
}

/// What the shard sends its authenticated clients this frame, for `/metrics` (the same
/// take-out-and-put-back, through a reused buffer).
fn meter_sent(
    mut links: Query<&mut Link, (With<ClientOf>, With<Connected>)>,
    mut scratch: Local<Vec<lightyear::link::SendPayload>>,
) {
    let mut bytes = 0usize;
    for mut l in &mut links {
        let l = l.bypass_change_detection();
        scratch.extend(std::iter::from_fn(|| l.send.pop()));
        bytes += scratch.iter().map(|p| p.len()).sum::<usize>();
        for p in scratch.drain(..) {
            l.send.push(p);
        }
    }
    metrics::counter!("harvest_shard_bytes_sent_total").increment(bytes as u64);
}

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<BoundAddr>()
        .init_resource::<ZoneRooms>()
        .init_resource::<Reaped>();
    app.add_systems(Startup, start_server);
    app.add_observer(on_link_added);
    app.add_systems(
        Update,
        (on_bound, reap_unauthenticated, note_arrivals).in_set(TickSet::Receive),
    );
    app.add_systems(
        PreUpdate,
        meter_packets
            .after(LinkSystems::Receive)
            .before(ConnectionSystems::Receive),
    );
    app.add_systems(
        PostUpdate,
        meter_sent
            .after(ConnectionSystems::Send)
            .before(LinkSystems::Send),
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
