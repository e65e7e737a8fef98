//! Persistence throughput (P6): one batch of compare-and-swap saves of 500 players into the
//! sidecar's database, SQLite in WAL mode (the embedded default), as a shard's save queue sends
//! it. Each save is one conditional UPDATE in the batch's transaction; a save carrying ledger
//! entries adds a savepoint and, per entry, its rows and the holdings it moves. Throughput in
//! saves/s is the batch size divided by the time per batch.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harvest_shared::api::{LedgerEntry, MAX_SAVES_PER_BATCH, PlayerSave, SaveOutcome};
use harvest_shared::content::Content;
use harvest_shared::ids::{AccountId, ItemId};
use harvest_shared::inventory::Holdings;
use harvest_shared::ledger::{Delta, EntryKind};
use harvest_shared::state::PlayerState;
use harvest_sidecar::db::Db;
use harvest_sidecar::db::accounts::CreateAccount;

/// One save per account, all on `version`, each carrying `ledger`.
fn batch(
    accounts: &[AccountId],
    version: i64,
    state: &PlayerState,
    ledger: &[LedgerEntry],
) -> Vec<PlayerSave> {
    accounts
        .iter()
        .map(|a| PlayerSave {
            account_id: *a,
            epoch: 1,
            base_version: version,
            state: state.clone(),
            ledger: ledger.to_vec(),
            release: false,
        })
        .collect()
}

fn saves(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let content =
        Content::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/data")).expect("content");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = rt.block_on(Db::connect(&url)).expect("database");
    let mut state = PlayerState::new_player(&content, AccountId(1));
    let accounts: Vec<AccountId> = (0..MAX_SAVES_PER_BATCH)
        .map(|i| {
            let CreateAccount::Created(id) = rt
                .block_on(db.create_account(&format!("p{i}"), "x", 0))
                .expect("account")
            else {
                panic!("fresh name")
            };
            rt.block_on(db.take_lease(id, "bench", 0, &Holdings::start(&content), false))
                .expect("lease");
            AccountId(id)
        })
        .collect();
    let mut version = 0i64;
    let mut g = c.benchmark_group("persistence");
    g.throughput(Throughput::Elements(MAX_SAVES_PER_BATCH as u64));
    g.sample_size(20);
    g.bench_function("sqlite_cas_batch_500", |b| {
        b.iter(|| {
            state.farm.seed = state.farm.seed.wrapping_add(1);
            let batch = batch(&accounts, version, &state, &[]);
            let results = rt
                .block_on(db.save_states("bench", &batch, 0))
                .expect("saves");
            assert!(results.iter().all(|r| r.outcome.is_confirmed()));
            version += 1;
        })
    });
    // The same with two economy events per save (a purchase and a sale, netting to zero), as
    // a batch of busy traders sends them: state and ledger commit together.
    let seed = ItemId::new("radish_seed");
    let mut seq = 0u64;
    g.bench_function("sqlite_cas_batch_500_with_2_ledger_entries", |b| {
        b.iter(|| {
            state.farm.seed = state.farm.seed.wrapping_add(1);
            let entry = |seq: u64, kind, coins: i64, n: i64| LedgerEntry {
                key: format!("1:{seq}"),
                kind,
                detail: "radish_seed".into(),
                delta: Delta::coins(coins).item(&seed, n),
            };
            let ledger = vec![
                entry(seq, EntryKind::Buy, -2, 1),
                entry(seq + 1, EntryKind::Sell, 2, -1),
            ];
            seq += 2;
            let batch = batch(&accounts, version, &state, &ledger);
            let results = rt
                .block_on(db.save_states("bench", &batch, 0))
                .expect("saves");
            assert!(results.iter().all(|r| r.outcome == SaveOutcome::Saved));
            version += 1;
        })
    });
    g.finish();
}

criterion_group!(benches, saves);
criterion_main!(benches);
