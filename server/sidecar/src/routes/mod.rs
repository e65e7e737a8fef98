//! The HTTP surface, each route listed once (utoipa-axum registers the handler and its OpenAPI
//! entry together):
//!
//! - public, for players: `/v1/*` (operators' routes among them, for accounts with the admin
//!   role: `/v1/shards`, `/v1/admin/*`), the probes `/healthz` and `/readyz`, and `/openapi.json`;
//! - internal, for shards only: `/internal/v1/*`, behind the service secret; and `/metrics`
//!   (Prometheus), open, so keep the internal listener on a private network.
//!
//! [`routers`] builds both. With `--internal-bind` they are served on separate listeners and
//! the public one answers 404 for `/internal/*`; without it they share one listener. Every
//! error, unknown paths and methods included, is a JSON [`ApiError`].

pub mod admin;
pub mod auth;
pub mod duels;
pub mod health;
pub mod internal;
pub mod openapi;
pub mod play;
pub mod players;
pub mod presence;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{INTERNAL_BODY_LIMIT, PUBLIC_BODY_LIMIT};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The two routers and the OpenAPI document describing both.
pub struct Routers {
    pub public: Router,
    pub internal: Router,
    pub openapi: utoipa::openapi::OpenApi,
}

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(play::play))
        .routes(routes!(players::me))
        .routes(routes!(players::ledger))
        .routes(routes!(duels::leaderboard))
        .routes(routes!(duels::matches))
        .routes(routes!(admin::shards))
        .routes(routes!(admin::drain))
        .routes(routes!(admin::announce))
        .routes(routes!(presence::presence))
        .routes(routes!(presence::player_presence))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

fn internal_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(internal::register_shard))
        .routes(routes!(internal::deregister_shard))
        .routes(routes!(internal::take_lease))
        .routes(routes!(internal::save_states))
        .routes(routes!(internal::handoff))
        .routes(routes!(duels::record_match))
        .routes(routes!(duels::match_record))
}

/// The OpenAPI document of every route (public and internal).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, public) = public_routes().split_for_parts();
    let (_, internal) = internal_routes().split_for_parts();
    let mut doc = openapi::ApiDoc::openapi();
    doc.merge(public);
    doc.merge(internal);
    doc
}

/// Build the public and internal routers over `state`. When `separate` is false the public
/// router also carries the internal routes (one listener).
pub fn routers(state: AppState, separate: bool) -> Routers {
    let doc = Arc::new(openapi());
    let (public, _) = public_routes().split_for_parts();
    let (internal, _) = internal_routes().split_for_parts();
    let public = public.layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT));
    let internal = internal.layer(DefaultBodyLimit::max(INTERNAL_BODY_LIMIT));
    let served = doc.clone();
    let mut public = public.route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = served.clone();
            async move { axum::Json((*doc).clone()) }
        }),
    );
    // `/metrics` goes with the internal routes: on the internal listener, never published.
    let internal = internal.route("/metrics", axum::routing::get(metrics));
    if !separate {
        public = public.merge(internal.clone());
    }
    let internal = internal
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz));
    let public_limit = if separate {
        PUBLIC_BODY_LIMIT
    } else {
        INTERNAL_BODY_LIMIT
    };
    Routers {
        public: finish(public, &state, public_limit),
        internal: finish(internal, &state, INTERNAL_BODY_LIMIT),
        openapi: (*doc).clone(),
    }
}

/// JSON fallbacks, the request guard, panic safety and tracing, then the state.
fn finish(router: Router<AppState>, state: &AppState, body_limit: usize) -> Router {
    let guard = Guard {
        permits: Arc::new(Semaphore::new(state.cfg.max_concurrent_requests)),
        per_ip: Arc::new(Mutex::new(HashMap::new())),
        per_ip_limit: state.cfg.max_requests_per_ip,
        body_timeout: state.cfg.header_read_timeout,
        timeout: state.cfg.request_timeout,
        body_limit,
        state: state.clone(),
    };
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone())
        .layer(middleware::from_fn(count_request))
        .layer(middleware::from_fn_with_state(guard, guard_request))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

/// `GET /metrics`: Prometheus text (`harvest_ops::metrics`), beside the internal routes (the
/// internal listener with `--internal-bind`; otherwise the one listener). The sidecar's series:
/// `harvest_sidecar_http_requests_total{route,status}` and
/// `harvest_sidecar_http_request_seconds{route}` (route templates, so the labels are bounded),
/// `harvest_sidecar_saves_total{outcome}` (shards' saves as the sidecar decided them), and
/// `harvest_sidecar_players_online` (presence, from the bus). No per-player data.
async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            harvest_ops::metrics::CONTENT_TYPE,
        )],
        harvest_ops::metrics::render(),
    )
}

/// Counts each request by route template and status, and times it.
async fn count_request(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Standard methods only: a client cannot mint label values.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("harvest_sidecar_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("harvest_sidecar_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// Bounds the work in flight, so that slow or greedy clients cannot hold the sidecar:
///
/// 1. The request body is read in full first, within the header-read timeout and the body
///    limit, *before* the request counts against anything: a client trickling its body holds
///    only its own connection, never a slot others need (slow headers never get this far: the
///    server drops them). Only `/internal/*` may send the large internal limit (shards' save
///    batches); every other path gets the public one, and a `Content-Length` over the limit is
///    refused before a byte of the body is read.
/// 2. At most `per_ip_limit` requests per client IP are handled at once (503 `busy` beyond;
///    the probes are exempt).
/// 3. At most `permits` requests are handled at once overall (503 `busy` beyond, at once,
///    instead of queueing without bound). The probes `/healthz` and `/readyz` are exempt, so a
///    busy sidecar is not restarted by its own liveness probe.
/// 4. Each request must finish within `timeout` (408 `timeout`).
#[derive(Clone)]
struct Guard {
    permits: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_ip_limit: usize,
    body_timeout: Duration,
    timeout: Duration,
    body_limit: usize,
    state: AppState,
}

/// One request's share of its client IP's in-flight count; returned on drop.
struct IpSlot {
    map: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl Guard {
    fn ip_slot(&self, ip: IpAddr) -> Option<IpSlot> {
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= self.per_ip_limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            map: self.per_ip.clone(),
            ip,
        })
    }
}

async fn guard_request(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let limit = if parts.uri.path().starts_with("/internal/") {
        guard.body_limit
    } else {
        guard.body_limit.min(PUBLIC_BODY_LIMIT)
    };
    let declared = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return ApiError::PayloadTooLarge(limit).into_response();
    }
    let bytes =
        match tokio::time::timeout(guard.body_timeout, axum::body::to_bytes(body, limit)).await {
            Err(_) => return ApiError::Timeout.into_response(),
            Ok(Err(e)) if too_large(&e) => return ApiError::PayloadTooLarge(limit).into_response(),
            Ok(Err(_)) => return ApiError::UnreadableBody.into_response(),
            Ok(Ok(bytes)) => bytes,
        };
    let ip = {
        use axum::extract::FromRequestParts;
        let crate::extract::ClientIp(ip) =
            match crate::extract::ClientIp::from_request_parts(&mut parts, &guard.state).await {
                Ok(ip) => ip,
                Err(never) => match never {},
            };
        crate::net::limit_key(ip)
    };
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    let _ip_slot = if probe {
        None
    } else {
        match guard.ip_slot(ip) {
            Some(slot) => Some(slot),
            None => return ApiError::Busy.into_response(),
        }
    };
    let _permit = if probe {
        None
    } else {
        match guard.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => return ApiError::Busy.into_response(),
        }
    };
    match tokio::time::timeout(guard.timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Did reading a body fail because it was over the limit (rather than cut off or malformed)?
fn too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
