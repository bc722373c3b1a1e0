//! The computations behind the commands: solving, certifying, baselines, the scaling curve.

use serde::Serialize;
use ualign::{
    Certificate,
    certificate::certify,
    margins::Margins,
    share::Oracle,
    solver::{
        Solution, SolveOptions, hedge, nlhf, nlhf_margins, optimistic_hedge, optimistic_hedge_warm,
    },
};

use crate::decimal::{Masses, num, num_down, num_up};
use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Instance, Pop};
use ualign_accel::parallel::{Served, ThreadedOracle};
use ualign_accel::route::{self, Query, Route, Sum, TallyStore, Task};
use ualign_accel::simd::WideStore;

/// The largest number of floats Hedge may keep for its iterates (256 MiB).
pub const MAX_HEDGE_FLOATS: usize = 1 << 26;

/// Self-play method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Optimistic Hedge, last iterate certified exactly.
    Optimistic,
    /// Plain Hedge: the time mixture of its iterates is what is certified and deployed.
    Hedge,
}

impl Method {
    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::Optimistic => "optimistic",
            Method::Hedge => "hedge",
        }
    }
}

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Number of responses shown.
    pub k: u32,
    /// Target exploitability.
    pub eps: f32,
    /// Iteration cap.
    pub max_iter: u32,
    /// Method.
    pub method: Method,
    /// Threads of a share evaluation: 0 means automatic (every CPU of `cores` when the work
    /// pays for them, see [`route::choose`]). The answer does not depend on it.
    pub threads: usize,
    /// The firmware's computation, bit for bit (the population sum, [`Sum::Population`]).
    pub reference: bool,
    /// The CPUs an automatic thread count may use (0: every CPU this process may use).
    pub cores: usize,
}

impl Settings {
    /// Settings for `k` and `method` with the defaults of the command line: `eps` `1e-4`,
    /// `max_iter` 10,000, automatic threads, not the reference.
    pub fn new(k: u32, method: Method) -> Self {
        Settings {
            k,
            eps: 1e-4,
            max_iter: 10_000,
            method,
            threads: 0,
            reference: false,
            cores: 0,
        }
    }

    /// The route query of `task` at `k` on `pop` under these settings.
    pub fn query(&self, task: Task, k: u32, pop: &Pop<'_>) -> Query {
        let mut q = Query::new(task, k, pop, self.reference, self.threads);
        if self.cores > 0 {
            q.cores = self.cores;
        }
        q
    }
}

/// Checks `1 <= k <= ualign::MAX_K`.
pub fn check_k(k: u32) -> Result<()> {
    if k == 0 {
        Err(Error::usage("--k 0: k must be at least 1"))
    } else if k > ualign::MAX_K {
        Err(Error::usage(format!(
            "--k {k}: k must be at most {}",
            ualign::MAX_K
        )))
    } else {
        Ok(())
    }
}

/// Checks the solver options.
pub fn check_settings(s: &Settings) -> Result<()> {
    check_k(s.k)?;
    let floor = ualign::solver::EPSILON_FLOOR;
    if ualign::solver::check_epsilon(s.eps).is_err() {
        return Err(Error::usage(format!(
            "--eps {}: must be 0 (an exact equilibrium) or finite and at least {floor:e}",
            s.eps
        )));
    }
    if s.max_iter == 0 {
        return Err(Error::usage("--max-iter 0: must be at least 1"));
    }
    Ok(())
}

/// A certificate in the output contract.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CertJson {
    /// `1 - max_y g(y)`.
    pub worst_case_win_rate: f64,
    /// `max_y g(y) - 1/(k+1)`.
    pub exploitability: f64,
    /// Name of `argmax_y g(y)`.
    pub worst_opponent: String,
    /// Its index (0-based, input order).
    pub worst_opponent_index: usize,
    /// `k/(k+1)`.
    pub bound: f64,
}

impl CertJson {
    /// From a core certificate.
    pub fn new(c: &Certificate, inst: &Instance) -> Self {
        CertJson {
            worst_case_win_rate: num_down(c.worst_case_win_rate),
            exploitability: num_up(c.exploitability),
            worst_opponent: inst.name(c.worst_opponent),
            worst_opponent_index: c.worst_opponent,
            bound: num_down(c.bound),
        }
    }
}

/// What `solve` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SolveReport<'a> {
    /// Input line (batch only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Responses shown.
    pub k: u32,
    /// Candidates.
    pub n: usize,
    /// User types (after merging identical orders).
    pub m: usize,
    /// Candidate names (the instance's).
    pub candidates: &'a [String],
    /// The policy, in input order, as the exact decimals of its masses. For Hedge: the average
    /// of the iterates (not certified).
    pub policy: Masses,
    /// Share evaluations; at `k = 1` through the margin matrix, simplex pivots (plus the
    /// evaluations of the dynamics, should the simplex's policy miss `--eps`).
    pub iterations: u32,
    /// `optimistic` or `hedge`.
    pub method: &'static str,
    /// How the shares were summed: `margins`, `tally` or `population` (see [`route`]); this
    /// alone decides the bits of the answer.
    pub route: &'static str,
    /// The vector level of the population sum: `avx512`, `avx2` or `baseline` (the same bits).
    pub vector: &'static str,
    /// Threads of a share evaluation (the same bits for any number).
    pub threads: usize,
    /// Whether the certified exploitability reached `--eps`.
    pub converged: bool,
    /// `batch --warm` only: whether the solve started from the previous line's policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warm: Option<bool>,
    /// Hedge only: rounds kept in the time mixture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// What the certificate covers: `policy` (k draws from `policy`) or `time_mixture`.
    pub deployed: &'static str,
    /// Hedge only: the a-priori bound `sqrt(ln n / (2T))` on the mixture's exploitability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regret_bound: Option<f64>,
    /// Hedge only: the exact certificate of `k` draws from the averaged `policy` (for
    /// information; it carries no guarantee from the regret argument).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_policy_certificate: Option<CertJson>,
    /// The certificate of what is deployed.
    pub certificate: CertJson,
}

/// Internal error from a core error that validated input should never produce.
fn core(e: ualign::Error) -> Error {
    Error::internal(e)
}

/// A solved policy with its certificate.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The policy (for Hedge, the average of the iterates).
    pub policy: Vec<f32>,
    /// The certificate of what is deployed.
    pub certificate: Certificate,
    /// Share evaluations (pivots at `k = 1` through the margin matrix, see [`SolveReport`]).
    pub iterations: u32,
    /// Converged to `eps`.
    pub converged: bool,
    /// Hedge only: rounds and regret bound.
    pub hedge: Option<(u32, f32)>,
    /// The computation that ran.
    pub route: Route,
    /// Whether optimistic Hedge started from a given policy ([`solve_from`]).
    pub warm: bool,
}

/// Runs `f` on the population's oracle as `route` asks: its threads, at its vector level.
fn on_population<R>(
    pop: &Pop<'_>,
    route: &Route,
    f: impl FnOnce(&Served<'_, '_, CAPACITY>) -> R,
) -> Result<R> {
    let mut wide = WideStore::default();
    let oracle = ThreadedOracle::with_vector(*pop, route.threads, route.vector, &mut wide)
        .ok_or_else(|| Error::internal("the wide layout cannot hold this population"))?;
    Ok(oracle.serve(f))
}

/// Optimistic Hedge on `oracle`, from `start` when given (a warm start).
fn optimistic<O: Oracle<CAPACITY> + ?Sized>(
    oracle: &O,
    opts: &SolveOptions,
    start: Option<&[f32]>,
    policy: &mut [f32],
) -> std::result::Result<Solution, ualign::Error> {
    match start {
        Some(start) => optimistic_hedge_warm::<CAPACITY, _>(oracle, opts, start, policy),
        None => optimistic_hedge::<CAPACITY, _>(oracle, opts, policy),
    }
}

/// Runs the solver on the route [`route::plan`] takes (see [`route::choose`]).
pub fn solve(pop: &Pop<'_>, s: &Settings) -> Result<Solved> {
    solve_from(pop, s, None)
}

/// [`solve`], with optimistic Hedge started from `start` when given (a warm start,
/// [`optimistic_hedge_warm`]: the path changes, the certificate is still that of the policy
/// deployed). The margin matrix's simplex (`k = 1`) and Hedge take no start: they ignore it,
/// and [`Solved::warm`] says whether it was used.
pub fn solve_from(pop: &Pop<'_>, s: &Settings, start: Option<&[f32]>) -> Result<Solved> {
    check_settings(s)?;
    let n = pop.n();
    let task = match s.method {
        Method::Optimistic => Task::Optimistic,
        Method::Hedge => Task::Hedge,
    };
    let mut tallies = TallyStore::default();
    let (route, tally) = route::plan(s.query(task, s.k, pop), pop, &mut tallies);
    let opts = SolveOptions::new(s.k).epsilon(s.eps).max_iter(s.max_iter);
    match s.method {
        Method::Optimistic => {
            let mut policy = vec![0.0f32; n];
            let warm = start.is_some() && route.sum != Sum::Margins;
            let sol = match (route.sum, tally) {
                (Sum::Margins, _) => nlhf_through_margins(pop, s.eps, s.max_iter, &mut policy)?,
                // The solver certifies what it deploys on the tally's population, `pop` itself,
                // as on every other route (`Oracle::population`).
                (Sum::Tally, Some(tally)) => {
                    optimistic(&tally, &opts, start, &mut policy).map_err(core)?
                }
                (Sum::Tally, None) => {
                    return Err(Error::internal("the tally route without a tally"));
                }
                // One thread at the baseline is the population's own oracle: no threads to
                // serve, nothing to lay out (the same bits as through the threaded oracle).
                (Sum::Population, _) if route.threads <= 1 && route.vector.is_none() => {
                    optimistic(pop, &opts, start, &mut policy).map_err(core)?
                }
                (Sum::Population, _) => {
                    on_population(pop, &route, |o| optimistic(o, &opts, start, &mut policy))?
                        .map_err(core)?
                }
            };
            Ok(Solved {
                policy,
                certificate: sol.certificate,
                iterations: sol.iterations,
                converged: sol.converged,
                hedge: None,
                route,
                warm,
            })
        }
        Method::Hedge => {
            let floats = n
                .checked_mul(s.max_iter as usize)
                .filter(|&f| f <= MAX_HEDGE_FLOATS)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--max-iter {}: hedge keeps every iterate and n * max-iter must stay below {MAX_HEDGE_FLOATS}",
                        s.max_iter
                    ))
                })?;
            let mut iterates = vec![0.0f32; floats];
            let hs = on_population(pop, &route, |o| {
                hedge::<CAPACITY, _>(o, &opts, &mut iterates)
            })?
            .map_err(core)?;
            let rounds = hs.mixture.rounds();
            let mut avg = vec![0.0f64; n];
            for t in 0..rounds {
                if let Some(it) = hs.mixture.iterate(t) {
                    for (a, &p) in avg.iter_mut().zip(it) {
                        *a += p as f64;
                    }
                }
            }
            let policy: Vec<f32> = avg
                .iter()
                .map(|&a| (a / rounds.max(1) as f64) as f32)
                .collect();
            Ok(Solved {
                policy,
                certificate: hs.solution.certificate,
                iterations: hs.solution.iterations,
                converged: hs.solution.converged,
                hedge: Some((u32::try_from(rounds).unwrap_or(u32::MAX), hs.regret_bound)),
                route,
                warm: false,
            })
        }
    }
}

/// NLHF (`k = 1`) through the margin matrix (at most [`route::MARGINS_MAX_N`] candidates).
fn nlhf_through_margins(
    pop: &Pop<'_>,
    eps: f32,
    max_iter: u32,
    policy: &mut [f32],
) -> Result<Solution> {
    let mut buf = vec![0.0f64; pop.n() * pop.n()];
    let mut work = vec![0.0f64; (pop.n() + 1) * (pop.n() + 1)];
    let margins = Margins::new(*pop, &mut buf).map_err(core)?;
    nlhf_margins(&margins, eps, max_iter, policy, &mut work).map_err(core)
}

/// NLHF (`k = 1`) to `s.eps` on the route of [`Task::Nlhf`]: through the margin matrix when
/// `n <= MARGINS_MAX_N` (unless `s.reference`), else through the population; the certificate
/// is the population's either way. `s.k` and `s.method` are not used.
pub fn solve_nlhf(pop: &Pop<'_>, s: &Settings, policy: &mut [f32]) -> Result<(Solution, Route)> {
    let route = route::choose(&s.query(Task::Nlhf, 1, pop));
    let sol = match route.sum {
        Sum::Margins => nlhf_through_margins(pop, s.eps, s.max_iter, policy)?,
        Sum::Tally | Sum::Population => on_population(pop, &route, |o| {
            nlhf::<CAPACITY, _>(o, s.eps, s.max_iter, policy)
        })?
        .map_err(core)?,
    };
    Ok((sol, route))
}

/// The `solve` report of `sol`, a solution of `pop` (built from `inst`) with settings `s`.
pub fn report<'a>(
    inst: &'a Instance,
    pop: &Pop<'_>,
    s: &Settings,
    sol: &Solved,
) -> Result<SolveReport<'a>> {
    let average_policy_certificate = match sol.hedge {
        Some(_) => Some(CertJson::new(&certify_policy(pop, &sol.policy, s.k)?, inst)),
        None => None,
    };
    Ok(SolveReport {
        line: None,
        k: s.k,
        n: inst.n(),
        m: inst.m(),
        candidates: &inst.candidates,
        policy: Masses(sol.policy.clone()),
        iterations: sol.iterations,
        method: s.method.name(),
        route: sol.route.sum.name(),
        vector: sol.route.vector_name(),
        threads: sol.route.threads,
        converged: sol.converged,
        warm: None,
        rounds: sol.hedge.map(|h| h.0),
        deployed: if sol.hedge.is_some() {
            "time_mixture"
        } else {
            "policy"
        },
        regret_bound: sol.hedge.map(|h| num(h.1)),
        average_policy_certificate,
        certificate: CertJson::new(&sol.certificate, inst),
    })
}

/// Checks a policy given on input over `n` candidates: its length, finite non-negative entries,
/// and a sum within `1e-3` of 1 (policies printed with few digits). Returns the sum.
pub fn check_policy_input(pi: &[f32], n: usize) -> Result<f64> {
    if pi.len() != n {
        return Err(Error::usage(format!(
            "the policy has {} entries, the instance has {n} candidates",
            pi.len()
        )));
    }
    if pi.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return Err(Error::usage(
            "the policy needs finite, non-negative entries",
        ));
    }
    let sum: f64 = pi.iter().map(|&p| p as f64).sum();
    if !(sum > 1.0 - 1e-3 && sum < 1.0 + 1e-3) {
        return Err(Error::usage(format!("the policy sums to {sum}, not 1")));
    }
    Ok(sum)
}

/// Certifies a policy as given: core normalises its masses by their exact sum, so the
/// certificate is that of the policy as printed (docs/certificates.md).
pub fn certify_policy(pop: &Pop<'_>, pi: &[f32], k: u32) -> Result<Certificate> {
    check_k(k)?;
    check_policy_input(pi, pop.n())?;
    certify(pop, pi, k).map_err(core)
}

/// The `k` picks the tool draws from `pi` with `seed` (`ualign::sampling::picks` with
/// Xoshiro128++ `seed_from_u64(seed)`: `pick`, `device`'s check of the firmware's picks, and the
/// Python package), and the distinct ones among them in order of first appearance.
///
/// Errors: core's, for a `k` or a policy it refuses.
pub fn seeded_picks(
    pi: &[f32],
    k: u32,
    seed: u64,
) -> std::result::Result<(Vec<u16>, Vec<u16>), ualign::Error> {
    use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
    const K: usize = ualign::MAX_K as usize;
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
    let drawn = ualign::sampling::picks::<_, K>(pi, k, &mut rng)?;
    let unique = ualign::sampling::distinct::<K>(&drawn);
    Ok((drawn.to_vec(), unique.to_vec()))
}

/// One row of the test-time scaling table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurveRow {
    /// Responses shown.
    pub k: u32,
    /// Worst-case win rate of the k-aware equilibrium.
    pub equilibrium: f64,
    /// Of NLHF (the k = 1 equilibrium) sampled k times.
    pub nlhf: f64,
    /// Of the reward-model pick shown k times.
    pub reward_model: f64,
    /// Of uniform sampling.
    pub uniform: f64,
    /// `k/(k+1)`.
    pub bound: f64,
}

/// The scaling table for `k = 1..=k_max`, with automatic threads.
pub fn curve(
    inst: &Instance,
    pop: &Pop<'_>,
    k_max: u32,
    eps: f32,
    max_iter: u32,
) -> Result<Vec<CurveRow>> {
    let s = Settings {
        eps,
        max_iter,
        ..Settings::new(1, Method::Optimistic)
    };
    curve_with(inst, pop, k_max, &s)
}

/// The scaling table for `k = 1..=k_max` under `s` (its `eps`, `max_iter`, threads and
/// reference; `k` and `method` are not used).
pub fn curve_with(
    inst: &Instance,
    pop: &Pop<'_>,
    k_max: u32,
    s: &Settings,
) -> Result<Vec<CurveRow>> {
    check_k(k_max)
        .map_err(|_| Error::usage(format!("--k-max {k_max}: must be in 1..={}", ualign::MAX_K)))?;
    let s = Settings {
        k: 1,
        method: Method::Optimistic,
        ..*s
    };
    check_settings(&s)?;
    let n = pop.n();
    let mut nlhf_pi = vec![0.0f32; n];
    solve_nlhf(pop, &s, &mut nlhf_pi)?;
    let mut rm = vec![0.0f32; n];
    if let Some(p) = rm.get_mut(inst.reward_model_pick()) {
        *p = 1.0;
    }
    let uniform = vec![1.0 / n as f32; n];
    let mut rows = Vec::new();
    for k in 1..=k_max {
        let eq = solve(pop, &Settings { k, ..s })?;
        rows.push(CurveRow {
            k,
            equilibrium: num_down(eq.certificate.worst_case_win_rate),
            nlhf: num_down(certify(pop, &nlhf_pi, k).map_err(core)?.worst_case_win_rate),
            reward_model: num_down(certify(pop, &rm, k).map_err(core)?.worst_case_win_rate),
            uniform: num_down(certify(pop, &uniform, k).map_err(core)?.worst_case_win_rate),
            bound: num_down(eq.certificate.bound),
        });
    }
    Ok(rows)
}

/// The curve as a human-readable table: every figure cut (not rounded) to four decimals, so a
/// win rate is never printed above its certificate, and the bound is `k/(k+1)` cut the same
/// way (`0.6666` at `k = 2`).
pub fn curve_table(rows: &[CurveRow]) -> String {
    let mut s = String::from(" k  equilibrium    nlhf  reward_model  uniform   bound\n");
    for r in rows {
        let bound = u64::from(r.k) * 10_000 / (u64::from(r.k) + 1);
        s.push_str(&format!(
            "{:>2}  {:>11}  {:>6}  {:>12}  {:>7}  {:>6}\n",
            r.k,
            four_down(r.equilibrium),
            four_down(r.nlhf),
            four_down(r.reward_model),
            four_down(r.uniform),
            format!("{}.{:04}", bound / 10_000, bound % 10_000),
        ));
    }
    s
}

/// A non-negative decimal cut to four decimals (`0.74998974` is `0.7499`): its shortest text
/// ([`num_down`]'s decimal) with the digits after the fourth dropped, which is exact where
/// scaling by `10^4` in `f64` could round up to the next figure.
fn four_down(x: f64) -> String {
    let text = format!("{x}");
    match text.split_once('.') {
        _ if !x.is_finite() || x < 0.0 => format!("{x:.4}"),
        Some((whole, frac)) => {
            let cut: String = frac.chars().chain("0000".chars()).take(4).collect();
            format!("{whole}.{cut}")
        }
        None => format!("{text}.0000"),
    }
}
