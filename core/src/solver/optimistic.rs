//! Optimistic Hedge with a certified last iterate (docs/maths.md §4.3 to §4.5), as a state that
//! steps: [`Optimistic::start`] evaluates the uniform policy (or a warm start, module `warm`),
//! [`Optimistic::step`] runs one round, [`Optimistic::polish_due`] says when to try the extras
//! ([`Optimistic::certify_mean`], [`Optimistic::try_polishes`]), [`Optimistic::run`] repeats
//! them until the target or the budget, and [`Optimistic::solve`] certifies what would be
//! deployed and tightens the target when the certificate misses it.

use super::{
    POLISH_MAX, RECERTIFY, Solution, SolveOptions,
    polish::{Guess, POLISH_GUESSES, SYS, polish, support_guess, support_where},
    softmax::softmax,
    warm::log_weights,
};
use crate::{
    Certificate, Error, certificate::certify_valid, check_len, float, policy::snap,
    scratch::with_scratch, share::Oracle,
};

/// Optimistic Hedge: `pi_{t+1}(y) ∝ pi_t(y) exp(eta_t (2 g_t(y) - g_{t-1}(y)))` from uniform
/// ([`optimistic_hedge_warm`] starts elsewhere), with the adaptive step of the
/// [module docs](crate::solver). Writes the deployed policy (the iterate with the lowest exact
/// exploitability) into `policy` (length `n`).
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
    solve_from::<N, O>(pop, opts, None, policy)
}

/// [`optimistic_hedge`] from a warm start: the dynamics start from `start` (the previous
/// equilibrium of a stream of related requests, say) mixed with the uniform policy
/// ([`WARM_FLOOR`](super::WARM_FLOOR), so that no candidate starts at zero mass) instead of
/// from uniform. Only the path changes: the stopping rule, the snapping and the certificate are
/// those of [`optimistic_hedge`], so `certificate` is exactly
/// [`certify`](crate::certificate::certify) of the policy written into `policy`. A start near
/// the new equilibrium saves evaluations; a start far from it may cost some.
///
/// `start` has `n` finite, non-negative masses with a positive sum (normalised here; a policy
/// a solver deployed sums to 1). `start` and `policy` are separate buffers: to chain solves,
/// copy the policy into the start or swap the two.
///
/// ```
/// use ualign::{Population, Storage, certificate::certify, solver::{optimistic_hedge,
///     optimistic_hedge_warm, SolveOptions}};
/// // docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
/// let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
/// let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o))?;
/// b.push_ranking(0.6, [[0], [2], [1]])?;
/// b.push_ranking(0.4, [[1], [2], [0]])?;
/// let pop = b.finish()?;
/// let opts = SolveOptions::new(2).epsilon(1e-5);
/// let mut cold = [0.0f32; 3];
/// let first = optimistic_hedge(&pop, &opts, &mut cold)?;
/// // The next request of the stream starts from this one's equilibrium.
/// let mut warm = [0.0f32; 3];
/// let next = optimistic_hedge_warm(&pop, &opts, &cold, &mut warm)?;
/// assert!(next.converged && next.iterations <= first.iterations);
/// assert_eq!(next.certificate, certify(&pop, &warm, 2)?);
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: those of [`optimistic_hedge`], [`Error::LengthMismatch`] when `start` has not `n`
/// entries, and [`Error::InvalidPolicy`] when a mass of `start` is negative or not finite or
/// they sum to zero.
pub fn optimistic_hedge_warm<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    start: &[f32],
    policy: &mut [f32],
) -> Result<Solution, Error> {
    solve_from::<N, O>(pop, opts, Some(start), policy)
}

/// [`optimistic_hedge`] from the uniform policy (`start` `None`) or a warm start.
fn solve_from<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    start: Option<&[f32]>,
    policy: &mut [f32],
) -> Result<Solution, Error> {
    opts.check()?;
    check_len(policy.len(), pop.n())?;
    with_scratch!(pop.n(), N, optimistic_in::<N, O>(pop, opts, start, policy))
}

/// [`solve_from`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn optimistic_in<const N: usize, O: Oracle<N> + ?Sized, const C: usize>(
    pop: &O,
    opts: &SolveOptions,
    start: Option<&[f32]>,
    policy: &mut [f32],
) -> Result<Solution, Error> {
    let mut vectors = Vectors::<C>::new();
    let state = Optimistic::<N, C, O>::start(pop, opts, start, policy, &mut vectors)?;
    // The polish's Newton system of `s + 1` unknowns for a support of `s <= min(C, POLISH_MAX)`
    // candidates, zeroed at the first polish and kept across the others (held by the caller of
    // `solve`, not in the state, so that starting the state never moves it). Scratch of 3 to
    // `POLISH_MAX` candidates holds it in `2 C^2 >= (C + 1)^2` floats (2 KiB for 16 candidates,
    // where the largest system is 9.4 KiB: what lets the solver run in 16 KiB of RAM), and so
    // does storage for [`TINY_SYSTEM`] candidates when there are no more: the first polish
    // zeroes 2 KiB instead of 8 KiB for the host's smallest scratch class, 3% of a (16, 8, 4)
    // solve. Each storage lives in a function of its own, so only the one used takes stack.
    if 3 <= C && C <= POLISH_MAX {
        if C > TINY_SYSTEM && state.n <= TINY_SYSTEM {
            solve_small_system::<N, C, O, TINY_SYSTEM>(state)
        } else {
            solve_small_system::<N, C, O, C>(state)
        }
    } else {
        solve_large_system(state)
    }
}

/// The candidates of the smallest Newton system storage.
const TINY_SYSTEM: usize = 16;

/// `state` solved with the Newton system in `2 S^2` floats, for at most `S` candidates.
fn solve_small_system<const N: usize, const C: usize, O: Oracle<N> + ?Sized, const S: usize>(
    state: Optimistic<'_, N, C, O>,
) -> Result<Solution, Error> {
    let mut system: Option<[[[f32; S]; S]; 2]> = None;
    state.solve(&mut system)
}

fn solve_large_system<const N: usize, const C: usize, O: Oracle<N> + ?Sized>(
    state: Optimistic<'_, N, C, O>,
) -> Result<Solution, Error> {
    let mut system: Option<[f32; SYS * SYS]> = None;
    state.solve(&mut system)
}

/// Storage for the polish's Newton system: zeroed when first used, then kept across polishes
/// (every Newton step zeroes the part it uses, `(s + 1)^2` floats at stride `s + 1`).
trait System {
    fn storage(&mut self) -> &mut [f32];
}

impl System for Option<[f32; SYS * SYS]> {
    fn storage(&mut self) -> &mut [f32] {
        self.get_or_insert_with(|| [0.0; SYS * SYS])
    }
}

impl<const C: usize> System for Option<[[[f32; C]; C]; 2]> {
    fn storage(&mut self) -> &mut [f32] {
        self.get_or_insert_with(|| [[[0.0; C]; C]; 2])
            .as_flattened_mut()
            .as_flattened_mut()
    }
}

/// The largest first step of the dynamics, per `ln n`: where the shares' scale would give more
/// (`k + 1 > 2.25 ln n`), and at `k = 1` (the [module docs](crate::solver) say why).
const START_STEP_PER_LN_N: f32 = 2.25;

/// The first step from uniform: `min(k + 1, 2.25 ln n)` (at `k = 1`, `2.25 ln n`), raised to
/// `1 / e` where that is larger (`e` the start's estimated exploitability), so that the step
/// raises the best reply's log-weight at least 1 above the policy's mean (docs/maths.md §4.3).
/// At `e = 0` no step is taken. (A warm start takes `k + 1`.)
fn first_step(e: f32, n: usize, k: u32) -> f32 {
    let largest = START_STEP_PER_LN_N * float::ln(n.max(2) as f32);
    let scale = (k + 1) as f32;
    let step = if k > 1 && scale < largest {
        scale
    } else {
        largest
    };
    if e * step < 1.0 { 1.0 / e } else { step }
}

/// From this round to `2 * EARLY_POLISH - 1`, the first polish comes at the first round where
/// the dynamics are [`slow`]; from round `2 * EARLY_POLISH` on, at every power of two. (Checking
/// every round rather than round 8 alone: an instance whose dynamics slow down after round 8
/// polishes at its first slow round instead of waiting for round 16; CHANGELOG.md has the
/// figures.)
const EARLY_POLISH: u32 = 8;

/// From this round to `EARLY_POLISH - 1`, a slow round polishes too when the support the shares
/// name has at most [`CHEAP_SUPPORT`] candidates. A small support is typical of small
/// instances, whose dynamics reach it within a few rounds: Newton on it costs a few share
/// evaluations' worth, where waiting for round 8 costs four or more rounds. A larger support
/// this early is still a rough guess, and its Jacobian and factorisation cost more (at 32
/// candidates the first guesses hold about 25 of them) than the rounds they would save.
const FIRST_POLISH: u32 = 4;

/// The largest support an early polish ([`FIRST_POLISH`]) takes on.
const CHEAP_SUPPORT: usize = 8;

/// A round whose estimated exploitability is above `DIVERGED` times the best the dynamics have
/// reached has left that iterate's neighbourhood: the dynamics go back to it with half the step.
const DIVERGED: f32 = 6.0;

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

/// `dst = src` entry by entry over the shorter of the two (they have the same length, `n`; the
/// state cannot tell the optimiser so, and `copy_from_slice` would keep a panic path).
fn copy(dst: &mut [f32], src: &[f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = x;
    }
}

/// `dst[..n] = src[..n]`: the state's vectors hold `N` values of which the first `n` are used,
/// and copying all `N` would cost the capacity, not the instance (4 KiB per vector at the host's
/// 1024 candidates).
fn copy_used<const N: usize>(dst: &mut [f32; N], src: &[f32; N], n: usize) {
    for (d, &x) in dst.iter_mut().zip(src).take(n) {
        *d = x;
    }
}

/// The vectors of one solve, `N` values each, of which the first `n` are used. They live in
/// the frame of [`optimistic_hedge`] and the state borrows them, so that starting the state and
/// handing it on never moves them (at the host's 1024 candidates they are 36 KiB).
struct Vectors<const N: usize> {
    logits: [f32; N],
    /// The current iterate and its shares, and the shares of the one before.
    pi: [f32; N],
    g: [f32; N],
    g_prev: [f32; N],
    /// The mean's certificate and the polish evaluate into this, not into `g_prev`: the next
    /// optimistic step needs `g_prev` as it was.
    scratch: [f32; N],
    /// The best iterate of the dynamics itself (not of a polish, which may have settled on a
    /// wrong support) and its shares: the support guesses read them.
    lead: [f32; N],
    lead_g: [f32; N],
    /// The running mean of the iterates: at `k = 1` it identifies the support better than the
    /// last one.
    mean: [f32; N],
    /// The polish's output.
    polished: [f32; N],
    /// The log-weights of `lead` (after the softmax's shift): where the dynamics go back to
    /// when a round has [`DIVERGED`].
    lead_logits: [f32; N],
}

impl<const N: usize> Vectors<N> {
    fn new() -> Self {
        Vectors {
            logits: [0.0; N],
            pi: [0.0; N],
            g: [0.0; N],
            g_prev: [0.0; N],
            scratch: [0.0; N],
            lead: [0.0; N],
            lead_g: [0.0; N],
            mean: [0.0; N],
            polished: [0.0; N],
            lead_logits: [0.0; N],
        }
    }
}

/// One optimistic Hedge solve in progress.
struct Optimistic<'a, const N: usize, const C: usize, O: Oracle<N> + ?Sized> {
    pop: &'a O,
    opts: SolveOptions,
    n: usize,
    k: u32,
    /// The best policy estimated so far (the caller's buffer); at the end, what is deployed.
    policy: &'a mut [f32],
    /// Its estimated exploitability: the dynamics steer by `f32` estimates, certificates decide.
    best: f32,
    v: &'a mut Vectors<C>,
    /// Share evaluations so far.
    iterations: u32,
    /// The step, bounded by `eta_max` so the log-weights stay finite however long a point mass
    /// keeps improving; `last_e` is the previous round's estimate it adapts to.
    eta: f32,
    eta_max: f32,
    last_e: f32,
    /// The exploitability of `v.lead`.
    lead_e: f32,
    /// `lead_e` of the last `EARLY_POLISH / 2` rounds, for the rate [`slow`] extrapolates, and
    /// the one that the last step replaced (`EARLY_POLISH / 2` rounds old).
    recent: [f32; (EARLY_POLISH / 2) as usize],
    before: f32,
    polished_yet: bool,
    /// Whether the dynamics started from a caller's policy: then [`Optimistic::run`] tries the
    /// polish before the first step.
    warm: bool,
    /// The exploitability the dynamics aim at: `epsilon`, then tighter should a certificate
    /// miss it.
    target: f32,
}

impl<'a, const N: usize, const C: usize, O: Oracle<N> + ?Sized> Optimistic<'a, N, C, O> {
    /// The uniform policy, or the warm start `start` ([`log_weights`]), evaluated once (the
    /// caller checked `opts` and `policy.len() == n`).
    #[inline(always)]
    fn start(
        pop: &'a O,
        opts: &SolveOptions,
        start: Option<&[f32]>,
        policy: &'a mut [f32],
        v: &'a mut Vectors<C>,
    ) -> Result<Self, Error> {
        let n = pop.n();
        if n > N {
            return Err(Error::TooManyCandidates { n, max: N });
        }
        let k = opts.k;
        let mut s = Optimistic {
            pop,
            opts: *opts,
            n,
            k,
            policy,
            best: Certificate::new(k).exploitability,
            v,
            iterations: 1,
            eta: 0.0,
            eta_max: 1e6 * (k + 1) as f32,
            last_e: 0.0,
            lead_e: 0.0,
            recent: [0.0; (EARLY_POLISH / 2) as usize],
            before: 0.0,
            polished_yet: false,
            warm: start.is_some(),
            target: opts.epsilon,
        };
        let (Some(logits), Some(pi), Some(g)) = (
            s.v.logits.get_mut(..n),
            s.v.pi.get_mut(..n),
            s.v.g.get_mut(..n),
        ) else {
            return Err(Error::TooManyCandidates { n, max: N });
        };
        if let Some(start) = start {
            log_weights(start, n, logits)?;
        }
        softmax(logits, pi);
        pop.shares_into(pi, k, g);
        let e = Certificate::estimate(g, k);
        s.eta = if s.warm {
            // Near an equilibrium already: the shares' scale (a larger step overshoots there).
            (k + 1) as f32
        } else {
            first_step(e, n, k).min(s.eta_max)
        };
        copy(s.policy, pi);
        s.best = e;
        s.last_e = e;
        s.lead_e = e;
        s.recent = [s.lead_e; (EARLY_POLISH / 2) as usize];
        copy_used(&mut s.v.lead, &s.v.pi, n);
        copy_used(&mut s.v.lead_g, &s.v.g, n);
        copy_used(&mut s.v.lead_logits, &s.v.logits, n);
        copy_used(&mut s.v.mean, &s.v.pi, n);
        copy_used(&mut s.v.g_prev, &s.v.g, n);
        Ok(s)
    }

    /// One round: `pi_{t+1}(y) ∝ pi_t(y) exp(eta_t (2 g_t(y) - g_{t-1}(y)))`, its shares, the
    /// running mean, the best and lead iterates, and the step's adaptation.
    fn step(&mut self) -> Result<(), Error> {
        let (n, k) = (self.n, self.k);
        let (Some(logits), Some(pi), Some(g), Some(g_prev)) = (
            self.v.logits.get_mut(..n),
            self.v.pi.get_mut(..n),
            self.v.g.get_mut(..n),
            self.v.g_prev.get_mut(..n),
        ) else {
            return Err(Error::TooManyCandidates { n, max: N });
        };
        let eta = self.eta;
        for ((l, &gt), &gp) in logits.iter_mut().zip(g.iter()).zip(g_prev.iter()) {
            *l += eta * (2.0 * gt - gp);
        }
        softmax(logits, pi);
        copy(g_prev, g);
        self.pop.shares_into(pi, k, g);
        self.iterations += 1;
        let e = Certificate::estimate(g, k);
        let w = 1.0 / self.iterations as f32;
        for (a, &p) in self.v.mean.iter_mut().zip(pi.iter()) {
            *a += w * (p - *a);
        }
        if e < self.best {
            self.best = e;
            copy(self.policy, pi);
        }
        if e < self.lead_e {
            self.lead_e = e;
            copy_used(&mut self.v.lead, &self.v.pi, n);
            copy_used(&mut self.v.lead_g, &self.v.g, n);
            copy_used(&mut self.v.lead_logits, &self.v.logits, n);
        }
        if k > 1 && e > DIVERGED * self.lead_e {
            // Gone far from the best iterate of the dynamics: back to it, with half the step
            // (its shares as both the last and the one before: a plain Hedge step from there).
            copy_used(&mut self.v.logits, &self.v.lead_logits, n);
            copy_used(&mut self.v.pi, &self.v.lead, n);
            copy_used(&mut self.v.g, &self.v.lead_g, n);
            copy_used(&mut self.v.g_prev, &self.v.lead_g, n);
            self.eta *= 0.5;
            self.last_e = self.lead_e;
        } else {
            self.eta *= if e <= self.last_e {
                1.05
            } else if e > 2.0 * self.last_e {
                0.5
            } else {
                1.0
            };
            if self.eta > self.eta_max {
                self.eta = self.eta_max;
            }
            self.last_e = e;
        }
        // `lead_e` of `EARLY_POLISH / 2` rounds ago, for the rate `slow` extrapolates.
        let slot = (self.iterations % (EARLY_POLISH / 2)) as usize;
        self.before = self.recent.get(slot).copied().unwrap_or(self.lead_e);
        if let Some(r) = self.recent.get_mut(slot) {
            *r = self.lead_e;
        }
        Ok(())
    }

    /// Whether this round is one to try the extras: at every power of two from round
    /// `2 * EARLY_POLISH` on, and first at any earlier round from `FIRST_POLISH` where the
    /// dynamics are [`slow`] (before `EARLY_POLISH`, only on a support of at most
    /// [`CHEAP_SUPPORT`]); and only while the target is still missed.
    fn polish_due(&mut self) -> bool {
        let it = self.iterations;
        let early = (FIRST_POLISH..EARLY_POLISH).contains(&it);
        let due = (it.is_power_of_two() && it > EARLY_POLISH)
            || (!self.polished_yet
                && (FIRST_POLISH..2 * EARLY_POLISH).contains(&it)
                && slow(self.before, self.lead_e, self.target)
                && (!early || self.shares_guess().is_some_and(|(_, s)| s <= CHEAP_SUPPORT)));
        self.polished_yet |= due;
        due && self.best > self.target
    }

    /// The shares guess ([`Guess::Shares`]): the candidates whose share in the lead iterate is
    /// within its exploitability of the fair share (`None` when there are none, or more than
    /// [`POLISH_MAX`]).
    fn shares_guess(&self) -> Option<([u16; POLISH_MAX], usize)> {
        let floor = 1.0 / (self.k + 1) as f32 - self.lead_e;
        support_where(&self.v.lead_g, self.n, |x| x >= floor)
    }

    /// The running mean is a policy too: certify it (one evaluation). Only at `k = 1`, where the
    /// iterates cycle around the equilibrium and their mean converges; at `k >= 2` the last
    /// iterates lead and the mean lags (`solver_grid`, when this was chosen: 105 instances took
    /// 2817 evaluations certifying it at every `k`, 2741 without at `k >= 2`).
    fn certify_mean(&mut self) -> Result<(), Error> {
        let n = self.n;
        if self.k == 1
            && self.iterations < self.opts.max_iter
            && let (Some(m), Some(scratch)) = (self.v.mean.get(..n), self.v.scratch.get_mut(..n))
        {
            self.pop.shares_into(m, self.k, scratch);
            self.iterations = self.iterations.saturating_add(1);
            let e = Certificate::estimate(scratch, self.k);
            if e < self.best {
                self.best = e;
                copy(self.policy, m);
            }
        }
        Ok(())
    }

    /// The Newton polish on each support guess in turn ([`POLISH_GUESSES`]; guesses often name
    /// the same support: each is tried once), until one meets the target or the budget is
    /// spent. `system` is the Newton system's storage, kept across polishes.
    fn try_polishes(&mut self, system: &mut impl System) {
        let n = self.n;
        let mut tried = [([0u16; POLISH_MAX], 0usize); POLISH_GUESSES.len()];
        let mut n_tried = 0usize;
        for guess in POLISH_GUESSES {
            let (from, found): (&[f32], _) = match guess {
                Guess::Shares => (&self.v.lead, self.shares_guess()),
                Guess::Mass { mean: true, share } => {
                    (&self.v.mean, support_guess(&self.v.mean, n, share))
                }
                Guess::Mass { mean: false, share } => {
                    (&self.v.lead, support_guess(&self.v.lead, n, share))
                }
            };
            let Some((support, s)) = found else {
                continue;
            };
            let same =
                |t: &([u16; POLISH_MAX], usize)| t.1 == s && t.0.get(..s) == support.get(..s);
            if tried.iter().take(n_tried).any(same) {
                continue;
            }
            if let Some(slot) = tried.get_mut(n_tried) {
                *slot = (support, s);
                n_tried += 1;
            }
            // The polish may spend what is left of `max_iter`, no more.
            let left = self.opts.max_iter.saturating_sub(self.iterations);
            if left == 0 {
                break;
            }
            let budget = SolveOptions {
                max_iter: left,
                epsilon: self.target,
                ..self.opts
            };
            let sys = system.storage();
            let initial = support.get(..s).unwrap_or(&[]);
            let scratch = self.v.scratch.get_mut(..n).unwrap_or(&mut []);
            let (cand, evals) = polish(
                self.pop,
                &budget,
                from,
                initial,
                &mut self.v.polished,
                scratch,
                sys,
            );
            self.iterations = self.iterations.saturating_add(evals);
            if cand < self.best {
                self.best = cand;
                if let Some(p) = self.v.polished.get(..n) {
                    copy(self.policy, p);
                }
            }
            if self.best <= self.target {
                break;
            }
        }
    }

    /// Rounds until the best estimate meets the target or `max_iter` evaluations are spent,
    /// with the mean's certificate and (unless turned off) the polish when due. A warm start
    /// tries the polish first, before any step: a start near the new equilibrium names its
    /// support, and Newton lands there in a Jacobian or two where the dynamics would take a
    /// round per constant factor of exploitability (`benches/examples/warm_stream.rs`: one
    /// evaluation fewer per solve than polishing after the first step).
    fn run(&mut self, system: &mut impl System) -> Result<(), Error> {
        if self.warm && self.iterations == 1 && self.opts.polish && self.best > self.target {
            self.try_polishes(system);
        }
        while self.best > self.target && self.iterations < self.opts.max_iter {
            self.step()?;
            if self.polish_due() {
                self.certify_mean()?;
                if self.opts.polish {
                    self.try_polishes(system);
                }
            }
        }
        Ok(())
    }

    /// Runs, then certifies what would be deployed: the best iterate, snapped to the grid.
    /// Should the certificate miss `epsilon` where the estimate met it, the dynamics go on with
    /// half the estimate as their target, at most [`RECERTIFY`] times. The best certified
    /// policy is written into the caller's buffer.
    #[inline(always)]
    fn solve(mut self, system: &mut impl System) -> Result<Solution, Error> {
        let (n, k, epsilon) = (self.n, self.k, self.opts.epsilon);
        let mut certified: Option<Certificate> = None;
        let mut deployed = [0.0f32; C];
        let mut retries = RECERTIFY;
        loop {
            self.run(system)?;
            let mut candidate = [0.0f32; C];
            let cand = candidate.get_mut(..n).unwrap_or(&mut []);
            copy(cand, self.policy);
            snap::<C>(cand)?;
            // Snapped: a valid policy (and `k` was checked at the start).
            let c = certify_valid(&self.pop.population(), cand, k)?;
            if certified.is_none_or(|d| c.exploitability < d.exploitability) {
                certified = Some(c);
                copy_used(&mut deployed, &candidate, n);
            }
            let met = certified.is_some_and(|d| d.exploitability <= epsilon);
            if met || self.iterations >= self.opts.max_iter || retries == 0 || self.best <= 0.0 {
                break;
            }
            retries -= 1;
            self.target = self.best * 0.5;
        }
        let certificate = certified.unwrap_or_else(|| Certificate::new(k));
        for (p, &d) in self.policy.iter_mut().zip(deployed.iter()) {
            *p = d;
        }
        Ok(Solution {
            iterations: self.iterations,
            converged: certificate.exploitability <= epsilon,
            certificate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::first_step;

    /// The first step's cases, at 16 candidates (`2.25 ln 16 = 6.2383246`): the shares' scale
    /// `k + 1` below it, `2.25 ln 16` above it and at `k = 1`, and `1 / e` when the start's
    /// exploitability `e` is smaller than the step's reciprocal (at `e = 0`, no step is taken).
    #[test]
    fn the_first_step() {
        let ln16 = 2.25 * 16f64.ln();
        let close = |x: f32, want: f64| (f64::from(x) - want).abs() < 1e-5 * want;
        assert!(close(first_step(0.3, 16, 4), 5.0));
        assert!(close(first_step(0.4, 16, 2), 3.0));
        assert!(close(first_step(0.3, 16, 2), 1.0 / 0.3));
        assert!(close(first_step(0.3, 16, 16), ln16));
        assert!(close(first_step(0.3, 16, 1), ln16));
        assert!(close(first_step(0.05, 16, 4), 20.0));
        assert!(close(first_step(0.05, 16, 1), 20.0));
        assert!(close(first_step(0.7, 2, 8), 2.25 * 2f64.ln()));
        assert!(first_step(0.0, 16, 4).is_infinite());
    }
}
