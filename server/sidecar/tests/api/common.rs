use harvest_sidecar::{Sidecar, SidecarConfig};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$app` bound to a fresh [`TestApp`], once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        both_backends!($name, |_cfg| {}, |$app| $body);
    };
    ($name:ident, |$cfg:ident| $tweak:block, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::common::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = TestApp::spawn(Backend::Sqlite, |$cfg| $tweak)
                    .await
                    .expect("sqlite always runs");
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = TestApp::spawn(Backend::Postgres, |$cfg| $tweak).await else {
                    return;
                };
                $body
            }
        }
    };
}

pub struct TestApp {
    pub url: String,
    /// Where `/internal/*` is served (the public URL unless `internal_bind` was set).
    pub internal_url: String,
    pub http: reqwest::Client,
    pub sidecar: Option<Sidecar>,
    pub service_secret: String,
    _tmp: tempfile::TempDir,
    pg_drop: Option<Arc<PgDb>>,
}

pub struct PgDb {
    admin_url: String,
    name: String,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime we can block on; use a short-lived one on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::postgres::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                }
            });
        })
        .join();
    }
}

/// The repository's content (`assets/data`).
pub fn content_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/data")
}

pub fn postgres_admin_url() -> String {
    std::env::var("HARVEST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh PostgreSQL database for one test, or `None` (skip) when PostgreSQL is not reachable
/// and `HARVEST_TEST_POSTGRES` is not `1`.
pub async fn fresh_postgres() -> Option<(String, PgDb)> {
    let admin = postgres_admin_url();
    let required = std::env::var("HARVEST_TEST_POSTGRES").as_deref() == Ok("1");
    let pool = match sqlx::postgres::PgPool::connect(&admin).await {
        Ok(p) => p,
        Err(e) if required => {
            panic!("HARVEST_TEST_POSTGRES=1 but PostgreSQL at {admin} is unreachable: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipping PostgreSQL test: {e} (set HARVEST_TEST_POSTGRES=1 to make this fatal)"
            );
            return None;
        }
    };
    let name = format!("harvest_test_{}", hex::encode(rand::random::<[u8; 6]>()));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin.clone());
    Some((
        format!("{base}/{name}"),
        PgDb {
            admin_url: admin,
            name,
        },
    ))
}

impl TestApp {
    pub async fn spawn(
        backend: Backend,
        tweak: impl FnOnce(&mut SidecarConfig),
    ) -> Option<TestApp> {
        let tmp = tempfile::tempdir().unwrap();
        let mut cfg = SidecarConfig::for_data_dir(tmp.path());
        let service_secret = hex::encode(rand::random::<[u8; 32]>());
        cfg.service_secret = Some(service_secret.clone());
        cfg.content_dir = content_dir();
        // Fast enough for tests (tests that check a limit set it); production uses the defaults.
        cfg.lift_rate_limits();
        let mut pg_drop = None;
        match backend {
            Backend::Sqlite => {}
            Backend::Postgres => {
                let (url, db) = fresh_postgres().await?;
                cfg.database_url = Some(url);
                pg_drop = Some(Arc::new(db));
            }
        }
        tweak(&mut cfg);
        let sidecar = Sidecar::start(&cfg).await.expect("sidecar starts");
        Some(TestApp {
            url: sidecar.url(),
            internal_url: sidecar.internal_url(),
            http: reqwest::Client::new(),
            sidecar: Some(sidecar),
            service_secret,
            _tmp: tmp,
            pg_drop,
        })
    }

    pub fn sidecar(&self) -> &Sidecar {
        self.sidecar.as_ref().unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    pub async fn post_auth(
        &self,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> (StatusCode, Value) {
        read(
            self.http
                .get(format!("{}{path}", self.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(
            self.http
                .get(format!("{}{path}", self.url))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn register(&self, user: &str, pass: &str) -> (StatusCode, Value) {
        self.post(
            "/v1/auth/register",
            serde_json::json!({"username": user, "password": pass}),
        )
        .await
    }

    pub async fn login(&self, user: &str, pass: &str) -> (StatusCode, Value) {
        self.post(
            "/v1/auth/login",
            serde_json::json!({"username": user, "password": pass}),
        )
        .await
    }

    /// POST to an internal route with the service secret.
    pub async fn internal(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.internal_url))
            .bearer_auth(&self.service_secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    /// Take `account`'s lease for `shard`: the lease JSON.
    pub async fn lease(&self, account: i64, shard: &str) -> Value {
        let (s, lease) = self
            .internal(
                &format!("/internal/v1/players/{account}/lease"),
                serde_json::json!({ "shard_id": shard }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{lease}");
        lease
    }

    /// One batch of saves from `shard`: the `results` array.
    pub async fn save(&self, shard: &str, saves: Value) -> (StatusCode, Value) {
        self.internal(
            "/internal/v1/players/states",
            serde_json::json!({ "shard_id": shard, "saves": saves }),
        )
        .await
    }

    /// Register + login; returns the token response.
    pub async fn user(&self, user: &str) -> Value {
        let (s, _) = self.register(user, "password123").await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, body) = self.login(user, "password123").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    /// A new account with the admin role (as `harvest-sidecar admin grant` makes one): its
    /// access token.
    pub async fn operator(&self, user: &str) -> String {
        let tokens = self.user(user).await;
        let granted = self.sidecar().state.db.set_admin(user, true).await;
        assert!(granted.unwrap(), "{user} exists");
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = &self.pg_drop;
    }
}

pub async fn read(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"))
    };
    (status, body)
}

/// Every error body has exactly the documented shape.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
