//! `player_states`: one row per account that has ever been loaded: the ownership lease (owning
//! shard + epoch), the state as a versioned JSON document, and its content hash.
//!
//! - [`Db::take_lease`]: a load. The epoch grows by one and the caller becomes the owner, in
//!   one statement; whoever held the lease before will find its next save refused. The
//!   account's ledger is opened in the same transaction if it never was.
//! - Saves carry ledger entries: they are applied in the save's own savepoint, after its
//!   compare-and-swap, so state and ledger commit together (see [`super::ledger`]). An entry
//!   that would take a holding below zero refuses the whole save (`invalid_ledger`).
//! - [`Db::save_states`]: compare-and-swap. A save is applied only when the lease's epoch and
//!   owner are the caller's and the stored version is the one the save was based on, in one
//!   `UPDATE`. Otherwise the row is read to tell a retry of an applied save (`duplicate`: same
//!   epoch, version and content hash) from a refusal (`stale_epoch`, `stale_version`).

use super::Db;
use super::ledger;
use harvest_shared::api::{Lease, PlayerSave, SaveOutcome, SaveResult, StoredLease};
use harvest_shared::ids::AccountId;
use harvest_shared::inventory::Holdings;
use harvest_shared::state::PlayerState;
use sha2::{Digest, Sha256};
use sqlx::Acquire;

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

/// The stored JSON of a save's state, and the save's content hash: of that JSON and of its
/// ledger entries (both canonical: fields in declaration order, maps sorted), so a retry is
/// told from another save on the same base even when only the entries differ.
fn encode_state(save: &PlayerSave) -> Result<(String, String), sqlx::Error> {
    let enc = |e: serde_json::Error| sqlx::Error::Encode(Box::new(e));
    let json = serde_json::to_string(&save.state).map_err(enc)?;
    let ledger = serde_json::to_string(&save.ledger).map_err(enc)?;
    let mut h = Sha256::new();
    h.update(json.as_bytes());
    h.update(b"\n");
    h.update(ledger.as_bytes());
    Ok((json, hex::encode(&h.finalize()[..16])))
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

    /// Give `shard_id` the lease of `account_id` with a new epoch. `None`: no such account, or
    /// (with `if_free`) another shard holds the lease, which is then left as it was.
    /// `start`: the holdings a never-leased account's ledger opens with.
    pub async fn take_lease(
        &self,
        account_id: i64,
        shard_id: &str,
        now: i64,
        start: &Holdings,
        if_free: bool,
    ) -> Result<Option<Lease>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let row: Option<LeaseRow> = sqlx::query_as(
            "INSERT INTO player_states (account_id, epoch, owner_shard, version, state, updated_at) \
             SELECT $1, 1, $2, 0, NULL, $3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1) \
             ON CONFLICT (account_id) DO UPDATE SET epoch = player_states.epoch + 1, \
             owner_shard = excluded.owner_shard, end_session_at = NULL \
             WHERE $4 = 0 OR player_states.owner_shard IS NULL \
             OR player_states.owner_shard = excluded.owner_shard \
             RETURNING epoch, version, state",
        )
        .bind(account_id)
        .bind(shard_id)
        .bind(now)
        .bind(i64::from(if_free))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        // A save from before the ledger opens it with what that save held.
        let opening = r
            .state
            .as_deref()
            .and_then(ledger::legacy_holdings)
            .unwrap_or_else(|| start.clone());
        ledger::open_ledger(&mut tx, account_id, shard_id, &opening, now).await?;
        let holdings = ledger::holdings_in(&mut tx, account_id).await?;
        let rating = super::matches::rating_in(&mut tx, account_id).await?;
        tx.commit().await?;
        Ok(Some(Lease {
            account_id: AccountId(account_id),
            epoch: r.epoch,
            version: r.version,
            state: decode_state(r.state)?,
            holdings,
            rating,
        }))
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
            let (json, hash) = encode_state(s)?;
            // A save with ledger entries gets a savepoint: if the database refuses an entry,
            // the state update is undone with it and the rest of the batch goes on.
            let (applied, ledger_refused) = if s.ledger.is_empty() {
                (
                    cas_update(&mut tx, s, &json, &hash, shard_id, now).await?,
                    false,
                )
            } else {
                let mut sp = (&mut tx).begin().await?;
                let applied = cas_update(&mut sp, s, &json, &hash, shard_id, now).await?;
                if applied == 0 {
                    sp.commit().await?;
                    (0, false)
                } else {
                    match ledger::apply_entries(&mut sp, s.account_id.0, shard_id, &s.ledger, now)
                        .await
                    {
                        Ok(()) => {
                            sp.commit().await?;
                            (applied, false)
                        }
                        // Only the holdings' CHECK means the entries are wrong; any other
                        // database error is the database's trouble: the batch fails and the
                        // shard retries it unchanged.
                        Err(sqlx::Error::Database(e))
                            if e.kind() == sqlx::error::ErrorKind::CheckViolation =>
                        {
                            tracing::error!(account = %s.account_id, error = %e, "the database refused a save's ledger; the save is not applied");
                            sp.rollback().await?;
                            (0, true)
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            let result = if ledger_refused {
                SaveResult {
                    account_id: s.account_id,
                    outcome: SaveOutcome::InvalidLedger,
                    stored_epoch: s.epoch,
                    stored_version: s.base_version,
                }
            } else if applied > 0 {
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

/// The compare-and-swap of one save's state: rows changed (1 applied, 0 not).
async fn cas_update(
    conn: &mut sqlx::AnyConnection,
    s: &PlayerSave,
    json: &str,
    hash: &str,
    shard_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE player_states SET version = version + 1, state = $1, state_hash = $2, \
         updated_at = $3, owner_shard = CASE WHEN $4 = 1 THEN NULL ELSE owner_shard END \
         WHERE account_id = $5 AND epoch = $6 AND version = $7 AND owner_shard = $8",
    )
    .bind(json)
    .bind(hash)
    .bind(now)
    .bind(i64::from(s.release))
    .bind(s.account_id.0)
    .bind(s.epoch)
    .bind(s.base_version)
    .bind(shard_id)
    .execute(conn)
    .await?
    .rows_affected())
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
