//! `sessions` and `refresh_tokens`. A session is a refresh-token family: every refresh marks
//! the presented token used and issues the next one; presenting a used token revokes the
//! whole family (someone else holds a copy).

use super::Db;
use sqlx::Row;

pub enum Refresh {
    /// The token was live and is now used; here is the session it belonged to.
    Rotated { session_id: String, account_id: i64 },
    /// The token had been used before: the session is now revoked.
    Reused,
    /// Unknown token, or its session is revoked or expired.
    Invalid,
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

    pub async fn session_is_live(&self, session_id: &str, now: i64) -> Result<bool, sqlx::Error> {
        let row = sqlx::query(
            "SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(session_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Use a refresh token once and store its successor, atomically.
    pub async fn rotate_refresh(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> Result<Refresh, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT r.session_id, r.used_at, s.account_id, s.revoked_at, s.expires_at \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Refresh::Invalid);
        };
        let session_id: String = row.try_get(0)?;
        let used_at: Option<i64> = row.try_get(1)?;
        let account_id: i64 = row.try_get(2)?;
        let revoked_at: Option<i64> = row.try_get(3)?;
        let expires_at: i64 = row.try_get(4)?;
        if revoked_at.is_some() || expires_at <= now {
            return Ok(Refresh::Invalid);
        }
        // The conditional update makes two racing refreshes with one token see one winner.
        let marked = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used_at.is_some() || marked == 0 {
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(&session_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Refresh::Reused);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(new_hash)
        .bind(&session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Refresh::Rotated {
            session_id,
            account_id,
        })
    }

    pub async fn revoke_session(&self, session_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(session_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
