//! Card duels' results.
//!
//! For players (bearer token):
//! - `GET /v1/leaderboard?limit=N&around=me`: ranked by conservative rating; `around=me` centres
//!   the page on the caller's own rank.
//! - `GET /v1/matches?player=me&limit=N`: a player's matches, newest first: ids, opponents,
//!   results and rating changes (`player` is `me` or an account id).
//!
//! For shards (service secret):
//! - `POST /internal/v1/matches`: record a finished duel: ratings, record and rewards in one
//!   transaction (see `db::matches`); a repeat of a recorded id returns what was decided.
//! - `GET /internal/v1/matches/{match_id}`: a whole record, for `harvest-server replay`.

use crate::AppState;
use crate::db::matches::RecordError;
use crate::db::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, ClientIp, ShardAuth};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use harvest_shared::api::{
    ErrorBody, Leaderboard, MAX_PAGE, MatchRecord, MatchReport, MatchSettled, MatchesPage,
};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// Rows (1-100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `me`: the page around your own rank instead of the top.
    #[param(pattern = "^me$")]
    pub around: Option<String>,
}

fn limit(given: Option<i64>) -> ApiResult<i64> {
    let n = given.unwrap_or(20);
    if (1..=MAX_PAGE).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::validation(
            "limit",
            format!("limit must be a number in 1..={MAX_PAGE}"),
        ))
    }
}

/// A query string, or 422 naming what is wrong with it.
pub(super) fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::validation("query", e.body_text()))
}

#[utoipa::path(get, path = "/v1/leaderboard", tag = "duels", security(("bearer" = [])), params(LeaderboardQuery), responses(
    (status = 200, body = Leaderboard, description = "Players ranked by score = rating - 2 × deviation (best first)"),
    (status = 401, body = ErrorBody),
    (status = 422, body = ErrorBody, description = "`limit` is not in 1..=100, or `around` is not `me`"),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
))]
pub async fn leaderboard(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    q: Result<Query<LeaderboardQuery>, QueryRejection>,
) -> ApiResult<Json<Leaderboard>> {
    state.limits.read(ip)?;
    let q = query(q)?;
    let limit = limit(q.limit)?;
    let around = match q.around.as_deref() {
        None => None,
        Some("me") => Some(user.account_id.0),
        Some(_) => return Err(ApiError::validation("around", "around must be 'me'")),
    };
    Ok(Json(state.db.leaderboard(limit, around).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchesQuery {
    /// `me` (default) or an account id.
    #[param(pattern = "^(me|[0-9]{1,18})$")]
    pub player: Option<String>,
    /// Matches, newest first (1-100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/matches", tag = "duels", security(("bearer" = [])), params(MatchesQuery), responses(
    (status = 200, body = MatchesPage, description = "The player's recorded matches, newest first"),
    (status = 401, body = ErrorBody),
    (status = 422, body = ErrorBody, description = "`limit` is not in 1..=100, or `player` is neither `me` nor an account id"),
    (status = 429, body = ErrorBody, description = "Too many reads from this IP; see Retry-After"),
))]
pub async fn matches(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    q: Result<Query<MatchesQuery>, QueryRejection>,
) -> ApiResult<Json<MatchesPage>> {
    state.limits.read(ip)?;
    let q = query(q)?;
    let limit = limit(q.limit)?;
    let player = match q.player.as_deref() {
        None | Some("me") => user.account_id.0,
        Some(id) => id
            .parse::<i64>()
            .map_err(|_| ApiError::validation("player", "player must be 'me' or an account id"))?,
    };
    let matches = state.db.matches_of(player, limit).await?;
    Ok(Json(MatchesPage { matches }))
}

#[utoipa::path(post, path = "/internal/v1/matches", tag = "internal", security(("service" = [])), request_body = MatchReport, responses(
    (status = 200, body = MatchSettled, description = "Recorded (or already recorded: the stored result): both ratings before and after, rewards paid"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "A player's account does not exist"),
    (status = 409, body = ErrorBody, description = "This match id is recorded with other players"),
    (status = 422, body = ErrorBody),
))]
pub async fn record_match(
    State(state): State<AppState>,
    _auth: ShardAuth,
    ApiJson(report): ApiJson<MatchReport>,
) -> ApiResult<Json<MatchSettled>> {
    super::internal::validate_shard_id(&report.shard_id)?;
    if let Some((field, why)) = report.problem() {
        return Err(ApiError::validation(field, why));
    }
    match state.db.record_match(&report, now_secs()).await {
        Ok(settled) => {
            tracing::info!(match_id = %report.match_id, a = %report.players[0], b = %report.players[1], outcome = ?report.outcome, moves = report.log.len(), "match recorded");
            Ok(Json(settled))
        }
        Err(RecordError::UnknownAccount(_)) => Err(ApiError::NotFound),
        Err(RecordError::Conflict(id)) => Err(ApiError::Conflict(format!(
            "match '{id}' is already recorded with other players"
        ))),
        Err(RecordError::Db(e)) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/internal/v1/matches/{match_id}", tag = "internal", security(("service" = [])),
    params(("match_id" = String, Path)), responses(
    (status = 200, body = MatchRecord, description = "The whole record: decks, seed, rules, log, outcome, final-state hash, ratings"),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn match_record(
    State(state): State<AppState>,
    _auth: ShardAuth,
    Path(match_id): Path<String>,
) -> ApiResult<Json<MatchRecord>> {
    state
        .db
        .match_record(&match_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
