//! A fuzz test of the shard's receive path after the netcode layer, on stable Rust.
//!
//! Packets are pushed straight into the server-side link of an authenticated client, after
//! netcode has decrypted what that client sent and before lightyear's transport parses it, so
//! everything from the transport header to our own request handling sees them: lightyear's
//! packet and fragment parsing, channel receivers, message decoding, the request intake and
//! the farming rules. The inputs are random bytes, structured packets with random or
//! boundary fields, and mutations of real traffic captured from a playing client. When a
//! fuzzed link is dropped for breaking a limit, a new client takes its place. Throughout, an
//! honest client must be served, and nothing may panic.
//!
//! CI runs 20,000 packets with a fixed seed. To run longer, or with another seed:
//!
//! ```text
//! HARVEST_FUZZ_ITERS=2000000 HARVEST_FUZZ_SEED=42 \
//!   cargo test --release -p harvest_server --test fuzz -- --nocapture
//! ```

mod common;

use bevy::prelude::*;
use bytes::BytesMut;
use common::wire;
use common::*;
use harvest_shared::ids::PlotId;
use lightyear::connection::ConnectionSystems;
use lightyear::prelude::server::ClientOf;
use lightyear::prelude::*;
use lightyear::transport::plugin::TransportSystems;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::time::Duration;

#[derive(Resource, Default)]
struct Fuzz {
    /// The link fuzzed packets are pushed into.
    target: Option<Entity>,
    queue: Vec<Vec<u8>>,
    /// A link whose real traffic is copied into the corpus.
    capture: Option<Entity>,
    corpus: Vec<Vec<u8>>,
}

fn inject(mut fuzz: ResMut<Fuzz>, mut links: Query<&mut Link, With<ClientOf>>) {
    if let Some(capture) = fuzz.capture
        && let Ok(mut link) = links.get_mut(capture)
    {
        let packets: Vec<BytesMut> = link.recv.drain().collect();
        for p in packets {
            if fuzz.corpus.len() < 2000 {
                fuzz.corpus.push(p.to_vec());
            }
            link.recv.push_raw(p);
        }
    }
    if let Some(target) = fuzz.target
        && let Ok(mut link) = links.get_mut(target)
    {
        for p in std::mem::take(&mut fuzz.queue) {
            link.recv.push_raw(BytesMut::from(&p[..]));
        }
    }
}

const INTERESTING_BYTES: [u8; 10] = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFE, 0xFF];
const INTERESTING_NUMBERS: [u64; 14] = [
    0,
    1,
    2,
    56,
    57,
    58,
    63,
    64,
    16383,
    16384,
    1 << 30,
    1 << 47,
    1 << 48,
    (1 << 62) - 1,
];

fn interesting(rng: &mut StdRng) -> u64 {
    if rng.random_bool(0.5) {
        INTERESTING_NUMBERS[rng.random_range(0..INTERESTING_NUMBERS.len())]
    } else {
        rng.random_range(0..4096)
    }
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let mut v = vec![0u8; rng.random_range(0..=max)];
    rng.fill_bytes(&mut v);
    v
}

/// One fuzzed packet.
fn generate(rng: &mut StdRng, corpus: &[Vec<u8>], channels: u64) -> Vec<u8> {
    match rng.random_range(0..10) {
        // Pure noise.
        0 => random_bytes(rng, 1400),
        // A structured data packet with random batches and messages.
        1 | 2 => {
            let mut out = Vec::new();
            wire::header(&mut out, rng.random_range(0..6), rng.random());
            for _ in 0..rng.random_range(0..4) {
                wire::varint(&mut out, rng.random_range(0..channels + 2));
                let count = rng.random_range(0..5u8);
                out.push(count);
                for _ in 0..count {
                    let tag = rng.random_range(0..3u8);
                    out.push(tag);
                    if tag != 0 {
                        out.extend_from_slice(&rng.random::<u16>().to_be_bytes());
                    }
                    let mut body = Vec::new();
                    // A message: a net id, then a body that is noise or boundary values.
                    wire::varint(&mut body, rng.random_range(0..48));
                    if rng.random_bool(0.5) {
                        body.extend(random_bytes(rng, 40));
                    } else {
                        for _ in 0..rng.random_range(0..8) {
                            wire::varint(&mut body, interesting(rng));
                        }
                    }
                    let declared = if rng.random_bool(0.9) {
                        body.len() as u64
                    } else {
                        interesting(rng)
                    };
                    wire::varint(&mut out, declared);
                    out.extend(body);
                }
            }
            out
        }
        // A fragment with boundary values in every field.
        3 | 4 => {
            let count = interesting(rng);
            let index = if rng.random_bool(0.7) {
                rng.random_range(0..count.clamp(1, 64))
            } else {
                interesting(rng)
            };
            let payload = random_bytes(rng, 1200);
            wire::fragment(
                rng.random(),
                rng.random_range(0..channels + 1) as u16,
                rng.random(),
                index,
                count,
                &payload,
            )
        }
        // Real traffic, mutated.
        _ => {
            let Some(base) =
                (!corpus.is_empty()).then(|| &corpus[rng.random_range(0..corpus.len())])
            else {
                return random_bytes(rng, 200);
            };
            let mut p = base.clone();
            for _ in 0..rng.random_range(1..6) {
                match rng.random_range(0..7) {
                    0 if !p.is_empty() => {
                        let i = rng.random_range(0..p.len());
                        p[i] ^= 1 << rng.random_range(0..8);
                    }
                    1 if !p.is_empty() => {
                        let i = rng.random_range(0..p.len());
                        p[i] = INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())];
                    }
                    2 => {
                        let i = rng.random_range(0..=p.len());
                        let extra = random_bytes(rng, 16);
                        p.splice(i..i, extra);
                    }
                    3 if !p.is_empty() => {
                        let i = rng.random_range(0..p.len());
                        let j = rng.random_range(i..=p.len());
                        p.drain(i..j);
                    }
                    4 => p.truncate(rng.random_range(0..=p.len())),
                    5 => {
                        let other = &corpus[rng.random_range(0..corpus.len())];
                        let cut = rng.random_range(0..=p.len());
                        let from = rng.random_range(0..=other.len());
                        p.truncate(cut);
                        p.extend_from_slice(&other[from..]);
                    }
                    _ => {
                        // Overwrite four bytes with a big-endian boundary number.
                        if p.len() >= 4 {
                            let i = rng.random_range(0..=p.len() - 4);
                            let v = interesting(rng) as u32;
                            p[i..i + 4].copy_from_slice(&v.to_be_bytes());
                        }
                    }
                }
            }
            p
        }
    }
}

#[test]
fn fuzz_the_receive_path_after_netcode() {
    let iterations: usize = std::env::var("HARVEST_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("HARVEST_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_F00D);
    println!("fuzz: {iterations} packets, seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let stack = Stack::start();
    let mut server = stack.shard();
    server.init_resource::<Fuzz>();
    server.add_systems(
        PreUpdate,
        inject
            .after(ConnectionSystems::Receive)
            .before(TransportSystems::Receive),
    );
    let channel_ids = server.world().resource::<ChannelRegistry>().kind_map();
    let channels = (0u16..256)
        .filter(|id| channel_ids.kind(*id).is_some())
        .count() as u64;

    // Capture real traffic from a client at play.
    let player = stack.account("corpus");
    let mut honest = stack.client_of(&mut server, player);
    server.world_mut().resource_mut::<Fuzz>().capture = link_of(&mut server, player);
    for plot in 0..6 {
        assert_eq!(act(&mut server, &mut honest, plant(plot)), Ok(()));
        let _ = act(
            &mut server,
            &mut honest,
            FarmAction::Water { plot: PlotId(plot) },
        );
    }
    server.world_mut().resource_mut::<Fuzz>().capture = None;
    let corpus = server.world().resource::<Fuzz>().corpus.clone();
    assert!(corpus.len() >= 20, "captured {} packets", corpus.len());

    let mut generation = 0usize;
    let mut fuzzed_account = stack.account("fuzzed0");
    let mut fuzzed = stack.client_of(&mut server, fuzzed_account);
    let mut replaced = 0usize;
    let mut sent = 0usize;
    const PER_STEP: usize = 25;
    while sent < iterations {
        let Some(target) = link_of(&mut server, fuzzed_account) else {
            // Dropped for breaking a limit: a new fuzzed client takes its place.
            replaced += 1;
            generation += 1;
            fuzzed_account = stack.account(&format!("fuzzed{generation}"));
            fuzzed = stack.client_of(&mut server, fuzzed_account);
            continue;
        };
        let batch: Vec<Vec<u8>> = (0..PER_STEP)
            .map(|_| generate(&mut rng, &corpus, channels))
            .collect();
        sent += batch.len();
        {
            let mut fuzz = server.world_mut().resource_mut::<Fuzz>();
            fuzz.target = Some(target);
            fuzz.queue = batch;
        }
        server.update();
        fuzzed.update();
        honest.update();
        if sent % 2000 < PER_STEP {
            // The honest client is served throughout.
            let _ = act(
                &mut server,
                &mut honest,
                FarmAction::Water { plot: PlotId(0) },
            );
            println!(
                "fuzz: {sent}/{iterations} packets, {replaced} links dropped, rss {:.1} MB",
                harvest_shared::procstat::rss_mb()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(act(&mut server, &mut honest, plant(11)), Ok(()));
    println!("fuzz: done, {sent} packets, {replaced} fuzzed links dropped for breaking a limit");
}
