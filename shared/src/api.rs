//! HTTP DTOs: the JSON bodies of the sidecar's public routes (`/v1/...`) and of its internal
//! routes for shards (`/internal/v1/...`). Sidecar, shard and client all use these types, so a
//! field renamed here is renamed everywhere at once.

use crate::content::DuelRules;
use crate::duel::rating::Rating;
use crate::duel::view::Result3;
use crate::duel::{LogEntry, Outcome};
use crate::farming::FarmSummary;
use crate::ids::CardId;
use crate::ids::{AccountId, ZoneId};
use crate::inventory::{Collection, Holdings, Inventory};
use crate::ledger::{Delta, EntryKind};
use crate::state::PlayerState;
use crate::time::Tick;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error the sidecar returns: `{"error": code, "message": text}`, plus the failing field
/// for validation errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `username_taken`, `invalid_credentials`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field that failed validation, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---- public: accounts and sessions ----

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–24 characters of `[A-Za-z0-9_]`; unique ignoring case.
    #[schema(min_length = 3, max_length = 24, pattern = "^[A-Za-z0-9_]{3,24}$")]
    pub username: String,
    /// 8–128 characters (Unicode scalar values).
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    pub account_id: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The name given at registration (any case).
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(min_length = 1, max_length = 512)]
    pub password: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// Signed, short-lived; send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque, single use; trade it at `/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: u64,
    pub account_id: AccountId,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

// ---- public: play ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlayResponse {
    /// Base64 (standard alphabet) of lightyear's 2048-byte netcode `ConnectToken`.
    pub connect_token: String,
    /// UDP address of the shard hosting `zone`.
    pub server_addr: String,
    pub zone: ZoneId,
    /// Content hash the shard runs; the client warns when its own differs.
    pub content_version: String,
    /// The shard's name in the directory (for display and support).
    #[serde(default)]
    pub shard_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub account_id: AccountId,
    pub username: String,
    /// Unix seconds.
    pub created_at: i64,
    pub zone: ZoneId,
    pub inventory: Inventory,
    pub collection: Collection,
    pub farm: FarmSummary,
    /// Version of the stored state (0 when the player has never been saved).
    pub state_version: i64,
}

/// `GET /v1/players/me/ledger`: the newest entries first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerRow>,
}

/// One committed ledger entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LedgerRow {
    /// Unique per account: the shard's idempotency key (`opening` for the first entry).
    pub key: String,
    pub kind: EntryKind,
    /// What it was about: a crop, an item, a recipe...
    pub detail: String,
    pub delta: Delta,
    /// The shard that committed it.
    pub shard_id: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Most ledger rows one `GET /v1/players/me/ledger` returns.
pub const MAX_LEDGER_PAGE: i64 = 500;

/// What `harvest-sidecar audit` found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuditReport {
    /// Accounts with a ledger or holdings.
    pub accounts: u64,
    pub entries: u64,
    /// Assets whose holding is not the sum of their ledger lines.
    pub mismatches: Vec<AuditMismatch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditMismatch {
    pub account_id: AccountId,
    /// `coins`, `item:ID` or `card:ID`.
    pub asset: String,
    pub ledger_sum: i64,
    pub holding: i64,
}

// ---- internal: shards ----

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardRegistration {
    /// Stable name of the shard process (e.g. the StatefulSet pod name).
    pub shard_id: String,
    /// Public UDP address clients connect to.
    pub address: String,
    /// The zones this shard is configured to host. It hosts those the answer grants: a zone is
    /// hosted by one shard at a time, under a lease.
    pub zones: Vec<ZoneId>,
    pub content_version: String,
    /// Players online on this shard now.
    #[serde(default)]
    pub players: u32,
    /// Most players this shard takes (`--max-clients`).
    #[serde(default)]
    pub capacity: u32,
    /// Random per process start: a heartbeat of the incarnation that left the directory is
    /// refused (409), while a restarted shard of the same id registers afresh.
    #[serde(default)]
    pub incarnation: i64,
}

/// A zone this shard hosts, under a lease whose epoch grows each time the zone changes hands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ZoneGrant {
    pub zone: ZoneId,
    pub epoch: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardRegistered {
    /// Seconds after which the registration, and the zone leases with it, lapse unless renewed.
    pub ttl_secs: u64,
    /// Accounts leased to this shard whose owner logged out since the last heartbeat: the
    /// shard ends their game session (saves, then disconnects them).
    #[serde(default)]
    pub end_sessions: Vec<AccountId>,
    /// The zones this shard hosts now (of those it offered; another live shard may hold the
    /// rest). Players in a zone not listed are handed off to its holder.
    #[serde(default)]
    pub hosted: Vec<ZoneGrant>,
    /// Every zone some live shard hosts now: a journey elsewhere is refused at once.
    #[serde(default)]
    pub live_zones: Vec<ZoneId>,
    /// An operator asked this shard to drain (`POST /v1/admin/shards/{id}/drain`).
    #[serde(default)]
    pub drain: bool,
}

/// `POST /internal/v1/players/{account_id}/handoff`: the shard that just saved and released
/// the player asks for a connect token to the shard hosting `zone`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HandoffRequest {
    /// The shard asking (the one the player is leaving).
    pub shard_id: String,
    /// Where the player goes: it must be the zone of their stored state.
    pub zone: ZoneId,
}

/// One shard in the operators' view of the directory (`GET /v1/shards`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardView {
    pub shard_id: String,
    pub address: String,
    /// `running`, or `draining` once it stops taking players.
    pub state: String,
    pub players: i64,
    pub capacity: i64,
    pub content_version: String,
    /// Seconds since its last heartbeat.
    pub last_seen_secs_ago: i64,
    /// Seconds since it registered.
    pub up_secs: i64,
    /// The zones it is configured to host.
    pub offers: Vec<ZoneId>,
    /// The zones it hosts now.
    pub hosts: Vec<ZoneGrant>,
    /// An operator asked it to drain and it has not left yet.
    pub drain_requested: bool,
}

/// One zone of the content and who hosts it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ZoneView {
    pub zone: ZoneId,
    /// The shard hosting it; `None`: no live shard does (players there get 503 from
    /// `/v1/play` until one does).
    pub shard_id: Option<String>,
    /// Epoch of its lease (0: never hosted).
    pub epoch: i64,
}

/// `GET /v1/shards`: the directory, for operators.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ShardsView {
    pub shards: Vec<ShardView>,
    /// Every zone of the content, hosted or not.
    pub zones: Vec<ZoneView>,
}

/// `GET /v1/presence`: who is online where, from the shards' bus events (every sidecar
/// replica keeps it in memory; a shard silent for 20 s is forgotten).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PresenceView {
    /// Players online on every shard.
    pub online: u64,
    pub shards: Vec<ShardPresence>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ShardPresence {
    pub shard_id: String,
    pub players: u64,
    /// Players per zone on this shard.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub zones: std::collections::BTreeMap<ZoneId, u64>,
}

/// `GET /v1/presence/{username}`: is this player online, and where.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlayerPresence {
    pub online: bool,
    pub shard_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub zone: Option<ZoneId>,
}

/// `POST /v1/admin/announce`: a message to every connected player, on every shard.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnounceRequest {
    /// 1 to 500 bytes of text.
    pub text: String,
}

// ---- internal: ownership leases and compare-and-swap saves ----
//
// A shard that loads an account takes its lease: the sidecar records the shard as the owner
// and bumps the account's epoch. Every save names the epoch and the version it was based on;
// the sidecar applies it only if both are still current, in one statement. A newer load
// anywhere (a new epoch) makes the old owner's next save fail, and the old owner lets the
// player go. Nothing else can confirm a save.

/// Most saves in one `POST /internal/v1/players/states`; shards chunk their batches to it.
pub const MAX_SAVES_PER_BATCH: usize = 500;
/// Most ledger entries one save carries; a shard refuses economy requests beyond it until the
/// sidecar has confirmed what it holds.
pub const MAX_LEDGER_PER_SAVE: usize = 256;
/// Longest ledger key or detail.
pub const MAX_LEDGER_TEXT: usize = 64;
/// Most assets one ledger entry moves.
pub const MAX_LEDGER_ASSETS: usize = 64;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LeaseRequest {
    /// The shard taking the lease (its directory id).
    pub shard_id: String,
    /// Take the lease only if nobody holds it (released, never taken) or this shard already
    /// does; otherwise 409 and nothing changes. A shard loading a player ahead of a finished
    /// handshake asks this way, so a stray connection request cannot take a player away from
    /// the shard they play on; a session that has joined takes the lease unconditionally.
    #[serde(default)]
    pub if_free: bool,
}

/// A granted lease and the state to start from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    pub account_id: AccountId,
    /// The lease's epoch: one more than any earlier load of this account.
    pub epoch: i64,
    /// Version of the stored state (0 for a player never saved).
    pub version: i64,
    /// The stored state; `null` for a player never saved (start from content).
    pub state: Option<PlayerState>,
    /// What the player holds: the sum of their ledger (opened at their first lease).
    pub holdings: Holdings,
    /// The player's duel rating (a new player's when they have never duelled).
    #[serde(default)]
    pub rating: Rating,
}

/// One change of holdings, as the shard records it: committed with the save that carries it,
/// at most once per account and key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntry {
    /// Idempotency key, unique per account (`EPOCH:SEQ` from the shard holding the lease).
    #[schema(min_length = 1, max_length = 64)]
    pub key: String,
    pub kind: EntryKind,
    #[schema(max_length = 64)]
    pub detail: String,
    pub delta: Delta,
}

impl LedgerEntry {
    /// Is it within the bounds the sidecar accepts?
    pub fn is_well_formed(&self) -> bool {
        (1..=MAX_LEDGER_TEXT).contains(&self.key.len())
            && self.key != "opening"
            && self.detail.len() <= MAX_LEDGER_TEXT
            && self.kind != EntryKind::Opening
            && self.delta.items.len() + self.delta.cards.len() < MAX_LEDGER_ASSETS
            && self.delta.coins.unsigned_abs() <= u64::from(u32::MAX)
            && self
                .delta
                .items
                .values()
                .chain(self.delta.cards.values())
                .all(|n| n.unsigned_abs() <= u64::from(u32::MAX))
            && self
                .delta
                .items
                .keys()
                .map(|k| k.as_str())
                .chain(self.delta.cards.keys().map(|k| k.as_str()))
                .all(|k| (1..=MAX_LEDGER_TEXT).contains(&k.len()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlayerSave {
    pub account_id: AccountId,
    /// The epoch of the lease this shard holds.
    #[schema(minimum = 1)]
    pub epoch: i64,
    /// The stored version this state was built on; it is stored as `base_version + 1`.
    #[schema(minimum = 0, maximum = 9223372036854775806_i64)]
    pub base_version: i64,
    pub state: PlayerState,
    /// Changes of holdings since the last confirmed save, oldest first. Committed with the
    /// state, or not at all.
    #[serde(default)]
    #[schema(max_items = 256)]
    pub ledger: Vec<LedgerEntry>,
    /// The shard lets the player go after this save (they left): the lease is released.
    #[serde(default)]
    pub release: bool,
}

/// What the store holds for an account, as far as a save's fate depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredLease<'a> {
    pub epoch: i64,
    pub owner_shard: Option<&'a str>,
    pub version: i64,
}

impl PlayerSave {
    /// Does this save, from `shard_id`, apply over `stored` by compare-and-swap: the lease is
    /// the shard's, at this epoch, and the stored version is the save's base?
    pub fn applies_to(&self, stored: &StoredLease<'_>, shard_id: &str) -> bool {
        stored.epoch == self.epoch
            && stored.version == self.base_version
            && stored.owner_shard == Some(shard_id)
    }

    /// Why a save that did not apply did not. `same_content`: the stored state is this save's
    /// (then a save already applied is a harmless repeat).
    pub fn refusal(
        &self,
        stored: &StoredLease<'_>,
        shard_id: &str,
        same_content: bool,
    ) -> SaveOutcome {
        if stored.epoch == self.epoch
            && Some(stored.version) == self.base_version.checked_add(1)
            && same_content
        {
            SaveOutcome::Duplicate
        } else if stored.epoch == 0 {
            // Saved long ago but never leased since: nobody may write it without a load.
            SaveOutcome::UnknownAccount
        } else if stored.epoch != self.epoch || stored.owner_shard != Some(shard_id) {
            SaveOutcome::StaleEpoch
        } else {
            SaveOutcome::StaleVersion
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveBatch {
    /// The shard sending the batch; it must own every lease in it.
    pub shard_id: String,
    pub saves: Vec<PlayerSave>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaveOutcome {
    /// Stored as `base_version + 1`.
    Saved,
    /// This exact save (same epoch, same version, same content hash) was already applied: a
    /// retry. Nothing changed.
    Duplicate,
    /// Refused: the account was loaded again since (by this or another shard); this shard no
    /// longer owns the player.
    StaleEpoch,
    /// Refused: the stored version is not the one this save was based on.
    StaleVersion,
    /// Refused: no such account, or it was never leased.
    UnknownAccount,
    /// Refused: a ledger entry would take a holding below zero. Nothing was applied.
    InvalidLedger,
}

impl SaveOutcome {
    /// Saved or a harmless repeat: the owner of record holds this state.
    pub fn is_confirmed(self) -> bool {
        matches!(self, SaveOutcome::Saved | SaveOutcome::Duplicate)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveResult {
    pub account_id: AccountId,
    pub outcome: SaveOutcome,
    /// The epoch and version stored after this save (0 when the account is unknown).
    pub stored_epoch: i64,
    pub stored_version: i64,
}

impl SaveResult {
    /// The answer for a save of an account the database does not have.
    pub fn unknown_account(account_id: AccountId) -> Self {
        Self {
            account_id,
            outcome: SaveOutcome::UnknownAccount,
            stored_epoch: 0,
            stored_version: 0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SaveBatchResponse {
    pub results: Vec<SaveResult>,
}

/// The longest duel log a match record holds (a duel is capped at `max_turns` ≤ 1000 turns of
/// a few moves each; a log past this is refused).
pub const MAX_MATCH_LOG: usize = 20_000;
/// The most matches or leaderboard rows one page returns.
pub const MAX_PAGE: i64 = 100;

/// A finished duel, as its shard reports it (`POST /internal/v1/matches`). Everything a replay
/// needs: both decks, the seed, the rules and the full log, with the outcome and the hash of the
/// final state that the replay must reproduce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchReport {
    /// Unique per match (the shard's id and a random part); a repeat of a recorded id is
    /// answered with the stored result.
    #[schema(min_length = 1, max_length = 64)]
    pub match_id: String,
    pub shard_id: String,
    /// Side A's and side B's accounts.
    pub players: [AccountId; 2],
    pub decks: [Vec<CardId>; 2],
    pub deck_hashes: [String; 2],
    pub seed: u64,
    pub rules: DuelRules,
    /// The content version the duel was played with (its cards' numbers).
    pub content_version: String,
    pub started: Tick,
    #[schema(max_items = 20000)]
    pub log: Vec<LogEntry>,
    pub outcome: Outcome,
    pub final_hash: String,
    /// Coins paid to side A and side B through the ledger with the record.
    pub rewards: [u32; 2],
}

impl MatchReport {
    /// What is wrong with this report, if anything: (field, reason). Checked by whoever
    /// records it, before anything is written.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let id_ok = (1..=MAX_MATCH_ID).contains(&self.match_id.len())
            && self
                .match_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Some((
                "match_id",
                format!("1-{MAX_MATCH_ID} characters of A-Z, a-z, 0-9, '-', '_' and '.'"),
            ));
        }
        if self.players[0] == self.players[1] {
            return Some(("players", "a player cannot duel themselves".into()));
        }
        if self.log.len() > MAX_MATCH_LOG {
            return Some(("log", format!("at most {MAX_MATCH_LOG} entries")));
        }
        for i in 0..2 {
            if self.decks[i].len() > crate::duel::deck::MAX_DECK_CARDS {
                return Some(("decks", "a deck holds at most 60 cards".into()));
            }
            if crate::duel::deck_hash(&self.decks[i]) != self.deck_hashes[i] {
                return Some((
                    "deck_hashes",
                    format!("deck {i}'s hash does not match its cards"),
                ));
            }
            if self.rewards[i] > crate::content::validate::MAX_PRICE {
                return Some(("rewards", "a reward is at most 1000000 coins".into()));
            }
        }
        let short_hex = |s: &str, max: usize| {
            (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !short_hex(&self.content_version, 64) {
            return Some((
                "content_version",
                "a hex content hash of 1-64 digits".into(),
            ));
        }
        if !short_hex(&self.final_hash, 128) {
            return Some(("final_hash", "a hex state hash of 1-128 digits".into()));
        }
        None
    }

    /// What recording this match decides, given both ratings before it: Glicko-2, one duel as
    /// one rating period for both duelists.
    pub fn settle(&self, before: [Rating; 2]) -> MatchSettled {
        let score_a = Result3::of(self.outcome, crate::duel::Side::A).score();
        let (a, b) = crate::duel::rating::after_duel(before[0], before[1], score_a);
        MatchSettled {
            match_id: self.match_id.clone(),
            ratings_before: before,
            ratings_after: [a, b],
            rewards: self.rewards,
        }
    }

    /// The ledger key of a side's reward (unique per account and match).
    pub fn reward_key(&self) -> String {
        format!("duel:{}", self.match_id)
    }
}

/// The longest match id.
pub const MAX_MATCH_ID: usize = 48;

/// What recording a match decided: both ratings before and after, and the rewards paid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchSettled {
    pub match_id: String,
    pub ratings_before: [Rating; 2],
    pub ratings_after: [Rating; 2],
    pub rewards: [u32; 2],
}

/// A stored match: the report, what recording it decided, and when (`GET
/// /internal/v1/matches/{id}`, used by `harvest-server replay`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchRecord {
    pub report: MatchReport,
    pub settled: MatchSettled,
    /// Unix seconds.
    pub ended_at: i64,
}

/// One match in a player's history (`GET /v1/matches`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchSummary {
    pub match_id: String,
    pub opponent: AccountId,
    pub opponent_name: String,
    pub result: Result3,
    pub rating_before: f64,
    pub rating_after: f64,
    pub reward: u32,
    /// Unix seconds.
    pub ended_at: i64,
}

/// `GET /v1/matches`: newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MatchesPage {
    pub matches: Vec<MatchSummary>,
}

/// One row of the leaderboard. Players are ranked by `score`, the conservative rating
/// (`rating - 2 × deviation`): a player must have played enough for the system to be sure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeaderboardEntry {
    /// 1 is the best.
    pub rank: i64,
    pub account_id: AccountId,
    pub name: String,
    pub rating: f64,
    pub deviation: f64,
    pub score: f64,
    pub wins: i64,
    pub losses: i64,
    pub draws: i64,
}

/// `GET /v1/leaderboard`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    pub entries: Vec<LeaderboardEntry>,
    /// Players with a rating.
    pub total: i64,
}

/// Netcode user data layout: bytes 0..8 hold the account id (little endian).
pub fn encode_user_data(account: AccountId) -> [u8; 256] {
    let mut ud = [0u8; 256];
    ud[..8].copy_from_slice(&account.0.to_le_bytes());
    ud
}

pub fn decode_user_data(ud: &[u8; 256]) -> AccountId {
    let mut b = [0u8; 8];
    b.copy_from_slice(&ud[..8]);
    AccountId(i64::from_le_bytes(b))
}

/// Protocol id shared by token minting (sidecar) and the netcode server (shard). Bump it when
/// the protocol changes so old clients are refused at the handshake. (…0008: netcode client ids
/// carry the account, see [`netcode_client_id`].)
pub const PROTOCOL_ID: u64 = 0x4841_5256_0000_0008;

/// Bits of a netcode client id below the account (a random nonce).
const CLIENT_ID_NONCE_BITS: u32 = 16;

/// The netcode client id of a connect token for `account`: the account above 16 random bits
/// (`nonce`). Like the user data it sits in the token's encrypted part, so only the sidecar
/// can choose it; unlike the user data, netcode hands it to the shard as soon as a connection
/// request arrives, so the shard can start loading the player while the handshake finishes
/// (see [`account_of_client_id`]). An account too large for the layout gets no hint (the
/// account bits are 0) and is loaded once connected, as any account used to be.
pub fn netcode_client_id(account: AccountId, nonce: u16) -> u64 {
    let hint = u64::try_from(account.0)
        .ok()
        .filter(|a| a.leading_zeros() > CLIENT_ID_NONCE_BITS)
        .unwrap_or(0);
    // Never 0: some transports treat 0 as "no client".
    (hint << CLIENT_ID_NONCE_BITS) | u64::from(nonce.max(1))
}

/// The account a netcode client id names (see [`netcode_client_id`]); `None` when it names none.
/// A hint for loading early only: the session's account is always the token's user data.
pub fn account_of_client_id(id: u64) -> Option<AccountId> {
    let account = id >> CLIENT_ID_NONCE_BITS;
    (account > 0).then_some(AccountId(account as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netcode_client_ids_carry_the_account() {
        for account in [1, 2, 77, 1 << 40, (1 << 47) - 1] {
            for nonce in [0, 1, 0xffff] {
                let id = netcode_client_id(AccountId(account), nonce);
                assert_ne!(id, 0);
                assert_eq!(account_of_client_id(id), Some(AccountId(account)));
            }
        }
        // Too large (or negative) for the layout: no hint, never a wrong account.
        for account in [1 << 47, i64::MAX, -5] {
            let id = netcode_client_id(AccountId(account), 9);
            assert_eq!(account_of_client_id(id), None, "{account}");
        }
        assert_eq!(account_of_client_id(0xffff), None);
    }

    #[test]
    fn compare_and_swap_outcomes() {
        let save = PlayerSave {
            account_id: AccountId(1),
            epoch: 3,
            base_version: 7,
            state: PlayerState {
                zone: ZoneId::new("z"),
                farm: Default::default(),
                decks: Default::default(),
            },
            ledger: Vec::new(),
            release: false,
        };
        let lease = |epoch, owner, version| StoredLease {
            epoch,
            owner_shard: owner,
            version,
        };
        assert!(save.applies_to(&lease(3, Some("a"), 7), "a"));
        assert!(!save.applies_to(&lease(3, Some("a"), 7), "b"));
        assert!(!save.applies_to(&lease(4, Some("a"), 7), "a"));
        assert!(!save.applies_to(&lease(3, Some("a"), 8), "a"));
        use SaveOutcome::*;
        // Already applied: a repeat only with the same content.
        assert_eq!(save.refusal(&lease(3, Some("a"), 8), "a", true), Duplicate);
        assert_eq!(
            save.refusal(&lease(3, Some("a"), 8), "a", false),
            StaleVersion
        );
        assert_eq!(
            save.refusal(&lease(4, Some("b"), 8), "a", false),
            StaleEpoch
        );
        assert_eq!(
            save.refusal(&lease(3, Some("b"), 7), "a", false),
            StaleEpoch
        );
        assert_eq!(save.refusal(&lease(3, None, 7), "a", false), StaleEpoch);
        assert_eq!(save.refusal(&lease(0, None, 9), "a", false), UnknownAccount);
    }

    #[test]
    fn user_data_round_trip() {
        for id in [0, 1, 42, i64::MAX, -5] {
            assert_eq!(
                decode_user_data(&encode_user_data(AccountId(id))),
                AccountId(id)
            );
        }
    }
}
