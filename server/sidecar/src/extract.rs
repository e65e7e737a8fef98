//! Request extractors. Each one turns a bad request into a typed [`ApiError`], so handlers
//! only ever see valid input.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use harvest_shared::ids::AccountId;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

/// Public request bodies are capped at this many bytes (413 beyond).
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;
/// Internal (shard) request bodies, which carry save batches, are capped at this.
pub const INTERNAL_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A JSON body. Unlike `axum::Json` it accepts any content type, answers 400 for malformed
/// JSON and 422 (naming the field) for JSON of the wrong shape, always as an [`ApiError`].
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(PUBLIC_BODY_LIMIT)
            } else {
                ApiError::MalformedJson(rej.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        use serde_json::error::Category;
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => {
                // A missing field is reported at its parent; name the field itself.
                let msg = inner.to_string();
                let missing = msg
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next());
                let field = match (missing, path.as_str()) {
                    (Some(name), "." | "") => name.to_owned(),
                    (Some(name), parent) => format!("{parent}.{name}"),
                    (None, "." | "") => "body".to_owned(),
                    (None, p) => p.to_owned(),
                };
                ApiError::Validation {
                    field,
                    message: msg,
                }
            }
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(inner.to_string())
            }
        }
    })?;
    // Trailing bytes after the JSON value are malformed input too.
    de.end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A player authenticated by a valid access token whose session is still live.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub account_id: AccountId,
    pub session_id: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        let (account, claims) = state
            .tokens
            .verify_access(token)
            .ok_or(ApiError::Unauthorized)?;
        // The session must be live *and* belong to the token's subject.
        if !state
            .db
            .session_is_live(&claims.sid, account, crate::db::now_secs())
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        Ok(AuthUser {
            account_id: AccountId(account),
            session_id: claims.sid,
        })
    }
}

/// A signed-in operator: a live session of an account with the `admin` role (403 for any other
/// account).
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if state.db.is_admin(user.account_id.0).await? {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// A shard presenting the shared service secret (`Authorization: Bearer <hex>`).
pub struct ShardAuth;

impl FromRequestParts<AppState> for ShardAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let presented = bearer(parts)
            .and_then(|t| hex::decode(t).ok())
            .ok_or(ApiError::Unauthorized)?;
        if presented.len() == 32 && bool::from(presented.ct_eq(&state.cfg.service_secret)) {
            Ok(ShardAuth)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// The client's IP: the TCP peer, or, when the peer is one of `--trusted-proxies`, the
/// address it forwarded for (see [`crate::net::client_ip`]). Loopback when the server runs
/// without connect info (unit tests through `oneshot`).
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::ConnectInfo;
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientIp(crate::net::client_ip(
            peer,
            forwarded,
            &state.cfg.trusted_proxies,
        )))
    }
}
