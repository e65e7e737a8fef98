//! Absolute world time.
//!
//! A [`Tick`] is one world tick of [`WORLD_TICK_MS`] milliseconds counted from the Unix epoch.
//! Every program derives it from the wall clock the same way, so a crop planted on one shard
//! ripens at the same moment on another, after a restart, or while its zone is offline. The
//! shard's `--tick-hz` only changes how often the simulation runs, not what a tick means.

use serde::{Deserialize, Serialize};

/// Length of one world tick in milliseconds (20 Hz).
pub const WORLD_TICK_MS: u64 = 50;

/// An absolute world tick.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = u64)]
pub struct Tick(pub u64);

impl Tick {
    /// The tick containing the given Unix time in milliseconds.
    pub fn from_unix_ms(ms: u64) -> Self {
        Tick(ms / WORLD_TICK_MS)
    }

    /// The tick now, by the system clock.
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self::from_unix_ms(ms)
    }

    pub fn saturating_add(self, ticks: u64) -> Self {
        Tick(self.0.saturating_add(ticks))
    }

    /// Ticks from `self` until `later` (0 if `later` is not later).
    pub fn until(self, later: Tick) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_50ms_from_epoch() {
        assert_eq!(Tick::from_unix_ms(0), Tick(0));
        assert_eq!(Tick::from_unix_ms(49), Tick(0));
        assert_eq!(Tick::from_unix_ms(50), Tick(1));
        assert_eq!(Tick(10).until(Tick(4)), 0);
        assert_eq!(Tick(4).until(Tick(10)), 6);
    }
}
