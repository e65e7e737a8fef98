//! The bot swarm behind `harvest-bots`.
//!
//! Each bot is a real player: it registers (or logs in when its account exists), asks
//! `/v1/play` for a connect token, connects over UDP and plays a [`Scenario`]. Logins run on a
//! small tokio runtime with bounded concurrency; each connected bot is its own headless
//! lightyear app (one `Client` per app is all lightyear supports), and a few threads step them
//! round-robin. Bots act a few times per second at most, so several hundred fit on two cores
//! beside the shard.

mod duelist;
pub mod report;
mod scenario;

pub use report::Report;
pub use scenario::Scenario;

use crate::http::SidecarApi;
use crate::net::NetClient;
use report::Collector;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct SwarmConfig {
    pub sidecar_url: String,
    /// Extra CA certificate (PEM) to trust for an `https://` sidecar.
    pub ca_cert: Option<std::path::PathBuf>,
    pub bots: usize,
    pub duration: Duration,
    pub scenario: Scenario,
    pub user_prefix: String,
    pub password: String,
    /// Threads stepping bot apps.
    pub threads: usize,
    /// Bot frames per second.
    pub hz: u32,
    /// Concurrent HTTP logins.
    pub login_concurrency: usize,
    /// The content the shard runs (bots check their moves with the shared rules).
    pub content: Arc<harvest_shared::content::Content>,
}

/// Live counters shared by every bot thread (read by the progress line).
#[derive(Default)]
struct Live {
    connected: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    logged_in: AtomicU64,
}

struct NewBot {
    index: usize,
    name: String,
    token: String,
    login_started: Instant,
}

/// A bot whose connection was lost without a ticket asks to log in again.
struct Relogin {
    index: usize,
}

/// Run the swarm to completion and build the report. `progress` is called about every 5 s.
pub fn run(cfg: &SwarmConfig, mut progress: impl FnMut(&str)) -> anyhow::Result<Report> {
    let started = Instant::now();
    let cpu0 = report::cpu_seconds();
    let live = Arc::new(Live::default());
    let stop = Arc::new(AtomicBool::new(false));
    let collector = Arc::new(std::sync::Mutex::new(Collector::default()));
    let threads = cfg.threads.max(1);

    // Bot threads: each owns the apps of the bots sent to it.
    let mut senders = Vec::new();
    let mut handles = Vec::new();
    let (relogin_tx, relogins) = crossbeam_channel::unbounded::<Relogin>();
    for t in 0..threads {
        let (tx, rx) = crossbeam_channel::unbounded::<NewBot>();
        senders.push(tx);
        let (live, stop, collector, scenario, hz, content, relogin) = (
            live.clone(),
            stop.clone(),
            collector.clone(),
            cfg.scenario,
            cfg.hz.max(1),
            cfg.content.clone(),
            relogin_tx.clone(),
        );
        handles.push(
            std::thread::Builder::new()
                .name(format!("bots-{t}"))
                .spawn(move || {
                    bot_thread(rx, relogin, live, stop, collector, scenario, hz, content);
                })?,
        );
    }
    drop(relogin_tx);

    // Logins on a small runtime, bounded so the sidecar sees a realistic but finite storm.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let api = SidecarApi::new(&cfg.sidecar_url, cfg.ca_cert.as_deref())?;
    let sem = Arc::new(tokio::sync::Semaphore::new(cfg.login_concurrency.max(1)));
    let login = |i: usize| {
        let (api, sem, tx, live, collector) = (
            api.clone(),
            sem.clone(),
            senders[i % threads].clone(),
            live.clone(),
            collector.clone(),
        );
        let name = format!("{}{}", cfg.user_prefix, i);
        let password = cfg.password.clone();
        rt.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let result = async {
                // Registration (first run of a prefix) is not part of login → first state.
                retry_limited(|| {
                    let (api, name, password) = (api.clone(), name.clone(), password.clone());
                    async move {
                        match api.register(&name, &password).await {
                            Err(e) if e.code() == Some("username_taken") => Ok(()),
                            other => other.map(|_| ()),
                        }
                    }
                })
                .await?;
                let login_started = Instant::now();
                let tokens = retry_limited(|| api.login(&name, &password)).await?;
                let play = retry_limited(|| api.play(&tokens.access_token)).await?;
                anyhow::Ok((play, login_started))
            }
            .await;
            match result {
                Ok((play, login_started)) => {
                    live.logged_in.fetch_add(1, Relaxed);
                    let _ = tx.send(NewBot {
                        index: i,
                        name,
                        token: play.connect_token,
                        login_started,
                    });
                }
                Err(e) => collector
                    .lock()
                    .expect("collector lock")
                    .error(format!("login: {e:#}")),
            }
        });
    };
    for i in 0..cfg.bots {
        login(i);
    }
    let mut last = Instant::now();
    while started.elapsed() < cfg.duration {
        std::thread::sleep(Duration::from_millis(200));
        for Relogin { index } in relogins.try_iter() {
            live.logged_in.fetch_sub(1, Relaxed);
            login(index);
        }
        if last.elapsed() >= Duration::from_secs(5) {
            last = Instant::now();
            progress(&format!(
                "t={:>4.0}s logged_in={}/{} connected={} accepted={} rejected={}",
                started.elapsed().as_secs_f64(),
                live.logged_in.load(Relaxed),
                cfg.bots,
                live.connected.load(Relaxed),
                live.accepted.load(Relaxed),
                live.rejected.load(Relaxed)
            ));
        }
    }
    let connected_at_end = live.connected.load(Relaxed);
    stop.store(true, Relaxed);
    drop(senders);
    for h in handles {
        let _ = h.join();
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    let wall = started.elapsed();
    let cpu = report::cpu_seconds() - cpu0;
    let c = collector.lock().expect("collector lock");
    Ok(Report::build(cfg, &c, connected_at_end, wall, cpu))
}

/// Retry while the sidecar answers 429 or 503 (login storms; a zone between two shards, or
/// whose shard is restarting), with backoff: about 40 s in all.
async fn retry_limited<T, F, Fut>(mut call: F) -> Result<T, crate::http::HttpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::http::HttpError>>,
{
    let mut delay = Duration::from_millis(500);
    let mut tries = 0;
    loop {
        match call().await {
            Err(e)
                if matches!(e.code(), Some("rate_limited" | "busy" | "no_shard")) && tries < 8 =>
            {
                tries += 1;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

struct Bot {
    index: usize,
    name: String,
    client: NetClient,
    login_started: Instant,
    connected_at: Option<Instant>,
    first_state: bool,
    brain: scenario::Brain,
    counted_connected: bool,
    /// Waiting for a new login (its connection was lost without a ticket).
    relogging: bool,
}

fn bot_thread(
    rx: crossbeam_channel::Receiver<NewBot>,
    relogin: crossbeam_channel::Sender<Relogin>,
    live: Arc<Live>,
    stop: Arc<AtomicBool>,
    collector: Arc<std::sync::Mutex<Collector>>,
    scenario: Scenario,
    hz: u32,
    content: Arc<harvest_shared::content::Content>,
) {
    let period = Duration::from_secs_f64(1.0 / hz as f64);
    let mut bots: Vec<Bot> = Vec::new();
    let mut deadline = Instant::now();
    let mut local = Collector::default();
    while !stop.load(Relaxed) {
        while let Ok(nb) = rx.try_recv() {
            // A bot logging in again keeps its brain and counters.
            if let Some(bot) = bots.iter_mut().find(|b| b.index == nb.index) {
                match bot.client.reconnect(&nb.token) {
                    Ok(()) => {
                        bot.relogging = false;
                        bot.brain.reconnected();
                        local.reconnects += 1;
                    }
                    Err(e) => {
                        // Still disconnected: the next frame asks for another login.
                        bot.relogging = false;
                        local.error(format!("{}: connect: {e}", nb.name));
                    }
                }
                continue;
            }
            match NetClient::connect(&nb.token) {
                Ok(client) => bots.push(Bot {
                    index: nb.index,
                    name: nb.name,
                    client,
                    login_started: nb.login_started,
                    connected_at: None,
                    first_state: false,
                    brain: scenario::Brain::new(scenario.role(nb.index), content.clone()),
                    counted_connected: false,
                    relogging: false,
                }),
                Err(e) => local.error(format!("{}: connect: {e}", nb.name)),
            }
        }
        for bot in bots.iter_mut() {
            bot.client.update();
            let connected = bot.client.is_connected();
            if connected && !bot.counted_connected {
                bot.counted_connected = true;
                bot.client.hello(&content.version);
                live.connected.fetch_add(1, Relaxed);
                if bot.connected_at.is_none() {
                    bot.connected_at = Some(Instant::now());
                    local.ever_connected += 1;
                }
            } else if !connected && bot.counted_connected {
                bot.counted_connected = false;
                live.connected.fetch_sub(1, Relaxed);
                match bot.client.follow_handoff() {
                    Ok(Some(_)) => {
                        local.handoffs += 1;
                        bot.brain.handed_off = true;
                        bot.brain.reconnected();
                    }
                    Ok(None) => {
                        local.error(format!(
                            "{}: disconnected ({:?})",
                            bot.name,
                            bot.client.kicked().map(|k| k.reason)
                        ));
                        bot.relogging = true;
                        let _ = relogin.send(Relogin { index: bot.index });
                    }
                    Err(e) => {
                        local.error(format!("{}: handoff: {e}", bot.name));
                        bot.relogging = true;
                        let _ = relogin.send(Relogin { index: bot.index });
                    }
                }
            } else if !connected
                && !bot.relogging
                && bot.client.is_disconnected()
                && bot.connected_at.is_some()
            {
                // The connection attempt after a handoff or login failed (say, the shard died
                // meanwhile): log in again.
                local.error(format!("{}: could not connect", bot.name));
                bot.relogging = true;
                let _ = relogin.send(Relogin { index: bot.index });
            }
            if !bot.first_state
                && let Some(_state) = bot.client.farm()
            {
                bot.first_state = true;
                local
                    .login_to_first_state_ms
                    .push(bot.login_started.elapsed().as_secs_f64() * 1e3);
            }
            if connected && bot.first_state {
                bot.brain.step(&mut bot.client);
            }
            for n in bot.client.take_notices() {
                let kind = bot.brain.answered(n.request_id);
                if n.result.is_ok() {
                    live.accepted.fetch_add(1, Relaxed);
                    local.accepted += 1;
                    if let Some(kind) = kind {
                        *local.actions.entry(kind.to_owned()).or_default() += 1;
                        if scenario::Move::is_economy(kind) {
                            *local
                                .acknowledged
                                .entry(bot.name.clone())
                                .or_default()
                                .entry(kind.to_owned())
                                .or_default() += 1;
                        }
                    }
                } else {
                    live.rejected.fetch_add(1, Relaxed);
                    local.rejected += 1;
                    local.reject_reasons.push(format!("{:?}", n.result));
                    if kind == Some("duel") {
                        local.duel_actions_rejected += 1;
                    }
                    bot.brain.refused();
                }
            }
        }
        deadline += period;
        let now = Instant::now();
        if now < deadline {
            std::thread::sleep(deadline - now);
        } else {
            deadline = now;
        }
    }
    let end = Instant::now();
    for bot in bots.iter_mut() {
        let stats = bot.client.stats();
        if let Some(at) = bot.connected_at {
            local.client_seconds += end.duration_since(at).as_secs_f64();
            local.bytes_in += stats.bytes_in;
            local.bytes_out += stats.bytes_out;
            local.rtt_ms.push(stats.rtt.as_secs_f64() * 1e3);
        }
        let heard = bot.client.announcements_received();
        local.announcements += heard;
        local.bots_announced += u64::from(heard > 0);
        local.handoffs_ms.extend(&bot.brain.handoffs_ms);
        local.room_changes_ms.extend(&bot.brain.room_changes_ms);
        for (k, n) in &bot.brain.duel_results {
            *local.duel_results.entry(k.clone()).or_default() += n;
        }
        local.duels.extend(
            bot.brain
                .matches
                .iter()
                .map(|(id, before, after)| report::DuelLine {
                    bot: bot.name.clone(),
                    match_id: id.clone(),
                    rating_before: *before,
                    rating_after: *after,
                }),
        );
        if bot.client.is_connected() {
            bot.client.disconnect();
        }
    }
    collector.lock().expect("collector lock").merge(local);
}
