//! The save queue: what the shard owes the sidecar, per account, bounded whatever the sidecar
//! does.
//!
//! Each account this shard holds the lease of has one [`Record`]: the lease's epoch, the last
//! version the sidecar confirmed, at most one save in flight, and at most one pending snapshot.
//! A newer snapshot *replaces* the pending one (coalescing), so during an outage of any length
//! the queue holds at most two snapshots per account: the one being retried and the newest.
//! Ledger entries are never coalesced away: they are *appended* to the pending save, and the
//! shard refuses requests that would add more once an account owes [`MAX_LEDGER_PER_SAVE`]
//! (see `owed_entries`). When a save is confirmed, the keys of its entries are handed out
//! ([`SaveQueue::take_confirmed`]): that is when an economy event may be acknowledged.
//! Players who left stay here, flagged `release`, until their last save is confirmed.
//!
//! Only one save per account is in flight at a time, and a save that failed in transit is
//! retried *unchanged* (same epoch, base version and content) before anything newer: if it did
//! land, the sidecar recognises the repeat as `duplicate`, and the next save builds on it.
//!
//! Batches are chunked to `chunk` saves and at most `max_batches` are in flight. After an
//! outage (unreachable, 5xx) sending backs off exponentially up to [`MAX_BACKOFF`]; after a
//! refusal of the request itself (4xx: a bug or a misconfiguration, such as a wrong service
//! secret) the batch is parked for [`PARK_AFTER_REJECTION`], not retried in a loop. Nothing is
//! dropped in either case. A save the sidecar *refuses* (`stale_epoch`, `stale_version`,
//! `unknown_account`) means this shard is no longer the owner of record: the record is dropped
//! and the refusal reported, so the player is let go.

use crate::sidecar_client::SidecarError;
use harvest_shared::api::{LedgerEntry, PlayerSave, SaveOutcome, SaveResult};
use harvest_shared::ids::{AccountId, ZoneId};
use harvest_shared::state::PlayerState;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// First wait after a failed batch; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a batch the sidecar rejected outright (4xx) waits before it is tried again.
pub const PARK_AFTER_REJECTION: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum InFlight {
    /// Sent in this batch, not answered yet.
    Sent(u64, PlayerSave),
    /// Its batch failed in transit: resend exactly this.
    Failed(PlayerSave),
}

impl InFlight {
    fn save(&self) -> &PlayerSave {
        match self {
            InFlight::Sent(_, s) | InFlight::Failed(s) => s,
        }
    }
}

#[derive(Debug)]
struct Record {
    epoch: i64,
    /// The stored version the sidecar last confirmed: the base of the next save.
    confirmed: i64,
    in_flight: Option<InFlight>,
    /// The newest snapshot not sent yet.
    pending: Option<Pending>,
    /// In the `ready` list already.
    queued: bool,
    /// The player is travelling to this zone on another shard: ask for their ticket as soon as
    /// the release save is confirmed (see [`SaveQueue::ticket_with_release`]).
    ticket: Option<ZoneId>,
}

#[derive(Debug)]
struct Pending {
    state: PlayerState,
    /// Every entry recorded since the last save was taken, oldest first.
    ledger: Vec<LedgerEntry>,
    /// The player has left: release the lease with this save.
    release: bool,
}

/// A save the sidecar refused: this shard is no longer the owner of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub account: AccountId,
    pub outcome: SaveOutcome,
}

/// Counters since start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SaveCounters {
    pub batches_sent: u64,
    pub batches_failed: u64,
    pub confirmed: u64,
    pub duplicates: u64,
    pub refused: u64,
}

#[derive(Debug, bevy::prelude::Resource)]
pub struct SaveQueue {
    records: HashMap<AccountId, Record>,
    /// Accounts with something to send, oldest first.
    ready: VecDeque<AccountId>,
    in_flight: HashMap<u64, Vec<AccountId>>,
    next_batch: u64,
    chunk: usize,
    max_batches: usize,
    hold_until: Option<Duration>,
    backoff: Duration,
    /// Keys of ledger entries confirmed since the last `take_confirmed`.
    confirmed_keys: Vec<(AccountId, String)>,
    pub counters: SaveCounters,
}

impl SaveQueue {
    pub fn new(chunk: usize, max_batches: usize) -> Self {
        SaveQueue {
            records: HashMap::new(),
            ready: VecDeque::new(),
            in_flight: HashMap::new(),
            next_batch: 1,
            chunk: chunk.max(1),
            max_batches: max_batches.max(1),
            hold_until: None,
            backoff: FIRST_BACKOFF,
            confirmed_keys: Vec::new(),
            counters: SaveCounters::default(),
        }
    }

    /// This shard took `account`'s lease: `epoch`, stored `version`.
    pub fn leased(&mut self, account: AccountId, epoch: i64, version: i64) {
        self.records.insert(
            account,
            Record {
                epoch,
                confirmed: version,
                in_flight: None,
                pending: None,
                queued: false,
                ticket: None,
            },
        );
    }

    /// `account` is travelling to `zone` on another shard: the backend asks for the ticket
    /// right after the release save is confirmed, in the same exchange, instead of a frame
    /// later. False if this shard holds no lease for the account.
    pub fn ticket_with_release(&mut self, account: AccountId, zone: ZoneId) -> bool {
        match self.records.get_mut(&account) {
            Some(r) => {
                r.ticket = Some(zone);
                true
            }
            None => false,
        }
    }

    /// The tickets to ask for once `saves` are confirmed: each releasing save of a travelling
    /// player (see [`SaveQueue::ticket_with_release`]).
    pub fn tickets_for(&self, saves: &[PlayerSave]) -> Vec<(AccountId, ZoneId)> {
        saves
            .iter()
            .filter(|s| s.release)
            .filter_map(|s| {
                let zone = self.records.get(&s.account_id)?.ticket.clone()?;
                Some((s.account_id, zone))
            })
            .collect()
    }

    /// Queue `state` as `account`'s newest snapshot (replacing an older unsent one), with the
    /// ledger entries recorded since the last push (appended, never replaced). `release`: the
    /// player left, let the lease go with this save. False if this shard holds no lease.
    pub fn push(
        &mut self,
        account: AccountId,
        state: PlayerState,
        ledger: Vec<LedgerEntry>,
        release: bool,
    ) -> bool {
        let Some(r) = self.records.get_mut(&account) else {
            return false;
        };
        match &mut r.pending {
            Some(p) => {
                p.state = state;
                p.ledger.extend(ledger);
                p.release |= release;
            }
            None => {
                r.pending = Some(Pending {
                    state,
                    ledger,
                    release,
                })
            }
        }
        if r.in_flight.is_none() && !r.queued {
            r.queued = true;
            self.ready.push_back(account);
        }
        true
    }

    /// The most saves sent in one batch now (halved after a 413).
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Does the queue still owe the sidecar anything for `account` (or hold its lease)?
    pub fn holds(&self, account: AccountId) -> bool {
        self.records.contains_key(&account)
    }

    /// Ledger entries of `account` not confirmed yet (pending and in flight).
    pub fn owed_entries(&self, account: AccountId) -> usize {
        self.records.get(&account).map_or(0, |r| {
            r.pending.as_ref().map_or(0, |p| p.ledger.len())
                + r.in_flight.as_ref().map_or(0, |f| f.save().ledger.len())
        })
    }

    /// The keys of ledger entries the sidecar has confirmed since the last call.
    pub fn take_confirmed(&mut self) -> Vec<(AccountId, String)> {
        std::mem::take(&mut self.confirmed_keys)
    }

    /// The lease epoch held for `account`, if any.
    pub fn epoch(&self, account: AccountId) -> Option<i64> {
        self.records.get(&account).map(|r| r.epoch)
    }

    /// Accounts with a record (online players, plus players who left with saves outstanding).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Is nothing waiting to be sent or answered (every record is idle)?
    pub fn is_settled(&self) -> bool {
        self.ready.is_empty() && self.in_flight.is_empty()
    }

    /// Snapshots held in memory (pending plus in flight): at most two per record.
    pub fn snapshots_held(&self) -> usize {
        self.records
            .values()
            .map(|r| usize::from(r.pending.is_some()) + usize::from(r.in_flight.is_some()))
            .sum()
    }

    /// Batches sent and not answered.
    pub fn batches_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Send again at once, whatever the backoff (the drain's last chance).
    pub fn retry_now(&mut self) {
        self.hold_until = None;
    }

    /// The batches to send now, each at most `chunk` saves.
    pub fn take_batches(&mut self, now: Duration) -> Vec<(u64, Vec<PlayerSave>)> {
        if self.hold_until.is_some_and(|t| now < t) {
            return Vec::new();
        }
        let mut out = Vec::new();
        while self.in_flight.len() < self.max_batches && !self.ready.is_empty() {
            let batch = self.next_batch;
            let mut saves = Vec::new();
            let mut accounts = Vec::new();
            while saves.len() < self.chunk {
                let Some(account) = self.ready.pop_front() else {
                    break;
                };
                let Some(r) = self.records.get_mut(&account) else {
                    continue;
                };
                r.queued = false;
                let save = match r.in_flight.take() {
                    Some(InFlight::Failed(save)) => save,
                    Some(sent @ InFlight::Sent(..)) => {
                        // Already on its way; it comes back to `ready` when answered.
                        r.in_flight = Some(sent);
                        continue;
                    }
                    None => match r.pending.take() {
                        Some(p) => PlayerSave {
                            account_id: account,
                            epoch: r.epoch,
                            base_version: r.confirmed,
                            state: p.state,
                            ledger: p.ledger,
                            release: p.release,
                        },
                        None => continue,
                    },
                };
                r.in_flight = Some(InFlight::Sent(batch, save.clone()));
                saves.push(save);
                accounts.push(account);
            }
            if saves.is_empty() {
                break;
            }
            self.next_batch += 1;
            self.counters.batches_sent += 1;
            self.in_flight.insert(batch, accounts);
            out.push((batch, saves));
        }
        out
    }

    /// The sidecar answered `batch`. Returns the saves it refused.
    pub fn answered(&mut self, batch: u64, results: &[SaveResult]) -> Vec<Refusal> {
        let Some(accounts) = self.in_flight.remove(&batch) else {
            return Vec::new();
        };
        self.hold_until = None;
        self.backoff = FIRST_BACKOFF;
        let by_account: HashMap<AccountId, &SaveResult> =
            results.iter().map(|r| (r.account_id, r)).collect();
        let mut refusals = Vec::new();
        for account in accounts {
            let Some(r) = self.records.get_mut(&account) else {
                continue;
            };
            let Some(InFlight::Sent(b, save)) = r.in_flight.take() else {
                continue;
            };
            debug_assert_eq!(b, batch);
            match by_account.get(&account) {
                Some(res) if res.outcome.is_confirmed() => {
                    self.counters.confirmed += 1;
                    if res.outcome == SaveOutcome::Duplicate {
                        self.counters.duplicates += 1;
                    }
                    r.confirmed = save.base_version + 1;
                    self.confirmed_keys
                        .extend(save.ledger.iter().map(|e| (account, e.key.clone())));
                    if r.pending.is_some() {
                        r.queued = true;
                        self.ready.push_back(account);
                    } else if save.release {
                        self.records.remove(&account);
                    }
                }
                Some(res) => {
                    self.counters.refused += 1;
                    self.records.remove(&account);
                    refusals.push(Refusal {
                        account,
                        outcome: res.outcome,
                    });
                }
                None => {
                    // Not answered for (should not happen): resend it as it was.
                    r.in_flight = Some(InFlight::Failed(save));
                    r.queued = true;
                    self.ready.push_front(account);
                }
            }
        }
        refusals
    }

    /// `batch` did not get through. Its saves are kept and will be resent unchanged.
    pub fn failed(&mut self, batch: u64, error: &SidecarError, now: Duration) {
        let Some(accounts) = self.in_flight.remove(&batch) else {
            return;
        };
        self.counters.batches_failed += 1;
        for account in accounts.into_iter().rev() {
            if let Some(r) = self.records.get_mut(&account)
                && let Some(InFlight::Sent(_, save)) = r.in_flight.take()
            {
                r.in_flight = Some(InFlight::Failed(save));
                if !r.queued {
                    r.queued = true;
                    self.ready.push_front(account);
                }
            }
        }
        let wait = match error {
            // The batch was too large for the sidecar's body limit: send smaller ones, now.
            SidecarError::Rejected { status: 413, .. } if self.chunk > 1 => {
                self.chunk = (self.chunk / 2).max(1);
                tracing::warn!(
                    chunk = self.chunk,
                    "save batch too large for the sidecar; halving"
                );
                Duration::ZERO
            }
            SidecarError::Rejected { .. } => PARK_AFTER_REJECTION,
            SidecarError::Unavailable(_) | SidecarError::Crashed(_) => {
                let w = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                w
            }
        };
        self.hold_until = Some(now + wait);
    }

    /// The save of `account` waiting or in flight, if any (tests and diagnostics).
    pub fn outstanding(&self, account: AccountId) -> Option<&PlayerSave> {
        self.records
            .get(&account)
            .and_then(|r| r.in_flight.as_ref().map(InFlight::save))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harvest_shared::farming::Farm;
    use harvest_shared::ledger::{Delta, EntryKind};

    /// A snapshot told apart by `n` (its farm's seed).
    fn state(n: u64) -> PlayerState {
        PlayerState {
            zone: ZoneId::new("meadow"),
            farm: Farm::new(2, n),
            decks: Default::default(),
        }
    }

    fn entry(key: &str) -> LedgerEntry {
        LedgerEntry {
            key: key.into(),
            kind: EntryKind::Buy,
            detail: "x".into(),
            delta: Delta::coins(-1),
        }
    }

    fn ok(saves: &[PlayerSave], outcome: SaveOutcome) -> Vec<SaveResult> {
        saves
            .iter()
            .map(|s| SaveResult {
                account_id: s.account_id,
                outcome,
                stored_epoch: s.epoch,
                stored_version: s.base_version + 1,
            })
            .collect()
    }

    const T: Duration = Duration::from_secs(100);

    #[test]
    fn saves_build_on_the_confirmed_version_one_at_a_time() {
        let mut q = SaveQueue::new(10, 4);
        let a = AccountId(1);
        q.leased(a, 3, 7);
        assert!(q.push(a, state(1), Vec::new(), false));
        let batches = q.take_batches(T);
        assert_eq!(batches.len(), 1);
        let (b, saves) = &batches[0];
        assert_eq!((saves[0].epoch, saves[0].base_version), (3, 7));
        // A newer snapshot waits for the one in flight.
        q.push(a, state(2), Vec::new(), false);
        q.push(a, state(3), Vec::new(), false);
        assert!(q.take_batches(T).is_empty());
        assert_eq!(q.snapshots_held(), 2);
        assert!(q.answered(*b, &ok(saves, SaveOutcome::Saved)).is_empty());
        let batches = q.take_batches(T);
        let s = &batches[0].1[0];
        assert_eq!((s.base_version, s.state.farm.seed), (8, 3));
        assert_eq!(q.counters.confirmed, 1);
    }

    #[test]
    fn a_failed_batch_is_resent_unchanged_after_backoff() {
        let mut q = SaveQueue::new(10, 4);
        let a = AccountId(1);
        q.leased(a, 1, 0);
        q.push(a, state(5), Vec::new(), false);
        let (b, saves) = q.take_batches(T).remove(0);
        q.failed(b, &SidecarError::Unavailable("down".into()), T);
        q.push(a, state(6), Vec::new(), false);
        q.push(a, state(7), Vec::new(), false);
        assert_eq!(q.snapshots_held(), 2, "coalesced: retried one + newest");
        assert!(q.take_batches(T).is_empty(), "backing off");
        let (b2, again) = q.take_batches(T + FIRST_BACKOFF).remove(0);
        assert_eq!(again, saves, "the same save, byte for byte");
        // It had landed after all: the sidecar says duplicate; the newest builds on it.
        q.answered(b2, &ok(&again, SaveOutcome::Duplicate));
        let (_, next) = q.take_batches(T + FIRST_BACKOFF).remove(0);
        assert_eq!((next[0].base_version, next[0].state.farm.seed), (1, 7));
        assert_eq!(q.counters.duplicates, 1);
    }

    #[test]
    fn backoff_grows_and_rejections_park() {
        let mut q = SaveQueue::new(10, 4);
        q.leased(AccountId(1), 1, 0);
        q.push(AccountId(1), state(1), Vec::new(), false);
        let mut now = T;
        let mut waits = Vec::new();
        for _ in 0..8 {
            let (b, _) = loop {
                let mut bs = q.take_batches(now);
                if let Some(b) = bs.pop() {
                    break b;
                }
                now += Duration::from_millis(50);
            };
            let sent_at = now;
            q.failed(b, &SidecarError::Unavailable("x".into()), now);
            waits.push(sent_at);
        }
        let gaps: Vec<_> = waits.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
        assert!(*gaps.last().unwrap() <= MAX_BACKOFF + Duration::from_millis(50));
        // A 4xx parks the batch: no retry loop.
        let (b, _) = loop {
            let mut bs = q.take_batches(now);
            if let Some(b) = bs.pop() {
                break b;
            }
            now += Duration::from_millis(50);
        };
        q.failed(
            b,
            &SidecarError::Rejected {
                status: 401,
                body: "wrong secret".into(),
            },
            now,
        );
        assert!(q.take_batches(now + MAX_BACKOFF).is_empty());
        assert!(q.holds(AccountId(1)), "nothing is lost");
        assert_eq!(q.take_batches(now + PARK_AFTER_REJECTION).len(), 1);
    }

    #[test]
    fn a_batch_too_large_is_split_and_resent_at_once() {
        let mut q = SaveQueue::new(8, 1);
        for i in 0..8 {
            q.leased(AccountId(i), 1, 0);
            q.push(AccountId(i), state(1), Vec::new(), false);
        }
        let (b, saves) = q.take_batches(T).remove(0);
        assert_eq!(saves.len(), 8);
        let too_large = SidecarError::Rejected {
            status: 413,
            body: "payload_too_large".into(),
        };
        q.failed(b, &too_large, T);
        let (_, smaller) = q.take_batches(T).remove(0);
        assert_eq!(smaller.len(), 4, "halved, and sent without waiting");
    }

    #[test]
    fn refusal_drops_the_record_and_is_reported() {
        let mut q = SaveQueue::new(10, 4);
        q.leased(AccountId(1), 1, 0);
        q.leased(AccountId(2), 1, 0);
        q.push(AccountId(1), state(1), Vec::new(), false);
        q.push(AccountId(2), state(1), Vec::new(), false);
        let (b, saves) = q.take_batches(T).remove(0);
        let mut results = ok(&saves, SaveOutcome::Saved);
        let refused = results
            .iter_mut()
            .find(|r| r.account_id == AccountId(2))
            .unwrap();
        refused.outcome = SaveOutcome::StaleEpoch;
        let refusals = q.answered(b, &results);
        assert_eq!(
            refusals,
            vec![Refusal {
                account: AccountId(2),
                outcome: SaveOutcome::StaleEpoch
            }]
        );
        assert!(!q.holds(AccountId(2)));
        assert!(
            !q.push(AccountId(2), state(9), Vec::new(), false),
            "no lease, no save"
        );
        assert!(q.holds(AccountId(1)));
    }

    #[test]
    fn released_records_leave_after_confirmation_and_chunks_respect_the_limit() {
        let mut q = SaveQueue::new(100, 3);
        for i in 0..1000 {
            q.leased(AccountId(i), 1, 0);
            q.push(AccountId(i), state(1), Vec::new(), true);
        }
        let batches = q.take_batches(T);
        assert_eq!(batches.len(), 3, "at most 3 batches in flight");
        assert!(
            batches
                .iter()
                .all(|(_, s)| s.len() == 100 && s.iter().all(|s| s.release))
        );
        for (b, saves) in batches {
            q.answered(b, &ok(&saves, SaveOutcome::Saved));
        }
        assert_eq!(q.len(), 700);
        let mut total = 300;
        loop {
            let batches = q.take_batches(T);
            if batches.is_empty() {
                break;
            }
            for (b, saves) in batches {
                assert!(saves.len() <= 100);
                total += saves.len();
                q.answered(b, &ok(&saves, SaveOutcome::Saved));
            }
        }
        assert_eq!(total, 1000);
        assert!(q.is_empty() && q.is_settled());
    }

    #[test]
    fn tickets_ride_only_on_the_releasing_save_of_a_traveller() {
        let mut q = SaveQueue::new(10, 4);
        let (traveller, stayer, gone) = (AccountId(1), AccountId(2), AccountId(3));
        for a in [traveller, stayer, gone] {
            q.leased(a, 1, 0);
        }
        assert!(!q.ticket_with_release(AccountId(9), ZoneId::new("riverside")));
        assert!(q.ticket_with_release(traveller, ZoneId::new("riverside")));
        // An ordinary save of the traveller asks for nothing: only the release may.
        q.push(traveller, state(1), Vec::new(), false);
        q.push(stayer, state(1), Vec::new(), false);
        let (b, saves) = q.take_batches(T).remove(0);
        assert!(q.tickets_for(&saves).is_empty());
        q.answered(b, &ok(&saves, SaveOutcome::Saved));
        q.push(traveller, state(2), Vec::new(), true);
        q.push(gone, state(2), Vec::new(), true);
        let (b, saves) = q.take_batches(T).remove(0);
        assert_eq!(
            q.tickets_for(&saves),
            vec![(traveller, ZoneId::new("riverside"))]
        );
        q.answered(b, &ok(&saves, SaveOutcome::Saved));
        assert!(!q.holds(traveller), "released once confirmed");
    }

    #[test]
    fn ledger_entries_accumulate_and_are_confirmed_only_with_their_save() {
        let mut q = SaveQueue::new(10, 4);
        let a = AccountId(1);
        q.leased(a, 2, 0);
        q.push(a, state(1), vec![entry("2:0")], false);
        q.push(a, state(2), vec![entry("2:1")], false);
        assert_eq!(
            q.owed_entries(a),
            2,
            "a newer snapshot keeps the older entries"
        );
        let (b, saves) = q.take_batches(T).remove(0);
        assert_eq!(saves[0].ledger, vec![entry("2:0"), entry("2:1")]);
        q.push(a, state(3), vec![entry("2:2")], false);
        assert_eq!(q.owed_entries(a), 3);
        // In transit and failed: nothing is confirmed; the retry carries the same entries.
        q.failed(b, &SidecarError::Unavailable("down".into()), T);
        assert!(q.take_confirmed().is_empty());
        let (b, again) = q.take_batches(T + FIRST_BACKOFF).remove(0);
        assert_eq!(again, saves);
        q.answered(b, &ok(&again, SaveOutcome::Saved));
        assert_eq!(
            q.take_confirmed(),
            vec![(a, "2:0".to_owned()), (a, "2:1".to_owned())]
        );
        assert_eq!(q.owed_entries(a), 1);
        // A refused save confirms nothing.
        let (b, next) = q.take_batches(T + FIRST_BACKOFF).remove(0);
        assert_eq!(next[0].ledger, vec![entry("2:2")]);
        let refusals = q.answered(b, &ok(&next, SaveOutcome::StaleEpoch));
        assert_eq!(refusals.len(), 1);
        assert!(q.take_confirmed().is_empty());
        assert_eq!(q.owed_entries(a), 0);
    }
}
