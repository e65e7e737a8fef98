//! `/internal/v1/*`: routes for shards, authenticated with the shared service secret.
//! Register in (and leave) the shard directory, load a player's state, save a batch of states.

use crate::AppState;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ShardAuth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use harvest_shared::api::{
    ErrorBody, SaveBatch, SaveBatchResponse, ShardRegistered, ShardRegistration, StoredState,
};
use harvest_shared::ids::AccountId;
use std::net::SocketAddr;

/// Saves per batch request.
pub const MAX_SAVES_PER_BATCH: usize = 2000;

#[utoipa::path(post, path = "/internal/v1/shards", tag = "internal", security(("service" = [])), request_body = ShardRegistration, responses(
    (status = 200, body = ShardRegistered),
    (status = 401, body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn register_shard(
    State(state): State<AppState>,
    _auth: ShardAuth,
    ApiJson(reg): ApiJson<ShardRegistration>,
) -> ApiResult<Json<ShardRegistered>> {
    if reg.shard_id.is_empty() || reg.shard_id.len() > 64 {
        return Err(ApiError::validation(
            "shard_id",
            "shard_id must be 1-64 characters",
        ));
    }
    if reg.address.parse::<SocketAddr>().is_err() {
        return Err(ApiError::validation("address", "address must be IP:PORT"));
    }
    if reg.zones.is_empty() || reg.zones.len() > 1024 {
        return Err(ApiError::validation("zones", "a shard hosts 1-1024 zones"));
    }
    state.db.upsert_shard(&reg, now_secs()).await?;
    tracing::debug!(shard = %reg.shard_id, address = %reg.address, zones = reg.zones.len(), "shard registered");
    Ok(Json(ShardRegistered {
        ttl_secs: state.cfg.shard_ttl_secs,
    }))
}

#[utoipa::path(delete, path = "/internal/v1/shards/{shard_id}", tag = "internal", security(("service" = [])),
    params(("shard_id" = String, Path)), responses(
    (status = 204, description = "Removed from the directory: no new players are sent to it"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such shard"),
))]
pub async fn deregister_shard(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(shard_id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.db.remove_shard(&shard_id).await? {
        tracing::info!(shard = %shard_id, "shard left the directory");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(get, path = "/internal/v1/players/{account_id}/state", tag = "internal", security(("service" = [])),
    params(("account_id" = i64, Path)), responses(
    (status = 200, body = StoredState),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such account"),
))]
pub async fn load_state(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(account_id): Path<i64>,
) -> ApiResult<Json<StoredState>> {
    if state.db.account_by_id(account_id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let stored = state.db.load_state(account_id).await?;
    Ok(Json(StoredState {
        account_id: AccountId(account_id),
        version: stored.version,
        state: stored.state,
    }))
}

#[utoipa::path(post, path = "/internal/v1/players/states", tag = "internal", security(("service" = [])), request_body = SaveBatch, responses(
    (status = 200, body = SaveBatchResponse, description = "One outcome per save: saved, duplicate (same version again), stale (older than stored), unknown_account"),
    (status = 401, body = ErrorBody),
    (status = 413, body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn save_states(
    State(state): State<AppState>,
    _auth: ShardAuth,
    ApiJson(batch): ApiJson<SaveBatch>,
) -> ApiResult<Json<SaveBatchResponse>> {
    if batch.saves.len() > MAX_SAVES_PER_BATCH {
        return Err(ApiError::validation(
            "saves",
            format!("at most {MAX_SAVES_PER_BATCH} saves per batch"),
        ));
    }
    if let Some(bad) = batch.saves.iter().find(|s| s.version < 1) {
        return Err(ApiError::validation(
            "version",
            format!("version must be >= 1 (account {})", bad.account_id),
        ));
    }
    let results = state.db.save_states(&batch.saves, now_secs()).await?;
    Ok(Json(SaveBatchResponse { results }))
}
