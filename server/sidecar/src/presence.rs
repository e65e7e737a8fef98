//! Cross-shard presence ("who is online where"), kept from the bus: every shard publishes
//! `player_login`, `zone_changed`, `player_logout` and `shard_down` events, and a snapshot of
//! its players every few seconds (`harvest_shared::events`). Each sidecar replica listens and
//! keeps the whole picture in memory; nothing is stored.
//!
//! A shard that stops publishing (it died without `shard_down`) is forgotten after
//! [`PRESENCE_EXPIRES_SECS`]. A player seen logging in on one shard is removed from any other
//! (a handoff's logout may arrive after the new shard's login). `shard_up` starts a shard's
//! entry afresh (a restart under the same id); after `shard_down`, late snapshots of that
//! process are ignored. Events and snapshots come through one subscription, so each shard's
//! are applied in the order it sent them; a snapshot counts only for the shard its subject
//! names. The maps are bounded: at most [`MAX_SHARDS`] shards and [`MAX_PLAYERS_PER_SHARD`]
//! players each.

use harvest_ops::bus::Bus;
use harvest_shared::api::{PlayerPresence, PresenceView, ShardPresence};
use harvest_shared::events::{
    EVENTS_PREFIX, Event, EventKind, PRESENCE_EXPIRES_SECS, PRESENCE_PREFIX, PresenceSnapshot,
};
use harvest_shared::ids::{AccountId, ZoneId};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub const MAX_SHARDS: usize = 1024;
pub const MAX_PLAYERS_PER_SHARD: usize = 100_000;

#[derive(Default)]
pub struct Presence {
    shards: RwLock<HashMap<String, Hosted>>,
    /// Shard processes that said `shard_down` (the last [`MAX_SHARDS`]).
    gone: RwLock<std::collections::VecDeque<(String, i64)>>,
}

struct Hosted {
    seen: Instant,
    players: HashMap<AccountId, ZoneId>,
}

/// How often forgotten shards are dropped and the online gauge refreshed, without reads.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

impl Presence {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Hosted>> {
        self.shards.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Hosted>> {
        self.shards.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry of `shard`, made if there is room.
    fn hosted<'a>(
        map: &'a mut HashMap<String, Hosted>,
        shard: &str,
        now: Instant,
    ) -> Option<&'a mut Hosted> {
        if !map.contains_key(shard) && map.len() >= MAX_SHARDS {
            return None;
        }
        let h = map.entry(shard.to_owned()).or_insert_with(|| Hosted {
            seen: now,
            players: HashMap::new(),
        });
        h.seen = now;
        Some(h)
    }

    pub fn apply_event(&self, event: &Event, now: Instant) {
        let mut map = self.write();
        match &event.kind {
            EventKind::PlayerLogin { player, zone } => {
                for (shard, h) in map.iter_mut() {
                    if *shard != event.shard {
                        h.players.remove(player);
                    }
                }
                if let Some(h) = Self::hosted(&mut map, &event.shard, now)
                    && (h.players.len() < MAX_PLAYERS_PER_SHARD || h.players.contains_key(player))
                {
                    h.players.insert(*player, zone.clone());
                }
            }
            EventKind::ZoneChanged { player, to, .. } => {
                if let Some(h) = Self::hosted(&mut map, &event.shard, now)
                    && let Some(zone) = h.players.get_mut(player)
                {
                    *zone = to.clone();
                }
            }
            EventKind::PlayerLogout { player } => {
                if let Some(h) = Self::hosted(&mut map, &event.shard, now) {
                    h.players.remove(player);
                }
            }
            EventKind::ShardDown { incarnation } => {
                map.remove(&event.shard);
                let mut gone = self.gone.write().unwrap_or_else(|p| p.into_inner());
                if gone.len() == MAX_SHARDS {
                    gone.pop_front();
                }
                gone.push_back((event.shard.clone(), *incarnation));
            }
            EventKind::ShardUp { .. } => {
                map.remove(&event.shard);
                Self::hosted(&mut map, &event.shard, now);
            }
            _ => {
                Self::hosted(&mut map, &event.shard, now);
            }
        }
    }

    pub fn apply_snapshot(&self, snap: PresenceSnapshot, now: Instant) {
        let stopped = self
            .gone
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(shard, inc)| *shard == snap.shard && *inc == snap.incarnation);
        if stopped {
            return;
        }
        let mut map = self.write();
        if let Some(h) = Self::hosted(&mut map, &snap.shard, now) {
            h.players = snap
                .players
                .into_iter()
                .take(MAX_PLAYERS_PER_SHARD)
                .collect();
        }
    }

    fn expire(&self, now: Instant) {
        let ttl = Duration::from_secs(PRESENCE_EXPIRES_SECS);
        self.write()
            .retain(|_, h| now.saturating_duration_since(h.seen) < ttl);
    }

    /// Players online per shard and zone.
    pub fn view(&self, now: Instant) -> PresenceView {
        self.expire(now);
        let map = self.read();
        let mut shards: Vec<ShardPresence> = map
            .iter()
            .map(|(shard, h)| {
                let mut zones: BTreeMap<ZoneId, u64> = BTreeMap::new();
                for zone in h.players.values() {
                    *zones.entry(zone.clone()).or_default() += 1;
                }
                ShardPresence {
                    shard_id: shard.clone(),
                    players: h.players.len() as u64,
                    zones,
                }
            })
            .collect();
        shards.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
        PresenceView {
            online: shards.iter().map(|s| s.players).sum(),
            shards,
        }
    }

    /// Where `player` is, if online.
    pub fn locate(&self, player: AccountId, now: Instant) -> Option<PlayerPresence> {
        self.expire(now);
        self.read().iter().find_map(|(shard, h)| {
            h.players.get(&player).map(|zone| PlayerPresence {
                online: true,
                shard_id: Some(shard.clone()),
                zone: Some(zone.clone()),
            })
        })
    }

    /// Keeps this presence up to date from `bus` until the bus goes away.
    pub async fn follow(self: std::sync::Arc<Self>, bus: Bus) -> anyhow::Result<()> {
        // One subscription: each shard's events and snapshots in the order it sent them.
        let mut all = bus.subscribe("harvest.>").await?;
        let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
        let events = format!("{EVENTS_PREFIX}.");
        let snapshots = format!("{PRESENCE_PREFIX}.");
        loop {
            tokio::select! {
                m = all.next() => {
                    let Some(m) = m else { return Ok(()) };
                    if m.subject.starts_with(&events) {
                        match serde_json::from_slice::<Event>(&m.payload) {
                            Ok(e) => self.apply_event(&e, Instant::now()),
                            // An event this version does not know: skipped, as documented.
                            Err(e) => tracing::debug!(subject = %m.subject, error = %e, "presence: event skipped"),
                        }
                    } else if let Some(shard) = m.subject.strip_prefix(&snapshots) {
                        match serde_json::from_slice::<PresenceSnapshot>(&m.payload) {
                            Ok(s) if s.shard == shard => self.apply_snapshot(s, Instant::now()),
                            Ok(s) => tracing::warn!(subject = %m.subject, claims = %s.shard, "presence: snapshot for another shard ignored"),
                            Err(e) => tracing::warn!(subject = %m.subject, error = %e, "presence: malformed snapshot"),
                        }
                    }
                }
                _ = housekeeping.tick() => self.expire(Instant::now()),
            }
            metrics::gauge!("harvest_sidecar_players_online")
                .set(self.read().values().map(|h| h.players.len()).sum::<usize>() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(shard: &str, kind: EventKind) -> Event {
        Event {
            at_ms: 0,
            shard: shard.into(),
            kind,
        }
    }

    #[test]
    fn logins_moves_handoffs_and_departures_make_the_picture() {
        let p = Presence::default();
        let t = Instant::now();
        let (a, b) = (AccountId(1), AccountId(2));
        let meadow = ZoneId::new("meadow");
        let river = ZoneId::new("riverside");
        p.apply_event(
            &ev(
                "s0",
                EventKind::PlayerLogin {
                    player: a,
                    zone: meadow.clone(),
                },
            ),
            t,
        );
        p.apply_event(
            &ev(
                "s0",
                EventKind::PlayerLogin {
                    player: b,
                    zone: meadow.clone(),
                },
            ),
            t,
        );
        p.apply_event(
            &ev(
                "s0",
                EventKind::ZoneChanged {
                    player: b,
                    from: meadow.clone(),
                    to: river.clone(),
                },
            ),
            t,
        );
        // b's handoff: the new shard's login comes before the old one's logout.
        p.apply_event(
            &ev(
                "s1",
                EventKind::PlayerLogin {
                    player: b,
                    zone: river.clone(),
                },
            ),
            t,
        );
        p.apply_event(&ev("s0", EventKind::PlayerLogout { player: b }), t);
        let v = p.view(t);
        assert_eq!(v.online, 2);
        assert_eq!(v.shards[0].shard_id, "s0");
        assert_eq!(v.shards[0].zones.get(&meadow), Some(&1));
        assert_eq!(v.shards[1].zones.get(&river), Some(&1));
        assert_eq!(p.locate(b, t).unwrap().shard_id.as_deref(), Some("s1"));
        // s1 stops without a word: forgotten after the expiry; s0 says goodbye.
        let later = t + Duration::from_secs(PRESENCE_EXPIRES_SECS + 1);
        p.apply_event(&ev("s0", EventKind::MatchFound { players: [a, b] }), later);
        assert_eq!(p.view(later).online, 1);
        assert!(p.locate(b, later).is_none());
        p.apply_event(&ev("s0", EventKind::ShardDown { incarnation: 1 }), later);
        assert_eq!(p.view(later).online, 0);
    }

    #[test]
    fn a_stopped_process_stays_gone_and_a_restart_starts_afresh() {
        let p = Presence::default();
        let t = Instant::now();
        let snap = |inc, id| PresenceSnapshot {
            shard: "s0".into(),
            incarnation: inc,
            at_ms: 0,
            players: vec![(AccountId(id), ZoneId::new("meadow"))],
        };
        p.apply_snapshot(snap(1, 1), t);
        p.apply_event(&ev("s0", EventKind::ShardDown { incarnation: 1 }), t);
        // A snapshot the stopped process sent before it went, arriving late: ignored.
        p.apply_snapshot(snap(1, 1), t);
        assert_eq!(p.view(t).online, 0);
        // The same id restarted: its own players only.
        p.apply_event(
            &ev(
                "s0",
                EventKind::ShardUp {
                    incarnation: 2,
                    address: "x".into(),
                    zones: vec![],
                },
            ),
            t,
        );
        p.apply_snapshot(snap(2, 5), t);
        assert!(p.locate(AccountId(1), t).is_none());
        assert!(p.locate(AccountId(5), t).is_some());
    }

    #[test]
    fn a_snapshot_replaces_what_a_listener_missed() {
        let p = Presence::default();
        let t = Instant::now();
        p.apply_event(
            &ev(
                "s0",
                EventKind::PlayerLogin {
                    player: AccountId(9),
                    zone: ZoneId::new("meadow"),
                },
            ),
            t,
        );
        p.apply_snapshot(
            PresenceSnapshot {
                shard: "s0".into(),
                incarnation: 1,
                at_ms: 0,
                players: vec![(AccountId(3), ZoneId::new("arena"))],
            },
            t,
        );
        assert!(p.locate(AccountId(9), t).is_none());
        assert_eq!(
            p.locate(AccountId(3), t).unwrap().zone,
            Some(ZoneId::new("arena"))
        );
    }
}
