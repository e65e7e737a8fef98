//! Probes: `/healthz` (the process answers) and `/readyz` (the database answers).

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "The database is reachable"),
    (status = 503, description = "The database is not reachable", body = harvest_shared::api::ErrorBody),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(
            json!({"status": "ready", "database": state.db.backend().to_string()}),
        )),
        _ => Err(ApiError::NotReady),
    }
}
