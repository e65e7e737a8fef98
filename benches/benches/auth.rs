//! The sidecar's login hot path pieces: one argon2id hash (m = 19 MiB, t = 2, p = 1) through
//! the bounded hashing pool, and issuing / verifying an access token. The hash time is the
//! reference for P3 (logins/s) and P4 (login → first state).

use criterion::{Criterion, criterion_group, criterion_main};
use harvest_sidecar::auth::password::Hasher;
use harvest_sidecar::auth::tokens::TokenKeys;
use std::hint::black_box;

fn auth(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let hasher = Hasher::new(1);
    let mut g = c.benchmark_group("auth");
    g.sample_size(20);
    g.bench_function("argon2id_hash", |b| {
        b.iter(|| {
            rt.block_on(hasher.hash(black_box("correct horse battery".into())))
                .expect("hash")
        })
    });
    let phc = rt
        .block_on(hasher.hash("correct horse battery".into()))
        .expect("hash");
    g.bench_function("argon2id_verify", |b| {
        b.iter(|| {
            rt.block_on(hasher.verify(black_box("correct horse battery".into()), Some(phc.clone())))
                .expect("verify")
        })
    });
    g.finish();
    let keys = TokenKeys::new(&[7; 32]);
    let token = keys
        .issue_access(42, "session", 1_900_000_000, 900)
        .expect("issue");
    c.bench_function("access_token_issue", |b| {
        b.iter(|| keys.issue_access(black_box(42), "session", 1_900_000_000, 900))
    });
    c.bench_function("access_token_verify", |b| {
        b.iter(|| keys.verify_access(black_box(&token)))
    });
}

criterion_group!(benches, auth);
criterion_main!(benches);
