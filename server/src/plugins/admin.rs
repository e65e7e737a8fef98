//! `/healthz`, `/readyz` and `/metrics` on `--admin-bind`, for Kubernetes probes, Prometheus
//! and operators.
//!
//! - `/healthz`: 200 while the tick loop runs (503 once it has not ticked for
//!   [`STALL_AFTER`]: the process is alive but stuck).
//! - `/readyz`: 200 when the shard takes players: bound, running (not draining), and its
//!   sidecar reachable and accepting its requests. Otherwise 503 with the reasons, e.g. a
//!   wrong service secret shows as `sidecar rejects this shard's requests (saves, 401)`.
//!
//! - `/metrics`: Prometheus text (`harvest_ops::metrics`). The shard's series:
//!   `harvest_shard_players` (the HPA's players-per-shard metric), `_players_loading`,
//!   `_saves_owed`, `_duels_live`, `_ready`; `harvest_shard_tick_seconds` (histogram of frame
//!   durations); `_bytes_received_total` and `_bytes_sent_total` (authenticated clients'
//!   packets); `_saves_total{outcome=confirmed|duplicate|refused}` and
//!   `_save_batches_failed_total`; `_handoffs_total{outcome=started|completed|failed}` and
//!   `harvest_shard_handoff_seconds` (start to ticket); `_intents_rejected_total{reason}` and
//!   `_intents_dropped_total` (over the rate limit); `_bus_events_total{event}`,
//!   `_bus_dropped_total` and `_bus_connected`.
//!
//! `/healthz` and `/readyz` answer JSON, and include the counts an operator looks at first.
//! The server runs on a thread of its own and only reads a snapshot the tick refreshes each
//! frame (the metrics recorder is lock-free and shared).

use super::persistence::{SaveQueue, SidecarHealth};
use super::players::Players;
use super::shutdown::ShardState;
use super::{Settings, TickSet};
use axum::Json;
use axum::http::StatusCode;
use axum::routing::get;
use bevy::prelude::*;
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracing::{error, info};

/// How often the tick's counts are copied into the metrics recorder.
const EXPORT_EVERY: Duration = Duration::from_secs(1);

/// `/healthz` fails when the tick loop has not run for this long.
pub const STALL_AFTER: Duration = Duration::from_secs(10);

/// What the probes report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    pub ready: bool,
    pub reasons: Vec<String>,
    pub state: String,
    pub players_online: usize,
    pub players_loading: usize,
    pub saves_owed: usize,
    pub saves_refused: u64,
}

#[derive(Resource, Clone)]
pub struct AdminStatus {
    status: Arc<RwLock<(Status, Instant)>>,
}

impl AdminStatus {
    /// The current status (tests read it without HTTP).
    pub fn get(&self) -> Status {
        self.status
            .read()
            .map(|s| s.0.clone())
            .unwrap_or_else(|p| p.into_inner().0.clone())
    }
}

fn refresh(
    admin: Res<AdminStatus>,
    state: Res<State<ShardState>>,
    health: Res<SidecarHealth>,
    players: Res<Players>,
    queue: Res<SaveQueue>,
    bound: Option<Res<super::transport::BoundAddr>>,
    settings: Res<Settings>,
    handoffs: Res<super::handoff::HandoffStats>,
    requests: Res<super::intents::RequestStats>,
    duels: Query<(), With<super::duels::LiveDuel>>,
    time: Res<Time<Real>>,
    mut exported_at: Local<Option<Duration>>,
) {
    let mut reasons = Vec::new();
    if settings.0.network && bound.is_none_or(|b| b.0.is_none()) {
        reasons.push("starting: UDP socket not bound yet".to_owned());
    }
    if *state.get() != ShardState::Running {
        reasons.push(format!("{:?}", state.get()).to_lowercase());
    }
    reasons.extend(health.problems());
    let status = Status {
        ready: reasons.is_empty(),
        reasons,
        state: format!("{:?}", state.get()).to_lowercase(),
        players_online: players.online.len(),
        players_loading: players.loading.len(),
        saves_owed: queue.len(),
        saves_refused: queue.counters.refused,
    };
    // The recorder's labelled keys cost a little each; once a second is plenty for scrapes.
    let at = super::now(&time);
    if exported_at.is_none_or(|t| at.saturating_sub(t) >= EXPORT_EVERY) {
        *exported_at = Some(at);
        export_metrics(&status, &queue, &handoffs, &requests, duels.iter().len());
        metrics::counter!("harvest_shard_players_loaded_ahead_total")
            .absolute(players.loaded_ahead);
    }
    if let Ok(mut slot) = admin.status.write() {
        slot.0 = status;
        slot.1 = Instant::now();
    }
}

/// The gauges and counters the tick keeps, copied into the metrics recorder each frame.
fn export_metrics(
    status: &Status,
    queue: &SaveQueue,
    handoffs: &super::handoff::HandoffStats,
    requests: &super::intents::RequestStats,
    duels_live: usize,
) {
    use metrics::{counter, gauge};
    gauge!("harvest_shard_players").set(status.players_online as f64);
    gauge!("harvest_shard_players_loading").set(status.players_loading as f64);
    gauge!("harvest_shard_saves_owed").set(status.saves_owed as f64);
    gauge!("harvest_shard_duels_live").set(duels_live as f64);
    gauge!("harvest_shard_ready").set(if status.ready { 1.0 } else { 0.0 });
    let c = &queue.counters;
    for (outcome, n) in [
        ("confirmed", c.confirmed),
        ("duplicate", c.duplicates),
        ("refused", c.refused),
    ] {
        counter!("harvest_shard_saves_total", "outcome" => outcome).absolute(n);
    }
    counter!("harvest_shard_save_batches_failed_total").absolute(c.batches_failed);
    for (outcome, n) in [
        ("started", handoffs.started),
        ("completed", handoffs.completed),
        ("failed", handoffs.failed),
    ] {
        counter!("harvest_shard_handoffs_total", "outcome" => outcome).absolute(n);
    }
    counter!("harvest_shard_intents_dropped_total").absolute(requests.dropped);
}

async fn serve(listener: std::net::TcpListener, status: Arc<RwLock<(Status, Instant)>>) {
    let ready = status.clone();
    let app = axum::Router::new()
        .route(
            "/healthz",
            get(move || {
                let status = status.clone();
                async move {
                    let stalled = status
                        .read()
                        .map(|s| s.1.elapsed() > STALL_AFTER)
                        .unwrap_or(true);
                    let code = if stalled {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    };
                    let word = if stalled { "stalled" } else { "ok" };
                    (code, Json(serde_json::json!({ "status": word })))
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        harvest_ops::metrics::CONTENT_TYPE,
                    )],
                    harvest_ops::metrics::render(),
                )
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let status = ready.clone();
                async move {
                    let s = status
                        .read()
                        .map(|s| s.0.clone())
                        .unwrap_or_else(|p| p.into_inner().0.clone());
                    let code = if s.ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (code, Json(s))
                }
            }),
        );
    let addr = listener.local_addr().ok();
    match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => {
            info!(?addr, "admin listening (/healthz, /readyz, /metrics)");
            if let Err(e) = axum::serve(listener, app).await {
                error!(error = %e, "admin listener failed");
            }
        }
        Err(e) => error!(error = %e, "admin listener"),
    }
}

pub(crate) fn plugin(app: &mut App) {
    let initial = Status {
        ready: false,
        reasons: vec!["starting".into()],
        state: "running".into(),
        players_online: 0,
        players_loading: 0,
        saves_owed: 0,
        saves_refused: 0,
    };
    let status = Arc::new(RwLock::new((initial, Instant::now())));
    app.insert_resource(AdminStatus {
        status: status.clone(),
    });
    harvest_ops::metrics::install();
    app.add_systems(Update, refresh.in_set(TickSet::Send));
    let Some(addr) = app.world().resource::<Settings>().0.admin_bind else {
        return;
    };
    // Bind now, so a port in use stops the shard at start with a clear message.
    let listener = match std::net::TcpListener::bind(addr).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    }) {
        Ok(l) => l,
        Err(e) => {
            let msg = format!("cannot bind --admin-bind {addr}: {e}");
            app.add_systems(Startup, move |mut exit: MessageWriter<AppExit>| {
                error!("{msg}");
                exit.write(AppExit::error());
            });
            return;
        }
    };
    harvest_ops::background::spawn_async("shard-admin", move || serve(listener, status));
}
