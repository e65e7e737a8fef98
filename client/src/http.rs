//! The sidecar's public HTTP API, typed with the shared DTOs.

use harvest_shared::api::{
    ErrorBody, LoginRequest, MeResponse, PlayResponse, RegisterRequest, RegisterResponse,
    TokenResponse,
};
use std::path::Path;
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

/// Why an HTTP client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read CA certificate {path}: {error}")]
    ReadCa { path: String, error: std::io::Error },
    #[error("{path} is not a PEM certificate: {error}")]
    BadCa { path: String, error: reqwest::Error },
    #[error("{path} holds no PEM certificate")]
    NoCa { path: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

impl SidecarApi {
    /// A client for the sidecar at `base` (`http://` or `https://`). HTTPS trusts the system's
    /// roots, plus the PEM certificates in `ca_cert` (a private CA) when given.
    pub fn new(base: &str, ca_cert: Option<&Path>) -> Result<Self, SetupError> {
        // rustls needs one process-wide crypto provider; aws-lc-rs is the one it is built with.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10));
        if let Some(path) = ca_cert {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|error| SetupError::ReadCa {
                path: shown.clone(),
                error,
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| SetupError::BadCa {
                    path: shown.clone(),
                    error,
                })?;
            if certs.is_empty() {
                return Err(SetupError::NoCa { path: shown });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(SidecarApi {
            http: builder.build().map_err(SetupError::Client)?,
            base: base.trim_end_matches('/').to_owned(),
        })
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

    /// End the session: its tokens stop working and the account's game session ends.
    pub async fn logout(&self, access_token: &str) -> Result<(), HttpError> {
        let resp = self
            .http
            .post(self.url("/v1/auth/logout"))
            .bearer_auth(access_token)
            .send()
            .await?;
        if resp.status().is_success() {
            return Ok(());
        }
        Self::parse::<serde_json::Value>(resp).await.map(|_| ())
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

    #[test]
    fn a_missing_or_bad_ca_file_is_a_typed_error() {
        let err = SidecarApi::new("https://x", Some(Path::new("/nonexistent/ca.pem")))
            .err()
            .unwrap();
        assert!(matches!(err, SetupError::ReadCa { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        assert!(SidecarApi::new("https://x", Some(&bad)).is_err());
    }

    #[tokio::test]
    async fn unreachable_sidecar_is_a_transport_error() {
        // Port 1 on loopback: nothing listens there.
        let api = SidecarApi::new("http://127.0.0.1:1", None).unwrap();
        let err = api.login("a", "b").await.unwrap_err();
        assert!(matches!(err, HttpError::Transport(_)));
        assert_eq!(err.code(), None);
    }
}
