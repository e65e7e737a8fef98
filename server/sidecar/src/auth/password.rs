//! Password hashing with argon2id (m = 19 MiB, t = 2, p = 1) on tokio's blocking pool behind a
//! semaphore: at most `concurrency` hashes run at once, so a login storm queues here instead
//! of starving the runtime's workers or the database pool.

use crate::error::ApiError;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request may wait for a hashing slot before the sidecar answers 503.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified for unknown users so that "no such user" and
    /// "wrong password" take the same time.
    dummy: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_sync(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt: [u8; 16] = rand::random();
    Ok(argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_sync(password: &str, phc: &str) -> bool {
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        let dummy =
            hash_sync(&hex::encode(rand::random::<[u8; 16]>())).expect("hashing a random password");
        Hasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(dummy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Busy)?
            .map_err(|_| ApiError::Busy)?;
        let out = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing task failed: {e}")))?;
        Ok(out)
    }

    /// A PHC-format argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_sync(&password))
            .await?
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))
    }

    /// Check `password` against `phc`, or against a dummy hash when there is no account, so
    /// both cases cost one full verification.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let dummy = self.dummy.clone();
        self.run(move || match phc {
            Some(phc) => verify_sync(&password, &phc),
            None => {
                let _ = verify_sync(&password, &dummy);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::new(2);
        let phc = h.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            h.verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
        assert!(
            !h.verify("anything".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }
}
