//! `GET /v1/players/me`: profile, inventory and farm summary from the last saved state. A
//! player never saved sees the start state from content, exactly what a shard will give them.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, ClientIp};
use axum::Json;
use axum::extract::State;
use harvest_shared::api::{ErrorBody, MeResponse};
use harvest_shared::ids::AccountId;
use harvest_shared::state::PlayerState;
use harvest_shared::time::Tick;

#[utoipa::path(get, path = "/v1/players/me", tag = "players", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse),
    (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
))]
pub async fn me(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
) -> ApiResult<Json<MeResponse>> {
    state.limits.read(ip)?;
    let account = state
        .db
        .account_by_id(user.account_id.0)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let stored = state.db.load_state(account.id).await?;
    let player = stored
        .state
        .unwrap_or_else(|| PlayerState::new_player(&state.cfg.content, AccountId(account.id)));
    Ok(Json(MeResponse {
        account_id: AccountId(account.id),
        username: account.username,
        created_at: account.created_at,
        farm: player.farm.summary(Tick::now()),
        zone: player.zone,
        inventory: player.inventory,
        state_version: stored.version,
    }))
}
