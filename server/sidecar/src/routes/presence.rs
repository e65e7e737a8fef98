//! Presence, for any logged-in player: `GET /v1/presence` (players online per shard and zone)
//! and `GET /v1/presence/{username}` (is this player online, and where). Both come from the
//! bus ([`crate::presence`]); without one they answer 503 `bus_unavailable`.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, ClientIp};
use axum::Json;
use axum::extract::{Path, State};
use harvest_shared::api::{ErrorBody, PlayerPresence, PresenceView};
use harvest_shared::ids::AccountId;
use std::time::Instant;

fn require_bus(state: &AppState) -> ApiResult<()> {
    state.bus.get().map(|_| ()).ok_or(ApiError::BusUnavailable)
}

#[utoipa::path(get, path = "/v1/presence", tag = "presence", security(("bearer" = [])), responses(
    (status = 200, body = PresenceView),
    (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
    (status = 503, body = ErrorBody, description = "No bus (bus_unavailable)"),
))]
pub async fn presence(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _user: AuthUser,
) -> ApiResult<Json<PresenceView>> {
    state.limits.read(ip)?;
    require_bus(&state)?;
    Ok(Json(state.presence.view(Instant::now())))
}

#[utoipa::path(get, path = "/v1/presence/{username}", tag = "presence", security(("bearer" = [])),
    params(("username" = String, Path)), responses(
    (status = 200, body = PlayerPresence),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such player"),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
    (status = 503, body = ErrorBody, description = "No bus (bus_unavailable)"),
))]
pub async fn player_presence(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _user: AuthUser,
    Path(username): Path<String>,
) -> ApiResult<Json<PlayerPresence>> {
    state.limits.read(ip)?;
    require_bus(&state)?;
    // Not a valid username: no such player, without asking the database.
    if super::auth::validate_username(&username).is_err() {
        return Err(ApiError::NotFound);
    }
    let account = state
        .db
        .account_by_name(&username)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(
        state
            .presence
            .locate(AccountId(account.id), Instant::now())
            .unwrap_or(PlayerPresence {
                online: false,
                shard_id: None,
                zone: None,
            }),
    ))
}
