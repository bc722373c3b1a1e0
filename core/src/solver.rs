//! Self-play on the simplex (SPEC §4): Hedge with its time-mixture certificate, optimistic Hedge
//! with a certified last iterate, and the NLHF baseline (`k = 1`).
//!
//! Both dynamics use the share `g_t = g(pi_t)` as the payoff vector. Every round computes `g_t`
//! anyway, so the exact exploitability `max_y g_t(y) - 1/(k+1)` of the current iterate costs
//! nothing extra: it drives the adaptive step size and the stopping rule.
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
//!   grows by 5%; after one that raises it, it shrinks by 30%. The step thus settles just below
//!   the largest stable value for the instance, with no tuning by the user (it is capped at
//!   `1e6 (k+1)` so the log-weights stay finite). The policy deployed is
//!   the iterate with the lowest exact exploitability seen, and its certificate is that exact
//!   value.

use crate::{Certificate, Error, check_k, float, share::Oracle};

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
        if !self.epsilon.is_finite() || self.epsilon < 0.0 {
            return Err(Error::InvalidEpsilon);
        }
        Ok(())
    }
}

/// What a solver ran and what it certifies.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Solution {
    /// Share evaluations (rounds) performed.
    pub iterations: u32,
    /// Whether the certified exploitability reached `epsilon`.
    pub converged: bool,
    /// The exact certificate of what is deployed.
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
    if policy.len() != n {
        return Err(Error::LengthMismatch {
            expected: n,
            found: policy.len(),
        });
    }
    let k = opts.k;
    let mut logits = [0.0f32; N];
    let mut pi = [0.0f32; N];
    let mut g = [0.0f32; N];
    let mut g_prev = [0.0f32; N];
    let (logits, pi, g, g_prev) = (
        logits
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
        pi.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
        g.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
        g_prev
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
    );
    softmax(logits, pi);
    pop.shares_into(pi, k, g);
    let mut cert = Certificate::from_shares(g, k)?;
    policy.copy_from_slice(pi);
    let mut best = cert;
    let mut iterations = 1u32;
    let mut eta = (k + 1) as f32;
    // Bounded so the log-weights stay finite however long a point mass keeps improving.
    let eta_max = 1e6 * eta;
    let mut last_e = cert.exploitability;
    g_prev.copy_from_slice(g);
    while best.exploitability > opts.epsilon && iterations < opts.max_iter {
        for ((l, &gt), &gp) in logits.iter_mut().zip(g.iter()).zip(g_prev.iter()) {
            *l += eta * (2.0 * gt - gp);
        }
        softmax(logits, pi);
        g_prev.copy_from_slice(g);
        pop.shares_into(pi, k, g);
        iterations += 1;
        cert = Certificate::from_shares(g, k)?;
        if cert.exploitability < best.exploitability {
            best = cert;
            policy.copy_from_slice(pi);
        }
        eta *= if cert.exploitability <= last_e {
            1.05
        } else {
            0.7
        };
        if eta > eta_max {
            eta = eta_max;
        }
        last_e = cert.exploitability;
    }
    Ok(Solution {
        iterations,
        converged: best.exploitability <= opts.epsilon,
        certificate: best,
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

/// The time mixture of Hedge: draw a round `t` uniformly, then `k` draws from `pi_t`.
#[derive(Clone, Copy, Debug)]
pub struct TimeMixture<'b> {
    iterates: &'b [f32],
    n: usize,
}

impl<'b> TimeMixture<'b> {
    /// Number of rounds kept.
    pub fn rounds(&self) -> usize {
        self.iterates.len().checked_div(self.n).unwrap_or(0)
    }

    /// The policy of round `t` (0-based), `None` past the end.
    pub fn iterate(&self, t: usize) -> Option<&'b [f32]> {
        self.iterates.get(t * self.n..(t + 1) * self.n)
    }

    /// Number of candidates.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// Plain Hedge with its time-mixture certificate (SPEC §4).
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
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
        g.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
        sum.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?,
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
    let certificate = Certificate::new(k, (best.0 / rounds as f64) as f32, best.1);
    let iterates: &'b [f32] = iterates;
    Ok(HedgeSolution {
        mixture: TimeMixture {
            iterates: iterates.get(..rounds * n).unwrap_or(&[]),
            n,
        },
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
