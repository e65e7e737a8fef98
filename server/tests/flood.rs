//! A spoofed-source flood: garbage UDP from 10,000 distinct source addresses (40 loopback IPs
//! × 250 ports), twice. lightyear spawns a link entity and an address-map entry for every new
//! source; the shard's reaper despawns the links that never authenticate and the patched
//! lightyear_udp forgets their addresses. Measured here:
//!
//! - entities and map entries return to zero after each round;
//! - memory stays flat: the second round, as large as the first, grows RSS by little;
//! - log volume stays flat: no line at INFO or above from the network stack, per source or
//!   per packet (lightyear logged one per new address, and a WARN per malformed request);
//! - and a real client still gets in afterwards.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_client::net::NetClient;
use harvest_server::ShardSettings;
use harvest_shared::api::{PROTOCOL_ID, encode_user_data};
use harvest_shared::ids::AccountId;
use lightyear::prelude::LinkOf;
use lightyear::prelude::server::{ClientOf, ServerUdpIo};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;

/// Log events at INFO or above from the network stack (lightyear, replicon, netcode).
static NETWORK_LOG_LINES: AtomicU64 = AtomicU64::new(0);

struct CountNetworkLogs;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountNetworkLogs {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() <= tracing::Level::INFO
            && (meta.target().starts_with("lightyear")
                || meta.target().starts_with("bevy_replicon"))
        {
            NETWORK_LOG_LINES.fetch_add(1, Ordering::Relaxed);
            eprintln!("network log: {} {}", meta.level(), meta.target());
        }
    }
}

fn unauthenticated_links(server: &mut App) -> usize {
    let mut q = server
        .world_mut()
        .query_filtered::<Entity, (With<LinkOf>, Without<ClientOf>)>();
    q.iter(server.world()).count()
}

fn mapped_addresses(server: &mut App) -> usize {
    let mut q = server.world_mut().query::<&ServerUdpIo>();
    q.iter(server.world())
        .map(|io| io.connected_addresses().len())
        .sum()
}

/// 10,000 distinct sources, two datagrams each, while the shard keeps ticking. A quarter of
/// them look like connection requests (first byte 0, netcode's request size).
fn flood(server: &mut App, addr: SocketAddr) -> usize {
    let sender = std::thread::spawn(move || {
        let mut sent = 0;
        for ip in 2..42u8 {
            for _ in 0..250 {
                let Ok(sock) = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, ip), 0)) else {
                    continue;
                };
                for _ in 0..2 {
                    let junk: Vec<u8> = if rand::random::<u8>() < 64 {
                        let mut v: Vec<u8> = (0..1078).map(|_| rand::random()).collect();
                        v[0] = 0;
                        v
                    } else {
                        let len = 1 + (rand::random::<u32>() % 1100) as usize;
                        (0..len).map(|_| rand::random()).collect()
                    };
                    if sock.send_to(&junk, addr).is_ok() {
                        sent += 1;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        sent
    });
    let mut peak = 0;
    while !sender.is_finished() {
        server.update();
        peak = peak.max(unauthenticated_links(server));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(sender.join().unwrap() >= 19_000, "the flood was sent");
    peak
}

#[test]
fn spoofed_source_flood_leaves_nothing_behind_and_stays_quiet() {
    let subscriber = tracing_subscriber::registry().with(CountNetworkLogs);
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let key: [u8; 32] = rand::random();
    let settings = ShardSettings::for_tests(content(), key, None);
    let timeout = settings.unauth_timeout;
    let mut server = ready(harvest_server::build_app(settings));
    let addr = bound_addr(&mut server);
    // Start-up lines (the socket bound...) are not what is measured.
    let before = NETWORK_LOG_LINES.load(Ordering::Relaxed);

    let mut rss = Vec::new();
    for round in 1..=2 {
        let peak = flood(&mut server, addr);
        assert!(
            peak >= 1000,
            "round {round}: the flood created links (peak {peak})"
        );
        let flood_end = Instant::now();
        step_until(&mut server, &mut [], timeout * 4, "reaped", |s, _| {
            flood_end.elapsed() > timeout
                && unauthenticated_links(s) == 0
                && mapped_addresses(s) == 0
        });
        for _ in 0..10 {
            server.update();
        }
        let now = harvest_shared::procstat::rss_mb();
        println!(
            "round {round}: peak {peak} links, then 0 links and 0 mapped addresses; rss {now:.1} MB; network log lines at INFO+ during the floods: {}",
            NETWORK_LOG_LINES.load(Ordering::Relaxed) - before
        );
        rss.push(now);
    }
    assert!(
        rss[1] - rss[0] < 16.0,
        "memory grew by {:.1} MB in a second flood as large as the first",
        rss[1] - rss[0]
    );
    assert_eq!(
        NETWORK_LOG_LINES.load(Ordering::Relaxed) - before,
        0,
        "the network stack logged at INFO or above during the flood"
    );

    // A real client with a valid token still gets in and receives its farm.
    let token = lightyear::netcode::ConnectToken::build(
        harvest_server::plugins::transport::public_from_bound(addr),
        PROTOCOL_ID,
        rand::random::<u64>().max(1),
        key,
    )
    .user_data(encode_user_data(AccountId(7)))
    .generate()
    .unwrap()
    .try_into_bytes()
    .unwrap();
    use base64::Engine as _;
    let mut client =
        NetClient::connect(&base64::engine::general_purpose::STANDARD.encode(token)).unwrap();
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(10),
        "real client farm",
        |_, c| c[0].farm().is_some(),
    );
    assert_eq!(client.farm().unwrap().0.account, AccountId(7));
    // Its link is authenticated and survives the reaper.
    std::thread::sleep(timeout + Duration::from_millis(200));
    step_until(
        &mut server,
        &mut [&mut client],
        Duration::from_secs(2),
        "still connected",
        |_, c| c[0].is_connected(),
    );
    assert_eq!(mapped_addresses(&mut server), 1);
}
