//! `/internal/v1/*`: routes for shards, authenticated with the shared service secret.
//!
//! - `POST /internal/v1/shards`: join or renew the shard directory (a heartbeat); the answer
//!   lists the leased accounts whose owner logged out, whose game session the shard must end.
//!   It also renews the zone leases the shard holds, takes free or lapsed ones it offers, and
//!   passes on an operator's drain request.
//! - `DELETE /internal/v1/shards/{shard_id}`: leave the directory (draining); the zones it held
//!   pass at once to another live shard offering them.
//! - `POST /internal/v1/players/{account_id}/handoff`: the player was saved and released for a
//!   journey to another shard's zone; mint the connect token to the shard hosting it.
//! - `POST /internal/v1/players/{account_id}/lease`: load a player: take the ownership lease
//!   (a new epoch) and get the stored state.
//! - `POST /internal/v1/players/states`: a batch of compare-and-swap saves.

use crate::AppState;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ShardAuth};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use harvest_shared::api::{
    ErrorBody, HandoffRequest, Lease, LeaseRequest, MAX_LEDGER_PER_SAVE, MAX_SAVES_PER_BATCH,
    PlayResponse, SaveBatch, SaveBatchResponse, SaveOutcome, ShardRegistered, ShardRegistration,
};
use harvest_shared::ids::AccountId;
use harvest_shared::inventory::Holdings;
use std::net::SocketAddr;

pub(crate) fn validate_shard_id(id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(
            "shard_id",
            "shard_id must be 1-64 characters of A-Z, a-z, 0-9, '-', '_' and '.'",
        ))
    }
}

#[utoipa::path(post, path = "/internal/v1/shards", tag = "internal", security(("service" = [])), request_body = ShardRegistration, responses(
    (status = 200, body = ShardRegistered, description = "Registered or renewed; `hosted` lists the zones the shard hosts now, `end_sessions` the accounts to disconnect (their owner logged out), `drain` an operator's drain request"),
    (status = 401, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "This incarnation of the shard has left the directory (it is draining)"),
    (status = 422, body = ErrorBody),
))]
pub async fn register_shard(
    State(state): State<AppState>,
    _auth: ShardAuth,
    ApiJson(reg): ApiJson<ShardRegistration>,
) -> ApiResult<Json<ShardRegistered>> {
    validate_shard_id(&reg.shard_id)?;
    if reg.address.parse::<SocketAddr>().is_err() {
        return Err(ApiError::validation("address", "address must be IP:PORT"));
    }
    if reg.incarnation < 1 {
        return Err(ApiError::validation(
            "incarnation",
            "incarnation must be a positive random number drawn at process start",
        ));
    }
    if reg.zones.is_empty() || reg.zones.len() > 1024 {
        return Err(ApiError::validation("zones", "a shard hosts 1-1024 zones"));
    }
    if let Some(z) = reg
        .zones
        .iter()
        .find(|z| state.cfg.content.zone(z).is_none())
    {
        return Err(ApiError::validation(
            "zones",
            format!("zone '{z}' is not in this sidecar's content"),
        ));
    }
    let ttl = state.cfg.shard_ttl_secs as i64;
    let beat = state
        .db
        .shard_heartbeat(&reg, now_secs(), ttl)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "shard '{}' has left the directory (draining); a restarted process registers with a new incarnation",
                reg.shard_id
            ))
        })?;
    let end_sessions = state.db.take_end_sessions(&reg.shard_id).await?;
    tracing::debug!(shard = %reg.shard_id, address = %reg.address, offers = reg.zones.len(), hosts = beat.hosted.len(), end = end_sessions.len(), drain = beat.drain, "shard heartbeat");
    Ok(Json(ShardRegistered {
        ttl_secs: state.cfg.shard_ttl_secs,
        end_sessions,
        hosted: beat.hosted,
        live_zones: beat.live_zones,
        drain: beat.drain,
    }))
}

/// `?incarnation=N`: leave only if the registered process is that one.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaveQuery {
    /// The leaving process's incarnation (from its registration); without it, whichever is
    /// registered leaves.
    #[param(minimum = 1)]
    pub incarnation: Option<i64>,
}

#[utoipa::path(delete, path = "/internal/v1/shards/{shard_id}", tag = "internal", security(("service" = [])),
    params(("shard_id" = String, Path), LeaveQuery), responses(
    (status = 204, description = "Removed from the directory: no new players are sent to it, and its zones pass to other shards offering them"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such running shard (or another incarnation of it is registered)"),
    (status = 422, body = ErrorBody),
))]
pub async fn deregister_shard(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(shard_id): Path<String>,
    leave: Result<Query<LeaveQuery>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let leave = super::duels::query(leave)?;
    let ttl = state.cfg.shard_ttl_secs as i64;
    if state
        .db
        .remove_shard(&shard_id, leave.incarnation, now_secs(), ttl)
        .await?
    {
        tracing::info!(shard = %shard_id, "shard left the directory");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(post, path = "/internal/v1/players/{account_id}/lease", tag = "internal", security(("service" = [])),
    params(("account_id" = i64, Path)), request_body = LeaseRequest, responses(
    (status = 200, body = Lease, description = "The lease is the caller's, with a new epoch; any earlier owner's next save will be refused"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such account"),
    (status = 409, body = ErrorBody, description = "`if_free` was asked and another shard holds the lease (nothing changed)"),
    (status = 422, body = ErrorBody),
))]
pub async fn take_lease(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(account_id): Path<i64>,
    ApiJson(req): ApiJson<LeaseRequest>,
) -> ApiResult<Json<Lease>> {
    validate_shard_id(&req.shard_id)?;
    let lease = state
        .db
        .take_lease(
            account_id,
            &req.shard_id,
            now_secs(),
            &Holdings::start(&state.cfg.content),
            req.if_free,
        )
        .await?;
    let Some(lease) = lease else {
        return Err(
            if req.if_free && state.db.account_by_id(account_id).await?.is_some() {
                ApiError::Conflict(format!(
                    "account {account_id}'s lease is held by another shard"
                ))
            } else {
                ApiError::NotFound
            },
        );
    };
    tracing::debug!(account_id, shard = %req.shard_id, epoch = lease.epoch, version = lease.version, "lease taken");
    Ok(Json(lease))
}

#[utoipa::path(post, path = "/internal/v1/players/states", tag = "internal", security(("service" = [])), request_body = SaveBatch, responses(
    (status = 200, body = SaveBatchResponse, description = "One outcome per save: saved (state and ledger entries committed together), duplicate (this exact save was applied already), stale_epoch (another load took the player), stale_version, unknown_account, invalid_ledger (an entry would take a holding below zero; nothing applied)"),
    (status = 401, body = ErrorBody),
    (status = 413, body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn save_states(
    State(state): State<AppState>,
    _auth: ShardAuth,
    ApiJson(batch): ApiJson<SaveBatch>,
) -> ApiResult<Json<SaveBatchResponse>> {
    validate_shard_id(&batch.shard_id)?;
    if batch.saves.len() > MAX_SAVES_PER_BATCH {
        return Err(ApiError::validation(
            "saves",
            format!("at most {MAX_SAVES_PER_BATCH} saves per batch"),
        ));
    }
    if let Some(bad) = batch
        .saves
        .iter()
        .find(|s| s.epoch < 1 || !(0..i64::MAX).contains(&s.base_version))
    {
        return Err(ApiError::validation(
            "saves",
            format!(
                "epoch must be >= 1 and base_version in 0..{} (account {})",
                i64::MAX,
                bad.account_id
            ),
        ));
    }
    if let Some(bad) = batch.saves.iter().find(|s| {
        s.ledger.len() > MAX_LEDGER_PER_SAVE || !s.ledger.iter().all(|e| e.is_well_formed())
    }) {
        return Err(ApiError::validation(
            "ledger",
            format!(
                "at most {MAX_LEDGER_PER_SAVE} entries per save, each with a key of 1-64 characters (not 'opening'), a detail of at most 64, at most 64 assets and amounts within 32 bits (account {})",
                bad.account_id
            ),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(batch.saves.len());
    if let Some(dup) = batch.saves.iter().find(|s| !seen.insert(s.account_id)) {
        return Err(ApiError::validation(
            "saves",
            format!("account {} appears twice in one batch", dup.account_id),
        ));
    }
    let results = state
        .db
        .save_states(&batch.shard_id, &batch.saves, now_secs())
        .await?;
    for r in &results {
        let outcome = match r.outcome {
            SaveOutcome::Saved => "saved",
            SaveOutcome::Duplicate => "duplicate",
            SaveOutcome::StaleEpoch => "stale_epoch",
            SaveOutcome::StaleVersion => "stale_version",
            SaveOutcome::UnknownAccount => "unknown_account",
            SaveOutcome::InvalidLedger => "invalid_ledger",
        };
        metrics::counter!("harvest_sidecar_saves_total", "outcome" => outcome).increment(1);
    }
    let refused = results.iter().filter(|r| !r.outcome.is_confirmed()).count();
    if refused > 0 {
        tracing::info!(shard = %batch.shard_id, refused, batch = results.len(), "saves refused");
    }
    Ok(Json(SaveBatchResponse { results }))
}

#[utoipa::path(post, path = "/internal/v1/players/{account_id}/handoff", tag = "internal", security(("service" = [])),
    params(("account_id" = i64, Path)), request_body = HandoffRequest, responses(
    (status = 200, body = PlayResponse, description = "A connect token to the shard hosting the zone"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "No such account"),
    (status = 409, body = ErrorBody, description = "The player's stored zone is another one (the journey's save has not landed)"),
    (status = 422, body = ErrorBody),
    (status = 503, body = ErrorBody, description = "`no_shard`: no live shard hosts the zone (see Retry-After)"),
))]
pub async fn handoff(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(account_id): Path<i64>,
    ApiJson(req): ApiJson<HandoffRequest>,
) -> ApiResult<Json<PlayResponse>> {
    validate_shard_id(&req.shard_id)?;
    if state.cfg.content.zone(&req.zone).is_none() {
        return Err(ApiError::validation(
            "zone",
            format!("zone '{}' is not in this sidecar's content", req.zone),
        ));
    }
    if state.db.account_by_id(account_id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let stored = state.db.load_state(account_id).await?;
    let stored_zone = stored.state.map(|s| s.zone);
    if stored_zone.as_ref() != Some(&req.zone) {
        return Err(ApiError::Conflict(format!(
            "account {account_id} is stored in zone {}, not '{}'",
            stored_zone.map_or_else(|| "(none)".to_owned(), |z| format!("'{z}'")),
            req.zone
        )));
    }
    let answer = super::play::route(&state, AccountId(account_id), req.zone).await?;
    tracing::info!(account_id, from = %req.shard_id, to = %answer.shard_id, zone = %answer.zone, "handoff");
    Ok(Json(answer))
}
