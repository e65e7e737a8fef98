//! The shard's frame loop: a frame every tick on a fixed grid, plus at most one early frame per
//! tick when an answer that a player is waiting on arrives ([`FrameWake`]).
//!
//! Everything the shard does happens in frames, so an answer from the sidecar that lands just
//! after a frame would otherwise wait most of a tick to be used. Only answers on a player's
//! critical path wake the loop (today: a handoff ticket, which the departing client needs to
//! reconnect); saves, loads and heartbeats wait for the next regular frame as before. An early
//! frame is an ordinary frame (systems read real time, so nothing counts frames as ticks); the
//! grid is not moved by it, and a second wake within the same tick waits for the grid.
//!
//! Tests and benches step the app by hand (`App::update`) and never use this loop.

use bevy::app::PluginsState;
use bevy::prelude::*;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Asks the frame loop for an early frame. Cheap and non-blocking; wakes that arrive while a
/// wake is already pending are merged.
#[derive(Resource, Clone, Debug)]
pub struct FrameWake(Sender<()>);

impl FrameWake {
    /// A wake handle and the loop's end of it.
    pub fn new() -> (FrameWake, Receiver<()>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (FrameWake(tx), rx)
    }

    pub fn wake(&self) {
        let _ = self.0.try_send(());
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

/// Wait for the next frame: the grid's `deadline`, or a wake if this tick has not had its early
/// frame yet. Moves `deadline` on when the regular frame is due.
fn wait(
    deadline: &mut Instant,
    tick: Duration,
    early_spent: &mut bool,
    wakes: &Receiver<()>,
) -> Next {
    loop {
        let now = Instant::now();
        if now >= *deadline {
            // A frame that overran starts the grid again from now rather than catching up.
            *deadline = (*deadline + tick).max(now);
            *early_spent = false;
            return Next::Regular;
        }
        if *early_spent {
            std::thread::sleep(*deadline - now);
            continue;
        }
        match wakes.recv_timeout(*deadline - now) {
            Ok(()) => {
                *early_spent = true;
                return Next::Early;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No waker left: only the grid from now on.
            Err(RecvTimeoutError::Disconnected) => *early_spent = true,
        }
    }
}

/// The runner for [`App::set_runner`]: frames every `tick`, and early ones on a wake.
pub fn frame_loop(tick: Duration, wakes: Receiver<()>) -> impl FnOnce(App) -> AppExit + 'static {
    move |mut app: App| {
        if app.plugins_state() != PluginsState::Cleaned {
            while app.plugins_state() == PluginsState::Adding {
                bevy::tasks::tick_global_task_pools_on_main_thread();
            }
            app.finish();
            app.cleanup();
        }
        let mut deadline = Instant::now() + tick;
        let mut early_spent = false;
        loop {
            // A wake from before this frame is answered by it (its answer is drained at the
            // frame's start); one that comes during the frame gets the early frame after it.
            while wakes.try_recv().is_ok() {}
            app.update();
            if let Some(exit) = app.should_exit() {
                return exit;
            }
            wait(&mut deadline, tick, &mut early_spent, &wakes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regular frames keep to the grid; a wake gets one early frame, and a second wake in the
    /// same tick waits for the grid.
    #[test]
    fn one_early_frame_per_tick() {
        let tick = Duration::from_secs(1);
        let (wake, wakes) = FrameWake::new();
        let start = Instant::now();
        let mut deadline = start + tick;
        let mut spent = false;
        assert_eq!(wait(&mut deadline, tick, &mut spent, &wakes), Next::Regular);
        assert!(Instant::now() >= start + tick, "no wake: the grid");
        assert!(deadline >= start + 2 * tick);
        wake.wake();
        wake.wake(); // merged with the first
        assert_eq!(wait(&mut deadline, tick, &mut spent, &wakes), Next::Early);
        assert!(spent);
        wake.wake();
        let before = deadline;
        assert_eq!(wait(&mut deadline, tick, &mut spent, &wakes), Next::Regular);
        assert!(
            Instant::now() >= before,
            "the second wake waited for the grid"
        );
        assert!(!spent);
        assert!(
            wakes.try_recv().is_ok(),
            "that wake is still pending for the next tick"
        );
    }
}
