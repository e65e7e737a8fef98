//! Operator routes, open only to accounts with the `admin` role (`harvest-sidecar admin grant
//! USERNAME`; a player's token gets 403):
//!
//! - `GET /v1/shards`: the shard directory: every shard with its address, state, load, the
//!   zones it offers and hosts, and every zone of the content with its holder.
//! - `POST /v1/admin/shards/{shard_id}/drain`: ask a shard to drain. It learns at its next
//!   heartbeat (within two seconds), leaves the directory, hands its players off to the
//!   shards that take over its zones, saves everything and exits.

use crate::AppState;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::AdminUser;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use harvest_shared::api::{ErrorBody, ShardsView};

#[utoipa::path(get, path = "/v1/shards", tag = "admin", security(("bearer" = [])), responses(
    (status = 200, body = ShardsView),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "Not an operator"),
))]
pub async fn shards(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<Json<ShardsView>> {
    let zones = state.cfg.content.zones.keys().cloned();
    Ok(Json(state.db.directory(zones, now_secs()).await?))
}

#[utoipa::path(post, path = "/v1/admin/shards/{shard_id}/drain", tag = "admin", security(("bearer" = [])),
    params(("shard_id" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$")), responses(
    (status = 202, description = "The shard will drain at its next heartbeat"),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "Not an operator"),
    (status = 404, body = ErrorBody, description = "No running shard of that id"),
    (status = 422, body = ErrorBody),
))]
pub async fn drain(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(shard_id): Path<String>,
) -> ApiResult<StatusCode> {
    super::internal::validate_shard_id(&shard_id)?;
    if state.db.request_drain(&shard_id, now_secs()).await? {
        tracing::info!(shard = %shard_id, by = %admin.account_id, "drain requested");
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::NotFound)
    }
}
