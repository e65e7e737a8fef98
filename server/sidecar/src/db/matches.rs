//! `ratings` and `matches`: card duels' results.
//!
//! [`Db::record_match`] is the one write: in one transaction it locks both duelists' rating rows
//! (in account order, so two matches sharing a player never deadlock), reads the ratings before,
//! settles the duel with the shared Glicko-2 rule ([`MatchReport::settle`]), writes both
//! ratings, stores the record and pays both rewards as ledger entries (`duel_reward`, key
//! `duel:MATCH_ID`). A match id already recorded is answered with what was stored, so a shard
//! may retry after a lost answer without paying or rating twice.

use super::Db;
use super::ledger;
use harvest_shared::api::{
    Leaderboard, LeaderboardEntry, LedgerEntry, MatchRecord, MatchReport, MatchSettled,
    MatchSummary,
};
use harvest_shared::duel::Side;
use harvest_shared::duel::rating::Rating;
use harvest_shared::duel::view::Result3;
use harvest_shared::ids::AccountId;
use harvest_shared::ledger::{Delta, EntryKind};
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct RatingRow {
    rating: f64,
    deviation: f64,
    volatility: f64,
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    record: String,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    record: String,
    name_a: String,
    name_b: String,
}

#[derive(sqlx::FromRow)]
struct BoardRow {
    account_id: i64,
    username: String,
    rating: f64,
    deviation: f64,
    score: f64,
    wins: i64,
    losses: i64,
    draws: i64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// Why a match could not be recorded (besides the database failing).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no account {0}")]
    UnknownAccount(AccountId),
    #[error("match '{0}' is already recorded with other players")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// `account`'s rating, read on `conn`; a new player's when they never duelled.
pub(crate) async fn rating_in(
    conn: &mut AnyConnection,
    account: i64,
) -> Result<Rating, sqlx::Error> {
    let row: Option<RatingRow> =
        sqlx::query_as("SELECT rating, deviation, volatility FROM ratings WHERE account_id = $1")
            .bind(account)
            .fetch_optional(conn)
            .await?;
    Ok(row.map_or_else(Rating::default, |r| Rating {
        rating: r.rating,
        deviation: r.deviation,
        volatility: r.volatility,
    }))
}

async fn stored(
    conn: &mut AnyConnection,
    match_id: &str,
) -> Result<Option<MatchRecord>, sqlx::Error> {
    let row: Option<RecordRow> = sqlx::query_as("SELECT record FROM matches WHERE match_id = $1")
        .bind(match_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| decode(&r.record)).transpose()
}

impl Db {
    /// Record a finished duel (see the module docs): what it decided.
    pub async fn record_match(
        &self,
        report: &MatchReport,
        now: i64,
    ) -> Result<MatchSettled, RecordError> {
        let mut tx = self.pool().begin().await?;
        let [a, b] = report.players;
        // Write first: lock (creating) both rating rows, lowest account first, so two
        // matches sharing a player queue up instead of deadlocking, and SQLite takes its
        // write lock before this transaction reads anything. A missing account fails the
        // rating row's foreign key.
        let mut order = [a.0, b.0];
        order.sort_unstable();
        for id in order {
            let fresh = Rating::default();
            let created = sqlx::query(
                "INSERT INTO ratings (account_id, rating, deviation, volatility, score, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(id)
            .bind(fresh.rating)
            .bind(fresh.deviation)
            .bind(fresh.volatility)
            .bind(fresh.conservative())
            .bind(now)
            .execute(&mut *tx)
            .await;
            match created {
                Err(sqlx::Error::Database(e))
                    if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
                {
                    return Err(RecordError::UnknownAccount(AccountId(id)));
                }
                r => {
                    r?;
                }
            }
            sqlx::query("UPDATE ratings SET updated_at = updated_at WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(done) = stored(&mut tx, &report.match_id).await? {
            // A retry: nothing changes (the rows just created are rolled back).
            return if done.report.players == report.players {
                Ok(done.settled)
            } else {
                Err(RecordError::Conflict(report.match_id.clone()))
            };
        }
        let before = [
            rating_in(&mut tx, a.0).await?,
            rating_in(&mut tx, b.0).await?,
        ];
        let settled = report.settle(before);
        for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
            let r = settled.ratings_after[i];
            let result = Result3::of(report.outcome, side);
            let (w, l, d) = match result {
                Result3::Win => (1, 0, 0),
                Result3::Loss => (0, 1, 0),
                Result3::Draw => (0, 0, 1),
            };
            sqlx::query(
                "UPDATE ratings SET rating = $2, deviation = $3, volatility = $4, score = $5, \
                 wins = wins + $6, losses = losses + $7, draws = draws + $8, updated_at = $9 \
                 WHERE account_id = $1",
            )
            .bind(report.players[i].0)
            .bind(r.rating)
            .bind(r.deviation)
            .bind(r.volatility)
            .bind(r.conservative())
            .bind(w)
            .bind(l)
            .bind(d)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if report.rewards[i] > 0 {
                let entry = LedgerEntry {
                    key: report.reward_key(),
                    kind: EntryKind::DuelReward,
                    detail: format!(
                        "{} {}",
                        format!("{result:?}").to_lowercase(),
                        report.match_id
                    ),
                    delta: Delta::coins(i64::from(report.rewards[i])),
                };
                ledger::apply_entries(
                    &mut tx,
                    report.players[i].0,
                    &report.shard_id,
                    &[entry],
                    now,
                )
                .await?;
            }
        }
        let record = MatchRecord {
            report: report.clone(),
            settled: settled.clone(),
            ended_at: now,
        };
        let json = serde_json::to_string(&record).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO matches (match_id, shard_id, player_a, player_b, record, ended_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&report.match_id)
        .bind(&report.shard_id)
        .bind(a.0)
        .bind(b.0)
        .bind(&json)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(settled)
    }

    /// A recorded match, whole.
    pub async fn match_record(&self, match_id: &str) -> Result<Option<MatchRecord>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        stored(&mut conn, match_id).await
    }

    /// `account`'s rating (a new player's when they never duelled).
    pub async fn rating(&self, account: i64) -> Result<Rating, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        rating_in(&mut conn, account).await
    }

    /// `account`'s last `limit` matches, newest first.
    pub async fn matches_of(
        &self,
        account: i64,
        limit: i64,
    ) -> Result<Vec<MatchSummary>, sqlx::Error> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT m.record, a.username AS name_a, b.username AS name_b FROM matches m \
             JOIN accounts a ON a.id = m.player_a JOIN accounts b ON b.id = m.player_b \
             WHERE m.player_a = $1 OR m.player_b = $1 ORDER BY m.id DESC LIMIT $2",
        )
        .bind(account)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let rec: MatchRecord = decode(&row.record)?;
            let i = usize::from(rec.report.players[1].0 == account);
            let side = if i == 0 { Side::A } else { Side::B };
            let opponent = rec.report.players[1 - i];
            let opponent_name = if i == 0 { row.name_b } else { row.name_a };
            out.push(MatchSummary {
                match_id: rec.report.match_id.clone(),
                opponent,
                opponent_name,
                result: Result3::of(rec.report.outcome, side),
                rating_before: rec.settled.ratings_before[i].rating,
                rating_after: rec.settled.ratings_after[i].rating,
                reward: rec.settled.rewards[i],
                ended_at: rec.ended_at,
            });
        }
        Ok(out)
    }

    /// The leaderboard: `limit` rows from the top, or centred on `around`'s rank when given
    /// (from the top when they have no rating).
    pub async fn leaderboard(
        &self,
        limit: i64,
        around: Option<i64>,
    ) -> Result<Leaderboard, sqlx::Error> {
        let total: CountRow = sqlx::query_as("SELECT COUNT(*) AS n FROM ratings")
            .fetch_one(self.pool())
            .await?;
        let mut offset = 0;
        if let Some(me) = around {
            // Rank = players strictly ahead (higher score, or equal score and lower id) + 1.
            let ahead: Option<CountRow> = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM ratings o WHERE o.score > r.score \
                 OR (o.score = r.score AND o.account_id < r.account_id)) AS n \
                 FROM ratings r WHERE r.account_id = $1",
            )
            .bind(me)
            .fetch_optional(self.pool())
            .await?;
            if let Some(ahead) = ahead {
                offset = (ahead.n - limit / 2).clamp(0, (total.n - limit).max(0));
            }
        }
        let rows: Vec<BoardRow> = sqlx::query_as(
            "SELECT r.account_id, a.username, r.rating, r.deviation, r.score, r.wins, r.losses, r.draws \
             FROM ratings r JOIN accounts a ON a.id = r.account_id \
             ORDER BY r.score DESC, r.account_id LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| LeaderboardEntry {
                rank: offset + i as i64 + 1,
                account_id: AccountId(r.account_id),
                name: r.username,
                rating: r.rating,
                deviation: r.deviation,
                score: r.score,
                wins: r.wins,
                losses: r.losses,
                draws: r.draws,
            })
            .collect();
        Ok(Leaderboard {
            entries,
            total: total.n,
        })
    }
}
