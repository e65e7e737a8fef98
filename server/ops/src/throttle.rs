//! A gate for log lines that a condition could otherwise print every frame (a sidecar that is
//! down, a flood of refused joins): the first event passes, then at most one per interval, and
//! the events held back in between are counted so the next line can say how many there were.

use std::time::Duration;

/// "At most once per interval". Time is any monotonic clock given as the time elapsed since a
/// fixed origin (a Bevy app's `Time<Real>::elapsed()`, or `Instant::elapsed` of a start time).
#[derive(Debug, Clone)]
pub struct Throttle {
    every: Duration,
    last: Option<Duration>,
    suppressed: u64,
}

impl Throttle {
    pub fn new(every: Duration) -> Self {
        Throttle {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// One event at `now`. `Some(n)` means "log it now; `n` similar events were held back
    /// since the last line"; `None` means stay quiet.
    pub fn ready(&mut self, now: Duration) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_sub(t) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_interval_with_a_count_of_the_rest() {
        let mut t = Throttle::new(Duration::from_secs(1));
        let t0 = Duration::from_secs(100);
        assert_eq!(t.ready(t0), Some(0));
        for i in 1..=9 {
            assert_eq!(t.ready(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(t.ready(t0 + Duration::from_millis(1000)), Some(9));
        assert_eq!(t.ready(t0 + Duration::from_millis(1500)), None);
        assert_eq!(t.ready(t0 + Duration::from_millis(2100)), Some(1));
    }
}
