//! Duel ratings: Glicko-2 (Mark Glickman's system, as described in his public "Example of the
//! Glicko-2 system").
//!
//! Why Glicko-2 and not Elo: a rating here is a value **and** how sure we are of it (the
//! deviation), plus how erratic the player is (the volatility). A new or long-absent player
//! has a wide deviation, so their first duels move their rating a lot and a steady player's
//! barely move; Elo moves everyone by the same fixed K. The deviation also gives matchmaking
//! a natural window (a rating ± a multiple of the deviation) and the leaderboard a way to rank
//! by a conservative estimate. Each finished duel is one rating period for both duelists.

use serde::{Deserialize, Serialize};

/// Glicko-2's scale factor between the displayed scale and its internal one.
const SCALE: f64 = 173.7178;
/// The system constant τ: how much volatility may change per period (0.3–1.2; smaller is
/// steadier).
const TAU: f64 = 0.5;
/// Convergence tolerance of the volatility iteration.
const EPSILON: f64 = 0.000_001;

/// One player's rating on the displayed scale.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    pub rating: f64,
    /// Rating deviation: one standard deviation of uncertainty.
    pub deviation: f64,
    pub volatility: f64,
}

impl Default for Rating {
    /// A new player.
    fn default() -> Self {
        Rating {
            rating: 1500.0,
            deviation: 350.0,
            volatility: 0.06,
        }
    }
}

/// A game's score for the player: 1 a win, 0.5 a draw, 0 a loss.
pub type Score = f64;

fn g(phi: f64) -> f64 {
    1.0 / (1.0 + 3.0 * phi * phi / (std::f64::consts::PI * std::f64::consts::PI)).sqrt()
}

fn expected(mu: f64, mu_j: f64, phi_j: f64) -> f64 {
    1.0 / (1.0 + (-g(phi_j) * (mu - mu_j)).exp())
}

impl Rating {
    /// The rating after one period with these games (opponent's rating before, score).
    /// With no games only the deviation grows.
    pub fn after(self, games: &[(Rating, Score)]) -> Rating {
        let mu = (self.rating - 1500.0) / SCALE;
        let phi = self.deviation / SCALE;
        let sigma = self.volatility;
        if games.is_empty() {
            return Rating {
                deviation: (phi * phi + sigma * sigma).sqrt() * SCALE,
                ..self
            };
        }
        let mut v_inv = 0.0;
        let mut sum = 0.0;
        for (opp, s) in games {
            let mu_j = (opp.rating - 1500.0) / SCALE;
            let phi_j = opp.deviation / SCALE;
            let e = expected(mu, mu_j, phi_j);
            let gj = g(phi_j);
            v_inv += gj * gj * e * (1.0 - e);
            sum += gj * (s - e);
        }
        let v = 1.0 / v_inv;
        let delta = v * sum;
        let sigma2 = new_volatility(phi, sigma, v, delta);
        let phi_star = (phi * phi + sigma2 * sigma2).sqrt();
        let phi2 = 1.0 / (1.0 / (phi_star * phi_star) + 1.0 / v).sqrt();
        let mu2 = mu + phi2 * phi2 * sum;
        Rating {
            rating: 1500.0 + SCALE * mu2,
            deviation: SCALE * phi2,
            volatility: sigma2,
        }
    }

    /// A conservative estimate for ranking: the rating minus two deviations.
    pub fn conservative(self) -> f64 {
        self.rating - 2.0 * self.deviation
    }
}

/// The new volatility, by the Illinois variant of regula falsi (Glickman's step 5).
fn new_volatility(phi: f64, sigma: f64, v: f64, delta: f64) -> f64 {
    let a = (sigma * sigma).ln();
    let f = |x: f64| {
        let ex = x.exp();
        let d = phi * phi + v + ex;
        ex * (delta * delta - phi * phi - v - ex) / (2.0 * d * d) - (x - a) / (TAU * TAU)
    };
    let mut big_a = a;
    let mut big_b = if delta * delta > phi * phi + v {
        (delta * delta - phi * phi - v).ln()
    } else {
        let mut k = 1.0;
        while f(a - k * TAU) < 0.0 && k < 1_000.0 {
            k += 1.0;
        }
        a - k * TAU
    };
    let (mut fa, mut fb) = (f(big_a), f(big_b));
    for _ in 0..1_000 {
        if (big_b - big_a).abs() <= EPSILON {
            break;
        }
        let c = big_a + (big_a - big_b) * fa / (fb - fa);
        let fc = f(c);
        if fc * fb <= 0.0 {
            big_a = big_b;
            fa = fb;
        } else {
            fa /= 2.0;
        }
        big_b = c;
        fb = fc;
    }
    (big_a / 2.0).exp()
}

/// Both duelists' ratings after a duel between them; `score_a` is A's score.
pub fn after_duel(a: Rating, b: Rating, score_a: Score) -> (Rating, Rating) {
    (a.after(&[(b, score_a)]), b.after(&[(a, 1.0 - score_a)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn glickmans_worked_example_is_reproduced() {
        // The example in Glickman's description: a 1500 / 200 / 0.06 player beats a
        // 1400 / 30 player and loses to 1550 / 100 and 1700 / 300 players.
        let me = Rating {
            rating: 1500.0,
            deviation: 200.0,
            volatility: 0.06,
        };
        let opp = |rating, deviation| Rating {
            rating,
            deviation,
            volatility: 0.06,
        };
        let r = me.after(&[
            (opp(1400.0, 30.0), 1.0),
            (opp(1550.0, 100.0), 0.0),
            (opp(1700.0, 300.0), 0.0),
        ]);
        assert!(close(r.rating, 1464.06, 0.01), "{r:?}");
        assert!(close(r.deviation, 151.52, 0.01), "{r:?}");
        assert!(close(r.volatility, 0.05999, 0.00001), "{r:?}");
    }

    #[test]
    fn a_win_raises_a_loss_lowers_and_new_players_move_more() {
        let new = Rating::default();
        let steady = Rating {
            rating: 1500.0,
            deviation: 50.0,
            volatility: 0.06,
        };
        let (w, l) = after_duel(new, new, 1.0);
        assert!(w.rating > 1500.0 && l.rating < 1500.0);
        assert!(
            close(w.rating - 1500.0, 1500.0 - l.rating, 1e-9),
            "symmetric"
        );
        assert!(w.deviation < new.deviation, "a game makes the rating surer");
        let (sw, _) = after_duel(steady, new, 1.0);
        assert!(
            sw.rating - 1500.0 < w.rating - 1500.0,
            "a sure rating moves less"
        );
        let (d, _) = after_duel(new, new, 0.5);
        assert!(
            close(d.rating, 1500.0, 1e-9),
            "a draw between equals changes nothing"
        );
    }

    #[test]
    fn an_idle_period_only_widens_the_deviation() {
        let r = Rating {
            rating: 1620.0,
            deviation: 80.0,
            volatility: 0.06,
        };
        let idle = r.after(&[]);
        assert_eq!(idle.rating, 1620.0);
        assert!(idle.deviation > 80.0);
        assert!(r.conservative() < r.rating);
    }
}
