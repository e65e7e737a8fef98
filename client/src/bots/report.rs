//! The swarm's JSON report and the counters it is built from.

use super::SwarmConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Per-thread tallies, merged at the end.
#[derive(Default)]
pub(crate) struct Collector {
    pub ever_connected: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub client_seconds: f64,
    pub rtt_ms: Vec<f64>,
    pub login_to_first_state_ms: Vec<f64>,
    pub errors: Vec<String>,
    pub reject_reasons: Vec<String>,
    /// Accepted actions per kind (`buy`, `till`...).
    pub actions: BTreeMap<String, u64>,
    /// Economy events acknowledged (committed), per bot and kind.
    pub acknowledged: BTreeMap<String, BTreeMap<String, u64>>,
    /// Duel moves the shard refused.
    pub duel_actions_rejected: u64,
    /// Duels recorded, per result as each bot saw it.
    pub duel_results: BTreeMap<String, u64>,
    pub duels: Vec<DuelLine>,
    /// Handoffs followed (tickets to another shard).
    pub handoffs: u64,
    pub handoffs_ms: Vec<f64>,
    pub room_changes_ms: Vec<f64>,
    /// New logins after a connection was lost (not a handoff).
    pub reconnects: u64,
    pub announcements: u64,
    pub bots_announced: u64,
}

/// One recorded duel as one of its bots saw it.
#[derive(Serialize, Debug, Clone)]
pub struct DuelLine {
    pub bot: String,
    pub match_id: String,
    pub rating_before: f64,
    pub rating_after: f64,
}

impl Collector {
    pub fn error(&mut self, e: String) {
        self.errors.push(e);
    }

    pub fn merge(&mut self, o: Collector) {
        self.ever_connected += o.ever_connected;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.client_seconds += o.client_seconds;
        self.rtt_ms.extend(o.rtt_ms);
        self.login_to_first_state_ms
            .extend(o.login_to_first_state_ms);
        self.errors.extend(o.errors);
        self.reject_reasons.extend(o.reject_reasons);
        for (k, n) in o.actions {
            *self.actions.entry(k).or_default() += n;
        }
        self.duel_actions_rejected += o.duel_actions_rejected;
        for (k, n) in o.duel_results {
            *self.duel_results.entry(k).or_default() += n;
        }
        self.duels.extend(o.duels);
        self.handoffs += o.handoffs;
        self.handoffs_ms.extend(o.handoffs_ms);
        self.room_changes_ms.extend(o.room_changes_ms);
        self.reconnects += o.reconnects;
        self.announcements += o.announcements;
        self.bots_announced += o.bots_announced;
        for (bot, kinds) in o.acknowledged {
            let mine = self.acknowledged.entry(bot).or_default();
            for (k, n) in kinds {
                *mine.entry(k).or_default() += n;
            }
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Machine {
    pub hostname: String,
    pub cpus: usize,
    pub os: String,
    pub cpu_model: String,
}

impl Machine {
    pub fn this() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_default();
        Machine {
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            os: std::env::consts::OS.to_owned(),
            cpu_model,
        }
    }
}

/// The JSON a run writes to `--report`.
#[derive(Serialize, Debug, Clone)]
pub struct Report {
    pub scenario: String,
    pub bots: usize,
    /// Bots connected when the run ended.
    pub connected: u64,
    /// Bots that connected at some point.
    pub ever_connected: u64,
    pub actions_accepted: u64,
    pub actions_rejected: u64,
    pub bytes_in_per_client_per_s: f64,
    pub bytes_out_per_client_per_s: f64,
    pub rtt_ms_p50: f64,
    pub rtt_ms_p99: f64,
    pub login_to_first_state_ms_p50: f64,
    pub login_to_first_state_ms_p99: f64,
    pub duration_s: f64,
    /// CPU used by the bot process itself, as % of one core over the run.
    pub bots_cpu_percent: f64,
    pub bots_rss_mb: f64,
    /// Distinct errors with how often each happened.
    pub errors: Vec<String>,
    /// Reject reasons with counts.
    pub rejects: BTreeMap<String, u64>,
    /// Accepted actions per kind: the farming loop's coverage (`buy`, `till`, `plant`, `water`,
    /// `harvest`, `sell`, `craft`, `expand`...).
    pub actions: BTreeMap<String, u64>,
    /// Economy events (buy, sell, craft, expand) each bot saw acknowledged, by kind: every one
    /// of them must be in the ledger.
    pub economy_acknowledged: BTreeMap<String, BTreeMap<String, u64>>,
    /// Duels finished and recorded (each counted once, by match id; a duel between two bots
    /// of the run is one duel).
    pub duels_completed: u64,
    /// Duel moves the shard refused (a bot plans on the board it sees; a refusal means it saw
    /// a stale one, or a bug).
    pub duel_actions_rejected: u64,
    /// Results as the bots saw them (`win`, `loss`, `draw`: each duel counted by both sides).
    pub duel_results: BTreeMap<String, u64>,
    /// Every recorded duel a bot took part in, with its rating change.
    pub duels: Vec<DuelLine>,
    /// Handoffs followed: the shard saved and released the player and gave the bot a ticket
    /// to the shard hosting its new zone.
    pub handoffs: u64,
    /// Journeys through a handoff, from the travel request to the player's state arriving
    /// from the new shard (P8: p99 ≤ 250 ms).
    pub handoff_ms_p50: f64,
    pub handoff_ms_p99: f64,
    /// Journeys within one shard (a room change), same measure.
    pub room_changes: u64,
    pub room_change_ms_p50: f64,
    pub room_change_ms_p99: f64,
    /// Logins again after a connection was lost without a ticket (a shard died or drained).
    pub reconnects: u64,
    /// Operators' announcements received, by all bots together, and how many bots received
    /// at least one (`POST /v1/admin/announce` reaches every connected player on every shard).
    pub announcements: u64,
    pub bots_announced: u64,
    pub machine: Machine,
}

impl Report {
    pub(crate) fn build(
        cfg: &SwarmConfig,
        c: &Collector,
        connected: u64,
        wall: Duration,
        cpu_s: f64,
    ) -> Report {
        let (mut rtt, mut l2s) = (c.rtt_ms.clone(), c.login_to_first_state_ms.clone());
        let (rtt50, rtt99) = harvest_shared::procstat::p50_p99(&mut rtt);
        let (l50, l99) = harvest_shared::procstat::p50_p99(&mut l2s);
        let (mut hand, mut room) = (c.handoffs_ms.clone(), c.room_changes_ms.clone());
        let (h50, h99) = harvest_shared::procstat::p50_p99(&mut hand);
        let (r50, r99) = harvest_shared::procstat::p50_p99(&mut room);
        let per = |b: u64| {
            if c.client_seconds > 0.0 {
                b as f64 / c.client_seconds
            } else {
                0.0
            }
        };
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for e in &c.errors {
            *counts.entry(e.clone()).or_default() += 1;
        }
        let errors = counts
            .into_iter()
            .map(|(e, n)| if n > 1 { format!("{e} (x{n})") } else { e })
            .take(50)
            .collect();
        let mut rejects = BTreeMap::new();
        for r in &c.reject_reasons {
            *rejects.entry(r.clone()).or_default() += 1;
        }
        Report {
            scenario: format!("{:?}", cfg.scenario).to_lowercase(),
            bots: cfg.bots,
            connected,
            ever_connected: c.ever_connected,
            actions_accepted: c.accepted,
            actions_rejected: c.rejected,
            bytes_in_per_client_per_s: per(c.bytes_in),
            bytes_out_per_client_per_s: per(c.bytes_out),
            rtt_ms_p50: rtt50,
            rtt_ms_p99: rtt99,
            login_to_first_state_ms_p50: l50,
            login_to_first_state_ms_p99: l99,
            duration_s: wall.as_secs_f64(),
            bots_cpu_percent: 100.0 * cpu_s / wall.as_secs_f64().max(1e-9),
            bots_rss_mb: rss_mb(),
            errors,
            rejects,
            actions: c.actions.clone(),
            economy_acknowledged: c.acknowledged.clone(),
            duels_completed: c
                .duels
                .iter()
                .map(|d| d.match_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len() as u64,
            duel_actions_rejected: c.duel_actions_rejected,
            duel_results: c.duel_results.clone(),
            duels: c.duels.clone(),
            handoffs: c.handoffs,
            handoff_ms_p50: h50,
            handoff_ms_p99: h99,
            room_changes: c.room_changes_ms.len() as u64,
            room_change_ms_p50: r50,
            room_change_ms_p99: r99,
            reconnects: c.reconnects,
            announcements: c.announcements,
            bots_announced: c.bots_announced,
            machine: Machine::this(),
        }
    }
}

pub use harvest_shared::procstat::{cpu_seconds, rss_mb};
