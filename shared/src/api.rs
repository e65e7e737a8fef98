//! HTTP DTOs: the JSON bodies of the sidecar's public routes (`/v1/...`) and of its internal
//! routes for shards (`/internal/v1/...`). Sidecar, shard and client all use these types, so a
//! field renamed here is renamed everywhere at once.

use crate::farming::{FarmSummary, Inventory};
use crate::ids::{AccountId, ZoneId};
use crate::state::PlayerState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error the sidecar returns: `{"error": code, "message": text}`, plus the failing field
/// for validation errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `username_taken`, `invalid_credentials`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field that failed validation, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---- public: accounts and sessions ----

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–24 characters of `[A-Za-z0-9_]`; unique ignoring case.
    pub username: String,
    /// 8–128 characters.
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    pub account_id: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Signed, short-lived; send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque, single use; trade it at `/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub account_id: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

// ---- public: play ----

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PlayResponse {
    /// Base64 (standard alphabet) of lightyear's 2048-byte netcode `ConnectToken`.
    pub connect_token: String,
    /// UDP address of the shard hosting `zone`.
    pub server_addr: String,
    pub zone: ZoneId,
    /// Content hash the shard runs; the client warns when its own differs.
    pub content_version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub account_id: AccountId,
    pub username: String,
    /// Unix seconds.
    pub created_at: i64,
    pub zone: ZoneId,
    pub inventory: Inventory,
    pub farm: FarmSummary,
    /// Version of the stored state (0 when the player has never been saved).
    pub state_version: i64,
}

// ---- internal: shards ----

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardRegistration {
    /// Stable name of the shard process (e.g. the StatefulSet pod name).
    pub shard_id: String,
    /// Public UDP address clients connect to.
    pub address: String,
    pub zones: Vec<ZoneId>,
    pub content_version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardRegistered {
    /// Seconds after which the registration lapses unless renewed.
    pub ttl_secs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredState {
    pub account_id: AccountId,
    /// 0 and `state: null` for a player never saved.
    pub version: i64,
    pub state: Option<PlayerState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlayerSave {
    pub account_id: AccountId,
    /// Must be greater than the stored version; equal is treated as a retry of the same save.
    pub version: i64,
    pub state: PlayerState,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveBatch {
    pub saves: Vec<PlayerSave>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaveOutcome {
    /// Stored.
    Saved,
    /// The same version was already stored (a retry); nothing changed.
    Duplicate,
    /// Refused: a newer version is stored.
    Stale,
    /// Refused: no such account.
    UnknownAccount,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveResult {
    pub account_id: AccountId,
    pub version: i64,
    pub outcome: SaveOutcome,
    /// The version stored after this save.
    pub stored_version: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveBatchResponse {
    pub results: Vec<SaveResult>,
}

/// Netcode user data layout: bytes 0..8 hold the account id (little endian).
pub fn encode_user_data(account: AccountId) -> [u8; 256] {
    let mut ud = [0u8; 256];
    ud[..8].copy_from_slice(&account.0.to_le_bytes());
    ud
}

pub fn decode_user_data(ud: &[u8; 256]) -> AccountId {
    let mut b = [0u8; 8];
    b.copy_from_slice(&ud[..8]);
    AccountId(i64::from_le_bytes(b))
}

/// Protocol id shared by token minting (sidecar) and the netcode server (shard). Bump it when
/// the protocol changes so old clients are refused at the handshake.
pub const PROTOCOL_ID: u64 = 0x4841_5256_0000_0001;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_round_trip() {
        for id in [0, 1, 42, i64::MAX, -5] {
            assert_eq!(
                decode_user_data(&encode_user_data(AccountId(id))),
                AccountId(id)
            );
        }
    }
}
