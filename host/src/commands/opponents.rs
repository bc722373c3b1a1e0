//! `ualign opponents`.

use serde::Serialize;
use ualign::opponents::{multiset_count, worst_opponent};

use super::{OpponentsArgs, to_json};
use crate::analysis::{check_settings, solve};
use crate::decimal::{Masses, num_down, num_up};
use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Store};

/// Largest opponent size accepted.
pub const MAX_L: usize = 16;
/// Budget of work the exhaustive search may spend, in units of [`user_cost`].
const BUDGET: u64 = 20_000_000_000;

/// The work of one user type for one multiset, in units of about one step of the
/// draw-count recurrence: the scan of its order (`n`), `k + 1` 128-bit divisions (about ten
/// steps each) and the recurrence's `k (k+1)/2` steps (`ualign::opponents`' `chance`). Timed
/// side by side (`ualign opponents FILE --k K --l 3` on 20,000 user types over 8 candidates,
/// `K` 4 and 64), a user type and multiset took 40 to 50 times as long at `k = 64` as at
/// `k = 4`, where these units give 2,738 and 68 (40 times): the budget is about the same time
/// at every `k` (it was `n` units alone, which let `k = 64` run forty times longer).
fn user_cost(n: usize, k: u32) -> u64 {
    let k = u64::from(k);
    n as u64 + 10 * (k + 1) + k * (k + 1) / 2
}

#[derive(Serialize)]
struct OpponentsReport {
    k: u32,
    l: usize,
    n: usize,
    m: usize,
    opponent: Vec<String>,
    opponent_indices: Vec<u16>,
    opponent_win_rate: f64,
    win_rate: f64,
    lower_bound: f64,
    lower_bound_approximate: f64,
    upper_bound: f64,
    exploitability: f64,
    multisets: u64,
    /// The policy the search ran against (the solve's), which the figures are about.
    policy: Masses,
}

/// Runs `opponents`.
pub fn run(a: &OpponentsArgs) -> Result<String> {
    let settings = a.solver.optimistic(a.k);
    check_settings(&settings)?;
    if a.k > ualign::opponents::MAX_K {
        return Err(Error::usage(format!(
            "--k {}: the opponent computation accepts k <= {}",
            a.k,
            ualign::opponents::MAX_K
        )));
    }
    if a.l == 0 || a.l > MAX_L {
        return Err(Error::usage(format!("--l {}: must be in 1..={MAX_L}", a.l)));
    }
    let inst = a.input.load()?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    let cost = (pop.m() as u64)
        .saturating_mul(user_cost(pop.n(), a.k))
        .max(1);
    let limit = (BUDGET / cost).max(1);
    let count = multiset_count(pop.n(), a.l).unwrap_or(u64::MAX);
    if count > limit {
        return Err(Error::usage(format!(
            "--l {}: {count} opponent multisets over {} candidates and {} user types at --k {} is too many to enumerate (limit {limit}); use a smaller l or k",
            a.l,
            pop.n(),
            pop.m(),
            a.k
        )));
    }
    let sol = solve(&pop, &settings)?;
    let report = worst_opponent::<CAPACITY, MAX_L>(&pop, &sol.policy, a.k, a.l, limit)
        .map_err(|e| Error::internal(format!("opponent search: {e}")))?;
    let e = sol.certificate.exploitability;
    to_json(&OpponentsReport {
        k: a.k,
        l: a.l,
        n: inst.n(),
        m: inst.m(),
        opponent: report
            .multiset
            .iter()
            .map(|&y| inst.name(y as usize))
            .collect(),
        opponent_indices: report.multiset.to_vec(),
        opponent_win_rate: num_up(report.opponent_win_rate),
        win_rate: num_down(report.win_rate),
        lower_bound: num_down(report.lower_bound),
        lower_bound_approximate: num_down(union_bound(a.k, a.l, e)),
        upper_bound: num_up(report.upper_bound),
        exploitability: num_up(e),
        multisets: count,
        policy: Masses(sol.policy.clone()),
    })
}

/// `(k+1-l)/(k+1) - l e`, the union bound of docs/maths.md §5, rounded down to an `f32` and
/// at least 0 (it bounds a probability): a lower bound whose printed text is one too.
fn union_bound(k: u32, l: usize, e: f32) -> f32 {
    let exact = (f64::from(k) + 1.0 - l as f64) / (f64::from(k) + 1.0) - l as f64 * f64::from(e);
    // Three f64 roundings at most: four ulps below is below the exact value.
    let below = (exact - 4.0 * f64::EPSILON * exact.abs().max(1.0)).max(0.0);
    let f = below as f32;
    if f64::from(f) > below {
        f.next_down()
    } else {
        f
    }
}
