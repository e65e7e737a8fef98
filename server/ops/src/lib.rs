//! # harvest_ops
//!
//! Plumbing that both server-side programs (the zone shard and the sidecar) need and that is
//! not game logic: where secrets come from, how logs are written, how an HTTPS client trusts a
//! private CA, and how a log line that could repeat every frame is kept to once a second.
//!
//! | module        | owns                                                                    |
//! |---------------|-------------------------------------------------------------------------|
//! | [`secrets`]   | 32-byte keys from env, a file, or a generated dev key in the data dir   |
//! | [`telemetry`] | the global `tracing` subscriber: text for people, JSON for collectors   |
//! | [`tls`]       | the process-wide rustls crypto provider and HTTPS clients with a CA file |
//! | [`throttle`]  | [`throttle::Throttle`]: "at most once per interval" for noisy warnings  |
//! | [`background`]| a named thread with its own single-threaded runtime for async work     |
//! | [`bus`]       | the cross-shard bus: NATS (with its JetStream stream) or in process     |
//! | [`metrics`]   | the process-wide Prometheus recorder behind every `/metrics`            |
//!
//! Nothing here knows about Bevy, axum routes or the database; the shard's library and the
//! sidecar both depend on this crate and never on each other.

pub mod background;
pub mod bus;
pub mod metrics;
pub mod secrets;
pub mod telemetry;
pub mod throttle;
pub mod tls;
