//! Loading and saving player state without blocking the tick.
//!
//! Systems hand [`Job`]s to [`Persistence`]; a background thread with its own tokio runtime
//! talks to the sidecar and sends [`Reply`]s back through a channel that a system drains each
//! frame. Jobs are handled in order (a load queued after a save sees that save), consecutive
//! loads run concurrently, and failed saves are retried with backoff so nothing is dropped
//! while the sidecar is briefly away. Without a sidecar (benches) an in-memory store answers.
//!
//! Dirty players are flushed in one batch when the oldest change is `save_interval` old
//! (write-behind), and immediately when a player leaves.

use super::Settings;
use super::TickSet;
use super::players::Player;
use crate::sidecar_client::SidecarClient;
use bevy::prelude::*;
use harvest_shared::api::{PlayerSave, SaveOutcome, SaveResult, ShardRegistration, StoredState};
use harvest_shared::farming::{Farm, Inventory};
use harvest_shared::ids::AccountId;
use harvest_shared::protocol::PlayerInfo;
use harvest_shared::state::PlayerState;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

pub enum Job {
    Load(AccountId),
    Save(Vec<PlayerSave>),
    /// Register in the shard directory now and keep renewing.
    Register(ShardRegistration),
    /// Stop renewing and leave the directory (draining).
    Deregister(String),
}

pub enum Reply {
    Loaded {
        account: AccountId,
        result: Result<StoredState, String>,
    },
    Saved {
        accounts: Vec<AccountId>,
        result: Result<Vec<SaveResult>, String>,
    },
}

enum Backend {
    Worker(tokio::sync::mpsc::UnboundedSender<Job>),
    Memory(HashMap<AccountId, (i64, PlayerState)>),
}

/// The shard's handle on persistence.
#[derive(Resource)]
pub struct Persistence {
    backend: Backend,
    replies_tx: crossbeam_channel::Sender<Reply>,
    replies: crossbeam_channel::Receiver<Reply>,
    /// Save batches handed over and not yet answered.
    pub saves_in_flight: usize,
    /// Saves refused as stale or failed for good since start (should stay 0).
    pub saves_refused: u64,
    /// Saves confirmed since start.
    pub saves_confirmed: u64,
}

impl Persistence {
    pub fn send(&mut self, job: Job) {
        if let Job::Save(s) = &job {
            if s.is_empty() {
                return;
            }
            self.saves_in_flight += 1;
        }
        match &mut self.backend {
            Backend::Worker(tx) => {
                if tx.send(job).is_err() {
                    error!("persistence worker is gone; job dropped");
                }
            }
            Backend::Memory(store) => {
                let reply = match job {
                    Job::Load(account) => {
                        let (version, state) = store
                            .get(&account)
                            .cloned()
                            .map_or((0, None), |(v, s)| (v, Some(s)));
                        Reply::Loaded {
                            account,
                            result: Ok(StoredState {
                                account_id: account,
                                version,
                                state,
                            }),
                        }
                    }
                    Job::Save(saves) => {
                        let accounts = saves.iter().map(|s| s.account_id).collect();
                        let results = saves
                            .into_iter()
                            .map(|s| {
                                store.insert(s.account_id, (s.version, s.state));
                                SaveResult {
                                    account_id: s.account_id,
                                    version: s.version,
                                    outcome: SaveOutcome::Saved,
                                    stored_version: s.version,
                                }
                            })
                            .collect();
                        Reply::Saved {
                            accounts,
                            result: Ok(results),
                        }
                    }
                    Job::Register(_) | Job::Deregister(_) => return,
                };
                let _ = self.replies_tx.send(reply);
            }
        }
    }

    /// Replies that have arrived since the last call.
    pub fn drain(&self) -> Vec<Reply> {
        self.replies.try_iter().collect()
    }
}

/// Replies for the players plugin, drained once per frame in `Receive`.
#[derive(Resource, Default)]
pub struct LoadReplies(pub Vec<(AccountId, Result<StoredState, String>)>);

fn drain_replies(
    mut p: ResMut<Persistence>,
    mut loads: ResMut<LoadReplies>,
    players: Res<super::players::Players>,
    mut live: Query<&mut Player>,
) {
    for reply in p.drain() {
        match reply {
            Reply::Loaded { account, result } => loads.0.push((account, result)),
            Reply::Saved { accounts, result } => {
                p.saves_in_flight = p.saves_in_flight.saturating_sub(1);
                match result {
                    Ok(results) => {
                        for r in &results {
                            match r.outcome {
                                SaveOutcome::Saved | SaveOutcome::Duplicate => {
                                    p.saves_confirmed += 1
                                }
                                SaveOutcome::Stale | SaveOutcome::UnknownAccount => {
                                    p.saves_refused += 1;
                                    error!(account = %r.account_id, version = r.version, stored = r.stored_version, outcome = ?r.outcome, "save refused");
                                }
                            }
                        }
                    }
                    Err(e) => {
                        p.saves_refused += accounts.len() as u64;
                        error!(error = %e, count = accounts.len(), "save batch failed for good; players still online will be saved again");
                        // Nothing is lost while the player is here: mark them dirty again.
                        for a in &accounts {
                            if let Some(mut pl) =
                                players.online.get(a).and_then(|e| live.get_mut(*e).ok())
                            {
                                pl.mark_dirty();
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The persisted form of a live player.
pub fn snapshot(info: &PlayerInfo, farm: &Farm, inv: &Inventory) -> PlayerState {
    PlayerState {
        zone: info.zone.clone(),
        farm: farm.clone(),
        inventory: inv.clone(),
    }
}

/// Write-behind: when the oldest unsaved change is `save_interval` old, save every dirty
/// player in one batch.
fn flush_dirty(
    settings: Res<Settings>,
    mut players: Query<(&mut Player, &PlayerInfo, &Farm, &Inventory)>,
    mut p: ResMut<Persistence>,
) {
    let now = Instant::now();
    let due = players.iter().any(|(pl, ..)| {
        pl.dirty_since
            .is_some_and(|t| now.duration_since(t) >= settings.0.save_interval)
    });
    if !due {
        return;
    }
    let mut batch = Vec::new();
    for (mut pl, info, farm, inv) in &mut players {
        if pl.dirty_since.is_some() {
            batch.push(pl.next_save(snapshot(info, farm, inv)));
        }
    }
    p.send(Job::Save(batch));
}

pub(crate) fn plugin(app: &mut App) {
    let (replies_tx, replies) = crossbeam_channel::unbounded();
    let settings = &app.world().resource::<Settings>().0;
    let backend = match &settings.sidecar {
        Some(link) => Backend::Worker(spawn_worker(
            SidecarClient::new(&link.url, &link.service_secret),
            replies_tx.clone(),
        )),
        None => Backend::Memory(HashMap::new()),
    };
    app.insert_resource(Persistence {
        backend,
        replies_tx,
        replies,
        saves_in_flight: 0,
        saves_refused: 0,
        saves_confirmed: 0,
    });
    app.init_resource::<LoadReplies>();
    app.add_systems(Update, drain_replies.in_set(TickSet::Receive));
    app.add_systems(Update, flush_dirty.in_set(TickSet::Persist));
}

// ---- the background worker ----

fn spawn_worker(
    client: SidecarClient,
    replies: crossbeam_channel::Sender<Reply>,
) -> tokio::sync::mpsc::UnboundedSender<Job> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("persistence".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(worker(client, rx, replies));
        })
        .expect("spawning the persistence thread");
    tx
}

async fn worker(
    client: SidecarClient,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>,
    replies: crossbeam_channel::Sender<Reply>,
) {
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut heartbeat: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        if queue.is_empty() {
            match rx.recv().await {
                Some(job) => queue.push_back(job),
                None => break,
            }
        }
        while let Ok(job) = rx.try_recv() {
            queue.push_back(job);
        }
        match queue.pop_front() {
            Some(Job::Load(first)) => {
                let mut accounts = vec![first];
                while let Some(Job::Load(_)) = queue.front() {
                    if let Some(Job::Load(a)) = queue.pop_front() {
                        accounts.push(a);
                    }
                }
                let loads = accounts.into_iter().map(|account| {
                    let client = client.clone();
                    async move {
                        (
                            account,
                            client.load(account).await.map_err(|e| e.to_string()),
                        )
                    }
                });
                for (account, result) in futures_join_all(loads).await {
                    let _ = replies.send(Reply::Loaded { account, result });
                }
            }
            Some(Job::Save(saves)) => {
                let accounts = saves.iter().map(|s| s.account_id).collect();
                let result = save_with_retry(&client, saves).await;
                let _ = replies.send(Reply::Saved { accounts, result });
            }
            Some(Job::Register(reg)) => {
                if let Some(h) = heartbeat.take() {
                    h.abort();
                }
                let client = client.clone();
                heartbeat = Some(tokio::spawn(async move {
                    loop {
                        let delay = match client.register(&reg).await {
                            Ok(ok) => {
                                debug!(shard = %reg.shard_id, "registered in the shard directory");
                                Duration::from_secs((ok.ttl_secs / 3).max(1))
                            }
                            Err(e) => {
                                warn!(error = %e, "shard registration failed; retrying");
                                Duration::from_secs(1)
                            }
                        };
                        tokio::time::sleep(delay).await;
                    }
                }));
            }
            Some(Job::Deregister(shard_id)) => {
                if let Some(h) = heartbeat.take() {
                    h.abort();
                }
                match client.deregister(&shard_id).await {
                    Ok(()) => info!(shard = %shard_id, "left the shard directory"),
                    Err(e) => {
                        warn!(error = %e, "leaving the shard directory failed; the entry lapses after its TTL")
                    }
                }
            }
            None => {}
        }
    }
}

async fn futures_join_all<F>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

/// Retry a batch until it is answered, backing off up to 5 s; give up only after ~2 minutes.
/// Saves are idempotent and versioned, so a retry of a batch that did land is harmless.
async fn save_with_retry(
    client: &SidecarClient,
    saves: Vec<PlayerSave>,
) -> Result<Vec<SaveResult>, String> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match client.save(saves.clone()).await {
            Ok(resp) => return Ok(resp.results),
            Err(e) if started.elapsed() < Duration::from_secs(120) => {
                warn!(error = %e, batch = saves.len(), "save failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}
