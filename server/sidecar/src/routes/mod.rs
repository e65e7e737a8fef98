//! The HTTP surface, each route listed once (utoipa-axum registers the handler and its OpenAPI
//! entry together):
//!
//! - public, for players: `/v1/*`, the probes `/healthz` and `/readyz`, and `/openapi.json`;
//! - internal, for shards only: `/internal/v1/*`, behind the service secret.
//!
//! [`routers`] builds both. With `--internal-bind` they are served on separate listeners and
//! the public one answers 404 for `/internal/*`; without it they share one listener. Every
//! error, unknown paths and methods included, is a JSON [`ApiError`].

pub mod auth;
pub mod health;
pub mod internal;
pub mod openapi;
pub mod play;
pub mod players;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{INTERNAL_BODY_LIMIT, PUBLIC_BODY_LIMIT};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
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
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
}

fn internal_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(internal::register_shard))
        .routes(routes!(internal::deregister_shard))
        .routes(routes!(internal::take_lease))
        .routes(routes!(internal::save_states))
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
    if !separate {
        public = public.merge(internal.clone());
    }
    let internal = internal
        .route("/healthz", axum::routing::get(health::healthz))
        .route("/readyz", axum::routing::get(health::readyz));
    Routers {
        public: finish(public, &state),
        internal: finish(internal, &state),
        openapi: (*doc).clone(),
    }
}

/// JSON fallbacks, the request guard, panic safety and tracing, then the state.
fn finish(router: Router<AppState>, state: &AppState) -> Router {
    let guard = Guard {
        permits: Arc::new(Semaphore::new(state.cfg.max_concurrent_requests)),
        timeout: state.cfg.request_timeout,
    };
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(guard, guard_request))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

/// Bounds the work in flight: at most `permits` requests are handled at once (the next one
/// gets 503 `busy` right away instead of queueing without bound), and each must finish within
/// `timeout` (408 `timeout`), body reading included. Slow *headers* never get here: the server
/// drops connections that do not send them within `--header-read-timeout-secs`.
#[derive(Clone)]
struct Guard {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

async fn guard_request(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let Ok(_permit) = guard.permits.clone().try_acquire_owned() else {
        return ApiError::Busy.into_response();
    };
    match tokio::time::timeout(guard.timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
