//! Access tokens are HS256 JWTs `{sub: account, sid: session, iat, exp}`: short-lived and
//! checked against the session table, so logout and refresh-reuse revoke them at once.
//! Refresh tokens are 32 random bytes (base64url), stored only as their SHA-256.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Account id, as a decimal string (JWT `sub` is a string).
    pub sub: String,
    /// Session (refresh family) id.
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
}

pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8; 32]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue_access(
        &self,
        account: i64,
        session: &str,
        now: u64,
        ttl: u64,
    ) -> anyhow::Result<String> {
        let claims = AccessClaims {
            sub: account.to_string(),
            sid: session.to_owned(),
            iat: now,
            exp: now + ttl,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.enc,
        )?)
    }

    /// The account and claims of a token with a valid signature that has not expired.
    pub fn verify_access(&self, token: &str) -> Option<(i64, AccessClaims)> {
        if token.len() > 2048 {
            return None;
        }
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.dec, &self.validation)
            .ok()?
            .claims;
        Some((claims.sub.parse().ok()?, claims))
    }
}

/// A fresh opaque refresh token.
pub fn new_refresh_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// A fresh session id (also the refresh token family).
pub fn new_session_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// What the database stores for a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn round_trip_and_tamper() {
        let keys = TokenKeys::new(&[7; 32]);
        let t = keys.issue_access(42, "s1", now(), 60).unwrap();
        let (account, c) = keys.verify_access(&t).unwrap();
        assert_eq!((account, c.sid.as_str()), (42, "s1"));
        // Flip one character of the signature.
        let mut bytes = t.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(
            keys.verify_access(std::str::from_utf8(&bytes).unwrap())
                .is_none()
        );
        // Another key.
        assert!(TokenKeys::new(&[8; 32]).verify_access(&t).is_none());
    }

    #[test]
    fn expired_is_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let t = keys.issue_access(1, "s", now() - 100, 10).unwrap();
        assert!(keys.verify_access(&t).is_none());
    }
}
