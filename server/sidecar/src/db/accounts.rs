//! `accounts`: usernames (unique ignoring case), argon2 hashes, and roles (`player`, or
//! `admin` for operators: granted only from the command line, `harvest-sidecar admin grant`).

use super::{Db, is_unique_violation};

#[derive(Debug, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
}

pub enum CreateAccount {
    Created(i64),
    Taken,
}

impl Db {
    pub async fn create_account(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<CreateAccount, sqlx::Error> {
        let res: Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO accounts (username, username_key, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(username)
        .bind(username.to_lowercase())
        .bind(password_hash)
        .bind(now)
        .fetch_one(self.pool())
        .await;
        match res {
            Ok((id,)) => Ok(CreateAccount::Created(id)),
            Err(e) if is_unique_violation(&e) => Ok(CreateAccount::Taken),
            Err(e) => Err(e),
        }
    }

    pub async fn account_by_name(&self, username: &str) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, username, password_hash, created_at FROM accounts WHERE username_key = $1",
        )
        .bind(username.to_lowercase())
        .fetch_optional(self.pool())
        .await
    }

    pub async fn account_by_id(&self, id: i64) -> Result<Option<Account>, sqlx::Error> {
        sqlx::query_as("SELECT id, username, password_hash, created_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Is `id` an operator?
    pub async fn is_admin(&self, id: i64) -> Result<bool, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as("SELECT role FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some_and(|(role,)| role == ROLE_ADMIN))
    }

    /// Make `username` an operator (`admin: true`) or a player again. False: no such account.
    pub async fn set_admin(&self, username: &str, admin: bool) -> Result<bool, sqlx::Error> {
        let n = sqlx::query("UPDATE accounts SET role = $1 WHERE username_key = $2")
            .bind(if admin { ROLE_ADMIN } else { ROLE_PLAYER })
            .bind(username.to_lowercase())
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_PLAYER: &str = "player";
