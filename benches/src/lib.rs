//! # harvest_benches
//!
//! Criterion benchmarks (`benches/`): the pure economy rules and a headless shard tick with N
//! players and no network. Load runs with real clients use `harvest-bots`; see RESULTS.md for
//! the figures and the commands that produced them.
