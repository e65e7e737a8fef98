//! An in-memory stand-in for the sidecar's persistence, with the same lease and
//! compare-and-swap rules (see `harvest_sidecar::db::states`). Used when the shard runs without
//! a sidecar: benches and offline app tests. It also records each save batch's size and can
//! pretend to be down, so tests can check chunking and outage handling without a network.

use crate::sidecar_client::SidecarError;
use harvest_shared::api::{Lease, PlayerSave, SaveOutcome, SaveResult, StoredLease};
use harvest_shared::ids::AccountId;
use harvest_shared::state::PlayerState;
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Row {
    epoch: i64,
    owner: Option<String>,
    version: i64,
    state: Option<PlayerState>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: HashMap<AccountId, Row>,
    /// Size of every save batch received, in order.
    pub batch_sizes: Vec<usize>,
    /// While set, every request fails as if the sidecar were unreachable.
    pub down: bool,
    /// While set, every request is refused with this 4xx status (a misconfigured shard).
    pub reject_with: Option<u16>,
    /// Requests received while down or rejecting.
    pub failed_requests: u64,
}

impl MemoryStore {
    fn check_up(&mut self) -> Result<(), SidecarError> {
        if self.down {
            self.failed_requests += 1;
            return Err(SidecarError::Unavailable("memory store is down".into()));
        }
        if let Some(status) = self.reject_with {
            self.failed_requests += 1;
            return Err(SidecarError::Rejected {
                status,
                body: "refused by the test".into(),
            });
        }
        Ok(())
    }

    pub fn lease(&mut self, account: AccountId, shard_id: &str) -> Result<Lease, SidecarError> {
        self.check_up()?;
        let row = self.rows.entry(account).or_insert(Row {
            epoch: 0,
            owner: None,
            version: 0,
            state: None,
        });
        row.epoch += 1;
        row.owner = Some(shard_id.to_owned());
        Ok(Lease {
            account_id: account,
            epoch: row.epoch,
            version: row.version,
            state: row.state.clone(),
        })
    }

    pub fn save(
        &mut self,
        shard_id: &str,
        saves: Vec<PlayerSave>,
    ) -> Result<Vec<SaveResult>, SidecarError> {
        self.check_up()?;
        self.batch_sizes.push(saves.len());
        Ok(saves
            .into_iter()
            .map(|s| {
                let Some(row) = self.rows.get_mut(&s.account_id) else {
                    return SaveResult::unknown_account(s.account_id);
                };
                let stored = StoredLease {
                    epoch: row.epoch,
                    owner_shard: row.owner.as_deref(),
                    version: row.version,
                };
                let outcome = if s.applies_to(&stored, shard_id) {
                    row.version += 1;
                    if s.release {
                        row.owner = None;
                    }
                    row.state = Some(s.state);
                    SaveOutcome::Saved
                } else {
                    s.refusal(&stored, shard_id, row.state.as_ref() == Some(&s.state))
                };
                SaveResult {
                    account_id: s.account_id,
                    outcome,
                    stored_epoch: row.epoch,
                    stored_version: row.version,
                }
            })
            .collect())
    }

    /// The stored version and state of `account` (tests).
    pub fn stored(&self, account: AccountId) -> Option<(i64, Option<&PlayerState>)> {
        self.rows
            .get(&account)
            .map(|r| (r.version, r.state.as_ref()))
    }
}
