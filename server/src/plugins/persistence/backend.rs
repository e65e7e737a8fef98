//! Where persistence jobs go: the sidecar over HTTP, or the in-memory store.
//!
//! With a sidecar, a small tokio runtime (one worker thread, never the tick thread) runs two
//! independent lanes, so loads never wait behind saves:
//!
//! - the **load lane** leases players concurrently, at most `load_concurrency` at once, in a
//!   `JoinSet`; a load that fails *or panics* still answers its player (with an error);
//! - the **save lane** sends the save batches the queue hands it (the queue bounds how many).
//!   A batch that carries a travelling player's release asks for their handoff ticket as soon
//!   as the sidecar confirms it, so the ticket reaches the tick with the save's answer rather
//!   than a frame after it.
//!
//! A ticket is the one answer a player waits on: its arrival wakes the frame loop for an
//! early frame ([`crate::runner::FrameWake`]) so the client is sent it at once.
//!
//! Directory heartbeats and the deregistration run as one-off tasks beside them. Every answer
//! comes back to the tick as a [`Reply`] on a channel that a system drains each frame.

use super::memory::MemoryStore;
use crate::runner::FrameWake;
use crate::sidecar_client::{SidecarClient, SidecarError};
use bevy::prelude::*;
use harvest_shared::api::{
    Lease, MatchReport, MatchSettled, PlayResponse, PlayerSave, SaveResult, ShardRegistered,
    ShardRegistration, ZoneGrant,
};
use harvest_shared::ids::{AccountId, ZoneId};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub enum Job {
    /// Take the account's lease and load its state; with `if_free`, only if no other shard
    /// holds the lease (409 otherwise).
    Lease { account: AccountId, if_free: bool },
    /// Send one batch of saves, answering within `timeout`; then, for each `(account, zone)`
    /// of `tickets` whose save was confirmed, ask for a handoff ticket (a [`Reply::HandedOff`]).
    Save {
        batch: u64,
        saves: Vec<PlayerSave>,
        timeout: Duration,
        tickets: Vec<(AccountId, ZoneId)>,
    },
    /// Join or renew the shard directory.
    Heartbeat(ShardRegistration),
    /// Leave the directory as process `incarnation`, answering within `timeout`.
    Deregister { incarnation: i64, timeout: Duration },
    /// Record a finished duel (ratings, record and rewards in one commit).
    RecordMatch(Box<MatchReport>),
    /// A connect token to the shard hosting `zone`, for a player saved and released there.
    Handoff { account: AccountId, zone: ZoneId },
}

pub enum Reply {
    Leased {
        account: AccountId,
        result: Result<Lease, SidecarError>,
    },
    Saved {
        batch: u64,
        result: Result<Vec<SaveResult>, SidecarError>,
    },
    Heartbeat(Result<ShardRegistered, SidecarError>),
    Deregistered(Result<(), SidecarError>),
    MatchRecorded {
        match_id: String,
        result: Result<MatchSettled, SidecarError>,
    },
    HandedOff {
        account: AccountId,
        result: Result<PlayResponse, SidecarError>,
    },
}

struct Remote {
    /// Always `Some` until dropped (taken to shut down without waiting on stuck requests).
    runtime: Option<tokio::runtime::Runtime>,
    client: SidecarClient,
    shard_id: String,
    loads: mpsc::UnboundedSender<(AccountId, bool)>,
    saves: mpsc::UnboundedSender<SaveJob>,
    wake: Option<FrameWake>,
}

/// A batch for the save lane: its number, saves, timeout and the tickets that ride on it.
type SaveJob = (u64, Vec<PlayerSave>, Duration, Vec<(AccountId, ZoneId)>);

enum Inner {
    Remote(Remote),
    Memory(MemoryStore),
}

/// The shard's handle on persistence.
#[derive(Resource)]
pub struct Backend {
    inner: Inner,
    shard_id: String,
    replies_tx: crossbeam_channel::Sender<Reply>,
    replies: crossbeam_channel::Receiver<Reply>,
}

impl Backend {
    /// Talk to the sidecar through `client`.
    pub fn remote(
        client: SidecarClient,
        shard_id: String,
        load_concurrency: usize,
        wake: Option<FrameWake>,
    ) -> anyhow::Result<Backend> {
        let (replies_tx, replies) = crossbeam_channel::unbounded();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shard-io")
            .enable_all()
            .build()?;
        let (loads, load_rx) = mpsc::unbounded_channel();
        let (saves, save_rx) = mpsc::unbounded_channel();
        {
            let (client, shard, tx) = (client.clone(), shard_id.clone(), replies_tx.clone());
            runtime.spawn(load_lane(
                load_rx,
                load_concurrency,
                tx,
                move |account, if_free| {
                    let (client, shard) = (client.clone(), shard.clone());
                    async move { client.lease(account, &shard, if_free).await }
                },
            ));
        }
        {
            let (client, shard, tx) = (client.clone(), shard_id.clone(), replies_tx.clone());
            let (ticket_client, ticket_shard) = (client.clone(), shard.clone());
            runtime.spawn(save_lane(
                save_rx,
                tx,
                wake.clone(),
                move |saves, timeout| {
                    let (client, shard) = (client.clone(), shard.clone());
                    async move { client.save(&shard, saves, timeout).await }
                },
                move |account, zone| {
                    let (client, shard) = (ticket_client.clone(), ticket_shard.clone());
                    async move { client.handoff(account, &shard, &zone).await }
                },
            ));
        }
        Ok(Backend {
            inner: Inner::Remote(Remote {
                runtime: Some(runtime),
                client,
                shard_id: shard_id.clone(),
                loads,
                saves,
                wake,
            }),
            shard_id,
            replies_tx,
            replies,
        })
    }

    /// Answer from memory (no sidecar).
    pub fn memory(shard_id: String, start: harvest_shared::inventory::Holdings) -> Backend {
        let (replies_tx, replies) = crossbeam_channel::unbounded();
        Backend {
            inner: Inner::Memory(MemoryStore::starting_with(start)),
            shard_id,
            replies_tx,
            replies,
        }
    }

    pub fn submit(&mut self, job: Job) {
        match &mut self.inner {
            Inner::Remote(r) => r.submit(job, &self.replies_tx),
            Inner::Memory(store) => {
                let reply = match job {
                    Job::Lease { account, if_free } => Reply::Leased {
                        account,
                        result: store.lease_as(account, &self.shard_id, if_free),
                    },
                    // Alone there is no other shard: tickets are not asked for.
                    Job::Save { batch, saves, .. } => Reply::Saved {
                        batch,
                        result: store.save(&self.shard_id, saves),
                    },
                    // Alone, the shard hosts every zone it offers.
                    Job::Heartbeat(reg) => Reply::Heartbeat(Ok(ShardRegistered {
                        ttl_secs: 15,
                        end_sessions: vec![],
                        hosted: reg
                            .zones
                            .iter()
                            .map(|zone| ZoneGrant {
                                zone: zone.clone(),
                                epoch: 1,
                            })
                            .collect(),
                        live_zones: reg.zones,
                        drain: false,
                    })),
                    Job::Handoff { account, .. } => Reply::HandedOff {
                        account,
                        result: Err(SidecarError::Unavailable(
                            "no other shard to hand off to without a sidecar".into(),
                        )),
                    },
                    Job::Deregister { .. } => Reply::Deregistered(Ok(())),
                    Job::RecordMatch(report) => Reply::MatchRecorded {
                        match_id: report.match_id.clone(),
                        result: store.record_match(&report),
                    },
                };
                let _ = self.replies_tx.send(reply);
            }
        }
    }

    /// Replies that have arrived since the last call.
    pub fn replies(&self) -> Vec<Reply> {
        self.replies.try_iter().collect()
    }

    /// The in-memory store, when there is no sidecar (tests).
    pub fn memory_store(&mut self) -> Option<&mut MemoryStore> {
        match &mut self.inner {
            Inner::Memory(m) => Some(m),
            Inner::Remote(_) => None,
        }
    }
}

impl Drop for Remote {
    /// Do not wait for requests still in flight (a DNS lookup, a dead connection): the shard's
    /// exit must fit its shutdown budget.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_millis(500));
        }
    }
}

impl Remote {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        if let Some(rt) = &self.runtime {
            rt.spawn(task);
        }
    }

    fn submit(&self, job: Job, replies: &crossbeam_channel::Sender<Reply>) {
        match job {
            Job::Lease { account, if_free } => {
                let _ = self.loads.send((account, if_free));
            }
            Job::Save {
                batch,
                saves,
                timeout,
                tickets,
            } => {
                let _ = self.saves.send((batch, saves, timeout, tickets));
            }
            Job::Heartbeat(reg) => {
                let (client, tx) = (self.client.clone(), replies.clone());
                self.spawn(async move {
                    let _ = tx.send(Reply::Heartbeat(client.heartbeat(&reg).await));
                });
            }
            Job::RecordMatch(report) => {
                let (client, tx) = (self.client.clone(), replies.clone());
                self.spawn(async move {
                    let result = client.record_match(&report).await;
                    let _ = tx.send(Reply::MatchRecorded {
                        match_id: report.match_id.clone(),
                        result,
                    });
                });
            }
            Job::Handoff { account, zone } => {
                let (client, tx, id, wake) = (
                    self.client.clone(),
                    replies.clone(),
                    self.shard_id.clone(),
                    self.wake.clone(),
                );
                self.spawn(async move {
                    let result = client.handoff(account, &id, &zone).await;
                    answer_ticket(&tx, wake.as_ref(), account, result);
                });
            }
            Job::Deregister {
                incarnation,
                timeout,
            } => {
                let (client, tx, id) =
                    (self.client.clone(), replies.clone(), self.shard_id.clone());
                self.spawn(async move {
                    let result = client.deregister(&id, incarnation, timeout).await;
                    let _ = tx.send(Reply::Deregistered(result));
                });
            }
        }
    }
}

/// Hand a ticket's answer to the tick and wake it for an early frame: a client waits on it.
fn answer_ticket(
    replies: &crossbeam_channel::Sender<Reply>,
    wake: Option<&FrameWake>,
    account: AccountId,
    result: Result<PlayResponse, SidecarError>,
) {
    let _ = replies.send(Reply::HandedOff { account, result });
    if let Some(w) = wake {
        w.wake();
    }
}

/// Lease accounts as they come, at most `limit` at once. Every account gets exactly one
/// [`Reply::Leased`], even when its task panics.
pub(crate) async fn load_lane<F, Fut>(
    mut jobs: mpsc::UnboundedReceiver<(AccountId, bool)>,
    limit: usize,
    replies: crossbeam_channel::Sender<Reply>,
    load: F,
) where
    F: Fn(AccountId, bool) -> Fut,
    Fut: Future<Output = Result<Lease, SidecarError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    let mut accounts: HashMap<tokio::task::Id, AccountId> = HashMap::new();
    let mut open = true;
    while open || !tasks.is_empty() {
        tokio::select! {
            job = jobs.recv(), if open && tasks.len() < limit.max(1) => match job {
                Some((account, if_free)) => {
                    let handle = tasks.spawn(load(account, if_free));
                    accounts.insert(handle.id(), account);
                }
                None => open = false,
            },
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, result) = match done {
                    Ok((id, result)) => (id, result),
                    Err(e) => (e.id(), Err(SidecarError::Crashed(format!("load task: {e}")))),
                };
                if let Some(account) = accounts.remove(&id) {
                    let _ = replies.send(Reply::Leased { account, result });
                }
            }
        }
    }
}

/// Send save batches as they come; each gets exactly one [`Reply::Saved`]. Then each ticket
/// whose release save was confirmed is asked for at once, each answered by one
/// [`Reply::HandedOff`] (one whose save was not confirmed is not asked: the handoff asks again
/// itself once the resent save is).
pub(crate) async fn save_lane<F, Fut, T, TFut>(
    mut jobs: mpsc::UnboundedReceiver<SaveJob>,
    replies: crossbeam_channel::Sender<Reply>,
    wake: Option<FrameWake>,
    save: F,
    ticket: T,
) where
    F: Fn(Vec<PlayerSave>, Duration) -> Fut,
    Fut: Future<Output = Result<Vec<SaveResult>, SidecarError>> + Send + 'static,
    T: Fn(AccountId, ZoneId) -> TFut,
    TFut: Future<Output = Result<PlayResponse, SidecarError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    let mut batches: HashMap<tokio::task::Id, (u64, Vec<(AccountId, ZoneId)>)> = HashMap::new();
    let mut tickets = JoinSet::new();
    let mut open = true;
    while open || !tasks.is_empty() || !tickets.is_empty() {
        tokio::select! {
            job = jobs.recv(), if open => match job {
                Some((batch, saves, timeout, wanted)) => {
                    let handle = tasks.spawn(save(saves, timeout));
                    batches.insert(handle.id(), (batch, wanted));
                }
                None => open = false,
            },
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, result) = match done {
                    Ok((id, result)) => (id, result),
                    Err(e) => (e.id(), Err(SidecarError::Crashed(format!("save task: {e}")))),
                };
                let Some((batch, wanted)) = batches.remove(&id) else {
                    continue;
                };
                if let Ok(results) = &result {
                    for (account, zone) in wanted {
                        let confirmed = results
                            .iter()
                            .any(|r| r.account_id == account && r.outcome.is_confirmed());
                        if confirmed {
                            let asked = ticket(account, zone);
                            tickets.spawn(async move { (account, asked.await) });
                        }
                    }
                }
                let _ = replies.send(Reply::Saved { batch, result });
            }
            Some(done) = tickets.join_next(), if !tickets.is_empty() => {
                // A ticket task that panicked answers nothing: the handoff asks again itself.
                if let Ok((account, result)) = done {
                    answer_ticket(&replies, wake.as_ref(), account, result);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime, a lane's job channel and its reply channel.
    #[allow(clippy::type_complexity)]
    fn lane_harness<J>() -> (
        tokio::runtime::Runtime,
        mpsc::UnboundedSender<J>,
        mpsc::UnboundedReceiver<J>,
        crossbeam_channel::Sender<Reply>,
        crossbeam_channel::Receiver<Reply>,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (reply_tx, replies) = crossbeam_channel::unbounded();
        (rt, tx, rx, reply_tx, replies)
    }

    /// A load that panics, or fails, still answers its player; the others are unaffected; and
    /// no more than `limit` run at once.
    #[test]
    fn load_lane_answers_every_account_even_on_panic() {
        let (rt, tx, rx, reply_tx, replies) = lane_harness();
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 1..=20 {
            tx.send((AccountId(i), false)).unwrap();
        }
        drop(tx);
        let (r2, p2) = (running.clone(), peak.clone());
        rt.block_on(load_lane(rx, 4, reply_tx, move |account, _| {
            let (running, peak) = (r2.clone(), p2.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                let n = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(n, SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, SeqCst);
                match account.0 {
                    7 => panic!("boom"),
                    9 => Err(SidecarError::Unavailable("nope".into())),
                    _ => Ok(Lease {
                        account_id: account,
                        epoch: 1,
                        version: 0,
                        state: None,
                        holdings: Default::default(),
                        rating: Default::default(),
                    }),
                }
            }
        }));
        let mut got: Vec<(i64, bool)> = replies
            .try_iter()
            .map(|r| match r {
                Reply::Leased { account, result } => (account.0, result.is_ok()),
                _ => unreachable!("only leases here"),
            })
            .collect();
        got.sort();
        assert_eq!(got.len(), 20, "every account answered exactly once");
        assert!(!got[6].1 && !got[8].1, "{got:?}");
        assert_eq!(got.iter().filter(|g| g.1).count(), 18);
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 4);
    }

    /// A ticket rides on a batch: asked only for a confirmed save, after the save's answer is
    /// out; a refused save or a failed batch asks for none.
    #[test]
    fn save_lane_asks_tickets_only_for_confirmed_releases() {
        use harvest_shared::api::SaveOutcome;
        let (rt, tx, rx, reply_tx, replies) = lane_harness();
        let zone = ZoneId::new("riverside");
        let save = |account: i64| PlayerSave {
            account_id: AccountId(account),
            epoch: 1,
            base_version: 0,
            state: harvest_shared::state::PlayerState {
                zone: ZoneId::new("meadow"),
                farm: Default::default(),
                decks: Default::default(),
            },
            ledger: Vec::new(),
            release: true,
        };
        // Batch 1: account 1 saved, account 2 refused; batch 2 fails in transit.
        tx.send((
            1,
            vec![save(1), save(2)],
            Duration::from_secs(1),
            vec![(AccountId(1), zone.clone()), (AccountId(2), zone.clone())],
        ))
        .unwrap();
        tx.send((
            2,
            vec![save(3)],
            Duration::from_secs(1),
            vec![(AccountId(3), zone.clone())],
        ))
        .unwrap();
        drop(tx);
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let asked2 = asked.clone();
        let (wake, wakes) = FrameWake::new();
        rt.block_on(save_lane(
            rx,
            reply_tx,
            Some(wake),
            |saves: Vec<PlayerSave>, _| async move {
                if saves[0].account_id == AccountId(3) {
                    return Err(SidecarError::Unavailable("down".into()));
                }
                Ok(saves
                    .iter()
                    .map(|s| SaveResult {
                        account_id: s.account_id,
                        outcome: if s.account_id == AccountId(1) {
                            SaveOutcome::Saved
                        } else {
                            SaveOutcome::StaleEpoch
                        },
                        stored_epoch: 1,
                        stored_version: 1,
                    })
                    .collect())
            },
            move |account, zone| {
                asked2.lock().unwrap().push(account);
                async move {
                    Ok(PlayResponse {
                        connect_token: "t".into(),
                        server_addr: "127.0.0.1:5001".into(),
                        zone,
                        content_version: "v".into(),
                        shard_id: "b".into(),
                    })
                }
            },
        ));
        assert_eq!(*asked.lock().unwrap(), vec![AccountId(1)]);
        let replies: Vec<Reply> = replies.try_iter().collect();
        let saved = |b: u64| {
            replies
                .iter()
                .position(|r| matches!(r, Reply::Saved { batch, .. } if *batch == b))
        };
        let ticket = replies
            .iter()
            .position(|r| matches!(r, Reply::HandedOff { account, result: Ok(t) } if *account == AccountId(1) && t.zone == zone))
            .expect("the ticket of the confirmed save");
        assert!(
            saved(1).expect("batch 1 answered") < ticket,
            "the save's answer goes first"
        );
        assert!(saved(2).is_some(), "the failed batch is answered too");
        assert_eq!(replies.len(), 3, "two saves and one ticket");
        assert!(wakes.woken(), "the ticket woke the frame loop");
    }
}
