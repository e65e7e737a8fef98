//! `GET /v1/players/me`: profile, holdings and farm summary from the last saved state. A
//! player never saved sees the start state from content, exactly what a shard will give them.
//! `GET /v1/players/me/ledger?limit=N`: the newest committed ledger entries, for players and
//! support.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, ClientIp};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use harvest_shared::api::{ErrorBody, LedgerPage, MAX_LEDGER_PAGE, MeResponse};
use harvest_shared::ids::AccountId;
use harvest_shared::inventory::Holdings;
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
    let holdings = state
        .db
        .holdings(account.id)
        .await?
        .unwrap_or_else(|| Holdings::start(&state.cfg.content));
    Ok(Json(MeResponse {
        account_id: AccountId(account.id),
        username: account.username,
        created_at: account.created_at,
        farm: player.farm.summary(Tick::now()),
        zone: player.zone,
        inventory: holdings.inventory,
        collection: holdings.collection,
        state_version: stored.version,
    }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// How many entries, newest first (1-500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/players/me/ledger", tag = "players", security(("bearer" = [])), params(LedgerQuery), responses(
    (status = 200, body = LedgerPage, description = "Committed ledger entries, newest first: every change of coins, items and cards, with what caused it"),
    (status = 422, body = ErrorBody, description = "`limit` is not a number in 1..=500"),
    (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
))]
pub async fn ledger(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    query: Result<Query<LedgerQuery>, QueryRejection>,
) -> ApiResult<Json<LedgerPage>> {
    state.limits.read(ip)?;
    let bad = || {
        ApiError::validation(
            "limit",
            format!("limit must be a number in 1..={MAX_LEDGER_PAGE}"),
        )
    };
    let limit = match query {
        Ok(Query(q)) => q.limit.unwrap_or(50),
        Err(_) => return Err(bad()),
    };
    if !(1..=MAX_LEDGER_PAGE).contains(&limit) {
        return Err(bad());
    }
    let entries = state.db.ledger_page(user.account_id.0, limit).await?;
    Ok(Json(LedgerPage { entries }))
}
