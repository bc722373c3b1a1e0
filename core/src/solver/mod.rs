//! Self-play on the simplex (docs/maths.md §4): Hedge with its time-mixture certificate, optimistic
//! Hedge with a certified last iterate, and the NLHF baseline (`k = 1`).
//!
//! Both dynamics use the share `g_t = g(pi_t)` as the payoff vector. Every round computes `g_t`
//! anyway, in `f32`, so an estimate of the exploitability `max_y g_t(y) - 1/(k+1)` of the current
//! iterate costs nothing extra: it drives the adaptive step size and the stopping rule. What is
//! deployed is snapped to the grid of [`crate::policy::snap`] and certified with
//! [`crate::certificate::certify`] (guaranteed bounds): estimates steer, certificates decide
//! (docs/maths.md §4, docs/certificates.md).
//!
//! ## Step sizes, and why
//!
//! * **Hedge** uses the textbook `eta = sqrt(8 ln n / T)` for a horizon of `T` rounds. It is the
//!   step for which the regret bound `sqrt(T ln n / 2)` holds for payoffs in `[0, 1]`, and that
//!   bound is what the time-mixture certificate relies on when it is quoted in advance. The
//!   certificate we report is the exact one, `max_y mean_t g_t(y) - 1/(k+1)`, never the bound.
//! * **Optimistic Hedge** has no certificate to protect, only its measured exploitability, so its
//!   step adapts. Shares live on a scale of `1/(k+1)`, so the first step is `k + 1` (a round
//!   then moves the log-weights by `O(1)`). From uniform it takes three corrections found on
//!   seeded instances (`solver_grid`'s three grids); a warm start, near an equilibrium already,
//!   keeps `k + 1`. It is at most `2.25 ln n`: at large `k` the shares' scale overshoots. At
//!   `k = 1` (the two-player margin game, whose iterates cycle) it is `2.25 ln n`: a step of 2
//!   is too small there. And it is at least `1 / e`, `e` the exploitability of the
//!   start: the best reply's share is `e` above the policy's mean share `1/(k+1)`, so the first
//!   step raises its log-weight at least 1 above the mean. Where the shares start nearly flat
//!   (many users who disagree; impartial culture at (64, 1000, 4) starts at `e` about 0.02) a
//!   step on the shares' scale barely moves the policy. Against `k + 1` alone, `solver_grid`
//!   takes a third fewer share evaluations on impartial culture to `1e-4`, 11% fewer at `k = 1`
//!   to `1e-6`, and 29% fewer on users who agree on a common quality (CHANGELOG.md has the
//!   figures). After a round that lowers the exploitability the step grows by 5%; after one
//!   that more than doubles it, it halves; otherwise it stays. The step thus settles just below
//!   the largest stable value for the instance, with no tuning by the user. (Shrinking on
//!   *every* increase would be wrong: at `k = 1` the iterates cycle, every other round looks
//!   worse, and the step would decay to nothing.) It is capped at `1e6 (k+1)` so the
//!   log-weights stay finite. At `k >= 2` a round estimated above six times the best the
//!   dynamics have reached sends them back to that iterate with half the step: without it the
//!   step could grow through an excursion far from the equilibrium and the dynamics cycled
//!   there until `max_iter`. The policy deployed is the iterate with the lowest
//!   estimated exploitability seen, snapped and certified; should its certificate miss
//!   `epsilon`, the dynamics go on with half the estimate as their target (at most
//!   [`RECERTIFY`] times).
//! * **Polishing.** At rounds 16, 32, 64, ... (and first at any round from 4 to 15 where the last
//!   four rounds' rate says the dynamics would need more than eight more to reach `epsilon`;
//!   before round 8 only when the shares name at most eight candidates, a cheap Jacobian) the
//!   solver also tries Newton's method on the indifference conditions `g(y) = v` over a guessed
//!   support (at most [`POLISH_MAX`] candidates): first the candidates with the highest shares in
//!   the best iterate of the dynamics (complementary slackness: at an equilibrium the support is
//!   where the shares peak), then those with most mass. Candidates outside that beat the value
//!   join, candidates whose mass turns negative leave. At `k = 1` the conditions are linear and one
//!   step lands on the maximal lottery once the support is right, which plain optimistic Hedge
//!   approaches only slowly on matrix games. A polished policy is accepted only when its estimated
//!   exploitability is lower; its share evaluations count as iterations. Newton stops at the
//!   first step estimated at `epsilon`, and after two steps that improve nothing.
//!
//! [`SolveOptions::polish`] turns the polish off; what optimistic Hedge deploys then comes from
//! the dynamics alone, certified the same way.
//!
//! ## Warm starts
//!
//! [`optimistic_hedge_warm`] starts optimistic Hedge from a caller's policy, typically the
//! previous equilibrium of a stream of related requests, instead of from uniform
//! (docs/maths.md §4.7). The start is mixed with [`WARM_FLOOR`] of the uniform policy (Hedge never
//! revives a zero mass, and a previous equilibrium is zero outside its support), and the polish
//! is tried on it before the first step. Only the path changes: what is deployed is snapped and
//! certified exactly as from a cold start. On the seeded streams of
//! `benches/examples/warm_stream.rs` (the same users, the candidates re-scored a little per
//! request) the median solve takes 1.6 to 34 times fewer share evaluations (1.6 to 5 at
//! `k >= 2`; benches/README.md's warm-start table); a start far from the new equilibrium can
//! take more than a cold solve.
//!
//! The modules: [`SolveOptions`] and [`Solution`] (`options`, `solution`), the step shared by
//! both dynamics (`softmax`), the Newton polish and its small linear algebra (`polish`,
//! `linalg`), then the solvers: optimistic Hedge (`optimistic`, from uniform or from a warm
//! start, whose log-weights `warm` computes), Hedge (`hedge`) and NLHF (`nlhf`, which runs
//! optimistic Hedge at `k = 1`).

mod hedge;
mod linalg;
mod nlhf;
mod optimistic;
mod options;
mod polish;
mod softmax;
mod solution;
mod warm;

pub use crate::limits::EPSILON_FLOOR;
pub use crate::mixture::TimeMixture;
pub use hedge::{HedgeSolution, hedge};
pub use nlhf::{nlhf, nlhf_margins};
pub use optimistic::{optimistic_hedge, optimistic_hedge_warm};
pub use options::{SolveOptions, check_epsilon};
pub use solution::Solution;
pub use warm::WARM_FLOOR;

/// How many times a solve tightens its internal target when the certificate of what it would
/// deploy misses `epsilon` though the `f32` estimate met it.
pub const RECERTIFY: u32 = 4;

/// The largest support the Newton polish handles (its Jacobian lives on the stack): the
/// Jacobian's own limit, [`crate::share::SUPPORT_MAX`].
pub use crate::share::SUPPORT_MAX as POLISH_MAX;
