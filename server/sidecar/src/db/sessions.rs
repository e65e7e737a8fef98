//! `sessions` and `refresh_tokens`. A session is a refresh-token family: every refresh marks
//! the presented token used and issues the next one.
//!
//! Presenting a used token again means someone else holds a copy, and the whole family is
//! revoked, with one exception: two refreshes of the same token racing each other (a client
//! that retried, two tabs) are told apart by time. The loser arrives within
//! `--refresh-reuse-grace-secs` of the winner's use and gets a plain 401; the winner's new
//! tokens stay valid.

use super::Db;

pub enum Refresh {
    /// The token was live and is now used; here is the session it belonged to.
    Rotated { session_id: String, account_id: i64 },
    /// Another refresh of this token won a moment ago: nothing changes for the session.
    Raced,
    /// The token had been used before: the session is now revoked.
    Reused,
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    session_id: String,
    used_at: Option<i64>,
    account_id: i64,
    revoked_at: Option<i64>,
    expires_at: i64,
}

/// What one pruning pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub shards: u64,
}

impl Db {
    pub async fn create_session(
        &self,
        session_id: &str,
        account_id: i64,
        refresh_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(session_id)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(refresh_hash)
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Is `session_id` live and does it belong to `account_id`?
    pub async fn session_is_live(
        &self,
        session_id: &str,
        account_id: i64,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM sessions WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(session_id)
        .bind(account_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Use a refresh token once and store its successor, atomically. `grace` is the window in
    /// which a second use is a race, not a theft.
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
        grace: i64,
    ) -> Result<Refresh, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        // Claim the token first, so that of two racing refreshes exactly one changes the row
        // (PostgreSQL re-checks the condition after the winner commits; SQLite serialises the
        // writers, and starting with the write avoids a stale read snapshot).
        let claimed = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT r.session_id, r.used_at, s.account_id, s.revoked_at, s.expires_at \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Refresh::Invalid);
        };
        if row.revoked_at.is_some() || row.expires_at <= now {
            tx.rollback().await?;
            return Ok(Refresh::Invalid);
        }
        if claimed {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(new_hash)
            .bind(&row.session_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Refresh::Rotated {
                session_id: row.session_id,
                account_id: row.account_id,
            });
        }
        if row.used_at.is_some_and(|used| now - used < grace) {
            tx.rollback().await?;
            return Ok(Refresh::Raced);
        }
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(&row.session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Refresh::Reused)
    }

    /// Revoke one session. Returns its account when it was live.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING account_id",
        )
        .bind(now)
        .bind(session_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(a,)| a))
    }

    /// Delete what can never be used again: expired or revoked sessions with their refresh
    /// tokens, used refresh tokens older than `used_before` (too old to matter for reuse
    /// detection), and shard rows not renewed since `shards_before`.
    pub async fn prune(
        &self,
        now: i64,
        used_before: i64,
        shards_before: i64,
    ) -> Result<Pruned, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let mut refresh_tokens = sqlx::query(
            "DELETE FROM refresh_tokens WHERE session_id IN \
             (SELECT id FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sessions =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        refresh_tokens +=
            sqlx::query("DELETE FROM refresh_tokens WHERE used_at IS NOT NULL AND used_at < $1")
                .bind(used_before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Their `shard_zones` rows go with them (ON DELETE CASCADE).
        let shards = sqlx::query("DELETE FROM shards WHERE last_seen < $1")
            .bind(shards_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Pruned {
            sessions,
            refresh_tokens,
            shards,
        })
    }
}
