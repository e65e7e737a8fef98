//! A real, authenticated client that sends what no honest client would, beside an honest one.
//! The shard must keep running and keep serving the honest client through all of it.
//!
//! - Forged transport packets go through the attacker's netcode session (encrypted like any
//!   payload): lying fragment headers, thousands of message ids, junk for every message type.
//! - Forged netcode datagrams go out raw from the attacker's own address.
//! - Real `Pong`s are rewritten on arrival to carry a frame time that wraps negative.
//! - A connect token used again from another address is refused.
//! - A client sending 10,000 requests a second is limited, then disconnected.

mod common;

use bevy::prelude::*;
use bytes::{Bytes, BytesMut};
use common::wire;
use common::*;
use harvest_client::net::NetClient;
use harvest_server::plugins::intents::RequestStats;
use harvest_shared::ids::{AccountId, PlotId};
use harvest_shared::protocol::{ActionChannel, KickReason};
use lightyear::connection::ConnectionSystems;
use lightyear::link::LinkSystems;
use lightyear::prelude::server::ClientOf;
use lightyear::prelude::*;
use lightyear::transport::channel::{Channel, ChannelKind};
use lightyear::transport::plugin::TransportSystems;
use std::time::Duration;

/// Bytes a hostile client pushes past its own stack: `transport` is encrypted by netcode as a
/// payload; `raw` leaves the socket as is.
#[derive(Resource, Default)]
struct Forge {
    transport: Vec<Vec<u8>>,
    raw: Vec<Vec<u8>>,
}

fn forge_transport(mut forge: ResMut<Forge>, mut links: Query<&mut Link, With<Client>>) {
    for mut link in &mut links {
        for bytes in forge.transport.drain(..) {
            link.send.push(Bytes::from(bytes));
        }
    }
}

fn forge_raw(mut forge: ResMut<Forge>, mut links: Query<&mut Link, With<Client>>) {
    for mut link in &mut links {
        for bytes in forge.raw.drain(..) {
            link.send.push(Bytes::from(bytes));
        }
    }
}

fn arm(client: &mut NetClient) {
    client.app.init_resource::<Forge>();
    client.app.add_systems(
        PostUpdate,
        forge_transport
            .after(TransportSystems::Send)
            .before(ConnectionSystems::Send),
    );
    client.app.add_systems(
        PostUpdate,
        forge_raw
            .after(ConnectionSystems::Send)
            .before(LinkSystems::Send),
    );
}

fn channel_id<C: Channel>(server: &App) -> u16 {
    *server
        .world()
        .resource::<ChannelRegistry>()
        .get_net_from_kind(&ChannelKind::of::<C>())
        .expect("channel registered")
}

/// Step everything for `d` (real time: the network needs it).
fn settle(server: &mut App, clients: &mut [&mut NetClient], d: Duration) {
    let end = std::time::Instant::now() + d;
    while std::time::Instant::now() < end {
        server.update();
        for c in clients.iter_mut() {
            c.update();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn connected(server: &mut App, account: AccountId) -> bool {
    link_of(server, account).is_some()
}

#[test]
fn forged_fragment_headers_drop_only_the_forger() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let mut honest = stack.client_of(&mut server, stack.account("honest"));
    let ping = channel_id::<PingChannel>(&server);
    let action = channel_id::<ActionChannel>(&server);
    let cases: Vec<(&str, Vec<Vec<u8>>, bool)> = vec![
        // 2^48 fragments: before the patch, one packet aborted the process on allocation.
        (
            "huge count",
            vec![wire::fragment(1, ping, 7, 1, 1 << 48, &[])],
            true,
        ),
        // A count just over what the largest message can need.
        (
            "over the cap",
            vec![wire::fragment(1, ping, 7, 0, 1000, &[0; 64])],
            true,
        ),
        // Thousands of message ids, each opening a reassembly.
        (
            "many ids, unreliable",
            (0..2000u16)
                .map(|i| wire::fragment(i, ping, i, 1, 2, &[]))
                .collect(),
            true,
        ),
        (
            "many ids, reliable",
            (0..2000u16)
                .map(|i| wire::fragment(i, action, 100 + i, 1, 2, &[]))
                .collect(),
            true,
        ),
        // Message 0 withheld, 1,000 later ones sent: the receiver would keep them all.
        (
            "withheld id, reliable",
            (0..50u16)
                .map(|p| {
                    // 20 messages of 32 bytes: one packet stays under the MTU.
                    let batch: Vec<(u16, Vec<u8>)> =
                        (1..=20u16).map(|i| (p * 20 + i, vec![0xAB; 32])).collect();
                    wire::data_with_ids(p, action, &batch)
                })
                .collect(),
            true,
        ),
        // Lies a conforming peer can tell by accident (after an id wraps) are only dropped.
        (
            "mismatched counts",
            vec![
                wire::fragment(1, ping, 9, 1, 3, &[]),
                wire::fragment(2, ping, 9, 2, 4, &[]),
            ],
            false,
        ),
        (
            "index out of range",
            vec![wire::fragment(1, ping, 11, 5, 3, &[])],
            false,
        ),
        (
            "zero fragments",
            vec![wire::fragment(1, ping, 12, 0, 0, &[])],
            false,
        ),
        (
            "unknown channel",
            vec![wire::fragment(1, 999, 12, 1, 2, &[])],
            false,
        ),
    ];
    for (i, (name, packets, fatal)) in cases.into_iter().enumerate() {
        let account = stack.account(&format!("forger{i}"));
        let mut attacker = stack.client_of(&mut server, account);
        arm(&mut attacker);
        attacker
            .app
            .world_mut()
            .resource_mut::<Forge>()
            .transport
            .extend(packets);
        settle(
            &mut server,
            &mut [&mut honest, &mut attacker],
            Duration::from_millis(800),
        );
        assert_eq!(
            !connected(&mut server, account),
            fatal,
            "{name}: dropped iff the forgery is fatal"
        );
        if !fatal {
            assert_eq!(act(&mut server, &mut attacker, plant(1)), Ok(()), "{name}");
        }
        // The shard keeps serving the honest client.
        let plot = (i % 12) as u16;
        assert_eq!(act(&mut server, &mut honest, plant(plot)), Ok(()), "{name}");
        println!(
            "{name}: ok (rss {:.1} MB)",
            harvest_shared::procstat::rss_mb()
        );
    }
}

/// Netcode datagrams that crashed lightyear 0.30.1's parser (out-of-range sequence length,
/// packet kind past the bit mask, sequence about to overflow), and random ones, all from the
/// attacker's own address. They are ignored; nobody else notices.
#[test]
fn forged_netcode_datagrams_are_ignored() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let mut honest = stack.client_of(&mut server, stack.account("honest"));
    let raw_account = stack.account("raw");
    let mut attacker = stack.client_of(&mut server, raw_account);
    arm(&mut attacker);
    let mut raw: Vec<Vec<u8>> = vec![
        [vec![0x94], vec![0; 39]].concat(),
        [vec![0xF4], vec![0; 60]].concat(),
        [vec![0x0F], vec![0; 40]].concat(),
        [vec![0x8F], vec![0xFF; 8], vec![0; 30]].concat(),
        [vec![0x84], vec![0xFF; 8], vec![0; 30]].concat(),
        [vec![0x14], vec![0; 1100]].concat(),
        vec![0x00; 1078],
        vec![0x00],
        vec![],
    ];
    for kind in 0u8..=255 {
        raw.push([vec![kind], vec![0xAB; 48]].concat());
    }
    for _ in 0..500 {
        let len = rand::random::<u32>() as usize % 1300;
        raw.push((0..len).map(|_| rand::random()).collect());
    }
    attacker
        .app
        .world_mut()
        .resource_mut::<Forge>()
        .raw
        .extend(raw);
    settle(
        &mut server,
        &mut [&mut honest, &mut attacker],
        Duration::from_secs(1),
    );
    assert_eq!(act(&mut server, &mut honest, plant(0)), Ok(()));
    // Ignored, not punished: the attacker's own session goes on too.
    assert!(connected(&mut server, raw_account));
}

/// The shard's side of a link: rewrite every `Pong` arriving from `target` so its frame time
/// (a `u32` tick count) reads 2^31, which lightyear_sync 0.30.1 turned into a negative
/// duration and a panic.
#[derive(Resource)]
struct RewritePongs {
    target: Entity,
    ping_channel: u64,
    rewritten: usize,
}

fn rewrite_pongs(mut job: ResMut<RewritePongs>, mut links: Query<&mut Link, With<ClientOf>>) {
    let Ok(mut link) = links.get_mut(job.target) else {
        return;
    };
    let packets: Vec<BytesMut> = link.recv.drain().collect();
    for mut packet in packets {
        if let Some(messages) = wire::messages(&packet) {
            for m in messages {
                // A pong: net id (1 byte here), ping id (2), tick count (4), overstep.
                if m.channel == job.ping_channel && m.end - m.start >= 7 {
                    packet[m.start + 3..m.start + 7].copy_from_slice(&0x8000_0000u32.to_be_bytes());
                    job.rewritten += 1;
                }
            }
        }
        link.recv.push_raw(packet);
    }
}

#[test]
fn a_pong_with_a_wrapping_frame_time_does_not_crash_the_shard() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let account = stack.account("ponger");
    let mut client = stack.client_of(&mut server, account);
    let target = link_of(&mut server, account).unwrap();
    let ping_channel = u64::from(channel_id::<PingChannel>(&server));
    server.insert_resource(RewritePongs {
        target,
        ping_channel,
        rewritten: 0,
    });
    server.add_systems(
        PreUpdate,
        rewrite_pongs
            .after(ConnectionSystems::Receive)
            .before(TransportSystems::Receive),
    );
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(10),
        "pongs rewritten",
        |s, _| s.world().resource::<RewritePongs>().rewritten >= 5,
    );
    settle(&mut server, &mut [&mut client], Duration::from_millis(300));
    assert_eq!(act(&mut server, &mut client, plant(0)), Ok(()));
}

/// Messages the shard never expects from a client (every registered message type, including
/// lightyear's own server-to-client ones such as its protocol check), with junk bodies.
#[test]
fn every_message_type_with_junk_is_survived() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let mut honest = stack.client_of(&mut server, stack.account("honest"));
    let account = stack.account("junk");
    let mut attacker = stack.client_of(&mut server, account);
    arm(&mut attacker);
    let ping = channel_id::<PingChannel>(&server);
    let bodies: [&[u8]; 5] = [&[], &[0], &[0, 0, 0], &[1, 0xFF, 0xFF, 0xFF], &[0x80; 16]];
    let mut packets = Vec::new();
    for net_id in 0u64..64 {
        let messages: Vec<Vec<u8>> = bodies
            .iter()
            .map(|b| {
                let mut m = Vec::new();
                wire::varint(&mut m, net_id);
                m.extend_from_slice(b);
                m
            })
            .collect();
        packets.push(wire::data(net_id as u16, ping, &messages));
    }
    // And as many frames again: the shard must come through every one of them.
    for _ in 0..5 {
        attacker
            .app
            .world_mut()
            .resource_mut::<Forge>()
            .transport
            .extend(packets.clone());
        settle(
            &mut server,
            &mut [&mut honest, &mut attacker],
            Duration::from_millis(200),
        );
    }
    assert_eq!(act(&mut server, &mut honest, plant(0)), Ok(()));
    // A junk body that happens to decode as a `ClientHello` names other content than the
    // shard's: that client is let go, by design, with `StaleContent`. Nothing else may
    // disconnect it.
    let kicked = attacker.kicked().map(|k| k.reason);
    assert!(
        connected(&mut server, account) || kicked == Some(KickReason::StaleContent),
        "{kicked:?}"
    );
}

/// The netcode standard: a connect token may be used from one address only. A second client
/// presenting the same token from another port is refused.
#[test]
fn a_connect_token_replayed_from_another_address_is_refused() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let addr = harvest_server::plugins::transport::public_from_bound(bound_addr(&mut server));
    let account = stack.account("replayed");
    let token = stack.token(account, addr);
    let mut first = NetClient::connect(&token).unwrap();
    step_until(
        &mut server,
        &mut [&mut first],
        Duration::from_secs(10),
        "first use connects",
        |_, c| c[0].farm().is_some(),
    );
    first.disconnect();
    step_until(
        &mut server,
        &mut [],
        Duration::from_secs(5),
        "first session gone",
        |s, _| !connected(s, account),
    );
    let mut replay = NetClient::connect(&token).unwrap();
    let mut refused = 0usize;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        server.update();
        replay.update();
        let errors = server
            .world()
            .resource::<Messages<lightyear::netcode::NetcodeServerError>>();
        refused += errors
            .iter_current_update_messages()
            .filter(|e| matches!(e.error, lightyear::netcode::Error::ConnectTokenInUse(_)))
            .count();
        assert!(
            !replay.is_connected(),
            "the replayed token must not connect"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(refused > 0, "the server saw and refused the replay");
    assert!(!connected(&mut server, account));
}

/// 10,000 requests a second from one client: a token bucket admits its share, the excess is
/// dropped uncounted for answers, and the client is disconnected for flooding. Another client
/// is served all along; the shard's tick statistics are printed for the record.
#[test]
fn a_request_flood_is_limited_then_kicked() {
    let stack = Stack::start();
    let mut server = stack.shard();
    let mut honest = stack.client_of(&mut server, stack.account("honest"));
    let flooder_account = stack.account("flooder");
    let mut flooder = stack.client_of(&mut server, flooder_account);
    let before = *server.world().resource::<RequestStats>();
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    let mut honest_answers = 0;
    while start.elapsed() < Duration::from_secs(3) && flooder.kicked().is_none() {
        // 10,000 a second at the 100 Hz this loop runs: 100 per step.
        for _ in 0..100 {
            if flooder.send(plant((sent % 12) as u16)) != 0 {
                sent += 1;
            }
        }
        server.update();
        flooder.update();
        honest.update();
        if honest_answers < 5 {
            // Answered within the deadline (act fails otherwise), flood or not.
            let _ = act(
                &mut server,
                &mut honest,
                FarmAction::Water { plot: PlotId(0) },
            );
            honest_answers += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    settle(
        &mut server,
        &mut [&mut honest, &mut flooder],
        Duration::from_millis(500),
    );
    assert_eq!(
        flooder.kicked().map(|k| k.reason),
        Some(KickReason::Flooding),
        "sent {sent}"
    );
    let after = *server.world().resource::<RequestStats>();
    let settings = stack.settings().requests;
    let elapsed = start.elapsed().as_secs_f32();
    let processed = (after.accepted + after.rejected) - (before.accepted + before.rejected);
    // What reached the rules: the burst plus the sustained rate, never the flood.
    assert!(
        processed as f32 <= settings.burst + settings.rate * elapsed + honest_answers as f32 + 1.0,
        "processed {processed} in {elapsed:.1}s"
    );
    assert!(after.dropped > before.dropped);
    assert_eq!(after.flood_kicks, before.flood_kicks + 1);
    // The honest client is still served.
    assert_eq!(act(&mut server, &mut honest, plant(3)), Ok(()));
    let stats = server
        .world()
        .resource::<harvest_server::plugins::stats::TickStats>();
    let mut window = stats.window.clone();
    let (p50, p99) = harvest_shared::procstat::p50_p99(&mut window);
    println!(
        "flood: sent {sent}, processed {processed}, dropped {}, tick p50 {p50:.2} ms p99 {p99:.2} ms ({} build)",
        after.dropped - before.dropped,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
