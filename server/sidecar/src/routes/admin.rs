//! Operator routes, open only to accounts with the `admin` role (`harvest-sidecar admin grant
//! USERNAME`; a player's token gets 403):
//!
//! - `GET /v1/shards`: the shard directory: every shard with its address, state, load, the
//!   zones it offers and hosts, and every zone of the content with its holder.
//! - `POST /v1/admin/shards/{shard_id}/drain`: ask a shard to drain. It learns at its next
//!   heartbeat (within two seconds), leaves the directory, hands its players off to the
//!   shards that take over its zones, saves everything and exits.
//! - `POST /v1/admin/announce`: a message to every connected player on every shard, through
//!   the bus (503 `bus_unavailable` without one).

use crate::AppState;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::AdminUser;
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use harvest_shared::api::{AnnounceRequest, ErrorBody, ShardsView};
use harvest_shared::events::{ANNOUNCE_SUBJECT, Announcement, MAX_ANNOUNCEMENT_BYTES, unix_ms};

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

#[utoipa::path(post, path = "/v1/admin/announce", tag = "admin", security(("bearer" = [])),
    request_body = AnnounceRequest, responses(
    (status = 202, description = "Published to every shard"),
    (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody, description = "Not an operator"),
    (status = 422, body = ErrorBody, description = "Empty, or over 500 bytes"),
    (status = 503, body = ErrorBody, description = "No bus (bus_unavailable)"),
))]
pub async fn announce(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(req): ApiJson<AnnounceRequest>,
) -> ApiResult<StatusCode> {
    let text = req.text.trim();
    if text.is_empty() || text.len() > MAX_ANNOUNCEMENT_BYTES {
        return Err(ApiError::validation(
            "text",
            format!("an announcement is 1 to {MAX_ANNOUNCEMENT_BYTES} bytes of text"),
        ));
    }
    let bus = state.bus.get().ok_or(ApiError::BusUnavailable)?;
    let payload = serde_json::to_vec(&Announcement {
        text: text.to_owned(),
        at_ms: unix_ms(),
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    bus.publish(ANNOUNCE_SUBJECT.to_owned(), payload.into())
        .await
        .map_err(|e| {
            tracing::warn!(error = %format!("{e:#}"), "announcement not published");
            ApiError::BusUnavailable
        })?;
    tracing::info!(by = %admin.account_id, text, "announcement published");
    Ok(StatusCode::ACCEPTED)
}
