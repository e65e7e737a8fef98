//! Garbage UDP from many source ports must not leave link entities behind (lightyear spawns
//! one per new address and never reaps them), must not crash the shard, and a real client
//! must still get in afterwards.

mod common;

use bevy::prelude::*;
use common::*;
use harvest_client::net::NetClient;
use harvest_server::ShardSettings;
use harvest_shared::api::{PROTOCOL_ID, encode_user_data};
use harvest_shared::ids::AccountId;
use lightyear::prelude::LinkOf;
use lightyear::prelude::server::ClientOf;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn unauthenticated_links(server: &mut App) -> usize {
    let mut q = server
        .world_mut()
        .query_filtered::<Entity, (With<LinkOf>, Without<ClientOf>)>();
    q.iter(server.world()).count()
}

#[test]
fn flood_leaves_no_links_and_real_client_connects() {
    let key: [u8; 32] = rand::random();
    let settings = ShardSettings::for_tests(content(), key, None);
    let timeout = settings.unauth_timeout;
    let mut server = ready(harvest_server::build_app(settings));
    let addr = bound_addr(&mut server);

    // 10,000 random datagrams from 500 source ports, sent while the shard keeps ticking.
    let sender = std::thread::spawn(move || {
        let mut sent = 0;
        for _ in 0..500 {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            for _ in 0..20 {
                let len = 1 + (rand::random::<u32>() % 1100) as usize;
                let junk: Vec<u8> = (0..len).map(|_| rand::random()).collect();
                if sock.send_to(&junk, addr).is_ok() {
                    sent += 1;
                }
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        sent
    });
    let mut peak = 0;
    while !sender.is_finished() {
        server.update();
        peak = peak.max(unauthenticated_links(&mut server));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(sender.join().unwrap(), 10_000);
    let flood_end = Instant::now();
    for _ in 0..20 {
        server.update();
        peak = peak.max(unauthenticated_links(&mut server));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        peak >= 100,
        "the flood should have created link entities (peak {peak})"
    );

    // After the unauthenticated timeout every one of them is gone.
    step_until(&mut server, &mut [], timeout * 3, "links reaped", |s, _| {
        flood_end.elapsed() > timeout && unauthenticated_links(s) == 0
    });

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
    let mut q = server
        .world_mut()
        .query_filtered::<Entity, With<ClientOf>>();
    assert_eq!(q.iter(server.world()).count(), 1);
}
