//! The HTTP surface. Public routes live under `/v1`, shard-only routes under `/internal/v1`
//! (service secret), probes at `/healthz` and `/readyz`, the OpenAPI document at
//! `/openapi.json`. Unknown paths and methods get JSON errors too.

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
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// The sidecar's router over `state`.
pub fn app(state: AppState) -> Router {
    let public = Router::new()
        .route("/v1/auth/register", post(auth::register))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/play", post(play::play))
        .route("/v1/players/me", get(players::me))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT));
    let internal = Router::new()
        .route("/internal/v1/shards", post(internal::register_shard))
        .route(
            "/internal/v1/shards/{shard_id}",
            delete(internal::deregister_shard),
        )
        .route(
            "/internal/v1/players/{account_id}/state",
            get(internal::load_state),
        )
        .route("/internal/v1/players/states", post(internal::save_states))
        .layer(DefaultBodyLimit::max(INTERNAL_BODY_LIMIT));
    Router::new()
        .merge(public)
        .merge(internal)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http())
}
