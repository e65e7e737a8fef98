//! An in-memory stand-in for the sidecar's persistence, with the same lease, compare-and-swap
//! and ledger rules (see `harvest_sidecar::db::{states, ledger}`): a ledger opened at the first
//! lease, entries applied with their save or not at all, once per key, never below zero. Used
//! when the shard runs without a sidecar: benches and offline app tests. It also records each
//! save batch's size and can pretend to be down, so tests can check chunking and outage
//! handling without a network.

use crate::sidecar_client::SidecarError;
use harvest_shared::api::{
    Lease, LedgerEntry, MatchRecord, MatchReport, MatchSettled, PlayerSave, SaveOutcome,
    SaveResult, StoredLease,
};
use harvest_shared::duel::rating::Rating;
use harvest_shared::ids::AccountId;
use harvest_shared::inventory::Holdings;
use harvest_shared::state::PlayerState;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone)]
struct Row {
    epoch: i64,
    owner: Option<String>,
    version: i64,
    state: Option<PlayerState>,
    /// The ledger's keys, and what it adds up to: (`coins`|`item`|`card`, id) → amount.
    keys: HashSet<String>,
    holdings: BTreeMap<(&'static str, String), i64>,
    /// The keys of the last applied save's entries (a retry carries the same).
    last_keys: Vec<String>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: HashMap<AccountId, Row>,
    /// What a never-leased account's ledger opens with.
    pub start: Holdings,
    /// Size of every save batch received, in order.
    pub batch_sizes: Vec<usize>,
    /// While set, every request fails as if the sidecar were unreachable.
    pub down: bool,
    /// While set, every request is refused with this 4xx status (a misconfigured shard).
    pub reject_with: Option<u16>,
    /// Requests received while down or rejecting.
    pub failed_requests: u64,
    /// Duel ratings by account (absent: a new player's).
    pub ratings: HashMap<AccountId, Rating>,
    /// Recorded matches by id.
    pub matches: HashMap<String, MatchRecord>,
}

impl MemoryStore {
    /// A store whose new accounts open their ledger with `start`.
    pub fn starting_with(start: Holdings) -> Self {
        MemoryStore {
            start,
            ..Default::default()
        }
    }

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
        self.lease_as(account, shard_id, false)
    }

    /// [`MemoryStore::lease`], or with `if_free` only when nobody else holds the lease (409
    /// otherwise, as the sidecar answers).
    pub fn lease_as(
        &mut self,
        account: AccountId,
        shard_id: &str,
        if_free: bool,
    ) -> Result<Lease, SidecarError> {
        self.check_up()?;
        if if_free
            && let Some(owner) = self.rows.get(&account).and_then(|r| r.owner.as_deref())
            && owner != shard_id
        {
            return Err(SidecarError::Rejected {
                status: 409,
                body: format!("account {account}'s lease is held by another shard"),
            });
        }
        let start = &self.start;
        let row = self.rows.entry(account).or_insert_with(|| {
            let mut row = Row {
                epoch: 0,
                owner: None,
                version: 0,
                state: None,
                keys: HashSet::new(),
                holdings: BTreeMap::new(),
                last_keys: Vec::new(),
            };
            apply(&mut row, &[opening(start)]);
            row
        });
        row.epoch += 1;
        row.owner = Some(shard_id.to_owned());
        Ok(Lease {
            account_id: account,
            epoch: row.epoch,
            version: row.version,
            state: row.state.clone(),
            holdings: holdings_of(row),
            rating: self.ratings.get(&account).copied().unwrap_or_default(),
        })
    }

    /// Record a finished duel as the sidecar does: ratings, record and rewards together, a
    /// repeat answered with what was stored.
    pub fn record_match(&mut self, report: &MatchReport) -> Result<MatchSettled, SidecarError> {
        self.check_up()?;
        if let Some(done) = self.matches.get(&report.match_id) {
            return if done.report.players == report.players {
                Ok(done.settled.clone())
            } else {
                Err(SidecarError::Rejected {
                    status: 409,
                    body: "match recorded with other players".into(),
                })
            };
        }
        let refuse = |body: String| SidecarError::Rejected { status: 422, body };
        if let Some((field, why)) = report.problem() {
            return Err(refuse(format!("{field}: {why}")));
        }
        if report.players.iter().any(|p| !self.rows.contains_key(p)) {
            return Err(SidecarError::Rejected {
                status: 404,
                body: "no such account".into(),
            });
        }
        let rating = |a| self.ratings.get(a).copied().unwrap_or_default();
        let settled = report.settle([rating(&report.players[0]), rating(&report.players[1])]);
        for (i, account) in report.players.iter().enumerate() {
            self.ratings.insert(*account, settled.ratings_after[i]);
            if report.rewards[i] > 0
                && let Some(row) = self.rows.get_mut(account)
            {
                let entry = LedgerEntry {
                    key: report.reward_key(),
                    kind: harvest_shared::ledger::EntryKind::DuelReward,
                    detail: report.match_id.clone(),
                    delta: harvest_shared::ledger::Delta::coins(i64::from(report.rewards[i])),
                };
                apply(row, &[entry]);
            }
        }
        self.matches.insert(
            report.match_id.clone(),
            MatchRecord {
                report: report.clone(),
                settled: settled.clone(),
                ended_at: 0,
            },
        );
        Ok(settled)
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
                    if !apply(row, &s.ledger) {
                        return SaveResult {
                            account_id: s.account_id,
                            outcome: SaveOutcome::InvalidLedger,
                            stored_epoch: row.epoch,
                            stored_version: row.version,
                        };
                    }
                    row.version += 1;
                    if s.release {
                        row.owner = None;
                    }
                    row.state = Some(s.state);
                    row.last_keys = s.ledger.iter().map(|e| e.key.clone()).collect();
                    SaveOutcome::Saved
                } else {
                    let same = row.state.as_ref() == Some(&s.state)
                        && s.ledger.iter().map(|e| &e.key).eq(row.last_keys.iter());
                    s.refusal(&stored, shard_id, same)
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

    /// What `account` holds by its ledger (tests).
    pub fn holdings(&self, account: AccountId) -> Option<Holdings> {
        self.rows.get(&account).map(holdings_of)
    }

    /// The keys of every entry committed for `account` (tests).
    pub fn ledger_keys(&self, account: AccountId) -> HashSet<String> {
        self.rows
            .get(&account)
            .map(|r| r.keys.clone())
            .unwrap_or_default()
    }
}

fn opening(start: &Holdings) -> LedgerEntry {
    let mut delta = harvest_shared::ledger::Delta::coins(i64::from(start.inventory.coins));
    for (k, n) in &start.inventory.items {
        delta = delta.item(k, i64::from(*n));
    }
    for (k, n) in &start.collection.cards {
        delta = delta.card(k, i64::from(*n));
    }
    LedgerEntry {
        key: "opening".into(),
        kind: harvest_shared::ledger::EntryKind::Opening,
        detail: "start".into(),
        delta,
    }
}

/// Apply entries not seen before, all or nothing: false (and nothing changed) if any holding
/// would go below zero.
/// Apply a save's entries all together or not at all: keys already in the ledger (or twice in
/// the batch) are skipped, and no asset may go below zero on the way. Costs what the batch
/// touches, not what the ledger holds.
fn apply(row: &mut Row, entries: &[LedgerEntry]) -> bool {
    let mut fresh: HashSet<&str> = HashSet::new();
    let mut touched: BTreeMap<(&'static str, String), i64> = BTreeMap::new();
    for e in entries {
        if row.keys.contains(&e.key) || !fresh.insert(e.key.as_str()) {
            continue;
        }
        let d = &e.delta;
        let lines = std::iter::once((("coins", String::new()), d.coins))
            .chain(d.items.iter().map(|(k, n)| (("item", k.to_string()), *n)))
            .chain(d.cards.iter().map(|(k, n)| (("card", k.to_string()), *n)));
        for (asset, n) in lines {
            let held = row.holdings.get(&asset).copied().unwrap_or(0);
            let h = touched.entry(asset).or_insert(held);
            *h += n;
            if *h < 0 {
                return false;
            }
        }
    }
    row.keys.extend(fresh.into_iter().map(str::to_owned));
    row.holdings.extend(touched);
    true
}

fn holdings_of(row: &Row) -> Holdings {
    let mut h = Holdings::default();
    for ((kind, id), &n) in &row.holdings {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        if n == 0 {
            continue;
        }
        match *kind {
            "coins" => h.inventory.coins = n,
            "item" => {
                h.inventory.items.insert(id.as_str().into(), n);
            }
            _ => {
                h.collection.cards.insert(id.as_str().into(), n);
            }
        }
    }
    h
}
