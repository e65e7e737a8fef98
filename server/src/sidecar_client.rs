//! HTTP client for the sidecar's `/internal/v1` routes, used only from the persistence worker's
//! background runtime (never from a Bevy system).

use harvest_shared::api::{
    PlayerSave, SaveBatch, SaveBatchResponse, ShardRegistered, ShardRegistration, StoredState,
};
use harvest_shared::ids::AccountId;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("sidecar unreachable: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("sidecar answered {status}: {body}")]
    Status { status: u16, body: String },
}

#[derive(Clone)]
pub struct SidecarClient {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

impl SidecarClient {
    pub fn new(base: &str, service_secret: &[u8; 32]) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(8)
            .build()
            .expect("a plain HTTP client always builds");
        SidecarClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            bearer: format!("Bearer {}", hex::encode(service_secret)),
        }
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SidecarError> {
        if resp.status().is_success() {
            Ok(resp)
        } else {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            Err(SidecarError::Status { status, body })
        }
    }

    pub async fn register(&self, reg: &ShardRegistration) -> Result<ShardRegistered, SidecarError> {
        let resp = self
            .http
            .post(format!("{}/internal/v1/shards", self.base))
            .header("authorization", &self.bearer)
            .json(reg)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    /// Leave the directory (404 means already gone, which is fine).
    pub async fn deregister(&self, shard_id: &str) -> Result<(), SidecarError> {
        let resp = self
            .http
            .delete(format!("{}/internal/v1/shards/{shard_id}", self.base))
            .header("authorization", &self.bearer)
            .send()
            .await?;
        if resp.status().as_u16() == 404 {
            return Ok(());
        }
        Self::check(resp).await.map(|_| ())
    }

    pub async fn load(&self, account: AccountId) -> Result<StoredState, SidecarError> {
        let resp = self
            .http
            .get(format!(
                "{}/internal/v1/players/{}/state",
                self.base, account.0
            ))
            .header("authorization", &self.bearer)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    pub async fn save(&self, saves: Vec<PlayerSave>) -> Result<SaveBatchResponse, SidecarError> {
        let resp = self
            .http
            .post(format!("{}/internal/v1/players/states", self.base))
            .header("authorization", &self.bearer)
            .json(&SaveBatch { saves })
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }
}
