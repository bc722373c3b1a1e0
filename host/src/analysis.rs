//! The computations behind the commands: solving, certifying, baselines, the scaling curve.

use serde::Serialize;
use ualign::{
    Certificate,
    certificate::certify,
    margins::Margins,
    solver::{Solution, SolveOptions, hedge, nlhf, nlhf_margins, optimistic_hedge},
};

use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Instance, Pop};
use crate::parallel::ThreadedOracle;
use crate::simd::WideStore;
use crate::tally::TallyStore;

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
    /// Threads for the share computation: 0 means one per core; 1 is the single-threaded
    /// computation, bit-identical to the firmware's.
    pub threads: usize,
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
    if !s.eps.is_finite() || s.eps < 0.0 {
        return Err(Error::usage(format!(
            "--eps {}: must be finite and non-negative",
            s.eps
        )));
    }
    if s.max_iter == 0 {
        return Err(Error::usage("--max-iter 0: must be at least 1"));
    }
    Ok(())
}

/// A number as JSON: the shortest decimal that reads back as the same `f32`.
pub fn num(x: f32) -> f64 {
    x.to_string().parse::<f64>().unwrap_or(x as f64)
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
            worst_case_win_rate: num(c.worst_case_win_rate),
            exploitability: num(c.exploitability),
            worst_opponent: inst.name(c.worst_opponent),
            worst_opponent_index: c.worst_opponent,
            bound: num(c.bound),
        }
    }
}

/// What `solve` prints.
#[derive(Debug, Clone, Serialize)]
pub struct SolveReport {
    /// Input line (batch only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Responses shown.
    pub k: u32,
    /// Candidates.
    pub n: usize,
    /// User types (after merging identical orders).
    pub m: usize,
    /// Candidate names.
    pub candidates: Vec<String>,
    /// The policy, in input order. For Hedge: the average of the iterates (not certified).
    pub policy: Vec<f64>,
    /// Share evaluations; at `k = 1` through the margin matrix, simplex pivots (plus the
    /// evaluations of the dynamics, should the simplex's policy miss `--eps`).
    pub iterations: u32,
    /// `optimistic` or `hedge`.
    pub method: &'static str,
    /// Whether the certified exploitability reached `--eps`.
    pub converged: bool,
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
}

/// Runs the solver.
pub fn solve(pop: &Pop<'_>, s: &Settings) -> Result<Solved> {
    check_settings(s)?;
    let n = pop.n();
    let threads = threads_for(pop, s.k, s.threads);
    let mut wide = WideStore::default();
    let opts = SolveOptions::new(s.k).epsilon(s.eps).max_iter(s.max_iter);
    match s.method {
        Method::Optimistic => {
            let mut policy = vec![0.0f32; n];
            // k = 1 through the margin matrix, and any k through a tally when it pays, except
            // with --threads 1, which runs exactly the firmware's computation (the population
            // route) for bit-for-bit comparisons.
            let mut store = TallyStore::default();
            let sol = if s.k == 1 && s.threads != 1 && n <= MARGINS_MAX_N {
                solve_nlhf(pop, s.eps, s.max_iter, &mut policy)?
            } else if let Some(tally) = (s.threads != 1).then(|| store.tally(pop)).flatten() {
                let sol =
                    optimistic_hedge::<CAPACITY, _>(&tally, &opts, &mut policy).map_err(core)?;
                // The population certifies what is deployed, as on every other route.
                let certificate = certify(pop, &policy, s.k).map_err(core)?;
                Solution {
                    converged: sol.converged && certificate.exploitability <= s.eps,
                    certificate,
                    ..sol
                }
            } else {
                ThreadedOracle::wide(*pop, threads, &mut wide)
                    .serve(|o| optimistic_hedge::<CAPACITY, _>(o, &opts, &mut policy))
                    .map_err(core)?
            };
            Ok(Solved {
                policy,
                certificate: sol.certificate,
                iterations: sol.iterations,
                converged: sol.converged,
                hedge: None,
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
            let hs = ThreadedOracle::wide(*pop, threads, &mut wide)
                .serve(|o| hedge::<CAPACITY, _>(o, &opts, &mut iterates))
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
            })
        }
    }
}

/// Work (user types x candidates x (k+1)) below which one thread beats several: starting the
/// parts' threads for a solve costs some hundred microseconds, and each evaluation handed over a
/// few (at (64, 1000, 4), 320,000, two threads halve a share evaluation but gain a tenth on a
/// whole solve).
const PARALLEL_WORK: usize = 1 << 21;

/// The thread count for `requested` (0: one per core when the population is large enough to
/// gain from it, else 1).
pub fn threads_for(pop: &Pop<'_>, k: u32, requested: usize) -> usize {
    if requested > 0 {
        return requested;
    }
    let work = pop
        .m()
        .saturating_mul(pop.n())
        .saturating_mul(k as usize + 1);
    if work < PARALLEL_WORK { 1 } else { cores() }
}

/// Largest `n` for which `k = 1` goes through the margin matrix (built by byte counting up to 256
/// candidates, then solved by the simplex in a few `O(n^2)` pivots); above it, the population's
/// dynamics.
pub const MARGINS_MAX_N: usize = 256;

/// NLHF (`k = 1`) to `eps` through the margin matrix when `n <= MARGINS_MAX_N`, else through the
/// population; the certificate is the population's either way.
pub fn solve_nlhf(pop: &Pop<'_>, eps: f32, max_iter: u32, policy: &mut [f32]) -> Result<Solution> {
    if pop.n() <= MARGINS_MAX_N {
        let mut buf = vec![0.0f64; pop.n() * pop.n()];
        let mut work = vec![0.0f64; (pop.n() + 1) * (pop.n() + 1)];
        let margins = Margins::new(*pop, &mut buf).map_err(core)?;
        nlhf_margins(&margins, eps, max_iter, policy, &mut work).map_err(core)
    } else {
        let mut wide = WideStore::default();
        ThreadedOracle::wide(*pop, threads_for(pop, 1, 0), &mut wide)
            .serve(|o| nlhf::<CAPACITY, _>(o, eps, max_iter, policy))
            .map_err(core)
    }
}

/// Number of cores to use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Solves and builds the `solve` report.
pub fn solve_report(inst: &Instance, pop: &Pop<'_>, s: &Settings) -> Result<SolveReport> {
    let sol = solve(pop, s)?;
    report(inst, pop, s, &sol)
}

/// The `solve` report of `sol`, a solution of `pop` (built from `inst`) with settings `s`.
pub fn report(inst: &Instance, pop: &Pop<'_>, s: &Settings, sol: &Solved) -> Result<SolveReport> {
    let average_policy_certificate = match sol.hedge {
        Some(_) => Some(CertJson::new(&certify_policy(pop, &sol.policy, s.k)?, inst)),
        None => None,
    };
    Ok(SolveReport {
        line: None,
        k: s.k,
        n: inst.n(),
        m: inst.m(),
        candidates: inst.candidates.clone(),
        policy: sol.policy.iter().map(|&p| num(p)).collect(),
        iterations: sol.iterations,
        method: s.method.name(),
        converged: sol.converged,
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

/// Certifies a policy, renormalising it in `f64` first (policies printed with few digits).
pub fn certify_policy(pop: &Pop<'_>, pi: &[f32], k: u32) -> Result<Certificate> {
    check_k(k)?;
    if pi.len() != pop.n() {
        return Err(Error::usage(format!(
            "the policy has {} entries, the instance has {} candidates",
            pi.len(),
            pop.n()
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
    let pi: Vec<f32> = pi.iter().map(|&p| (p as f64 / sum) as f32).collect();
    certify(pop, &pi, k).map_err(core)
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

/// The scaling table for `k = 1..=k_max`.
pub fn curve(
    inst: &Instance,
    pop: &Pop<'_>,
    k_max: u32,
    eps: f32,
    max_iter: u32,
) -> Result<Vec<CurveRow>> {
    check_k(k_max)
        .map_err(|_| Error::usage(format!("--k-max {k_max}: must be in 1..={}", ualign::MAX_K)))?;
    check_settings(&Settings {
        k: 1,
        eps,
        max_iter,
        method: Method::Optimistic,
        threads: 0,
    })?;
    let n = pop.n();
    let mut nlhf_pi = vec![0.0f32; n];
    solve_nlhf(pop, eps, max_iter, &mut nlhf_pi)?;
    let mut rm = vec![0.0f32; n];
    if let Some(p) = rm.get_mut(inst.reward_model_pick()) {
        *p = 1.0;
    }
    let uniform = vec![1.0 / n as f32; n];
    let mut rows = Vec::new();
    for k in 1..=k_max {
        let s = Settings {
            k,
            eps,
            max_iter,
            method: Method::Optimistic,
            threads: 0,
        };
        let eq = solve(pop, &s)?;
        rows.push(CurveRow {
            k,
            equilibrium: num(eq.certificate.worst_case_win_rate),
            nlhf: num(certify(pop, &nlhf_pi, k).map_err(core)?.worst_case_win_rate),
            reward_model: num(certify(pop, &rm, k).map_err(core)?.worst_case_win_rate),
            uniform: num(certify(pop, &uniform, k).map_err(core)?.worst_case_win_rate),
            bound: num(k as f32 / (k + 1) as f32),
        });
    }
    Ok(rows)
}

/// The curve as a human-readable table.
pub fn curve_table(rows: &[CurveRow]) -> String {
    let mut s = String::from(" k  equilibrium    nlhf  reward_model  uniform   bound\n");
    for r in rows {
        s.push_str(&format!(
            "{:>2}  {:>11.4}  {:>6.4}  {:>12.4}  {:>7.4}  {:>6.4}\n",
            r.k, r.equilibrium, r.nlhf, r.reward_model, r.uniform, r.bound
        ));
    }
    s
}
