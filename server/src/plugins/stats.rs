//! Tick statistics: each frame's duration (First → Last), summarised every
//! `STATS_EVERY` as one structured log event (`harvest::stats`) with tick p50/p99/max, CPU
//! use of the process, RSS, clients and players, and the duration of any frame that swapped in
//! reloaded content (P9). Load runs read these lines; operators get them in the JSON logs.

use super::content::ContentReloads;
use super::players::Players;
use bevy::prelude::*;
use harvest_shared::procstat::{cpu_seconds, p50_p99, rss_mb};
use std::time::{Duration, Instant};

pub const STATS_EVERY: Duration = Duration::from_secs(10);

#[derive(Resource)]
pub struct TickStats {
    frame_start: Instant,
    /// Frame durations in ms since the last summary.
    pub window: Vec<f64>,
    window_start: Instant,
    cpu_at_start: f64,
    /// Content reloads applied so far, and the durations (ms) of the frames that applied one
    /// since the last summary.
    reloads_seen: u64,
    reload_frames: Vec<f64>,
    /// The last summary, for tests and reports.
    pub last: Option<Summary>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub tick_p50_ms: f64,
    pub tick_p99_ms: f64,
    pub tick_max_ms: f64,
    pub frames: usize,
    pub cpu_percent: f64,
    pub rss_mb: f64,
    pub players: usize,
    /// Content reloads applied in the window, and the longest frame that applied one.
    pub reloads: usize,
    pub reload_tick_max_ms: f64,
}

fn frame_start(mut s: ResMut<TickStats>) {
    s.frame_start = Instant::now();
}

fn frame_end(
    mut s: ResMut<TickStats>,
    players: Res<Players>,
    reloads: Option<Res<ContentReloads>>,
    live_duels: Query<(), With<super::duels::LiveDuel>>,
    duel_stats: Option<Res<super::duels::DuelStats>>,
    handoffs: Res<super::handoff::HandoffStats>,
) {
    let secs = s.frame_start.elapsed().as_secs_f64();
    metrics::histogram!("harvest_shard_tick_seconds").record(secs);
    let ms = secs * 1e3;
    s.window.push(ms);
    let applied = reloads.map_or(0, |r| r.applied);
    if applied != s.reloads_seen {
        s.reloads_seen = applied;
        s.reload_frames.push(ms);
    }
    let elapsed = s.window_start.elapsed();
    if elapsed < STATS_EVERY {
        return;
    }
    let cpu = cpu_seconds();
    let max = s.window.iter().copied().fold(0.0, f64::max);
    let frames = s.window.len();
    let (p50, p99) = p50_p99(&mut s.window);
    let summary = Summary {
        tick_p50_ms: p50,
        tick_p99_ms: p99,
        tick_max_ms: max,
        frames,
        cpu_percent: 100.0 * (cpu - s.cpu_at_start) / elapsed.as_secs_f64(),
        rss_mb: rss_mb(),
        players: players.online.len(),
        reloads: s.reload_frames.len(),
        reload_tick_max_ms: s.reload_frames.iter().copied().fold(0.0, f64::max),
    };
    tracing::info!(
        target: "harvest::stats",
        tick_p50_ms = summary.tick_p50_ms,
        tick_p99_ms = summary.tick_p99_ms,
        tick_max_ms = summary.tick_max_ms,
        frames,
        cpu_percent = summary.cpu_percent,
        rss_mb = summary.rss_mb,
        players = summary.players,
        reloads = summary.reloads,
        reload_tick_max_ms = summary.reload_tick_max_ms,
        duels_live = live_duels.iter().count(),
        duels_finished = duel_stats.as_ref().map_or(0, |d| d.finished),
        duels_recorded = duel_stats.as_ref().map_or(0, |d| d.recorded),
        duel_moves = duel_stats.as_ref().map_or(0, |d| d.moves),
        handoffs_started = handoffs.started,
        handoffs_completed = handoffs.completed,
        handoffs_failed = handoffs.failed,
        "tick stats"
    );
    s.last = Some(summary);
    s.window.clear();
    s.reload_frames.clear();
    s.window_start = Instant::now();
    s.cpu_at_start = cpu;
}

pub(crate) fn plugin(app: &mut App) {
    let now = Instant::now();
    app.insert_resource(TickStats {
        frame_start: now,
        window: Vec::with_capacity(256),
        window_start: now,
        cpu_at_start: cpu_seconds(),
        reloads_seen: 0,
        reload_frames: Vec::new(),
        last: None,
    });
    app.add_systems(First, frame_start);
    app.add_systems(Last, frame_end);
}
