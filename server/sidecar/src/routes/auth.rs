//! `/v1/auth/*`: register, login, refresh, logout. Every route is rate-limited (see
//! `auth::limits`), and the request shapes match the OpenAPI schema exactly: what the schema
//! allows is accepted, what it forbids is a 422 naming the field.

use crate::AppState;
use crate::auth::tokens::{hash_refresh_token, new_refresh_token, new_session_id};
use crate::db::{accounts::CreateAccount, now_secs, sessions::Refresh};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, ClientIp};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use harvest_shared::api::{
    ErrorBody, LoginRequest, RefreshRequest, RegisterRequest, RegisterResponse, TokenResponse,
};
use harvest_shared::ids::AccountId;

/// 3–24 characters of `[A-Za-z0-9_]`.
pub fn validate_username(u: &str) -> ApiResult<()> {
    let ok_chars = u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !(3..=24).contains(&u.chars().count()) || !ok_chars {
        return Err(ApiError::validation(
            "username",
            "username must be 3-24 characters of A-Z, a-z, 0-9 and _",
        ));
    }
    Ok(())
}

/// 8–128 characters.
pub fn validate_password(p: &str) -> ApiResult<()> {
    if !(8..=128).contains(&p.chars().count()) {
        return Err(ApiError::validation(
            "password",
            "password must be 8-128 characters",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = RegisterResponse, description = "Account created"),
    (status = 400, body = ErrorBody, description = "Malformed JSON"),
    (status = 409, body = ErrorBody, description = "Username taken (ignoring case)"),
    (status = 413, body = ErrorBody, description = "Body over 16 KiB"),
    (status = 422, body = ErrorBody, description = "Invalid username or password; `field` names which"),
    (status = 429, body = ErrorBody, description = "Too many registrations from this IP; see Retry-After"),
    (status = 503, body = ErrorBody, description = "Busy or database unavailable"),
))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    validate_username(&req.username)?;
    validate_password(&req.password)?;
    state.limits.register(ip)?;
    // Cheap pre-check so a taken name does not cost a hash; the unique index decides races.
    if state.db.account_by_name(&req.username).await?.is_some() {
        return Err(ApiError::UsernameTaken);
    }
    let phc = state.hasher.hash(req.password).await?;
    match state
        .db
        .create_account(&req.username, &phc, now_secs())
        .await?
    {
        CreateAccount::Created(id) => {
            tracing::info!(account_id = id, "account registered");
            Ok((
                StatusCode::CREATED,
                Json(RegisterResponse {
                    account_id: AccountId(id),
                }),
            ))
        }
        CreateAccount::Taken => Err(ApiError::UsernameTaken),
    }
}

async fn issue_tokens(
    state: &AppState,
    account_id: i64,
    session_id: &str,
    refresh: String,
) -> ApiResult<TokenResponse> {
    let now = now_secs() as u64;
    let access =
        state
            .tokens
            .issue_access(account_id, session_id, now, state.cfg.access_ttl_secs)?;
    Ok(TokenResponse {
        access_token: access,
        refresh_token: refresh,
        expires_in: state.cfg.access_ttl_secs,
        account_id: AccountId(account_id),
    })
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = TokenResponse),
    (status = 400, body = ErrorBody, description = "Malformed JSON"),
    (status = 401, body = ErrorBody, description = "Unknown user or wrong password (identical bodies)"),
    (status = 413, body = ErrorBody),
    (status = 422, body = ErrorBody, description = "Missing field, or a field outside its length"),
    (status = 429, body = ErrorBody, description = "Too many attempts from this IP, for this account from this IP, or for this account overall; see Retry-After"),
    (status = 503, body = ErrorBody),
))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if !(1..=64).contains(&req.username.chars().count()) {
        return Err(ApiError::validation(
            "username",
            "username must be 1-64 characters",
        ));
    }
    if !(1..=512).contains(&req.password.chars().count()) {
        return Err(ApiError::validation(
            "password",
            "password must be 1-512 characters",
        ));
    }
    let attempt = state.limits.login(ip, &req.username)?;
    let account = state.db.account_by_name(&req.username).await?;
    let ok = state
        .hasher
        .verify(
            req.password,
            account.as_ref().map(|a| a.password_hash.clone()),
        )
        .await?;
    let Some(account) = account.filter(|_| ok) else {
        attempt.failed();
        return Err(ApiError::InvalidCredentials);
    };
    let now = now_secs();
    let session_id = new_session_id();
    let refresh = new_refresh_token();
    state
        .db
        .create_session(
            &session_id,
            account.id,
            &hash_refresh_token(&refresh),
            now,
            now + state.cfg.refresh_ttl_secs as i64,
        )
        .await?;
    tracing::info!(account_id = account.id, "login");
    Ok(Json(
        issue_tokens(&state, account.id, &session_id, refresh).await?,
    ))
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, body = TokenResponse, description = "A new access token and the next refresh token"),
    (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody, description = "Unknown, expired or revoked token, or one a concurrent refresh just used (`unauthorized`); `refresh_token_reused` when a token used earlier comes back (the session is then revoked)"),
    (status = 413, body = ErrorBody),
    (status = 422, body = ErrorBody),
    (status = 429, body = ErrorBody, description = "Too many refreshes from this IP; see Retry-After"),
    (status = 503, body = ErrorBody),
))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if !(1..=256).contains(&req.refresh_token.chars().count()) {
        return Err(ApiError::validation(
            "refresh_token",
            "refresh_token must be 1-256 characters",
        ));
    }
    state.limits.refresh(ip)?;
    let next = new_refresh_token();
    let outcome = state
        .db
        .rotate_refresh(
            &hash_refresh_token(&req.refresh_token),
            &hash_refresh_token(&next),
            now_secs(),
            state.cfg.refresh_reuse_grace_secs as i64,
        )
        .await?;
    match outcome {
        Refresh::Rotated {
            session_id,
            account_id,
        } => Ok(Json(
            issue_tokens(&state, account_id, &session_id, next).await?,
        )),
        Refresh::Reused => {
            tracing::warn!("refresh token reuse; session revoked");
            Err(ApiError::RefreshReused)
        }
        Refresh::Raced | Refresh::Invalid => Err(ApiError::Unauthorized),
    }
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses(
    (status = 204, description = "The session (access and refresh tokens) is revoked, and the account's live game session on its shard ends"),
    (status = 401, body = ErrorBody),
))]
pub async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    let now = now_secs();
    if let Some(account) = state.db.revoke_session(&user.session_id, now).await? {
        // The shard holding the account's lease disconnects it at its next heartbeat.
        state.db.request_end_session(account, now).await?;
        tracing::info!(account_id = account, "logout");
    }
    Ok(StatusCode::NO_CONTENT)
}
