//! What travels on the cross-shard bus (see `harvest_ops::bus` for how): game events, operator
//! announcements and presence snapshots, as JSON.
//!
//! | subject                          | payload              | who publishes | who listens                  |
//! |----------------------------------|----------------------|---------------|------------------------------|
//! | `harvest.events.<event>`         | [`Event`]            | shards        | the sidecar (presence), the JetStream stream `HARVEST_EVENTS`, anyone |
//! | `harvest.announce`               | [`Announcement`]     | the sidecar (admin route) | every shard, which tells every connected player |
//! | `harvest.presence.<shard>`       | [`PresenceSnapshot`] | each shard, every [`PRESENCE_EVERY_SECS`] | the sidecar (presence) |
//!
//! Event names (the last token of the subject, and the `event` field): `player_login`,
//! `player_logout`, `zone_changed`, `match_found`, `duel_started`, `duel_ended`, `shard_up`,
//! `shard_down`. Consumers must ignore fields and events they do not know: new ones are added
//! without a version bump.

use crate::ids::{AccountId, ZoneId};
use serde::{Deserialize, Serialize};

/// Subject prefix of every game event.
pub const EVENTS_PREFIX: &str = "harvest.events";
/// Subject of operator announcements.
pub const ANNOUNCE_SUBJECT: &str = "harvest.announce";
/// Subject prefix of presence snapshots (`harvest.presence.<shard>`).
pub const PRESENCE_PREFIX: &str = "harvest.presence";
/// How often each shard publishes its presence snapshot.
pub const PRESENCE_EVERY_SECS: u64 = 5;
/// A shard's presence is forgotten when it has published nothing for this long (it died
/// without a `shard_down`).
pub const PRESENCE_EXPIRES_SECS: u64 = 20;
/// The longest announcement, in bytes.
pub const MAX_ANNOUNCEMENT_BYTES: usize = 500;

/// One game event, stamped with where and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unix time in milliseconds, on the publishing shard's clock.
    pub at_ms: u64,
    /// The shard that published it.
    pub shard: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A player's state was loaded on this shard and they are playing.
    PlayerLogin { player: AccountId, zone: ZoneId },
    /// A player left this shard (disconnected, logged out, handed off or let go).
    PlayerLogout { player: AccountId },
    /// A player moved between zones, on this shard (a room change) or towards another (a
    /// handoff: the destination shard then publishes `player_login`).
    ZoneChanged {
        player: AccountId,
        from: ZoneId,
        to: ZoneId,
    },
    /// Matchmaking paired two players (their duel, with its id, starts next).
    MatchFound { players: [AccountId; 2] },
    /// Their duel began.
    DuelStarted {
        match_id: String,
        players: [AccountId; 2],
    },
    /// A duel finished: the winner (none for a draw) and how many moves it took.
    DuelEnded {
        match_id: String,
        players: [AccountId; 2],
        winner: Option<AccountId>,
        moves: u32,
    },
    /// A shard process registered and hosts `zones`.
    ShardUp {
        incarnation: i64,
        address: String,
        zones: Vec<ZoneId>,
    },
    /// A shard process is leaving (drained).
    ShardDown { incarnation: i64 },
}

impl EventKind {
    /// The event's name: the last token of its subject.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::PlayerLogin { .. } => "player_login",
            EventKind::PlayerLogout { .. } => "player_logout",
            EventKind::ZoneChanged { .. } => "zone_changed",
            EventKind::MatchFound { .. } => "match_found",
            EventKind::DuelStarted { .. } => "duel_started",
            EventKind::DuelEnded { .. } => "duel_ended",
            EventKind::ShardUp { .. } => "shard_up",
            EventKind::ShardDown { .. } => "shard_down",
        }
    }
}

impl Event {
    /// `harvest.events.<name>`.
    pub fn subject(&self) -> String {
        format!("{EVENTS_PREFIX}.{}", self.kind.name())
    }
}

/// A message from the operators to every connected player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub text: String,
    /// Unix time in milliseconds when it was sent.
    pub at_ms: u64,
}

/// Everyone playing on one shard process, published periodically so that a listener that
/// starts late, or missed events, converges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceSnapshot {
    pub shard: String,
    pub incarnation: i64,
    pub at_ms: u64,
    pub players: Vec<(AccountId, ZoneId)>,
}

/// Unix time now, in milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_flat_json_named_by_their_subject() {
        let e = Event {
            at_ms: 5,
            shard: "shard-1".into(),
            kind: EventKind::ZoneChanged {
                player: AccountId(7),
                from: ZoneId("meadow".into()),
                to: ZoneId("riverside".into()),
            },
        };
        assert_eq!(e.subject(), "harvest.events.zone_changed");
        let json: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"at_ms": 5, "shard": "shard-1", "event": "zone_changed",
                "player": 7, "from": "meadow", "to": "riverside"})
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
