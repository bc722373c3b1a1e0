//! NLHF, the `k = 1` baseline (docs/maths.md §3.3, §4.6): through the dynamics, or exactly
//! through the margin matrix.

use super::{Solution, SolveOptions, optimistic::optimistic_hedge};
use crate::{Error, check_len, margins::Margins, policy::snap, share::Oracle};

/// The NLHF baseline: the `k = 1` equilibrium (the maximal lottery of the margin matrix),
/// solved by [`optimistic_hedge`] with `k = 1`. Certify what sampling it `k` times guarantees
/// with [`crate::certificate::certify`] at that `k`.
pub fn nlhf<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    epsilon: f32,
    max_iter: u32,
    policy: &mut [f32],
) -> Result<Solution, Error> {
    let opts = SolveOptions::new(1).epsilon(epsilon).max_iter(max_iter);
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
