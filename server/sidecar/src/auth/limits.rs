//! Attempt limits (governor, keyed GCRA). Exceeding one answers 429 with `Retry-After`.
//!
//! Logins follow OWASP's authentication guidance: limiting must slow guessing without letting
//! a stranger lock the owner out. So:
//! - the strict limit is keyed by account *and* client IP: a stranger's attempts never spend
//!   the owner's allowance;
//! - each client IP has its own limit over all accounts (one address cannot spray many
//!   accounts), and for IPv6 each /48 has one too, four times larger, so hopping between the
//!   /64s of one site buys little;
//! - a loose account-wide limit counts *failed* attempts only, far above what one address may
//!   send: it trips only under distributed guessing, and the owner's successful logins never
//!   spend it. A failure is known only after the hash, so at most
//!   [`MAX_ATTEMPTS_IN_FLIGHT_PER_ACCOUNT`] attempts per account are checked at once: guesses
//!   fired in parallel from many addresses cannot outrun the failure count.
//!
//! Client IPs are keyed by [`crate::net::limit_key`]: IPv4 per address, IPv6 per /64 (one
//! subscriber's whole allocation), so rotating addresses inside a /64 buys nothing.

use crate::config::RateLimits;
use crate::error::ApiError;
use crate::net::limit_key;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Password checks of one account running at once, over all addresses. An owner never needs
/// more than one; parallel guesses beyond it are refused (429) before any hashing.
pub const MAX_ATTEMPTS_IN_FLIGHT_PER_ACCOUNT: u32 = 4;

/// Every keyed limiter of the sidecar.
pub struct Limits {
    login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// IPv6 only: per /48, four times the per-IP limit.
    login_per_site: DefaultKeyedRateLimiter<IpAddr>,
    login_per_account_ip: DefaultKeyedRateLimiter<(String, IpAddr)>,
    /// Failed logins per account, all IPs together.
    login_failures_per_account: DefaultKeyedRateLimiter<String>,
    /// Accounts whose failure budget ran out, refused until then.
    locked: Mutex<HashMap<String, Instant>>,
    /// Password checks running per account (entries removed at zero).
    attempts: Mutex<HashMap<String, u32>>,
    register_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    refresh_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    play_per_account: DefaultKeyedRateLimiter<i64>,
    play_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    reads_per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("max(1) is non-zero");
    Quota::per_minute(n).allow_burst(n)
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> DefaultKeyedRateLimiter<K> {
    DefaultKeyedRateLimiter::keyed(quota(per_minute))
}

/// The account key of a login: the lower-cased name, bounded so long names cannot grow memory.
fn account_key(username: &str) -> String {
    username.chars().take(64).collect::<String>().to_lowercase()
}

impl Limits {
    pub fn new(l: &RateLimits) -> Self {
        Limits {
            login_per_ip: keyed(l.login_per_ip),
            login_per_site: keyed(l.login_per_ip.saturating_mul(4)),
            login_per_account_ip: keyed(l.login_per_account_ip),
            login_failures_per_account: keyed(l.login_per_account),
            locked: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            register_per_ip: keyed(l.register_per_ip),
            refresh_per_ip: keyed(l.refresh_per_ip),
            play_per_account: keyed(l.play_per_account),
            play_per_ip: keyed(l.play_per_ip),
            reads_per_ip: keyed(l.reads_per_ip),
        }
    }

    /// Count one registration from `ip`.
    pub fn register(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.register_per_ip.check_key(&limit_key(ip)).map_err(deny)
    }

    /// Count one login attempt for `username` from `ip`, before checking the password. The
    /// attempt holds one of the account's in-flight slots until it is dropped; call
    /// [`LoginAttempt::failed`] when the password was wrong.
    pub fn login(&self, ip: IpAddr, username: &str) -> Result<LoginAttempt<'_>, ApiError> {
        let ip = limit_key(ip);
        let account = account_key(username);
        self.login_per_ip.check_key(&ip).map_err(deny)?;
        if let IpAddr::V6(v6) = ip {
            let s = v6.segments();
            let site = IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0));
            self.login_per_site.check_key(&site).map_err(deny)?;
        }
        self.login_per_account_ip
            .check_key(&(account.clone(), ip))
            .map_err(deny)?;
        let now = Instant::now();
        if let Some(until) = self
            .locked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
            .filter(|until| **until > now)
        {
            return Err(ApiError::RateLimited {
                retry_after_secs: secs_until(*until - now),
            });
        }
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let running = attempts.entry(account.clone()).or_insert(0);
        if *running >= MAX_ATTEMPTS_IN_FLIGHT_PER_ACCOUNT {
            return Err(ApiError::RateLimited {
                retry_after_secs: 1,
            });
        }
        *running += 1;
        Ok(LoginAttempt {
            limits: self,
            account,
        })
    }

    /// A login for `account` failed: count it against the account-wide budget.
    fn login_failed(&self, account: &str) {
        if let Err(not_until) = self
            .login_failures_per_account
            .check_key(&account.to_string())
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            self.locked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(account.to_string(), Instant::now() + wait);
        }
    }

    fn attempt_done(&self, account: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = attempts.get_mut(account) {
            *n -= 1;
            if *n == 0 {
                attempts.remove(account);
            }
        }
    }

    /// Count one token refresh from `ip`.
    pub fn refresh(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.refresh_per_ip.check_key(&limit_key(ip)).map_err(deny)
    }

    /// Count one `/v1/play` by `account` from `ip`.
    pub fn play(&self, ip: IpAddr, account: i64) -> Result<(), ApiError> {
        self.play_per_ip.check_key(&limit_key(ip)).map_err(deny)?;
        self.play_per_account.check_key(&account).map_err(deny)
    }

    /// Count one read of the player's own data (`/v1/players/me`) from `ip`.
    pub fn read(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.reads_per_ip.check_key(&limit_key(ip)).map_err(deny)
    }

    fn housekeeping(&self) {
        let now = Instant::now();
        self.locked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, until| *until > now);
        macro_rules! tidy {
            ($($l:ident),*) => {$(
                self.$l.retain_recent();
                self.$l.shrink_to_fit();
            )*};
        }
        tidy!(
            login_per_ip,
            login_per_site,
            login_per_account_ip,
            login_failures_per_account,
            register_per_ip,
            refresh_per_ip,
            play_per_account,
            play_per_ip,
            reads_per_ip
        );
    }
}

/// Whole seconds, rounded up.
/// One login attempt in progress: holds a slot of its account until dropped.
pub struct LoginAttempt<'a> {
    limits: &'a Limits,
    account: String,
}

impl LoginAttempt<'_> {
    /// The password was wrong: spend the account-wide failure budget.
    pub fn failed(&self) {
        self.limits.login_failed(&self.account);
    }
}

impl std::fmt::Debug for LoginAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("account", &self.account)
            .finish()
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        self.limits.attempt_done(&self.account);
    }
}

fn secs_until(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A refusal with the wait until the next attempt would pass.
fn deny(not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: secs_until(wait),
    }
}

/// Forget idle keys every minute so the limiters' memory stays bounded.
pub fn spawn_housekeeping(limits: Arc<Limits>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.housekeeping();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_ip: u32, per_account_ip: u32, per_account: u32) -> Limits {
        Limits::new(&RateLimits {
            login_per_ip: per_ip,
            login_per_account_ip: per_account_ip,
            login_per_account: per_account,
            register_per_ip: 1,
            refresh_per_ip: 1,
            play_per_account: 1,
            play_per_ip: 100,
            reads_per_ip: 100,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_stranger_cannot_lock_the_owner_out() {
        let l = limits(60, 3, 200);
        // A stranger burns through the strict allowance for "alice" from their address...
        for _ in 0..3 {
            assert!(l.login(ip("10.0.0.66"), "alice").is_ok());
        }
        match l.login(ip("10.0.0.66"), "Alice") {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // ...and the owner, from their own address, still gets in.
        assert!(l.login(ip("10.0.0.1"), "alice").is_ok());
    }

    #[test]
    fn per_ip_and_account_wide_limits() {
        // Per IP over all accounts.
        let l = limits(2, 10, 200);
        assert!(l.login(ip("10.0.0.1"), "a").is_ok());
        assert!(l.login(ip("10.0.0.1"), "b").is_ok());
        assert!(l.login(ip("10.0.0.1"), "c").is_err());
        assert!(l.login(ip("10.0.0.2"), "c").is_ok());
        // Account-wide: failures from many addresses (distributed guessing) lock the account
        // for a while; successes never count.
        let l = limits(60, 10, 3);
        for i in 1..=10 {
            assert!(
                l.login(ip(&format!("10.0.2.{i}")), "bob").is_ok(),
                "successes are free"
            );
        }
        for i in 1..=4 {
            l.login(ip(&format!("10.0.1.{i}")), "bob").unwrap().failed();
        }
        assert!(l.login(ip("10.0.1.9"), "bob").is_err());
        assert!(l.login(ip("10.0.1.9"), "carl").is_ok());
        // Parallel guesses: only a few checks of one account run at once, so failures that
        // are still being hashed cannot be outrun.
        let l = limits(60, 10, 200);
        let running: Vec<_> = (1..=MAX_ATTEMPTS_IN_FLIGHT_PER_ACCOUNT)
            .map(|i| l.login(ip(&format!("10.0.3.{i}")), "dora").unwrap())
            .collect();
        assert!(l.login(ip("10.0.3.99"), "dora").is_err());
        assert!(
            l.login(ip("10.0.3.99"), "DORA").is_err(),
            "names compare case-insensitively"
        );
        assert!(l.login(ip("10.0.3.99"), "emil").is_ok());
        drop(running);
        assert!(l.login(ip("10.0.3.99"), "dora").is_ok());
        assert!(
            l.attempts.lock().unwrap().is_empty(),
            "slots are given back"
        );
        // Registrations and refreshes per IP.
        assert!(l.register(ip("10.0.0.9")).is_ok());
        assert!(l.register(ip("10.0.0.9")).is_err());
        assert!(l.refresh(ip("10.0.0.9")).is_ok());
        assert!(l.refresh(ip("10.0.0.9")).is_err());
        assert!(l.play(ip("10.0.0.9"), 7).is_ok());
        assert!(l.play(ip("10.0.0.9"), 7).is_err());
        assert!(l.play(ip("10.0.0.9"), 8).is_ok());
        // Hopping between the /64s of one /48 runs into the site limit (4 × per IP).
        let l = limits(2, 100, 100);
        let mut ok = 0;
        for i in 0..20 {
            if l.login(ip(&format!("2001:db8:0:{i:x}::1")), "x").is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 8);
        // Addresses of one IPv6 /64 share their allowance.
        assert!(l.register(ip("2001:db8::1")).is_ok());
        assert!(l.register(ip("2001:db8::ffff:2")).is_err());
        assert!(l.register(ip("2001:db8:0:1::1")).is_ok());
    }
}
