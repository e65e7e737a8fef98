//! `POST /v1/play`: pick the shard hosting the player's zone and mint a netcode connect token
//! for it. The account id travels in the token's encrypted user data, where the client can
//! neither read nor forge it; the netcode client id carries it too, above a fresh random nonce
//! (`api::netcode_client_id`), so the shard can load the player during the handshake. A player never
//! saved starts in the content's start zone. A zone is hosted by one shard at a time (its zone
//! lease, see `db::shards`), so there is exactly one place to send the player, or none: 503
//! with Retry-After until a shard takes the zone.

use crate::AppState;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, ClientIp};
use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use harvest_shared::api::{
    ErrorBody, PROTOCOL_ID, PlayResponse, encode_user_data, netcode_client_id,
};
use harvest_shared::ids::{AccountId, ZoneId};
use lightyear_netcode::ConnectToken;
use std::net::SocketAddr;

/// Mint the base64 of a connect token for `account` to the shard at `addr`.
pub fn mint_connect_token(
    state: &AppState,
    account: AccountId,
    addr: SocketAddr,
) -> anyhow::Result<String> {
    let client_id = netcode_client_id(account, rand::random::<u16>());
    let token = ConnectToken::build(addr, PROTOCOL_ID, client_id, state.cfg.netcode_key)
        .expire_seconds(state.cfg.connect_token_secs as i32)
        .timeout_seconds(state.cfg.netcode_timeout_secs as i32)
        .user_data(encode_user_data(account))
        .generate()
        .map_err(|e| anyhow::anyhow!("generating connect token: {e:?}"))?;
    let bytes = token.try_into_bytes()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[utoipa::path(post, path = "/v1/play", tag = "play", security(("bearer" = [])), responses(
    (status = 200, body = PlayResponse),
    (status = 401, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many calls for this account or IP; see Retry-After"),
    (status = 503, body = ErrorBody, description = "`no_shard`: no live shard hosts the player's zone (see Retry-After)"),
))]
pub async fn play(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
) -> ApiResult<Json<PlayResponse>> {
    state.limits.play(ip, user.account_id.0)?;
    let stored = state.db.load_state(user.account_id.0).await?;
    let zone = stored
        .state
        .map(|s| s.zone)
        .unwrap_or_else(|| state.cfg.content.economy.start_zone.clone());
    let answer = route(&state, user.account_id, zone).await?;
    tracing::info!(account_id = %user.account_id, shard = %answer.shard_id, zone = %answer.zone, "play");
    Ok(Json(answer))
}

/// A connect token for `account` to the live shard hosting `zone` (503 `no_shard` if none).
pub async fn route(state: &AppState, account: AccountId, zone: ZoneId) -> ApiResult<PlayResponse> {
    let ttl = state.cfg.shard_ttl_secs as i64;
    let shard = state
        .db
        .zone_holder(&zone, now_secs(), ttl)
        .await?
        .ok_or_else(|| ApiError::NoShard(zone.to_string()))?;
    let addr = shard.address.parse::<SocketAddr>().map_err(|e| {
        ApiError::Internal(anyhow::anyhow!(
            "shard {} registered an unusable address {}: {e}",
            shard.shard_id,
            shard.address
        ))
    })?;
    let connect_token = mint_connect_token(state, account, addr)?;
    Ok(PlayResponse {
        connect_token,
        server_addr: shard.address,
        zone,
        content_version: shard.content_version,
        shard_id: shard.shard_id,
    })
}
