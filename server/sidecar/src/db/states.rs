//! `player_states`: one row per account that has ever been loaded: the ownership lease (owning
//! shard + epoch), the state as a versioned JSON document, and its content hash.
//!
//! - [`Db::take_lease`]: a load. The epoch grows by one and the caller becomes the owner, in
//!   one statement; whoever held the lease before will find its next save refused.
//! - [`Db::save_states`]: compare-and-swap. A save is applied only when the lease's epoch and
//!   owner are the caller's and the stored version is the one the save was based on, in one
//!   `UPDATE`. Otherwise the row is read to tell a retry of an applied save (`duplicate`: same
//!   epoch, version and content hash) from a refusal (`stale_epoch`, `stale_version`).

use super::Db;
use harvest_shared::api::{Lease, PlayerSave, SaveOutcome, SaveResult, StoredLease};
use harvest_shared::ids::AccountId;
use harvest_shared::state::PlayerState;
use sha2::{Digest, Sha256};

/// What `/v1/players/me` and `/v1/play` read: the stored version and state, if any, and the
/// shard holding the lease.
pub struct Stored {
    pub version: i64,
    pub state: Option<PlayerState>,
    pub owner_shard: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    epoch: i64,
    version: i64,
    state: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    version: i64,
    state: Option<String>,
    owner_shard: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SaveRow {
    epoch: i64,
    owner_shard: Option<String>,
    version: i64,
    state_hash: Option<String>,
}

fn decode_state(text: Option<String>) -> Result<Option<PlayerState>, sqlx::Error> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// The stored JSON of a state and its content hash (the JSON is canonical: fields in
/// declaration order, maps sorted).
fn encode_state(state: &PlayerState) -> Result<(String, String), sqlx::Error> {
    let json = serde_json::to_string(state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let hash = hex::encode(&Sha256::digest(json.as_bytes())[..16]);
    Ok((json, hash))
}

impl Db {
    pub async fn load_state(&self, account_id: i64) -> Result<Stored, sqlx::Error> {
        let row: Option<StoredRow> = sqlx::query_as(
            "SELECT version, state, owner_shard FROM player_states WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            None => Stored {
                version: 0,
                state: None,
                owner_shard: None,
            },
            Some(r) => Stored {
                version: r.version,
                state: decode_state(r.state)?,
                owner_shard: r.owner_shard,
            },
        })
    }

    /// Give `shard_id` the lease of `account_id` with a new epoch. `None`: no such account.
    pub async fn take_lease(
        &self,
        account_id: i64,
        shard_id: &str,
        now: i64,
    ) -> Result<Option<Lease>, sqlx::Error> {
        let row: Option<LeaseRow> = sqlx::query_as(
            "INSERT INTO player_states (account_id, epoch, owner_shard, version, state, updated_at) \
             SELECT $1, 1, $2, 0, NULL, $3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1) \
             ON CONFLICT (account_id) DO UPDATE SET epoch = player_states.epoch + 1, \
             owner_shard = excluded.owner_shard, end_session_at = NULL \
             RETURNING epoch, version, state",
        )
        .bind(account_id)
        .bind(shard_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Lease {
                account_id: AccountId(account_id),
                epoch: r.epoch,
                version: r.version,
                state: decode_state(r.state)?,
            })
        })
        .transpose()
    }

    /// Apply a batch of compare-and-swap saves from `shard_id` in one transaction and report
    /// each outcome.
    pub async fn save_states(
        &self,
        shard_id: &str,
        saves: &[PlayerSave],
        now: i64,
    ) -> Result<Vec<SaveResult>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let mut results = Vec::with_capacity(saves.len());
        for s in saves {
            let (json, hash) = encode_state(&s.state)?;
            let applied = sqlx::query(
                "UPDATE player_states SET version = version + 1, state = $1, state_hash = $2, \
                 updated_at = $3, owner_shard = CASE WHEN $4 = 1 THEN NULL ELSE owner_shard END \
                 WHERE account_id = $5 AND epoch = $6 AND version = $7 AND owner_shard = $8",
            )
            .bind(json)
            .bind(&hash)
            .bind(now)
            .bind(i64::from(s.release))
            .bind(s.account_id.0)
            .bind(s.epoch)
            .bind(s.base_version)
            .bind(shard_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let result = if applied > 0 {
                SaveResult {
                    account_id: s.account_id,
                    outcome: SaveOutcome::Saved,
                    stored_epoch: s.epoch,
                    stored_version: s.base_version + 1,
                }
            } else {
                let row: Option<SaveRow> = sqlx::query_as(
                    "SELECT epoch, owner_shard, version, state_hash FROM player_states WHERE account_id = $1",
                )
                .bind(s.account_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                classify_refusal(s, &hash, shard_id, row)
            };
            results.push(result);
        }
        tx.commit().await?;
        Ok(results)
    }

    /// Ask the shard holding `account_id`'s lease to end its game session (logout).
    pub async fn request_end_session(&self, account_id: i64, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE player_states SET end_session_at = $1 WHERE account_id = $2 AND owner_shard IS NOT NULL",
        )
        .bind(now)
        .bind(account_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The accounts leased to `shard_id` whose session should end; each is returned once.
    pub async fn take_end_sessions(&self, shard_id: &str) -> Result<Vec<AccountId>, sqlx::Error> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "UPDATE player_states SET end_session_at = NULL \
             WHERE owner_shard = $1 AND end_session_at IS NOT NULL RETURNING account_id",
        )
        .bind(shard_id)
        .fetch_all(self.pool())
        .await?;
        Ok(ids.into_iter().map(|(id,)| AccountId(id)).collect())
    }
}

/// Why a save that changed nothing changed nothing.
fn classify_refusal(
    s: &PlayerSave,
    hash: &str,
    shard_id: &str,
    row: Option<SaveRow>,
) -> SaveResult {
    let Some(row) = row else {
        return SaveResult::unknown_account(s.account_id);
    };
    let stored = StoredLease {
        epoch: row.epoch,
        owner_shard: row.owner_shard.as_deref(),
        version: row.version,
    };
    let outcome = s.refusal(&stored, shard_id, row.state_hash.as_deref() == Some(hash));
    SaveResult {
        account_id: s.account_id,
        outcome,
        stored_epoch: row.epoch,
        stored_version: row.version,
    }
}
