//! HTTP client for the sidecar's `/internal/v1` routes, used only from the persistence
//! runtime's tasks (never from a Bevy system).
//!
//! Errors are sorted by what the caller should do about them: [`SidecarError::Unavailable`]
//! (unreachable, timed out, 5xx) is an outage, retried with backoff; [`SidecarError::Rejected`]
//! (4xx) is a bug or a misconfiguration such as a wrong service secret, which retrying will not
//! fix.

use harvest_shared::api::{
    HandoffRequest, Lease, LeaseRequest, MatchRecord, MatchReport, MatchSettled, PlayResponse,
    PlayerSave, SaveBatch, SaveBatchResponse, SaveResult, ShardRegistered, ShardRegistration,
};
use harvest_shared::ids::{AccountId, ZoneId};
use std::path::Path;
use std::time::Duration;

/// Default per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidecarError {
    /// Unreachable, timed out, busy (408, 429) or a server error: an outage.
    #[error("sidecar unavailable: {0}")]
    Unavailable(String),
    /// The sidecar refused the request (4xx): a bug or a misconfiguration.
    #[error("sidecar refused the request ({status}): {body}")]
    Rejected { status: u16, body: String },
    /// The task doing the request failed (a panic): a bug on this side.
    #[error("internal failure: {0}")]
    Crashed(String),
}

impl SidecarError {
    fn from_reqwest(e: reqwest::Error) -> Self {
        SidecarError::Unavailable(e.to_string())
    }
}

#[derive(Clone)]
pub struct SidecarClient {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

impl SidecarClient {
    pub fn new(
        base: &str,
        service_secret: &[u8; 32],
        ca_cert: Option<&Path>,
    ) -> anyhow::Result<Self> {
        Ok(SidecarClient {
            http: harvest_ops::tls::https_client(ca_cert, REQUEST_TIMEOUT)?,
            base: base.trim_end_matches('/').to_owned(),
            bearer: format!("Bearer {}", hex::encode(service_secret)),
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Option<Duration>,
    ) -> Result<T, SidecarError> {
        let mut req = req.header("authorization", &self.bearer);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await.map_err(SidecarError::from_reqwest)?;
        let status = resp.status();
        if status.is_success() {
            return resp.json().await.map_err(SidecarError::from_reqwest);
        }
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        // 408 (its request timeout) and 429 mean "busy, later": an outage, not a refusal.
        if status.is_client_error() && !matches!(status.as_u16(), 408 | 429) {
            Err(SidecarError::Rejected {
                status: status.as_u16(),
                body,
            })
        } else {
            Err(SidecarError::Unavailable(format!("{status}: {body}")))
        }
    }

    /// Join or renew the shard directory (a heartbeat).
    pub async fn heartbeat(
        &self,
        reg: &ShardRegistration,
    ) -> Result<ShardRegistered, SidecarError> {
        let url = format!("{}/internal/v1/shards", self.base);
        self.send(self.http.post(url).json(reg), None).await
    }

    /// Leave the directory as process `incarnation` (404 means already gone, which is fine).
    pub async fn deregister(
        &self,
        shard_id: &str,
        incarnation: i64,
        timeout: Duration,
    ) -> Result<(), SidecarError> {
        let url = format!(
            "{}/internal/v1/shards/{shard_id}?incarnation={incarnation}",
            self.base
        );
        let resp = self
            .http
            .delete(url)
            .header("authorization", &self.bearer)
            .timeout(timeout)
            .send()
            .await
            .map_err(SidecarError::from_reqwest)?;
        match resp.status().as_u16() {
            200..=299 | 404 => Ok(()),
            s @ 400..=499 => Err(SidecarError::Rejected {
                status: s,
                body: resp.text().await.unwrap_or_default(),
            }),
            s => Err(SidecarError::Unavailable(format!("status {s}"))),
        }
    }

    /// Take `account`'s ownership lease for `shard_id` and get its stored state.
    pub async fn lease(
        &self,
        account: AccountId,
        shard_id: &str,
        if_free: bool,
    ) -> Result<Lease, SidecarError> {
        let url = format!("{}/internal/v1/players/{}/lease", self.base, account.0);
        let body = LeaseRequest {
            shard_id: shard_id.to_owned(),
            if_free,
        };
        self.send(self.http.post(url).json(&body), None).await
    }

    /// A connect token to the shard hosting `zone`, for `account`, whose journey there this
    /// shard has just saved and released (a handoff).
    pub async fn handoff(
        &self,
        account: AccountId,
        shard_id: &str,
        zone: &ZoneId,
    ) -> Result<PlayResponse, SidecarError> {
        let url = format!("{}/internal/v1/players/{}/handoff", self.base, account.0);
        let body = HandoffRequest {
            shard_id: shard_id.to_owned(),
            zone: zone.clone(),
        };
        self.send(self.http.post(url).json(&body), None).await
    }

    /// Record a finished duel; a repeat of a recorded match returns the stored result.
    pub async fn record_match(&self, report: &MatchReport) -> Result<MatchSettled, SidecarError> {
        let url = format!("{}/internal/v1/matches", self.base);
        self.send(self.http.post(url).json(report), None).await
    }

    /// A recorded match, whole (for replays).
    pub async fn match_record(&self, match_id: &str) -> Result<MatchRecord, SidecarError> {
        let url = format!("{}/internal/v1/matches/{match_id}", self.base);
        self.send(self.http.get(url), None).await
    }

    /// One batch of compare-and-swap saves.
    pub async fn save(
        &self,
        shard_id: &str,
        saves: Vec<PlayerSave>,
        timeout: Duration,
    ) -> Result<Vec<SaveResult>, SidecarError> {
        let url = format!("{}/internal/v1/players/states", self.base);
        let batch = SaveBatch {
            shard_id: shard_id.to_owned(),
            saves,
        };
        let resp: SaveBatchResponse = self
            .send(self.http.post(url).json(&batch), Some(timeout))
            .await?;
        Ok(resp.results)
    }
}
