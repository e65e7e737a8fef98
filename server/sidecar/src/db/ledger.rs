//! The economy ledger (`ledger_entries`, `ledger_lines`) and what it adds up to (`holdings`).
//!
//! - [`open_ledger`]: at an account's first lease, its opening entry: content's start holdings,
//!   or, for a player saved before the ledger existed, what that save held.
//! - [`apply_entries`]: a save's entries, inside the save's transaction and only when its
//!   compare-and-swap applied, so state and ledger commit together or not at all. An entry whose
//!   key the account already has is skipped: replaying a batch does nothing. A delta that would
//!   make a holding negative fails the database's `CHECK`, and the caller rolls the save back.
//! - [`Db::holdings`], [`Db::ledger_page`], [`Db::audit`]: reading it back.
//!
//! The ledger is append-only: nothing here updates or deletes a ledger row, and triggers refuse
//! it (see `migrations/*/0003_ledger.sql`).

use super::Db;
use harvest_shared::api::{AuditMismatch, AuditReport, LedgerEntry, LedgerRow};
use harvest_shared::ids::{AccountId, CardId, ItemId};
use harvest_shared::inventory::{Collection, Holdings, Inventory};
use harvest_shared::ledger::{Delta, EntryKind};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// The key of every account's first entry.
pub const OPENING_KEY: &str = "opening";

/// An asset as the tables name it: (`coins`|`item`|`card`, id).
type Asset = (String, String);

fn lines(delta: &Delta) -> Vec<(&'static str, String, i64)> {
    let mut out = Vec::with_capacity(1 + delta.items.len() + delta.cards.len());
    if delta.coins != 0 {
        out.push(("coins", String::new(), delta.coins));
    }
    out.extend(
        delta
            .items
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(k, n)| ("item", k.to_string(), *n)),
    );
    out.extend(
        delta
            .cards
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(k, n)| ("card", k.to_string(), *n)),
    );
    out
}

/// Holdings as a delta from nothing (an opening entry).
pub fn holdings_delta(h: &Holdings) -> Delta {
    Delta {
        coins: i64::from(h.inventory.coins),
        items: h
            .inventory
            .items
            .iter()
            .map(|(k, v)| (k.clone(), i64::from(*v)))
            .collect(),
        cards: h
            .collection
            .cards
            .iter()
            .map(|(k, v)| (k.clone(), i64::from(*v)))
            .collect(),
    }
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

/// Append one entry for `account` and apply it to its holdings. `Ok(false)`: the account has
/// this key already (a replay), nothing done. A database error (such as the `CHECK` on
/// holdings) is returned as is; the caller rolls back.
async fn append(
    conn: &mut AnyConnection,
    account: i64,
    shard_id: &str,
    key: &str,
    kind: EntryKind,
    detail: &str,
    delta: &Delta,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let row: Option<IdRow> = sqlx::query_as(
        "INSERT INTO ledger_entries (account_id, entry_key, kind, detail, shard_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, entry_key) DO NOTHING RETURNING id",
    )
    .bind(account)
    .bind(key)
    .bind(kind.as_str())
    .bind(detail)
    .bind(shard_id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(IdRow { id }) = row else {
        return Ok(false);
    };
    for (asset_kind, asset_id, n) in lines(delta) {
        sqlx::query(
            "INSERT INTO ledger_lines (entry_id, asset_kind, asset_id, delta) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(asset_kind)
        .bind(&asset_id)
        .bind(n)
        .execute(&mut *conn)
        .await?;
        // Update, or insert when the account never held the asset. (An upsert would check
        // `amount >= 0` on the proposed row, refusing any negative delta.) Only the lease
        // holder writes an account, so nobody inserts the same row concurrently.
        let updated = sqlx::query(
            "UPDATE holdings SET amount = amount + $4 \
             WHERE account_id = $1 AND asset_kind = $2 AND asset_id = $3",
        )
        .bind(account)
        .bind(asset_kind)
        .bind(&asset_id)
        .bind(n)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO holdings (account_id, asset_kind, asset_id, amount) VALUES ($1, $2, $3, $4)",
            )
            .bind(account)
            .bind(asset_kind)
            .bind(&asset_id)
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(true)
}

/// Give `account` its opening entry unless it has one. `opening`: what it starts with.
pub(crate) async fn open_ledger(
    conn: &mut AnyConnection,
    account: i64,
    shard_id: &str,
    opening: &Holdings,
    now: i64,
) -> Result<(), sqlx::Error> {
    append(
        conn,
        account,
        shard_id,
        OPENING_KEY,
        EntryKind::Opening,
        "start",
        &holdings_delta(opening),
        now,
    )
    .await
    .map(|_| ())
}

/// Apply a save's entries (see the module docs).
pub(crate) async fn apply_entries(
    conn: &mut AnyConnection,
    account: i64,
    shard_id: &str,
    entries: &[LedgerEntry],
    now: i64,
) -> Result<(), sqlx::Error> {
    for e in entries {
        append(
            conn, account, shard_id, &e.key, e.kind, &e.detail, &e.delta, now,
        )
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HoldingRow {
    asset_kind: String,
    asset_id: String,
    amount: i64,
}

/// What `account` holds, read on `conn` (inside a transaction when it must agree with it).
pub(crate) async fn holdings_in(
    conn: &mut AnyConnection,
    account: i64,
) -> Result<Holdings, sqlx::Error> {
    let rows: Vec<HoldingRow> =
        sqlx::query_as("SELECT asset_kind, asset_id, amount FROM holdings WHERE account_id = $1")
            .bind(account)
            .fetch_all(conn)
            .await?;
    Ok(to_holdings(rows))
}

fn to_holdings(rows: Vec<HoldingRow>) -> Holdings {
    let mut h = Holdings::default();
    for r in rows {
        let n = u32::try_from(r.amount).unwrap_or(u32::MAX);
        if n == 0 {
            continue;
        }
        match r.asset_kind.as_str() {
            "coins" => h.inventory.coins = n,
            "item" => {
                h.inventory.items.insert(ItemId::new(r.asset_id), n);
            }
            "card" => {
                h.collection.cards.insert(CardId::new(r.asset_id), n);
            }
            _ => {}
        }
    }
    h
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    entry_key: String,
    kind: String,
    detail: String,
    shard_id: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    entry_id: i64,
    asset_kind: String,
    asset_id: String,
    delta: i64,
}

#[derive(sqlx::FromRow)]
struct SumRow {
    account_id: i64,
    asset_kind: String,
    asset_id: String,
    total: i64,
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    account_id: i64,
    asset_kind: String,
    asset_id: String,
    amount: i64,
}

fn kind_from_str(s: &str) -> EntryKind {
    [
        EntryKind::Opening,
        EntryKind::Plant,
        EntryKind::Fertilize,
        EntryKind::Harvest,
        EntryKind::Expand,
        EntryKind::Buy,
        EntryKind::Sell,
        EntryKind::Craft,
        EntryKind::DuelReward,
    ]
    .into_iter()
    .find(|k| k.as_str() == s)
    .unwrap_or(EntryKind::Opening)
}

impl Db {
    /// What `account` holds, or `None` when its ledger was never opened (never leased).
    pub async fn holdings(&self, account: i64) -> Result<Option<Holdings>, sqlx::Error> {
        let opened: Option<IdRow> = sqlx::query_as(
            "SELECT id FROM ledger_entries WHERE account_id = $1 AND entry_key = $2",
        )
        .bind(account)
        .bind(OPENING_KEY)
        .fetch_optional(self.pool())
        .await?;
        if opened.is_none() {
            return Ok(None);
        }
        let mut conn = self.pool().acquire().await?;
        holdings_in(&mut conn, account).await.map(Some)
    }

    /// The newest `limit` entries of `account`, newest first.
    pub async fn ledger_page(
        &self,
        account: i64,
        limit: i64,
    ) -> Result<Vec<LedgerRow>, sqlx::Error> {
        let entries: Vec<EntryRow> = sqlx::query_as(
            "SELECT id, entry_key, kind, detail, shard_id, created_at FROM ledger_entries \
             WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(account)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let Some(oldest) = entries.last().map(|e| e.id) else {
            return Ok(Vec::new());
        };
        let lines: Vec<LineRow> = sqlx::query_as(
            "SELECT l.entry_id, l.asset_kind, l.asset_id, l.delta FROM ledger_lines l \
             JOIN ledger_entries e ON e.id = l.entry_id WHERE e.account_id = $1 AND e.id >= $2",
        )
        .bind(account)
        .bind(oldest)
        .fetch_all(self.pool())
        .await?;
        let mut deltas: BTreeMap<i64, Delta> = BTreeMap::new();
        for l in lines {
            let d = deltas.entry(l.entry_id).or_default();
            match l.asset_kind.as_str() {
                "coins" => d.coins += l.delta,
                "item" => {
                    d.items.insert(ItemId::new(l.asset_id), l.delta);
                }
                _ => {
                    d.cards.insert(CardId::new(l.asset_id), l.delta);
                }
            }
        }
        Ok(entries
            .into_iter()
            .map(|e| LedgerRow {
                key: e.entry_key,
                kind: kind_from_str(&e.kind),
                detail: e.detail,
                delta: deltas.remove(&e.id).unwrap_or_default(),
                shard_id: e.shard_id,
                created_at: e.created_at,
            })
            .collect())
    }

    /// Check every account: the sum of its ledger lines equals its holdings, asset by asset.
    /// The three reads see one snapshot (a read transaction; REPEATABLE READ on PostgreSQL),
    /// so saves committing meanwhile, from shards still running, cannot make a false mismatch.
    pub async fn audit(&self) -> Result<AuditReport, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == super::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let sums: Vec<SumRow> = sqlx::query_as(
            "SELECT e.account_id, l.asset_kind, l.asset_id, CAST(SUM(l.delta) AS BIGINT) AS total \
             FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id \
             GROUP BY e.account_id, l.asset_kind, l.asset_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let held: Vec<HeldRow> =
            sqlx::query_as("SELECT account_id, asset_kind, asset_id, amount FROM holdings")
                .fetch_all(&mut *tx)
                .await?;
        let (entries,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM ledger_entries")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut both: BTreeMap<(i64, Asset), (i64, i64)> = BTreeMap::new();
        for s in sums {
            both.entry((s.account_id, (s.asset_kind, s.asset_id)))
                .or_default()
                .0 = s.total;
        }
        for h in held {
            both.entry((h.account_id, (h.asset_kind, h.asset_id)))
                .or_default()
                .1 = h.amount;
        }
        let accounts = both
            .keys()
            .map(|(a, _)| *a)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mismatches = both
            .into_iter()
            .filter(|(_, (ledger, holding))| ledger != holding || *holding < 0)
            .map(|((account, (kind, id)), (ledger, holding))| AuditMismatch {
                account_id: AccountId(account),
                asset: if kind == "coins" {
                    kind
                } else {
                    format!("{kind}:{id}")
                },
                ledger_sum: ledger,
                holding,
            })
            .collect();
        Ok(AuditReport {
            accounts: accounts as u64,
            entries: entries as u64,
            mismatches,
        })
    }
}

/// What a save from before the ledger held (its `inventory` and `collection`), if it says.
pub fn legacy_holdings(state_json: &str) -> Option<Holdings> {
    #[derive(serde::Deserialize)]
    struct Legacy {
        inventory: Option<Inventory>,
        #[serde(default)]
        collection: Collection,
    }
    let l: Legacy = serde_json::from_str(state_json).ok()?;
    Some(Holdings {
        inventory: l.inventory?,
        collection: l.collection,
    })
}
