//! Self-play on the simplex (docs/maths.md §4): Hedge with its time-mixture certificate, optimistic Hedge
//! with a certified last iterate, and the NLHF baseline (`k = 1`).
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
//!   step adapts. Shares live on a scale of `1/(k+1)`, so the step starts at `eta = k + 1` (a round
//!   then moves the log-weights by `O(1)`). After a round that lowers the exploitability the step
//!   grows by 5%; after one that more than doubles it, it halves; otherwise it stays. The step
//!   thus settles just below the largest stable value for the instance, with no tuning by the
//!   user. (Shrinking on *every* increase would be wrong: at `k = 1` the iterates cycle, every
//!   other round looks worse, and the step would decay to nothing.) It is capped at `1e6 (k+1)`
//!   so the log-weights stay finite. The policy deployed is the iterate with the lowest
//!   estimated exploitability seen, snapped and certified; should its certificate miss
//!   `epsilon`, the dynamics go on with half the estimate as their target (at most
//!   [`RECERTIFY`] times).
//! * **Polishing.** At rounds 16, 32, 64, ... (and first at any round from 8 to 15 where the last
//!   four rounds' rate says the dynamics would need more than eight more to reach `epsilon`) the
//!   solver also tries Newton's method on the indifference conditions `g(y) = v` over a guessed
//!   support (at most [`POLISH_MAX`] candidates): first the candidates with the highest shares in
//!   the best iterate of the dynamics (complementary slackness: at an equilibrium the support is
//!   where the shares peak), then those with most mass. Candidates outside that beat the value
//!   join, candidates whose mass turns negative leave. At `k = 1` the conditions are linear and one step lands on the
//!   maximal lottery once the support is right, which plain optimistic Hedge approaches only
//!   slowly on matrix games. A polished policy is accepted only when its estimated
//!   exploitability is lower; its share evaluations count as iterations. Newton stops at the
//!   first step estimated at `epsilon`, and after two steps that improve nothing.

use crate::{
    Certificate, Error, certificate::certify, check_k, check_len, float, margins::Margins,
    policy::snap, share::Oracle,
};

pub use crate::limits::EPSILON_FLOOR;
pub use crate::mixture::TimeMixture;

/// How many times a solve tightens its internal target when the certificate of what it would
/// deploy misses `epsilon` though the `f32` estimate met it.
pub const RECERTIFY: u32 = 4;

/// Options for the solvers.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SolveOptions {
    /// Number of responses shown (`k >= 1`; `k = 1` is NLHF).
    pub k: u32,
    /// Stop once the certified exploitability is at most this.
    pub epsilon: f32,
    /// Stop after this many share evaluations at the latest.
    pub max_iter: u32,
}

impl SolveOptions {
    /// Defaults: `epsilon = 1e-4`, `max_iter = 10_000`.
    pub fn new(k: u32) -> Self {
        SolveOptions {
            k,
            epsilon: 1e-4,
            max_iter: 10_000,
        }
    }

    /// Sets the target exploitability.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, max_iter: u32) -> Self {
        self.max_iter = max_iter;
        self
    }

    fn check(&self) -> Result<(), Error> {
        check_k(self.k)?;
        let e = self.epsilon;
        if !e.is_finite() || e < 0.0 || (e > 0.0 && e < EPSILON_FLOOR) {
            return Err(Error::InvalidEpsilon);
        }
        Ok(())
    }
}

/// What a solver ran and what it certifies.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Solution {
    /// Share evaluations (rounds) performed, certificates not counted.
    pub iterations: u32,
    /// Whether the certified exploitability is at most `epsilon`.
    pub converged: bool,
    /// The certificate of what is deployed ([`certify`]: guaranteed bounds).
    pub certificate: Certificate,
}

/// Optimistic Hedge: `pi_{t+1}(y) ∝ pi_t(y) exp(eta_t (2 g_t(y) - g_{t-1}(y)))` from uniform,
/// with the adaptive step of the [module docs](self). Writes the deployed policy (the iterate
/// with the lowest exact exploitability) into `policy` (length `n`).
///
/// ```
/// use ualign::{Population, Storage, solver::{optimistic_hedge, SolveOptions}};
/// let (mut w, mut o) = ([0.0f32; 2], [0u16; 4]);
/// let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o))?;
/// b.push_scores(0.7, &[1.0, 0.0])?;
/// b.push_scores(0.3, &[0.0, 1.0])?;
/// let pop = b.finish()?;
/// let mut pi = [0.0f32; 2];
/// let sol = optimistic_hedge(&pop, &SolveOptions::new(3).epsilon(1e-4), &mut pi)?;
/// assert!(sol.converged && sol.certificate.exploitability <= 1e-4);
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidK`], [`Error::InvalidEpsilon`], [`Error::LengthMismatch`].
pub fn optimistic_hedge<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    policy: &mut [f32],
) -> Result<Solution, Error> {
    opts.check()?;
    let n = pop.n();
    check_len(policy.len(), n)?;
    let k = opts.k;
    let mut logits = [0.0f32; N];
    let mut pi = [0.0f32; N];
    let mut g = [0.0f32; N];
    let mut g_prev = [0.0f32; N];
    // The mean's certificate and the polish evaluate into this, not into `g_prev`: the next
    // optimistic step needs `g_prev` as it was.
    let mut scratch = [0.0f32; N];
    let (logits, pi, g, g_prev, scratch) = (
        logits
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        pi.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        g.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        g_prev
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        scratch
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
    );
    softmax(logits, pi);
    pop.shares_into(pi, k, g);
    let mut cert = Certificate::estimate(g, k)?;
    policy.copy_from_slice(pi);
    let mut best = cert;
    let mut iterations = 1u32;
    let mut eta = (k + 1) as f32;
    // Bounded so the log-weights stay finite however long a point mass keeps improving.
    let eta_max = 1e6 * eta;
    let mut last_e = cert.exploitability;
    let mut polished = [0.0f32; N];
    // The polish's Newton system, zeroed at the first polish and kept across the others.
    let mut system: Option<[f32; SYS * SYS]> = None;
    // The best iterate of the dynamics itself (not of a polish, which may have settled on a
    // wrong support), with its shares and exploitability: the support guesses read it.
    let mut lead = [0.0f32; N];
    let mut lead_g = [0.0f32; N];
    let mut lead_e = cert.exploitability;
    let mut recent = [lead_e; (EARLY_POLISH / 2) as usize];
    let mut polished_yet = false;
    if let (Some(l), Some(lg)) = (lead.get_mut(..n), lead_g.get_mut(..n)) {
        l.copy_from_slice(pi);
        lg.copy_from_slice(g);
    }
    // Running mean of the iterates: at k = 1 it identifies the support better than the last one.
    let mut mean = [0.0f32; N];
    if let Some(m) = mean.get_mut(..n) {
        m.copy_from_slice(pi);
    }
    g_prev.copy_from_slice(g);
    // The dynamics steer by `f32` estimates (`best`); what is deployed is snapped to the grid
    // and certified (`certified`). Should the certificate miss `epsilon` where the estimate met
    // it, the dynamics go on with a tighter target, at most `RECERTIFY` times.
    let mut target = opts.epsilon;
    let mut certified: Option<Certificate> = None;
    let mut deployed = [0.0f32; N];
    let mut retries = RECERTIFY;
    loop {
        while best.exploitability > target && iterations < opts.max_iter {
            for ((l, &gt), &gp) in logits.iter_mut().zip(g.iter()).zip(g_prev.iter()) {
                *l += eta * (2.0 * gt - gp);
            }
            softmax(logits, pi);
            g_prev.copy_from_slice(g);
            pop.shares_into(pi, k, g);
            iterations += 1;
            cert = Certificate::estimate(g, k)?;
            let w = 1.0 / iterations as f32;
            for (a, &p) in mean.iter_mut().zip(pi.iter()) {
                *a += w * (p - *a);
            }
            if cert.exploitability < best.exploitability {
                best = cert;
                policy.copy_from_slice(pi);
            }
            if cert.exploitability < lead_e {
                lead_e = cert.exploitability;
                if let (Some(l), Some(lg)) = (lead.get_mut(..n), lead_g.get_mut(..n)) {
                    l.copy_from_slice(pi);
                    lg.copy_from_slice(g);
                }
            }
            eta *= if cert.exploitability <= last_e {
                1.05
            } else if cert.exploitability > 2.0 * last_e {
                0.5
            } else {
                1.0
            };
            if eta > eta_max {
                eta = eta_max;
            }
            last_e = cert.exploitability;
            // `lead_e` of `EARLY_POLISH / 2` rounds ago, for the rate `slow` extrapolates.
            let slot = (iterations % (EARLY_POLISH / 2)) as usize;
            let before = recent.get(slot).copied().unwrap_or(lead_e);
            if let Some(r) = recent.get_mut(slot) {
                *r = lead_e;
            }
            let due = (iterations.is_power_of_two() && iterations > EARLY_POLISH)
                || (!polished_yet
                    && (EARLY_POLISH..2 * EARLY_POLISH).contains(&iterations)
                    && slow(before, lead_e, target));
            polished_yet |= due;
            if due && best.exploitability > target {
                // The running mean is a policy too: certify it (one evaluation). Only at k = 1,
                // where the iterates cycle around the equilibrium and their mean converges; at
                // k >= 2 the last iterates lead and the mean lags (`solver_grid`: 105 instances
                // take 2817 evaluations certifying it at every k, 2741 without at k >= 2; session 3).
                if k == 1
                    && iterations < opts.max_iter
                    && let Some(m) = mean.get(..n)
                {
                    pop.shares_into(m, k, scratch);
                    iterations = iterations.saturating_add(1);
                    let c = Certificate::estimate(scratch, k)?;
                    if c.exploitability < best.exploitability {
                        best = c;
                        policy.copy_from_slice(m);
                    }
                }
                // Guesses often name the same support: try each support once.
                let mut tried = [([0u16; POLISH_MAX], 0usize); POLISH_GUESSES.len()];
                let mut n_tried = 0usize;
                for guess in POLISH_GUESSES {
                    let (from, found): (&[f32], _) = match guess {
                        Guess::Shares => {
                            let floor = 1.0 / (k + 1) as f32 - lead_e;
                            (&lead, support_where(&lead_g, n, |x| x >= floor))
                        }
                        Guess::Mass { mean: true, share } => {
                            (&mean, support_guess(&mean, n, share))
                        }
                        Guess::Mass { mean: false, share } => {
                            (&lead, support_guess(&lead, n, share))
                        }
                    };
                    let Some((support, s)) = found else {
                        continue;
                    };
                    let same = |t: &([u16; POLISH_MAX], usize)| {
                        t.1 == s && t.0.get(..s) == support.get(..s)
                    };
                    if tried.iter().take(n_tried).any(same) {
                        continue;
                    }
                    if let Some(slot) = tried.get_mut(n_tried) {
                        *slot = (support, s);
                        n_tried += 1;
                    }
                    // The polish may spend what is left of `max_iter`, no more.
                    let left = opts.max_iter.saturating_sub(iterations);
                    if left == 0 {
                        break;
                    }
                    let budget = SolveOptions {
                        max_iter: left,
                        epsilon: target,
                        ..*opts
                    };
                    if system.is_none() {
                        system = Some([0.0; SYS * SYS]);
                    }
                    let Some(sys) = system.as_mut() else {
                        break;
                    };
                    let initial = support.get(..s).unwrap_or(&[]);
                    let (cand, evals) =
                        polish(pop, &budget, from, initial, &mut polished, scratch, sys);
                    iterations = iterations.saturating_add(evals);
                    if cand.exploitability < best.exploitability {
                        best = cand;
                        if let Some(p) = polished.get(..n) {
                            policy.copy_from_slice(p);
                        }
                    }
                    if best.exploitability <= target {
                        break;
                    }
                }
            }
        }
        // Certify what would be deployed: the best iterate, snapped to the grid.
        let mut candidate = [0.0f32; N];
        let cand = candidate.get_mut(..n).unwrap_or(&mut []);
        cand.copy_from_slice(policy);
        snap::<N>(cand)?;
        let c = certify(&pop.population(), cand, k)?;
        if certified.is_none_or(|d| c.exploitability < d.exploitability) {
            certified = Some(c);
            deployed = candidate;
        }
        let met = certified.is_some_and(|d| d.exploitability <= opts.epsilon);
        if met || iterations >= opts.max_iter || retries == 0 || best.exploitability <= 0.0 {
            break;
        }
        retries -= 1;
        target = best.exploitability * 0.5;
    }
    let certificate = certified.unwrap_or_else(|| Certificate::worst(k));
    for (p, &d) in policy.iter_mut().zip(deployed.iter()) {
        *p = d;
    }
    Ok(Solution {
        iterations,
        converged: certificate.exploitability <= opts.epsilon,
        certificate,
    })
}

/// The NLHF baseline: the `k = 1` equilibrium (the maximal lottery of the margin matrix),
/// solved by [`optimistic_hedge`] with `k = 1`. Certify what sampling it `k` times guarantees
/// with [`crate::certificate::certify`] at that `k`.
pub fn nlhf<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    epsilon: f32,
    max_iter: u32,
    policy: &mut [f32],
) -> Result<Solution, Error> {
    let opts = SolveOptions {
        k: 1,
        epsilon,
        max_iter,
    };
    optimistic_hedge::<N, O>(pop, &opts, policy)
}

/// NLHF through the margin matrix: the exact maximal lottery of `A` by the simplex method (a few
/// pivots of `O(n^2)` each; `work` holds its `(n + 1)^2` tableau), certified through the
/// population, so the certificate comes from the same route as
/// [`crate::certificate::certify`]. Should that certificate miss `epsilon` (rounding to `f32`) or
/// the simplex not finish in `max_iter` pivots, [`optimistic_hedge`] at `k = 1` on `margins`
/// takes over with what is left of `max_iter`, and the better certified of the two policies is
/// deployed. `iterations` counts pivots and share evaluations, at most `max_iter` in all.
///
/// ```
/// use ualign::{Population, Storage, margins::Margins, solver::nlhf_margins};
/// // A Condorcet cycle: a > b > c, b > c > a, c > a > b. The maximal lottery is uniform.
/// let (mut w, mut o) = ([0.0f32; 3], [0u16; 9]);
/// let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o))?;
/// b.push_ranking(1.0, [[0], [1], [2]])?;
/// b.push_ranking(1.0, [[1], [2], [0]])?;
/// b.push_ranking(1.0, [[2], [0], [1]])?;
/// let (mut buf, mut work) = ([0.0f64; 9], [0.0f64; 16]);
/// let margins = Margins::new(b.finish()?, &mut buf)?;
/// let mut pi = [0.0f32; 3];
/// let sol = nlhf_margins(&margins, 1e-6, 100, &mut pi, &mut work)?;
/// assert!(sol.converged && pi.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-6));
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidEpsilon`], [`Error::LengthMismatch`], [`Error::BufferTooSmall`] when
/// `work` holds fewer than `(n + 1)^2` values.
pub fn nlhf_margins<const N: usize>(
    margins: &Margins<'_, N>,
    epsilon: f32,
    max_iter: u32,
    policy: &mut [f32],
    work: &mut [f64],
) -> Result<Solution, Error> {
    SolveOptions::new(1).epsilon(epsilon).check()?;
    let pop = margins.population();
    let n = pop.n();
    check_len(policy.len(), n)?;
    let (pivots, solved) =
        crate::simplex::maximal_lottery::<N>(margins.matrix(), n, work, policy, max_iter)?;
    let mut exact = None;
    if solved {
        snap::<N>(policy)?;
        let certificate = crate::certificate::certify(pop, policy, 1)?;
        if certificate.exploitability <= epsilon {
            return Ok(Solution {
                iterations: pivots,
                converged: true,
                certificate,
            });
        }
        // Kept in case the dynamics end further from the target.
        let mut kept = [0.0f32; N];
        for (k, &p) in kept.iter_mut().zip(policy.iter()) {
            *k = p;
        }
        exact = Some((kept, certificate));
    }
    let left = max_iter.saturating_sub(pivots);
    let dynamics = if left > 0 {
        nlhf::<N, _>(margins, epsilon, left, policy)?.iterations
    } else {
        // No budget left: the uniform policy, certified like any other.
        for p in policy.iter_mut() {
            *p = 1.0;
        }
        snap::<N>(policy)?;
        0
    };
    let mut certificate = crate::certificate::certify(pop, policy, 1)?;
    if let Some((kept, c)) = exact
        && c.exploitability < certificate.exploitability
    {
        for (p, &k) in policy.iter_mut().zip(kept.iter()) {
            *p = k;
        }
        certificate = c;
    }
    Ok(Solution {
        iterations: dynamics.saturating_add(pivots),
        converged: certificate.exploitability <= epsilon,
        certificate,
    })
}

/// Plain Hedge with its time-mixture certificate (docs/maths.md §4).
#[derive(Clone, Copy, Debug)]
pub struct HedgeSolution<'b> {
    /// The iterates, the deployed object.
    pub mixture: TimeMixture<'b>,
    /// Rounds, convergence, and the exact certificate of the mixture:
    /// exploitability `max_y mean_t g_t(y) - 1/(k+1) = Regret_T / T`.
    pub solution: Solution,
    /// The a-priori bound `sqrt(ln n / (2T))` on `Regret_T / T` for the horizon used.
    pub regret_bound: f32,
}

/// Hedge (multiplicative weights) from uniform with `eta = sqrt(8 ln n / T)`, keeping every
/// iterate in `iterates` (row `t` holds `pi_{t+1}`). The horizon `T` is
/// `min(max_iter, iterates.len() / n)`; it stops early once the mixture's exact exploitability
/// is at most `epsilon`.
///
/// Errors: [`Error::InvalidK`], [`Error::InvalidEpsilon`], [`Error::BufferTooSmall`] when
/// `iterates` cannot hold one round.
pub fn hedge<'b, const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    iterates: &'b mut [f32],
) -> Result<HedgeSolution<'b>, Error> {
    opts.check()?;
    let n = pop.n();
    let horizon = (iterates.len() / n).min(opts.max_iter as usize);
    if horizon == 0 {
        return Err(Error::BufferTooSmall {
            needed: n,
            found: iterates.len(),
        });
    }
    let k = opts.k;
    let eta = float::sqrt(8.0 * float::ln(n as f32) / horizon as f32);
    let fair = 1.0 / (k + 1) as f64;
    let mut logits = [0.0f32; N];
    let mut g = [0.0f32; N];
    let mut sum = [0.0f64; N];
    let (logits, g, sum) = (
        logits
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        g.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        sum.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
    );
    let mut rounds = 0usize;
    let mut best = (f64::INFINITY, 0usize);
    for row in iterates.chunks_exact_mut(n).take(horizon) {
        softmax(logits, row);
        pop.shares_into(row, k, g);
        rounds += 1;
        best = (f64::NEG_INFINITY, 0);
        for (y, (s, &gy)) in sum.iter_mut().zip(g.iter()).enumerate() {
            *s += gy as f64;
            if *s > best.0 {
                best = (*s, y);
            }
        }
        let e = best.0 / rounds as f64 - fair;
        if e <= opts.epsilon as f64 {
            break;
        }
        for (l, &gy) in logits.iter_mut().zip(g.iter()) {
            *l += eta * gy;
        }
    }
    let _ = best;
    let iterates: &'b [f32] = iterates;
    let kept = iterates.get(..rounds * n).unwrap_or(&[]);
    let certificate = crate::certificate::certify_mixture(&pop.population(), kept, k)?;
    Ok(HedgeSolution {
        mixture: TimeMixture::new(iterates.get(..rounds * n).unwrap_or(&[]), n),
        solution: Solution {
            iterations: rounds as u32,
            converged: certificate.exploitability <= opts.epsilon,
            certificate,
        },
        regret_bound: float::sqrt(float::ln(n as f32) / (2.0 * horizon as f32)),
    })
}

/// `pi = softmax(logits)`, shifting the logits so their maximum is 0 (keeps them bounded over
/// many rounds without changing the policy).
fn softmax(logits: &mut [f32], pi: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for &l in logits.iter() {
        if l > max {
            max = l;
        }
    }
    let mut z = 0.0f32;
    for (l, p) in logits.iter_mut().zip(pi.iter_mut()) {
        *l -= max;
        *p = float::exp(*l);
        z += *p;
    }
    for p in pi.iter_mut() {
        *p /= z;
    }
}

/// The largest support the Newton polish handles (its Jacobian lives on the stack): the
/// Jacobian's own limit, [`crate::share::SUPPORT_MAX`].
pub use crate::share::SUPPORT_MAX as POLISH_MAX;
const SYS: usize = POLISH_MAX + 1;
/// From this round to `2 * EARLY_POLISH - 1`, the first polish comes at the first round where
/// the dynamics are [`slow`]; from round `2 * EARLY_POLISH` on, at every power of two. (Checking
/// every round rather than round 8 alone: the firmware's (16, 16, 4) bench instance slows down at
/// round 11 and took 22 evaluations, now 16; the `solver_grid` totals do not change.)
const EARLY_POLISH: u32 = 8;

/// Whether the dynamics, having gone from exploitability `before` to `now` over the last
/// `EARLY_POLISH / 2` rounds, would need more than `EARLY_POLISH` further rounds at that rate to
/// reach `epsilon`: then an early polish (a few Jacobians, each worth several share evaluations)
/// is worth its cost; otherwise the dynamics finish first, as they do on small, easy instances.
fn slow(before: f32, now: f32, epsilon: f32) -> bool {
    if !(now > 0.0 && before > now) {
        return true; // no progress to extrapolate
    }
    let rounds =
        (EARLY_POLISH / 2) as f32 * float::ln(epsilon.max(1e-30) / now) / float::ln(now / before);
    rounds > EARLY_POLISH as f32
}

/// A support guess of the polish.
#[derive(Clone, Copy)]
enum Guess {
    /// The candidates whose share under the deployed policy is at least `1/(k+1) - e` (`e` its
    /// exploitability, so the best reply's share is `1/(k+1) + e`). At an equilibrium the support
    /// is where the shares are highest (all equal `1/(k+1)`); near one, the shares rank the
    /// candidates before the masses have grown, and the band errs on the side of a superset,
    /// which Newton trims by dropping the masses that turn negative.
    Shares,
    /// The candidates holding more than `share` times the largest mass of the deployed policy
    /// (`mean: false`) or of the running mean.
    Mass { mean: bool, share: f32 },
}

/// Support guesses tried by the polish, in order; a support already tried is skipped. Shares
/// first (`solver_grid`, when this order was chosen: 105 instances to `1e-4` took 2639
/// evaluations and 513 Jacobians, against 2741 and 599 with the `1e-3` mass guess first; the firmware's (16, 16, 4) instance 2 Jacobians
/// instead of 4). A wider band (`2e` to `4e`) or the union with the mass guess did worse on the
/// grid or on the bench sizes.
const POLISH_GUESSES: [Guess; 6] = [
    Guess::Shares,
    Guess::Mass {
        mean: false,
        share: 1e-3,
    },
    Guess::Mass {
        mean: false,
        share: 3e-2,
    },
    Guess::Mass {
        mean: false,
        share: 3e-1,
    },
    Guess::Mass {
        mean: true,
        share: 1e-2,
    },
    Guess::Mass {
        mean: true,
        share: 1e-1,
    },
];

/// Newton steps per polish attempt. Newton converges quadratically once the support is right, and
/// the shares are `f32`, so a few steps reach the residual floor.
const NEWTON_STEPS: usize = 8;
/// Residual (max over the support of `|g(y) - v|`) below which Newton stops: the `f32` floor.
const NEWTON_TOL: f64 = 1e-7;

/// The candidates `y < n` whose `values[y]` passes `keep`, or `None` when there are none or more
/// than [`POLISH_MAX`]: a support guess.
fn support_where(
    values: &[f32],
    n: usize,
    keep: impl Fn(f32) -> bool,
) -> Option<([u16; POLISH_MAX], usize)> {
    let mut support = [0u16; POLISH_MAX];
    let mut s = 0usize;
    for (y, &x) in values.iter().enumerate().take(n) {
        if keep(x) {
            *support.get_mut(s)? = y as u16;
            s += 1;
        }
    }
    (s > 0).then_some((support, s))
}

/// The candidates of `pi[..n]` holding more than `threshold` times the largest mass.
fn support_guess(pi: &[f32], n: usize, threshold: f32) -> Option<([u16; POLISH_MAX], usize)> {
    let max = pi
        .iter()
        .take(n)
        .fold(0.0f32, |m, &p| if p > m { p } else { m });
    support_where(pi, n, |p| p > threshold * max)
}

/// Newton on the indifference conditions `g(y) = v` over the support `initial`, from the masses
/// of `pi` there. Every step's policy is estimated in `f32` (that evaluation is also the step's
/// residual); the best policy is written into `out` and its estimate returned, with the
/// number of share evaluations spent, at most `opts.max_iter`. It stops as soon as a step is
/// estimated at `opts.epsilon`: a further step costs a Jacobian, several share evaluations'
/// worth. `scratch` holds `n` floats; `sys` is the Newton system's storage, kept by the caller.
fn polish<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    pi: &[f32],
    initial: &[u16],
    out: &mut [f32; N],
    scratch: &mut [f32],
    sys: &mut [f32; SYS * SYS],
) -> (Certificate, u32) {
    let k = opts.k;
    let n = pop.n().min(N).min(pi.len());
    let mut best = Certificate::worst(k);
    let mut support = [0u16; POLISH_MAX];
    let mut s = 0usize;
    for (slot, &y) in support.iter_mut().zip(initial) {
        *slot = y;
        s += 1;
    }
    let mut x = [0.0f64; POLISH_MAX];
    let mut total = 0.0f64;
    for (xi, &y) in x.iter_mut().zip(support.iter()).take(s) {
        *xi = pi.get(y as usize).copied().unwrap_or(0.0) as f64;
        total += *xi;
    }
    if s == 0 || total <= 0.0 {
        return (best, 0);
    }
    for xi in x.iter_mut().take(s) {
        *xi /= total;
    }
    let g = scratch;
    let mut cur = [0.0f32; N];
    let mut v = 0.0f64;
    let mut evals = 0u32;
    let mut prev_res = f64::INFINITY;
    let mut stale = 0u32;
    // The system is f32, like the Jacobian: its entries carry the shares' f32 rounding anyway,
    // and since every step recomputes the exact residual, an f32 solve (relative error about
    // cond * 6e-8) only turns Newton's quadratic convergence into a fast linear one. A
    // Cortex-M4F has f32 in hardware and f64 in software (an f64 elimination was 15% of a
    // (16, 16, 4) rerank), and the f32 system is 9.6 KiB of its stack instead of 19.2 KiB.
    // The caller keeps it across polishes (`sys`): zeroing it is a few percent of a Cortex-M4F
    // solve, and every step zeroes the part it uses.
    let mut rhs = [0.0f64; SYS];
    let mut b32 = [0.0f32; SYS];
    let steps = NEWTON_STEPS.min(opts.max_iter as usize);
    for step in 0..steps {
        fill(
            &mut cur,
            support.get(..s).unwrap_or(&[]),
            x.get(..s).unwrap_or(&[]),
        );
        let policy = cur.get(..n).unwrap_or(&[]);
        pop.shares_into(policy, k, g);
        evals += 1;
        stale += 1;
        if let Ok(c) = Certificate::estimate(g.get(..n).unwrap_or(&[]), k)
            && c.exploitability < best.exploitability
        {
            best = c;
            stale = 0;
            if let Some(o) = out.get_mut(..n) {
                o.copy_from_slice(policy);
            }
        }
        // The share of support member `i` (the support is passed in: it may grow below).
        let share = |support: &[u16; POLISH_MAX], i: usize| {
            support
                .get(i)
                .and_then(|&y| g.get(y as usize))
                .copied()
                .unwrap_or(0.0) as f64
        };
        if step == 0 {
            v = (0..s).map(|i| share(&support, i)).sum::<f64>() / s as f64;
        }
        let res = (0..s).fold(0.0f64, |res, i| {
            let r = share(&support, i) - v;
            res.max(if r < 0.0 { -r } else { r })
        });
        // Candidates outside the support that beat the value by more than the residual inside:
        // the support misses them, which no Newton step can fix, so they join with mass 0 (and
        // leave again if their mass turns negative). A support that would outgrow
        // [`POLISH_MAX`] was a wrong guess: the attempt ends. (`cargo run --release -p
        // ualign-benches --example solver_grid`: its 105 instances to 1e-4 took 2741 share
        // evaluations, 3077 when only the most violated candidate entered per step; session 3.)
        let bar = 2.0 * res.max(NEWTON_TOL);
        match add_missing(g, n, v, bar, &mut support, &mut x, s) {
            Some(grown) if grown > s => {
                let old = s;
                s = grown;
                prev_res = f64::INFINITY;
                // The guess missed members that hold mass in `pi`: start again from `pi`'s
                // masses on the grown support (one evaluation), not from a policy without them
                // (a Jacobian at a poor point, then another).
                if step == 0 {
                    let mut added = 0.0f64;
                    for i in old..s {
                        let y = support.get(i).copied().unwrap_or(0) as usize;
                        let p = pi.get(y).copied().unwrap_or(0.0) as f64;
                        if let Some(xi) = x.get_mut(i) {
                            *xi = p;
                        }
                        added += p;
                    }
                    if added > 0.0 {
                        let t: f64 = x.iter().take(s).sum();
                        for xi in x.iter_mut().take(s) {
                            *xi /= t;
                        }
                        continue;
                    }
                }
            }
            Some(_) => {}
            None => break,
        }
        // Residuals, over the support as it now is.
        let mut res = 0.0f64;
        for i in 0..s {
            let r = share(&support, i) - v;
            if let Some(slot) = rhs.get_mut(i) {
                *slot = -r;
            }
            res = res.max(if r < 0.0 { -r } else { r });
        }
        let sum: f64 = x.iter().take(s).sum();
        if let Some(slot) = rhs.get_mut(s) {
            *slot = 1.0 - sum;
        }
        // Stop at the target or the floor, when Newton stalls or two steps in a row certify
        // nothing better (a wrong support, or one cycling through additions and drops), or with
        // no step left.
        if best.exploitability <= opts.epsilon
            || res < NEWTON_TOL
            || (step >= 1 && res > 0.5 * prev_res)
            || stale >= 2
            || step + 1 == steps
        {
            break;
        }
        prev_res = res;
        let m = s + 1;
        for j in sys.iter_mut().take(m * m) {
            *j = 0.0;
        }
        pop.jacobian_into(
            policy,
            k,
            support.get(..s).unwrap_or(&[]),
            m,
            sys.get_mut(..m * m).unwrap_or(&mut []),
        );
        for r in 0..m {
            for c in s..m {
                let val = if r < s {
                    -1.0 // d(g - v)/dv
                } else {
                    0.0
                };
                if let Some(slot) = sys.get_mut(r * m + c) {
                    *slot = val;
                }
            }
        }
        for c in 0..s {
            if let Some(slot) = sys.get_mut(s * m + c) {
                *slot = 1.0; // d(sum x)/dx
            }
        }
        let (Some(a), Some(b), Some(b32)) =
            (sys.get_mut(..m * m), rhs.get_mut(..m), b32.get_mut(..m))
        else {
            break;
        };
        for (d, &x) in b32.iter_mut().zip(b.iter()) {
            *d = x as f32;
        }
        if !solve(a, b32, m) {
            break;
        }
        for (d, &x) in b.iter_mut().zip(b32.iter()) {
            *d = x as f64;
        }
        let mut negative = false;
        for i in 0..s {
            if let (Some(xi), Some(&d)) = (x.get_mut(i), rhs.get(i)) {
                *xi += d;
                negative |= *xi <= 0.0;
            }
        }
        v += rhs.get(s).copied().unwrap_or(0.0);
        if negative {
            // Drop candidates whose mass left the simplex; renormalise the rest.
            let mut kept = 0usize;
            for i in 0..s {
                let xi = x.get(i).copied().unwrap_or(0.0);
                if xi > 0.0 {
                    let y = support.get(i).copied().unwrap_or(0);
                    if let (Some(sx), Some(sy)) = (x.get_mut(kept), support.get_mut(kept)) {
                        *sx = xi;
                        *sy = y;
                    }
                    kept += 1;
                }
            }
            s = kept;
            if s == 0 {
                break;
            }
            let t: f64 = x.iter().take(s).sum();
            for xi in x.iter_mut().take(s) {
                *xi /= t;
            }
            // The residual of a smaller support is not comparable: restart the stall test.
            prev_res = f64::INFINITY;
        }
    }
    (best, evals)
}

/// Appends to `support[..s]` (mass 0 in `x`) every other candidate `y < n` with
/// `g(y) - v > bar`, and returns the new size; `None` when they do not fit in [`POLISH_MAX`].
fn add_missing(
    g: &[f32],
    n: usize,
    v: f64,
    bar: f64,
    support: &mut [u16; POLISH_MAX],
    x: &mut [f64; POLISH_MAX],
    s: usize,
) -> Option<usize> {
    let mut size = s;
    for (y, &gy) in g.iter().enumerate().take(n) {
        if gy as f64 - v > bar && !support.iter().take(s).any(|&z| z as usize == y) {
            *support.get_mut(size)? = y as u16;
            *x.get_mut(size)? = 0.0;
            size += 1;
        }
    }
    Some(size)
}

/// `out` = the policy with mass `x[i]` on `support[i]` (negative masses clipped, then
/// renormalised), zero elsewhere.
fn fill(out: &mut [f32], support: &[u16], x: &[f64]) {
    for o in out.iter_mut() {
        *o = 0.0;
    }
    let mut t = 0.0f64;
    for &xi in x {
        t += if xi > 0.0 { xi } else { 0.0 };
    }
    if t <= 0.0 {
        return;
    }
    for (&y, &xi) in support.iter().zip(x) {
        if let Some(o) = out.get_mut(y as usize) {
            *o = if xi > 0.0 { (xi / t) as f32 } else { 0.0 };
        }
    }
}

/// Solves `a x = b` in place (`a` is `m x m` row-major, `b` becomes `x`) by Gaussian
/// elimination with partial pivoting. `false` when the matrix is singular to working precision.
fn solve(a: &mut [f32], b: &mut [f32], m: usize) -> bool {
    for col in 0..m {
        let mut piv = col;
        let mut best = 0.0f32;
        for r in col..m {
            let v = a.get(r * m + col).copied().unwrap_or(0.0);
            let v = if v < 0.0 { -v } else { v };
            if v > best {
                best = v;
                piv = r;
            }
        }
        if best < 1e-9 {
            return false;
        }
        if piv != col {
            for c in 0..m {
                let (i, j) = (piv * m + c, col * m + c);
                if i < a.len() && j < a.len() {
                    a.swap(i, j);
                }
            }
            if piv < b.len() && col < b.len() {
                b.swap(piv, col);
            }
        }
        let d = a.get(col * m + col).copied().unwrap_or(1.0);
        for r in col + 1..m {
            let f = a.get(r * m + col).copied().unwrap_or(0.0) / d;
            if f == 0.0 {
                continue;
            }
            for c in col..m {
                let top = a.get(col * m + c).copied().unwrap_or(0.0);
                if let Some(x) = a.get_mut(r * m + c) {
                    *x -= f * top;
                }
            }
            let top = b.get(col).copied().unwrap_or(0.0);
            if let Some(x) = b.get_mut(r) {
                *x -= f * top;
            }
        }
    }
    for col in (0..m).rev() {
        let mut acc = b.get(col).copied().unwrap_or(0.0);
        for c in col + 1..m {
            acc -= a.get(col * m + c).copied().unwrap_or(0.0) * b.get(c).copied().unwrap_or(0.0);
        }
        let d = a.get(col * m + col).copied().unwrap_or(1.0);
        if let Some(x) = b.get_mut(col) {
            *x = acc / d;
        }
    }
    true
}
