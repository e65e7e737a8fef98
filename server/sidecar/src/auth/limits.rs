//! Attempt limits (governor, keyed GCRA): logins per client IP and per account name, and
//! registrations per client IP (each costs an argon2 hash). Exceeding one answers 429 with
//! `Retry-After`.

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

pub struct LoginLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    register_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("max(1) is non-zero");
    Quota::per_minute(n).allow_burst(n)
}

impl LoginLimits {
    pub fn new(
        per_ip_per_minute: u32,
        per_account_per_minute: u32,
        register_per_ip_per_minute: u32,
    ) -> Self {
        LoginLimits {
            per_ip: DefaultKeyedRateLimiter::keyed(quota(per_ip_per_minute)),
            per_account: DefaultKeyedRateLimiter::keyed(quota(per_account_per_minute)),
            register_per_ip: DefaultKeyedRateLimiter::keyed(quota(register_per_ip_per_minute)),
        }
    }

    /// Count one registration from `ip`.
    pub fn check_register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.register_per_ip.check_key(&ip).map_err(deny)
    }

    /// Count one login attempt from `ip` for `account_key` (the lower-cased username).
    pub fn check(&self, ip: IpAddr, account_key: &str) -> Result<(), ApiError> {
        self.per_ip.check_key(&ip).map_err(deny)?;
        // Bound the key so a flood of long names cannot grow memory.
        let key: String = account_key.chars().take(64).collect();
        self.per_account.check_key(&key).map_err(deny)?;
        Ok(())
    }

    fn housekeeping(&self) {
        self.per_ip.retain_recent();
        self.per_account.retain_recent();
        self.register_per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_account.shrink_to_fit();
        self.register_per_ip.shrink_to_fit();
    }
}

/// A refusal with the wait until the next attempt would pass (whole seconds, rounded up).
fn deny(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// Forget idle keys every minute so the limiters' memory stays bounded.
pub fn spawn_housekeeping(limits: Arc<LoginLimits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.housekeeping();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_account_and_per_ip_limits() {
        let l = LoginLimits::new(5, 2, 1);
        assert!(l.check_register("10.0.0.9".parse().unwrap()).is_ok());
        assert!(matches!(
            l.check_register("10.0.0.9".parse().unwrap()),
            Err(ApiError::RateLimited { .. })
        ));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(l.check(ip, "alice").is_ok());
        assert!(l.check(ip, "alice").is_ok());
        match l.check(ip, "alice") {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(l.check(ip, "bob").is_ok());
        assert!(l.check(ip, "bob").is_ok());
        // Five attempts from this IP are spent (the refused one counted against the IP too).
        assert!(matches!(
            l.check(ip, "carol"),
            Err(ApiError::RateLimited { .. })
        ));
        assert!(l.check("10.0.0.2".parse().unwrap(), "carol").is_ok());
    }
}
