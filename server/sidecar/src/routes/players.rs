//! `GET /v1/players/me`: profile, inventory and farm summary from the last saved state.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use axum::Json;
use axum::extract::State;
use harvest_shared::api::{ErrorBody, MeResponse};
use harvest_shared::ids::{AccountId, ZoneId};
use harvest_shared::time::Tick;

#[utoipa::path(get, path = "/v1/players/me", tag = "players", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse),
    (status = 401, body = ErrorBody),
))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let account = state
        .db
        .account_by_id(user.account_id.0)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let stored = state.db.load_state(account.id).await?;
    let (zone, inventory, farm) = match stored.state {
        Some(s) => (s.zone, s.inventory, s.farm.summary(Tick::now())),
        None => (
            ZoneId::new(state.cfg.start_zone.clone()),
            Default::default(),
            Default::default(),
        ),
    };
    Ok(Json(MeResponse {
        account_id: AccountId(account.id),
        username: account.username,
        created_at: account.created_at,
        zone,
        inventory,
        farm,
        state_version: stored.version,
    }))
}
