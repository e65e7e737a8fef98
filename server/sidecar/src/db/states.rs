//! `player_states`: one versioned JSON document per account. A save is applied only when its
//! version is newer than the stored one; an equal version is a retry (idempotent), an older one
//! is refused as stale.

use super::Db;
use harvest_shared::api::{PlayerSave, SaveOutcome, SaveResult};
use harvest_shared::state::PlayerState;
use sqlx::Row;

pub struct Stored {
    pub version: i64,
    pub state: Option<PlayerState>,
}

impl Db {
    pub async fn load_state(&self, account_id: i64) -> Result<Stored, sqlx::Error> {
        let row = sqlx::query("SELECT version, state FROM player_states WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(Stored {
                version: 0,
                state: None,
            }),
            Some(row) => {
                let text: String = row.try_get(1)?;
                let state =
                    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Ok(Stored {
                    version: row.try_get(0)?,
                    state: Some(state),
                })
            }
        }
    }

    /// Apply a batch of saves in one transaction and report each outcome.
    pub async fn save_states(
        &self,
        saves: &[PlayerSave],
        now: i64,
    ) -> Result<Vec<SaveResult>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let mut results = Vec::with_capacity(saves.len());
        for s in saves {
            let json =
                serde_json::to_string(&s.state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            let applied = sqlx::query(
                "INSERT INTO player_states (account_id, version, state, updated_at) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1) \
                 ON CONFLICT (account_id) DO UPDATE SET version = excluded.version, state = excluded.state, \
                 updated_at = excluded.updated_at WHERE player_states.version < excluded.version",
            )
            .bind(s.account_id.0)
            .bind(s.version)
            .bind(json)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let (outcome, stored_version) = if applied > 0 {
                (SaveOutcome::Saved, s.version)
            } else {
                let row = sqlx::query("SELECT version FROM player_states WHERE account_id = $1")
                    .bind(s.account_id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                match row {
                    None => (SaveOutcome::UnknownAccount, 0),
                    Some(row) => {
                        let v: i64 = row.try_get(0)?;
                        (
                            if v == s.version {
                                SaveOutcome::Duplicate
                            } else {
                                SaveOutcome::Stale
                            },
                            v,
                        )
                    }
                }
            };
            results.push(SaveResult {
                account_id: s.account_id,
                version: s.version,
                outcome,
                stored_version,
            });
        }
        tx.commit().await?;
        Ok(results)
    }
}
