//! The maximal lottery of a `k = 1` matrix by the simplex method: the exact equilibrium of NLHF's
//! matrix game, in a few pivots, where the dynamics need hundreds of rounds to reach `1e-6`.
//!
//! At `k = 1` the share is `g = A pi` with `A[y][z] + A[z][y] = W` (the total weight, 1 up to
//! rounding), so the game's value is `W / 2` and `pi` is an equilibrium exactly when
//! `A pi <= W / 2` entrywise (docs/maths.md §3). Every column of `A` has the positive entry
//! `A[z][z] = W / 2`, so the linear program
//!
//! ```text
//! maximise  sum_z u_z   subject to   A u <= 1,  u >= 0
//! ```
//!
//! is feasible at `u = 0` (no first phase) and bounded; its optimum is `2 / W`, and `u / sum(u)`
//! is an equilibrium. The tableau is Tucker's condensed one, `(n + 1) x (n + 1)` `f64` in a caller
//! buffer: rows are the basic variables, columns the non-basic ones, the last column the right-hand
//! side and the last row the reduced costs. The entering column is Dantzig's (largest reduced
//! cost), or Bland's (lowest label) right after a degenerate pivot, which rules out cycling: a
//! cycle would consist of degenerate pivots only, all chosen by Bland's rule.

use crate::Error;

/// Reduced costs and pivot entries below this count as zero (entries of `A` are sums of weights in
/// `[0, 1]`).
const TOL: f64 = 1e-12;

/// Writes into `policy` a maximal lottery of the `n x n` row-major matrix `a` (`A` above) and
/// returns the pivots taken and whether it got there: not when `max_pivots` were not enough or
/// the tableau lost its way numerically (no improving pivot with a positive entry), `policy` then
/// unspecified.
///
/// Errors: [`Error::BufferTooSmall`] when `work` holds fewer than `(n + 1)^2` values,
/// [`Error::TooManyCandidates`] above `N`.
pub(crate) fn maximal_lottery<const N: usize>(
    a: &[f64],
    n: usize,
    work: &mut [f64],
    policy: &mut [f32],
    max_pivots: u32,
) -> Result<(u32, bool), Error> {
    if n > N {
        return Err(Error::TooManyCandidates { n, max: N });
    }
    if n == 0 {
        return Ok((0, false));
    }
    let w = n + 1;
    let t = crate::prefix_mut(work, w.saturating_mul(w))?;
    for (i, row) in t.chunks_exact_mut(w).take(n).enumerate() {
        let a_row = a.get(i * n..(i + 1) * n).unwrap_or(&[]);
        for (x, &y) in row.iter_mut().zip(a_row) {
            *x = y;
        }
        if let Some(b) = row.get_mut(n) {
            *b = 1.0;
        }
    }
    if let Some(costs) = t.get_mut(n * w..) {
        for c in costs.iter_mut() {
            *c = 1.0;
        }
        if let Some(z) = costs.get_mut(n) {
            *z = 0.0;
        }
    }
    // Labels: `j < n` is `u_j`, `n + i` the slack of row `i`.
    let mut basic = [0u16; N];
    let mut nonbasic = [0u16; N];
    for (i, (b, nb)) in basic
        .iter_mut()
        .zip(nonbasic.iter_mut())
        .take(n)
        .enumerate()
    {
        *b = (n + i) as u16;
        *nb = i as u16;
    }
    let mut degenerate = false;
    let mut pivots = 0u32;
    loop {
        let costs = t.get(n * w..n * w + n).unwrap_or(&[]);
        let entering = if degenerate {
            // Bland: the improving column of lowest label.
            costs
                .iter()
                .zip(&nonbasic)
                .enumerate()
                .filter(|(_, (c, _))| **c > TOL)
                .min_by_key(|(_, (_, l))| **l)
                .map(|(q, _)| q)
        } else {
            costs
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > TOL)
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map(|(q, _)| q)
        };
        let Some(q) = entering else { break };
        if pivots >= max_pivots {
            return Ok((pivots, false));
        }
        // Ratio test; ties to the lowest basic label (Bland).
        let mut leaving: Option<(usize, f64, u16)> = None;
        for (i, (row, &label)) in t.chunks_exact(w).take(n).zip(&basic).enumerate() {
            let (Some(&e), Some(&rhs)) = (row.get(q), row.get(n)) else {
                continue;
            };
            if e <= TOL {
                continue;
            }
            let ratio = rhs / e;
            let better = match leaving {
                None => true,
                Some((_, r, l)) => ratio < r || (ratio == r && label < l),
            };
            if better {
                leaving = Some((i, ratio, label));
            }
        }
        let Some((p, ratio, _)) = leaving else {
            return Ok((pivots, false));
        };
        degenerate = ratio <= TOL;
        pivot(t, w, p, q);
        if let (Some(b), Some(nb)) = (basic.get_mut(p), nonbasic.get_mut(q)) {
            core::mem::swap(b, nb);
        }
        pivots += 1;
    }
    // The basic structural variables carry `u`; the policy is `u` normalised.
    for x in policy.iter_mut() {
        *x = 0.0;
    }
    let mut sum = 0.0f64;
    for (row, &label) in t.chunks_exact(w).zip(&basic).take(n) {
        if let (Some(&u), true) = (row.get(n), (label as usize) < n) {
            sum += positive(u);
        }
    }
    if sum.is_nan() || sum <= 0.0 {
        return Ok((pivots, false));
    }
    for (row, &label) in t.chunks_exact(w).zip(&basic).take(n) {
        if let (Some(&u), Some(x)) = (row.get(n), policy.get_mut(label as usize)) {
            *x = (positive(u) / sum) as f32;
        }
    }
    Ok((pivots, true))
}

/// Tucker's exchange of basic row `p` and non-basic column `q` in the `w`-wide tableau `t`.
fn pivot(t: &mut [f64], w: usize, p: usize, q: usize) {
    let Some(pr) = t.get_mut(p * w..(p + 1) * w) else {
        return;
    };
    let Some(&e) = pr.get(q) else { return };
    let inv = 1.0 / e;
    for x in pr.iter_mut() {
        *x *= inv;
    }
    if let Some(x) = pr.get_mut(q) {
        *x = inv;
    }
    // Rows other than `p`: subtract their column-`q` multiple of the scaled pivot row. The pivot
    // row is split off so that both can be borrowed at once.
    let Some((before, rest)) = t.split_at_mut_checked(p * w) else {
        return;
    };
    let Some((pr, after)) = rest.split_at_mut_checked(w) else {
        return;
    };
    for row in before.chunks_exact_mut(w).chain(after.chunks_exact_mut(w)) {
        let Some(&f) = row.get(q) else { continue };
        if f == 0.0 {
            continue;
        }
        for (x, &y) in row.iter_mut().zip(pr.iter()) {
            *x -= f * y;
        }
        if let Some(x) = row.get_mut(q) {
            *x = -f * inv;
        }
    }
}

/// `u`, or 0 for a basic value rounding left slightly negative.
fn positive(u: f64) -> f64 {
    if u > 0.0 { u } else { 0.0 }
}
