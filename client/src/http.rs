//! The sidecar's public HTTP API, typed with the shared DTOs.

use harvest_shared::api::{
    ErrorBody, LoginRequest, MeResponse, PlayResponse, RegisterRequest, RegisterResponse,
    TokenResponse,
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot reach the sidecar: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("{status} {}: {}", body.error, body.message)]
    Api { status: u16, body: ErrorBody },
}

impl HttpError {
    /// The API error code (`username_taken`, `rate_limited`, …), if the sidecar answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            HttpError::Api { body, .. } => Some(&body.error),
            HttpError::Transport(_) => None,
        }
    }
}

#[derive(Clone)]
pub struct SidecarApi {
    http: reqwest::Client,
    base: String,
}

impl SidecarApi {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a plain HTTP client always builds");
        SidecarApi {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn parse<T: serde::de::DeserializeOwned>(
        resp: reqwest::Response,
    ) -> Result<T, HttpError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.json().await?);
        }
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(ErrorBody {
            error: "http_error".into(),
            message: text,
            field: None,
        });
        Err(HttpError::Api {
            status: status.as_u16(),
            body,
        })
    }

    /// Send `req` and parse the answer (success body or `ErrorBody`).
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, HttpError> {
        Self::parse(req.send().await?).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn register(
        &self,
        username: &str,
        password: &str,
    ) -> Result<RegisterResponse, HttpError> {
        let req = RegisterRequest {
            username: username.into(),
            password: password.into(),
        };
        self.call(self.http.post(self.url("/v1/auth/register")).json(&req))
            .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse, HttpError> {
        let req = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        self.call(self.http.post(self.url("/v1/auth/login")).json(&req))
            .await
    }

    /// Register, or carry on if the name is taken, then log in.
    pub async fn register_or_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<TokenResponse, HttpError> {
        match self.register(username, password).await {
            Ok(_) => {}
            Err(e) if e.code() == Some("username_taken") => {}
            Err(e) => return Err(e),
        }
        self.login(username, password).await
    }

    pub async fn play(&self, access_token: &str) -> Result<PlayResponse, HttpError> {
        self.call(
            self.http
                .post(self.url("/v1/play"))
                .bearer_auth(access_token),
        )
        .await
    }

    pub async fn me(&self, access_token: &str) -> Result<MeResponse, HttpError> {
        self.call(
            self.http
                .get(self.url("/v1/players/me"))
                .bearer_auth(access_token),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_sidecar_is_a_transport_error() {
        // Port 1 on loopback: nothing listens there.
        let api = SidecarApi::new("http://127.0.0.1:1");
        let err = api.login("a", "b").await.unwrap_err();
        assert!(matches!(err, HttpError::Transport(_)));
        assert_eq!(err.code(), None);
    }
}
