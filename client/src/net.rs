//! The lightyear client side, without any window: [`add_network`] adds the client plugins and
//! the protocol to an app, [`connect`] starts a connection with a connect token from
//! `/v1/play`, and [`NetClient`] wraps a whole headless app (used by bots and tests).
//!
//! Received notices are collected into [`Inbox`]; byte counters and the RTT are kept in
//! [`NetStats`] so bots can report them.

use base64::Engine as _;
use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use harvest_shared::action::{Action, Request};
use harvest_shared::api::PlayResponse;
use harvest_shared::farming::Farm;
use harvest_shared::inventory::{Collection, Inventory};
use harvest_shared::protocol::{
    ActionChannel, ActionNotice, AnnouncementNotice, ClientHello, ContentNotice, KickNotice,
    KickReason, PlayerInfo, ProtocolPlugin,
};
use lightyear::connection::ConnectionSystems;
use lightyear::link::LinkSystems;
use lightyear::netcode::ConnectToken;
use lightyear::prelude::client::{ClientPlugins, NetcodeClient, NetcodeConfig};
use lightyear::prelude::*;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("connect token is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("connect token is malformed")]
    Token,
    #[error("cannot create the netcode client: {0}")]
    Netcode(String),
}

/// What the server told us, oldest first. Drained by whoever reads it.
#[derive(Resource, Default, Debug)]
pub struct Inbox {
    pub notices: Vec<ActionNotice>,
    pub kicked: Option<KickNotice>,
    /// The shard's content version, when it announced a change (hot reload).
    pub content_version: Option<String>,
    /// Announcements from the operators not read yet (the last [`MAX_ANNOUNCEMENTS`]).
    pub announcements: std::collections::VecDeque<AnnouncementNotice>,
    /// Announcements received since start.
    pub announcements_received: u64,
}

/// Announcements kept unread at most.
pub const MAX_ANNOUNCEMENTS: usize = 16;

/// Traffic and link quality, for reports.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct NetStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub rtt: Duration,
}

impl NetStats {
    /// The traffic of both, and the later one's RTT.
    fn then(self, later: NetStats) -> NetStats {
        NetStats {
            bytes_in: self.bytes_in + later.bytes_in,
            bytes_out: self.bytes_out + later.bytes_out,
            rtt: later.rtt,
        }
    }
}

/// Client plugins, the protocol and our bookkeeping systems. Call before `finish()`.
pub fn add_network(app: &mut App, tick: Duration) {
    app.add_plugins(ClientPlugins {
        tick_duration: tick,
    });
    // Required with lightyear's default `prediction` feature, or the client panics on sync.
    app.insert_resource(PredictionManager::default());
    app.add_plugins(ProtocolPlugin);
    app.init_resource::<Inbox>().init_resource::<NetStats>();
    app.add_systems(
        PreUpdate,
        count_in
            .after(LinkSystems::Receive)
            .before(ConnectionSystems::Receive),
    );
    app.add_systems(
        PostUpdate,
        count_out
            .after(ConnectionSystems::Send)
            .before(LinkSystems::Send),
    );
    app.add_systems(Update, read_messages);
}

/// Decode a base64 connect token (as `/v1/play` returns it).
pub fn decode_token(b64: &str) -> Result<ConnectToken, NetError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim())?;
    ConnectToken::try_from_bytes(&bytes).map_err(|_| NetError::Token)
}

/// The netcode client's packet pace while it has nothing else to send: its handshake answers
/// and keepalives. netcode's default (10 a second) holds the answer to the server's challenge
/// up to 100 ms after the request went out; at this pace it goes with the client's next frame,
/// which shortens every connection (logins, handoffs). Payload packets count as sent packets,
/// so a playing client sends no extra keepalives.
pub const NETCODE_PACE: f64 = 1.0 / 30.0;

/// Spawn the client entity and start connecting. Returns the client entity.
pub fn connect(world: &mut World, token: ConnectToken) -> Result<Entity, NetError> {
    let config = NetcodeConfig {
        keepalive_packet_send_rate: NETCODE_PACE,
        ..NetcodeConfig::default()
    };
    let netcode = NetcodeClient::new(Authentication::Token(token), config)
        .map_err(|e| NetError::Netcode(format!("{e:?}")))?;
    let entity = world
        .spawn((
            Client,
            LocalAddr(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0)),
            UdpIo::default(),
            ReplicationReceiver,
            netcode,
        ))
        .id();
    world.trigger(Connect { entity });
    Ok(entity)
}

// The link queues have no public iterator in 0.30; take each payload out and put it back.
fn count_in(mut q: Query<&mut Link, With<Client>>, mut stats: ResMut<NetStats>) {
    for mut link in &mut q {
        let link = link.bypass_change_detection();
        let mut held = Vec::with_capacity(link.recv.len());
        while let Some(p) = link.recv.pop() {
            stats.bytes_in += p.len() as u64;
            held.push(p);
        }
        for p in held {
            link.recv.push_raw(p);
        }
        stats.rtt = link.stats.rtt;
    }
}

fn count_out(mut q: Query<&mut Link, With<Client>>, mut stats: ResMut<NetStats>) {
    for mut link in &mut q {
        let link = link.bypass_change_detection();
        let mut held = Vec::with_capacity(link.send.len());
        while let Some(p) = link.send.pop() {
            stats.bytes_out += p.len() as u64;
            held.push(p);
        }
        for p in held {
            link.send.push(p);
        }
    }
}

fn read_messages(
    mut notices: Query<&mut MessageReceiver<ActionNotice>, With<Client>>,
    mut contents: Query<&mut MessageReceiver<ContentNotice>, With<Client>>,
    mut kicks: Query<&mut MessageReceiver<KickNotice>, With<Client>>,
    mut announced: Query<&mut MessageReceiver<AnnouncementNotice>, With<Client>>,
    mut inbox: ResMut<Inbox>,
    clients: Query<Entity, (With<Client>, With<Connected>)>,
    mut commands: Commands,
) {
    for mut r in &mut notices {
        inbox.notices.extend(r.receive());
    }
    for mut r in &mut contents {
        if let Some(c) = r.receive().last() {
            info!(version = %c.version, "the shard's content changed");
            inbox.content_version = Some(c.version);
        }
    }
    for mut r in &mut announced {
        for a in r.receive() {
            info!(text = %a.text, "announcement");
            inbox.announcements_received += 1;
            if inbox.announcements.len() == MAX_ANNOUNCEMENTS {
                inbox.announcements.pop_front();
            }
            inbox.announcements.push_back(a);
        }
    }
    for mut r in &mut kicks {
        if let Some(k) = r.receive().last() {
            info!(reason = ?k.reason, "kicked by the server");
            inbox.kicked = Some(k);
            // Leave at once instead of waiting for the timeout.
            for c in &clients {
                commands.trigger(Disconnect { entity: c });
            }
        }
    }
}

/// Send one request of any feature (`FarmAction`, ...) from the (single) client entity in
/// `world`. Returns false when not connected.
pub fn send_request<A: Action>(world: &mut World, request_id: u32, action: A) -> bool {
    let mut q = world.query_filtered::<Entity, (With<Client>, With<Connected>)>();
    let Some(client) = q.iter(world).next() else {
        return false;
    };
    match world
        .entity_mut(client)
        .get_mut::<MessageSender<Request<A>>>()
    {
        Some(mut s) => {
            s.send::<ActionChannel>(Request { request_id, action });
            true
        }
        None => false,
    }
}

/// Tell the shard which content this client runs (right after connecting): a shard running
/// other content lets the client go with `KickReason::StaleContent`. False when not connected.
pub fn send_hello(world: &mut World, content_version: &str) -> bool {
    let mut q = world.query_filtered::<Entity, (With<Client>, With<Connected>)>();
    let Some(client) = q.iter(world).next() else {
        return false;
    };
    match world
        .entity_mut(client)
        .get_mut::<MessageSender<ClientHello>>()
    {
        Some(mut s) => {
            s.send::<ActionChannel>(ClientHello {
                content_version: content_version.to_owned(),
            });
            true
        }
        None => false,
    }
}

/// The replicated farm and inventory of this player, if they have arrived.
pub fn my_farm(world: &mut World) -> Option<(PlayerInfo, Farm, Inventory)> {
    let mut q = world.query::<(&PlayerInfo, &Farm, &Inventory)>();
    q.iter(world)
        .next()
        .map(|(p, f, i)| (p.clone(), f.clone(), i.clone()))
}

/// A complete headless client app, stepped by hand. One per bot: lightyear supports a single
/// `Client` per app.
pub struct NetClient {
    pub app: App,
    pub client: Entity,
    next_request: u32,
    /// Traffic of the connections before a handoff.
    carried: NetStats,
}

impl NetClient {
    /// Build the app and start connecting with the base64 token from `/v1/play`.
    pub fn connect(token_b64: &str) -> Result<NetClient, NetError> {
        let token = decode_token(token_b64)?;
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin));
        add_network(&mut app, Duration::from_millis(50));
        app.finish();
        app.cleanup();
        let client = connect(app.world_mut(), token)?;
        Ok(NetClient {
            app,
            client,
            next_request: 1,
            carried: NetStats::default(),
        })
    }

    /// Connect anew with `token_b64` (a handoff ticket, or a new `/v1/play` answer), dropping
    /// the old connection and everything it replicated. Traffic counters carry on. The first
    /// connection request goes out now, not at the next frame.
    pub fn reconnect(&mut self, token_b64: &str) -> Result<(), NetError> {
        let next = NetClient::connect(token_b64)?;
        self.carried = self.stats();
        let announcements = self.announcements_received();
        self.app = next.app;
        self.client = next.client;
        self.app
            .world_mut()
            .resource_mut::<Inbox>()
            .announcements_received = announcements;
        self.app.update();
        Ok(())
    }

    /// The shard handed this player off (`KickReason::Handoff`): connect to the new shard
    /// with the ticket. Returns the ticket followed, or `None` when there was no handoff.
    pub fn follow_handoff(&mut self) -> Result<Option<PlayResponse>, NetError> {
        let Some(KickNotice {
            reason: KickReason::Handoff(ticket),
        }) = self.kicked()
        else {
            return Ok(None);
        };
        info!(to = %ticket.shard_id, zone = %ticket.zone, "handed off: connecting to the new shard");
        self.reconnect(&ticket.connect_token)?;
        Ok(Some(*ticket))
    }

    pub fn update(&mut self) {
        self.app.update();
    }

    pub fn is_connected(&self) -> bool {
        self.app.world().get::<Connected>(self.client).is_some()
    }

    pub fn is_disconnected(&self) -> bool {
        self.app.world().get::<Disconnected>(self.client).is_some()
    }

    /// Send a request; returns its request id (0 if not connected).
    pub fn send<A: Action>(&mut self, action: A) -> u32 {
        let id = self.next_request;
        if send_request(self.app.world_mut(), id, action) {
            self.next_request = self.next_request.wrapping_add(1).max(1);
            id
        } else {
            0
        }
    }

    pub fn farm(&mut self) -> Option<(PlayerInfo, Farm, Inventory)> {
        my_farm(self.app.world_mut())
    }

    /// Say which content this client runs (see [`send_hello`]).
    pub fn hello(&mut self, content_version: &str) -> bool {
        send_hello(self.app.world_mut(), content_version)
    }

    /// This player's card collection, once replicated.
    pub fn collection(&mut self) -> Option<Collection> {
        self.replicated::<Collection>()
    }

    /// This player's duel, if in one: its board and their seat (the board whose match the seat
    /// names: a finished duel's board may linger a frame).
    pub fn duel(
        &mut self,
    ) -> Option<(
        harvest_shared::duel::view::DuelBoard,
        harvest_shared::duel::view::DuelSeat,
    )> {
        let seat = self.replicated::<harvest_shared::duel::view::DuelSeat>()?;
        let world = self.app.world_mut();
        let mut q = world.query::<&harvest_shared::duel::view::DuelBoard>();
        let board = q.iter(world).find(|b| b.match_id == seat.match_id)?.clone();
        Some((board, seat))
    }

    /// A replicated component this client sees once (its `Decks`, `ArenaStatus`, `DuelSeat`,
    /// or the `DuelBoard` of its duel: a client is sent no other player's).
    pub fn replicated<T: Component + Clone>(&mut self) -> Option<T> {
        let world = self.app.world_mut();
        let mut q = world.query::<&T>();
        q.iter(world).next().cloned()
    }

    pub fn take_notices(&mut self) -> Vec<ActionNotice> {
        std::mem::take(&mut self.app.world_mut().resource_mut::<Inbox>().notices)
    }

    /// Announcements received since this client started (across reconnects).
    pub fn announcements_received(&self) -> u64 {
        self.app.world().resource::<Inbox>().announcements_received
    }

    /// Take the announcements not read yet, oldest first.
    pub fn take_announcements(&mut self) -> Vec<AnnouncementNotice> {
        self.app
            .world_mut()
            .resource_mut::<Inbox>()
            .announcements
            .drain(..)
            .collect()
    }

    pub fn kicked(&self) -> Option<KickNotice> {
        self.app.world().resource::<Inbox>().kicked.clone()
    }

    pub fn stats(&self) -> NetStats {
        self.carried.then(*self.app.world().resource::<NetStats>())
    }

    pub fn disconnect(&mut self) {
        self.app.world_mut().trigger(Disconnect {
            entity: self.client,
        });
        for _ in 0..3 {
            self.app.update();
        }
    }
}

/// Structured logs to stderr (`RUST_LOG` filters; default warnings only, so bots stay quiet).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tokens_are_typed_errors() {
        assert!(matches!(
            decode_token("not base64 !!!"),
            Err(NetError::Base64(_))
        ));
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 10]);
        assert!(matches!(decode_token(&short), Err(NetError::Token)));
    }

    #[test]
    fn a_real_token_decodes() {
        let bytes = ConnectToken::build(
            "127.0.0.1:5000".parse::<SocketAddr>().unwrap(),
            1,
            2,
            [3; 32],
        )
        .generate()
        .unwrap()
        .try_into_bytes()
        .unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(decode_token(&b64).is_ok());
    }
}
