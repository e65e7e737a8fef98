//! The shard's frame loop: a frame every tick on a fixed grid, plus a few early frames
//! ([`MAX_EARLY_PER_TICK`]) when a player is waiting on something that has just arrived or is
//! about to ([`FrameWake`]).
//!
//! Everything the shard does happens in frames, so an answer that lands just after a frame
//! would otherwise wait most of a tick to be used. Two things wake the loop, both on a player's
//! critical path when connecting or travelling:
//! - a handoff ticket from the sidecar ([`FrameWake::wake`]): the departing client is sent it at
//!   once;
//! - a netcode handshake under way ([`FrameWake::wake_in`]): a shard that has just answered a
//!   connection request with its challenge looks again a little later, when the client's
//!   response is due, instead of a whole tick later.
//!
//! Nothing else wakes the loop (saves, loads and heartbeats are read by whichever frame comes
//! next). An early frame is an ordinary frame (systems read real time, so nothing counts
//! frames as ticks) and does not move the grid. A shard whose last frame took more than a
//! quarter of the tick takes no early frames until the next regular one: when busy, it keeps
//! its cadence.
//!
//! Tests and benches step the app by hand (`App::update`) and never use this loop.

use bevy::app::PluginsState;
use bevy::prelude::*;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Early frames at most between two regular ones: a bound on what wakes can cost.
pub const MAX_EARLY_PER_TICK: u32 = 3;

/// Asks the frame loop for an early frame, now ([`FrameWake::wake`]) or a little later
/// ([`FrameWake::wake_in`]). Cheap and non-blocking; wakes that arrive while one is already
/// pending are merged.
#[derive(Resource, Clone, Debug)]
pub struct FrameWake {
    now: Sender<()>,
    /// The earliest timed wake asked for and not yet used.
    at: Arc<Mutex<Option<Instant>>>,
}

/// The frame loop's end of a [`FrameWake`].
#[derive(Debug)]
pub struct Wakes {
    now: Receiver<()>,
    at: Arc<Mutex<Option<Instant>>>,
}

impl FrameWake {
    /// A wake handle and the loop's end of it.
    pub fn new() -> (FrameWake, Wakes) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let at = Arc::new(Mutex::new(None));
        (
            FrameWake {
                now: tx,
                at: at.clone(),
            },
            Wakes { now: rx, at },
        )
    }

    /// An early frame as soon as possible.
    pub fn wake(&self) {
        let _ = self.now.try_send(());
    }

    /// An early frame `after` from now (a scheduling hint, not game time: an answer expected
    /// about then will not wait for the next tick).
    pub fn wake_in(&self, after: Duration) {
        let when = Instant::now() + after;
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        if at.is_none_or(|t| when < t) {
            *at = Some(when);
        }
    }
}

impl Wakes {
    /// Forget the wakes a frame about to start will answer anyway.
    fn clear_now(&self) {
        while self.now.try_recv().is_ok() {}
    }

    /// The timed wake, if one is asked for.
    fn timed(&self) -> Option<Instant> {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_timed(&self) {
        *self.at.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Was an immediate wake asked for (and not yet used)? Consumes it. For tests.
    #[cfg(test)]
    pub(crate) fn woken(&self) -> bool {
        self.now.try_recv().is_ok()
    }
}

/// What the loop does after a frame, until the next one starts.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The regular frame on the grid.
    Regular,
    /// An early frame for a wake.
    Early,
}

/// Wait for the next frame: the grid's `deadline`, or a wake while this tick has early frames
/// left. Moves `deadline` on when the regular frame is due.
fn wait(deadline: &mut Instant, tick: Duration, early_left: &mut u32, wakes: &Wakes) -> Next {
    loop {
        let now = Instant::now();
        if now >= *deadline {
            // A frame that overran starts the grid again from now rather than catching up.
            *deadline = if *deadline + tick > now {
                *deadline + tick
            } else {
                now + tick
            };
            *early_left = MAX_EARLY_PER_TICK;
            // A timed wake due by now is answered by this regular frame.
            if wakes.timed().is_some_and(|t| t <= now + tick / 10) {
                wakes.take_timed();
            }
            return Next::Regular;
        }
        if *early_left == 0 {
            std::thread::sleep(*deadline - now);
            continue;
        }
        let until = match wakes.timed() {
            Some(t) if t <= now => {
                wakes.take_timed();
                *early_left -= 1;
                return Next::Early;
            }
            Some(t) => t.min(*deadline),
            None => *deadline,
        };
        match wakes.now.recv_timeout(until - now) {
            Ok(()) => {
                *early_left -= 1;
                return Next::Early;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No waker left: only timed wakes and the grid from now on.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(until - now),
        }
    }
}

/// The runner for [`App::set_runner`]: frames every `tick`, and early ones on a wake.
pub fn frame_loop(tick: Duration, wakes: Wakes) -> impl FnOnce(App) -> AppExit + 'static {
    move |mut app: App| {
        if app.plugins_state() != PluginsState::Cleaned {
            while app.plugins_state() == PluginsState::Adding {
                bevy::tasks::tick_global_task_pools_on_main_thread();
            }
            app.finish();
            app.cleanup();
        }
        let mut deadline = Instant::now() + tick;
        let mut early_left = MAX_EARLY_PER_TICK;
        loop {
            // A wake from before this frame is answered by it (its answer is drained at the
            // frame's start); one that comes during the frame gets an early frame after it.
            wakes.clear_now();
            let started = Instant::now();
            app.update();
            if let Some(exit) = app.should_exit() {
                return exit;
            }
            if started.elapsed() > tick / 4 {
                early_left = 0;
            }
            wait(&mut deadline, tick, &mut early_left, &wakes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regular frames keep to the grid; a wake gets one early frame, and a second wake in the
    /// same tick waits for the grid.
    #[test]
    fn early_frames_are_bounded_per_tick_and_timed_wakes_fire() {
        let tick = Duration::from_secs(1);
        let (wake, wakes) = FrameWake::new();
        let start = Instant::now();
        let mut deadline = start + tick;
        let mut left = MAX_EARLY_PER_TICK;
        assert_eq!(wait(&mut deadline, tick, &mut left, &wakes), Next::Regular);
        assert!(Instant::now() >= start + tick, "no wake: the grid");
        assert!(deadline >= start + 2 * tick);
        wake.wake();
        wake.wake(); // merged with the first
        assert_eq!(wait(&mut deadline, tick, &mut left, &wakes), Next::Early);
        wake.wake_in(Duration::from_millis(50));
        let asked = Instant::now();
        assert_eq!(wait(&mut deadline, tick, &mut left, &wakes), Next::Early);
        assert!(
            Instant::now() >= asked + Duration::from_millis(50),
            "not before its time"
        );
        assert!(wakes.timed().is_none(), "a timed wake fires once");
        for _ in 1..MAX_EARLY_PER_TICK - 1 {
            wake.wake();
            assert_eq!(wait(&mut deadline, tick, &mut left, &wakes), Next::Early);
        }
        assert_eq!(left, 0);
        wake.wake();
        let before = deadline;
        assert_eq!(wait(&mut deadline, tick, &mut left, &wakes), Next::Regular);
        assert!(
            Instant::now() >= before,
            "past the bound, wakes wait for the grid"
        );
        assert_eq!(left, MAX_EARLY_PER_TICK);
        assert!(
            wakes.now.try_recv().is_ok(),
            "that wake is still pending for the next tick"
        );
    }
}
