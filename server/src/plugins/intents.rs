//! Requests in, answers out: the one intake every feature uses.
//!
//! [`intake::<A>`] registers a feature's action type: each frame its system takes the
//! `Request<A>` messages of every connected link through that link's [`RequestBudget`] and
//! writes the admitted ones as [`Incoming<A>`] messages for the feature's plugin, which applies
//! them with the feature's pure `apply` and writes an [`Answer`] per request.
//!
//! The budget is a token bucket per link over time (`--request-rate` per second, bursts of
//! `--request-burst`). Requests over it are dropped and counted, not answered one by one (one
//! `RateLimited` notice a second at most tells the client to slow down). The dropped requests
//! also pile up in a counter that drains at the sustained rate; past `--flood-kick-after` the
//! link is disconnected for flooding.

use super::player::{Departing, Kick, Session};
use super::{Settings, TickSet, now};
use crate::config::RequestLimits;
use bevy::prelude::*;
use harvest_shared::action::{Action, Request};
use harvest_shared::protocol::{ActionChannel, ActionNotice, KickReason, RejectReason};
use lightyear::prelude::*;
use std::time::Duration;
use tracing::warn;

/// A request admitted from `link` (whose player is `player`, if loaded).
#[derive(Message, Debug, Clone)]
pub struct Incoming<A: Action> {
    pub link: Entity,
    pub player: Option<Entity>,
    pub request_id: u32,
    pub action: A,
}

/// The answer to one request, to send to `link`.
#[derive(Message, Debug, Clone)]
pub struct Answer {
    pub link: Entity,
    pub notice: ActionNotice,
}

/// Requests processed since start, per outcome.
#[derive(Resource, Default, Debug, Clone, Copy)]
pub struct RequestStats {
    pub accepted: u64,
    pub rejected: u64,
    /// Dropped by the rate limit (never processed).
    pub dropped: u64,
    /// Links disconnected for flooding.
    pub flood_kicks: u64,
}

/// On each authenticated link: its request budget.
#[derive(Component, Debug, Clone)]
pub struct RequestBudget {
    tokens: f32,
    /// Dropped requests, draining at the sustained rate.
    excess: f32,
    last: Duration,
    last_notice: Option<Duration>,
    kicked: bool,
}

impl RequestBudget {
    pub fn new(limits: &RequestLimits, at: Duration) -> Self {
        RequestBudget {
            tokens: limits.burst,
            excess: 0.0,
            last: at,
            last_notice: None,
            kicked: false,
        }
    }

    fn refill(&mut self, limits: &RequestLimits, at: Duration) {
        let dt = at.saturating_sub(self.last).as_secs_f32();
        self.last = at;
        self.tokens = (self.tokens + dt * limits.rate).min(limits.burst);
        self.excess = (self.excess - dt * limits.rate).max(0.0);
    }

    /// Admit one request now?
    pub fn admit(&mut self, limits: &RequestLimits, at: Duration) -> bool {
        self.refill(limits, at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.excess += 1.0;
            false
        }
    }

    /// Has this link dropped so much that it must go?
    pub fn flooding(&self, limits: &RequestLimits) -> bool {
        self.excess > limits.flood_kick_after
    }

    /// Has this link dropped so much that it must go? True once only (the kick is then
    /// counted in `stats`); after that, [`Self::is_kicked`].
    pub fn flood_kick(&mut self, limits: &RequestLimits, stats: &mut RequestStats) -> bool {
        if !self.flooding(limits) || std::mem::replace(&mut self.kicked, true) {
            return false;
        }
        stats.flood_kicks += 1;
        true
    }

    /// Is this link being disconnected for flooding?
    pub fn is_kicked(&self) -> bool {
        self.kicked
    }

    /// Should a dropped request get a `RateLimited` notice (one a second at most)?
    fn notice_due(&mut self, at: Duration) -> bool {
        if self
            .last_notice
            .is_some_and(|t| at.saturating_sub(t) < Duration::from_secs(1))
        {
            return false;
        }
        self.last_notice = Some(at);
        true
    }
}

/// Take each connected link's `Request<A>` messages through its budget.
fn receive<A: Action>(
    mut links: Query<
        (
            Entity,
            &Session,
            &mut RequestBudget,
            &mut MessageReceiver<Request<A>>,
        ),
        With<Connected>,
    >,
    mut incoming: MessageWriter<Incoming<A>>,
    mut answers: MessageWriter<Answer>,
    mut kicks: MessageWriter<Kick>,
    mut stats: ResMut<RequestStats>,
    departing: Query<(), With<Departing>>,
    settings: Res<Settings>,
    time: Res<Time<Real>>,
) {
    let limits = &settings.0.requests;
    let at = now(&time);
    for (link, session, mut budget, mut receiver) in &mut links {
        for req in receiver.receive() {
            if budget.is_kicked() {
                stats.dropped += 1;
                continue;
            }
            if budget.admit(limits, at) {
                // A player on the way to another shard changes nothing more here.
                if session.player.is_some_and(|p| departing.contains(p)) {
                    respond(
                        &mut answers,
                        &mut stats,
                        link,
                        req.request_id,
                        Err(RejectReason::Departing),
                    );
                    continue;
                }
                incoming.write(Incoming {
                    link,
                    player: session.player,
                    request_id: req.request_id,
                    action: req.action,
                });
                continue;
            }
            stats.dropped += 1;
            if budget.flood_kick(limits, &mut stats) {
                warn!(account = %session.account, feature = A::FEATURE, "request flood: disconnecting");
                kicks.write(Kick {
                    link,
                    reason: KickReason::Flooding,
                });
            } else if budget.notice_due(at) {
                answers.write(Answer {
                    link,
                    notice: ActionNotice {
                        request_id: req.request_id,
                        result: Err(RejectReason::RateLimited),
                    },
                });
            }
        }
    }
}

/// Answer request `request_id` from `link` with `result`, counting it as accepted or rejected.
pub fn respond(
    answers: &mut MessageWriter<Answer>,
    stats: &mut RequestStats,
    link: Entity,
    request_id: u32,
    result: Result<(), RejectReason>,
) {
    match &result {
        Ok(()) => stats.accepted += 1,
        Err(reason) => {
            stats.rejected += 1;
            metrics::counter!("harvest_shard_intents_rejected_total", "reason" => reason.label())
                .increment(1);
        }
    }
    answers.write(Answer {
        link,
        notice: ActionNotice { request_id, result },
    });
}

/// Send each answer to its link.
fn send_answers(
    mut answers: MessageReader<Answer>,
    mut senders: Query<&mut MessageSender<ActionNotice>>,
) {
    for Answer { link, notice } in answers.read() {
        if let Ok(mut s) = senders.get_mut(*link) {
            s.send::<ActionChannel>(notice.clone());
        }
    }
}

/// Register feature `A`'s request intake. Without a network, tests and benches write
/// [`Incoming<A>`] messages directly.
pub(crate) fn intake<A: Action>(app: &mut App) {
    app.add_message::<Incoming<A>>();
    if app.world().resource::<Settings>().0.network {
        app.add_systems(
            Update,
            receive::<A>.in_set(TickSet::Receive).in_set(IntakeSet),
        );
    }
}

/// The request intake systems (they share each link's budget, so they run one after another).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntakeSet;

pub(crate) fn plugin(app: &mut App) {
    app.init_resource::<RequestStats>().add_message::<Answer>();
    if app.world().resource::<Settings>().0.network {
        app.add_systems(Update, send_answers.in_set(TickSet::Send));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: RequestLimits = RequestLimits {
        rate: 10.0,
        burst: 20.0,
        flood_kick_after: 50.0,
    };

    #[test]
    fn bucket_admits_the_burst_then_the_rate() {
        let t0 = Duration::from_secs(10);
        let mut b = RequestBudget::new(&L, t0);
        let admitted = (0..100).filter(|_| b.admit(&L, t0)).count();
        assert_eq!(admitted, 20);
        // 80 dropped at once is past the flood threshold of 50.
        assert!(b.flooding(&L));
        // A second later the excess has drained by the rate (10): still flooding; after 4 s
        // it is gone and the bucket is full again.
        assert!(b.admit(&L, t0 + Duration::from_secs(1)));
        assert!(b.flooding(&L));
        assert!(b.admit(&L, t0 + Duration::from_secs(5)));
        assert!(!b.flooding(&L));
    }

    #[test]
    fn sustained_rate_is_admitted_and_flooding_is_detected() {
        let mut at = Duration::from_secs(10);
        let mut b = RequestBudget::new(&L, at);
        // Ten a second for a minute: every one admitted, never flooding.
        for _ in 0..600 {
            at += Duration::from_millis(100);
            assert!(b.admit(&L, at));
            assert!(!b.flooding(&L));
        }
        // Then 10,000 a second: some admitted, then flooding within a fraction of a second.
        let mut admitted = 0;
        let mut sent = 0;
        while !b.flooding(&L) {
            at += Duration::from_micros(100);
            sent += 1;
            admitted += usize::from(b.admit(&L, at));
        }
        assert!(admitted <= 21, "{admitted}");
        assert!(sent < 200, "{sent}");
    }
}
