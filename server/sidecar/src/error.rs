//! `ApiError`: every failure a route can return, rendered as JSON `{error, message}`.
//! Internal errors are logged with their cause and returned as a bare `internal` code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use harvest_shared::api::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("request body could not be read")]
    UnreadableBody,
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("missing, invalid or expired token")]
    Unauthorized,
    #[error("this route is for operators (accounts with the admin role)")]
    Forbidden,
    #[error("refresh token was already used; the session has been revoked")]
    RefreshReused,
    #[error("username is already taken")]
    UsernameTaken,
    #[error("{0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body is larger than the {0}-byte limit")]
    PayloadTooLarge(usize),
    #[error("too many attempts; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("no shard currently hosts zone '{0}'")]
    NoShard(String),
    #[error("server is busy; retry shortly")]
    Busy,
    #[error("the request took too long")]
    Timeout,
    #[error("database is unreachable")]
    NotReady,
    #[error("the cross-shard bus is not connected (no --nats-url, or NATS is unreachable)")]
    BusUnavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ApiError::*;
        match self {
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            UnreadableBody => (StatusCode::BAD_REQUEST, "unreadable_body"),
            Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            RefreshReused => (StatusCode::UNAUTHORIZED, "refresh_token_reused"),
            Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            UsernameTaken => (StatusCode::CONFLICT, "username_taken"),
            Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            NotFound => (StatusCode::NOT_FOUND, "not_found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            NoShard(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_shard"),
            Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            BusUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "bus_unavailable"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::NotReady
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let field = match &self {
            ApiError::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
            field,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        // Tell well-behaved clients when to come back instead of hammering.
        let retry_after = match self {
            ApiError::RateLimited { retry_after_secs } => Some(retry_after_secs.max(1)),
            ApiError::Busy => Some(1),
            ApiError::NoShard(_) | ApiError::NotReady | ApiError::BusUnavailable => Some(5),
            _ => None,
        };
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
