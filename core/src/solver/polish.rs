//! The Newton polish (docs/maths.md §4.5): Newton's method on the indifference conditions
//! `g(y) = v` over a guessed support, and the guesses it is tried on.

use super::{
    POLISH_MAX, SolveOptions,
    linalg::{factor, solve_factored},
};
use crate::{Certificate, share::Oracle};

/// Unknowns of the Newton system: the masses of the support and the value.
pub(super) const SYS: usize = POLISH_MAX + 1;

/// A support guess of the polish.
#[derive(Clone, Copy)]
pub(super) enum Guess {
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
/// first: of the orders compared on `solver_grid` and the bench sizes (the `1e-3` mass guess
/// first, a wider band of `2e` to `4e`, the union with the mass guess), it took the fewest
/// evaluations and Jacobians (CHANGELOG.md has the figures).
pub(super) const POLISH_GUESSES: [Guess; 6] = [
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

/// A step may solve with the LU factors of the last Jacobian, rather than a new one, while
/// each step cuts the residual at least this much (a simplified Newton step costs one share
/// evaluation; a Jacobian several).
const REUSE: f32 = 0.5;

/// A drop is followed by a chord step on the last Jacobian's entries only when the residual
/// before it was below this: near the solution the last Jacobian still serves, far from it (a
/// warm start from an unrelated equilibrium sheds most of a full support over several steps) a
/// chord step does not, and the polish took up to twice the share evaluations with one. (Both
/// in `warm_stream -- unrelated`, whose warm evaluations this keeps where they were, and in
/// `solver_grid`: 0.15 took 341 Jacobians and 2457 evaluations, no bound 311 and 2458.)
const CHORD_RES: f32 = 0.05;

/// Newton steps per polish attempt. Newton converges quadratically once the support is right, and
/// the shares are `f32`, so a few steps reach the residual floor.
const NEWTON_STEPS: usize = 8;
/// Residual (max over the support of `|g(y) - v|`) below which Newton stops: the `f32` floor.
const NEWTON_TOL: f32 = 1e-7;

/// The candidates `y < n` whose `values[y]` passes `keep`, or `None` when there are none or more
/// than [`POLISH_MAX`]: a support guess.
pub(super) fn support_where(
    values: &[f32],
    n: usize,
    keep: impl Fn(f32) -> bool,
) -> Option<([u16; POLISH_MAX], usize)> {
    let mut support = [0u16; POLISH_MAX];
    let mut s = 0usize;
    for (y, &x) in values.iter().enumerate().take(n) {
        // Every candidate is written at the next free place and counted only when kept (the
        // next one writes over it otherwise): no branch on the values, whose pattern a branch
        // predictor does not learn.
        if let Some(slot) = support.get_mut(s) {
            *slot = y as u16;
        }
        s += usize::from(keep(x));
    }
    (s > 0 && s <= POLISH_MAX).then_some((support, s))
}

/// The candidates of `pi[..n]` holding more than `threshold` times the largest mass.
pub(super) fn support_guess(
    pi: &[f32],
    n: usize,
    threshold: f32,
) -> Option<([u16; POLISH_MAX], usize)> {
    let max = pi
        .iter()
        .take(n)
        .fold(0.0f32, |m, &p| if p > m { p } else { m });
    support_where(pi, n, |p| p > threshold * max)
}

/// Newton on the indifference conditions `g(y) = v` over the support `initial`, from the masses
/// of `pi` there. Every step's policy is estimated in `f32` (that evaluation is also the step's
/// residual); the best policy is written into `out` and its estimated exploitability returned,
/// with the number of share evaluations spent, at most `opts.max_iter`. It stops as soon as a
/// step is estimated at `opts.epsilon`: a further step costs a Jacobian, several share
/// evaluations' worth. `scratch` holds `n` floats; `sys` is the Newton system's storage, kept by
/// the caller: at least `(s + 1)^2` floats for the largest support `s` it may reach (at most
/// `min(n, POLISH_MAX)`).
pub(super) fn polish<const N: usize, const C: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    pi: &[f32],
    initial: &[u16],
    out: &mut [f32; C],
    scratch: &mut [f32],
    sys: &mut [f32],
) -> (f32, u32) {
    let k = opts.k;
    let n = pop.n().min(C).min(pi.len());
    let mut best = Certificate::new(k).exploitability;
    let mut support = [0u16; POLISH_MAX];
    let mut s = 0usize;
    for (slot, &y) in support.iter_mut().zip(initial) {
        *slot = y;
        s += 1;
    }
    let mut x = [0.0f32; POLISH_MAX];
    let mut total = 0.0f32;
    for (xi, &y) in x.iter_mut().zip(support.iter()).take(s) {
        *xi = pi.get(y as usize).copied().unwrap_or(0.0);
        total += *xi;
    }
    if s == 0 || total <= 0.0 {
        return (best, 0);
    }
    for xi in x.iter_mut().take(s) {
        *xi /= total;
    }
    let g = scratch;
    let mut cur = [0.0f32; C];
    let mut v = 0.0f32;
    let mut evals = 0u32;
    let mut prev_res = f32::INFINITY;
    let mut stale = 0u32;
    // Everything here is f32, like the shares and the Jacobian: the residuals carry the
    // shares' f32 rounding anyway, and since every step recomputes the residual, an f32 solve
    // (relative error about cond * 6e-8) only turns Newton's quadratic convergence into a fast
    // linear one. The masses `x` and the value `v` in f64 took the same evaluations on the
    // `solver_grid` and one Jacobian more, while a Cortex-M4F, M33 or
    // RV32IMAFC does f64 in software and a Cortex-M0 links 2 KiB of f64 routines for it. The f32
    // system is also half an f64 one on the stack (9.4 KiB instead of 18.8 KiB for the largest
    // support; the caller sizes it by the scratch class).
    // The caller keeps it across polishes (`sys`): zeroing it is a few percent of a Cortex-M4F
    // solve, and every step zeroes the part it uses.
    let mut rhs = [0.0f32; SYS];
    // The size `s + 1` of the system whose LU factors `sys` holds (with `piv`), and whether the
    // last step solved with factors kept from an earlier step.
    let mut factored: Option<usize> = None;
    let mut piv = [0u8; SYS];
    let mut reused = false;
    let steps = NEWTON_STEPS.min(opts.max_iter as usize);
    for step in 0..steps {
        fill(
            cur.get_mut(..n).unwrap_or(&mut []),
            support.get(..s).unwrap_or(&[]),
            x.get(..s).unwrap_or(&[]),
        );
        let policy = cur.get(..n).unwrap_or(&[]);
        pop.shares_into(policy, k, g);
        evals += 1;
        stale += 1;
        let e = Certificate::estimate(g.get(..n).unwrap_or(&[]), k);
        if e < best {
            best = e;
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
                .unwrap_or(0.0)
        };
        if step == 0 {
            v = (0..s).map(|i| share(&support, i)).sum::<f32>() / s as f32;
        }
        let res = (0..s).fold(0.0f32, |res, i| {
            let r = share(&support, i) - v;
            res.max(if r < 0.0 { -r } else { r })
        });
        // Candidates outside the support that beat the value by more than the residual inside:
        // the support misses them, which no Newton step can fix, so they join with mass 0 (and
        // leave again if their mass turns negative). A support that would outgrow
        // [`POLISH_MAX`] was a wrong guess: the attempt ends. (`cargo run --release -p
        // ualign-benches --example solver_grid`: when this was chosen, its 105 instances to
        // 1e-4 took 2741 share evaluations, 3077 when only the most violated candidate entered
        // per step.)
        let bar = 2.0 * res.max(NEWTON_TOL);
        match add_missing(g, n, v, bar, &mut support, &mut x, s) {
            Some(grown) if grown > s => {
                let old = s;
                s = grown;
                prev_res = f32::INFINITY;
                factored = None;
                // The guess missed members that hold mass in `pi`: start again from `pi`'s
                // masses on the grown support (one evaluation), not from a policy without them
                // (a Jacobian at a poor point, then another).
                if step == 0 {
                    let mut added = 0.0f32;
                    for i in old..s {
                        let y = support.get(i).copied().unwrap_or(0) as usize;
                        let p = pi.get(y).copied().unwrap_or(0.0);
                        if let Some(xi) = x.get_mut(i) {
                            *xi = p;
                        }
                        added += p;
                    }
                    if added > 0.0 {
                        let t: f32 = x.iter().take(s).sum();
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
        let mut res = 0.0f32;
        for i in 0..s {
            let r = share(&support, i) - v;
            if let Some(slot) = rhs.get_mut(i) {
                *slot = -r;
            }
            res = res.max(if r < 0.0 { -r } else { r });
        }
        let sum: f32 = x.iter().take(s).sum();
        if let Some(slot) = rhs.get_mut(s) {
            *slot = 1.0 - sum;
        }
        // Stop at the target or the floor, when Newton stalls or two steps in a row certify
        // nothing better (a wrong support, or one cycling through additions and drops), or with
        // no step left.
        // A step taken with kept factors that did not cut the residual by `REUSE` is not a
        // stall of Newton's: the next step takes a fresh Jacobian instead.
        let fresh_due = factored.is_none() || res > REUSE * prev_res;
        if best <= opts.epsilon
            || res < NEWTON_TOL
            || (step >= 1 && res > 0.5 * prev_res && !reused)
            || stale >= 2
            || step + 1 == steps
        {
            break;
        }
        prev_res = res;
        let m = s + 1;
        let Some(b) = rhs.get_mut(..m) else {
            break;
        };
        reused = !fresh_due && factored == Some(m);
        if !reused {
            if !newton_system(
                pop,
                policy,
                k,
                support.get(..s).unwrap_or(&[]),
                sys,
                &mut piv,
            ) {
                break;
            }
            factored = Some(m);
        }
        solve_factored(sys.get(..m * m).unwrap_or(&[]), m, &piv, b);
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
            let mut rows = [0u8; POLISH_MAX];
            for i in 0..s {
                let xi = x.get(i).copied().unwrap_or(0.0);
                if xi > 0.0 {
                    let y = support.get(i).copied().unwrap_or(0);
                    if let (Some(sx), Some(sy), Some(r)) =
                        (x.get_mut(kept), support.get_mut(kept), rows.get_mut(kept))
                    {
                        *sx = xi;
                        *sy = y;
                        *r = i as u8;
                    }
                    kept += 1;
                }
            }
            let old = s + 1;
            s = kept;
            if s == 0 {
                break;
            }
            let t: f32 = x.iter().take(s).sum();
            for xi in x.iter_mut().take(s) {
                *xi /= t;
            }
            // The residual of a smaller support is not comparable: restart the stall test. The
            // factors were of the larger system; near the solution the next step solves with
            // the kept system's entries of the members left (a chord step), when it was kept.
            prev_res = f32::INFINITY;
            factored = (res < CHORD_RES
                && reduced_system(sys, old, n, rows.get(..s).unwrap_or(&[]), &mut piv))
            .then_some(s + 1);
        }
    }
    (best, evals)
}

/// The Newton system of the support at `policy` into `sys` (`(s + 1) x (s + 1)`: the
/// Jacobian of the shares with `-1` for the value, and the row of `sum x = 1`), factored with
/// [`factor`]; unfactored, it is also kept after the factors when `sys` has room for both
/// ([`kept_system`]). `false` when it is singular.
fn newton_system<const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    policy: &[f32],
    k: u32,
    support: &[u16],
    sys: &mut [f32],
    piv: &mut [u8; SYS],
) -> bool {
    let n = policy.len();
    let s = support.len();
    let m = s + 1;
    let Some(a) = sys.get_mut(..m * m) else {
        return false;
    };
    for j in a.iter_mut() {
        *j = 0.0;
    }
    pop.jacobian_into(policy, k, support, m, a);
    for r in 0..m {
        for c in s..m {
            let val = if r < s {
                -1.0 // d(g - v)/dv
            } else {
                0.0
            };
            if let Some(slot) = a.get_mut(r * m + c) {
                *slot = val;
            }
        }
    }
    for c in 0..s {
        if let Some(slot) = a.get_mut(s * m + c) {
            *slot = 1.0; // d(sum x)/dx
        }
    }
    keep_and_factor(sys, m, n, piv)
}

/// The most unknowns whose unfactored system is kept beside its factors: `2 m^2` floats fit
/// the largest storage, `SYS^2`.
const KEPT_MAX: usize = SYS * 7 / 10;
const _: () = assert!(2 * KEPT_MAX * KEPT_MAX <= SYS * SYS);

/// Whether the unfactored system of `m` unknowns is kept beside its factors in `sys`, for `n`
/// candidates: when `m <= n` and `m <= KEPT_MAX`. The rule names no storage size, so a host and
/// a device keep the same systems (and so take the same steps) whatever storage their scratch
/// gives them; every storage the solver passes has the room (`2 C^2` floats for `C >= n`
/// candidates, or `SYS^2`).
fn kept_system(sys: &[f32], m: usize, n: usize) -> bool {
    m <= n && m <= KEPT_MAX && 2 * m * m <= sys.len()
}

/// Keeps a copy of the unfactored `sys[..m * m]` after it ([`kept_system`]), then factors it.
fn keep_and_factor(sys: &mut [f32], m: usize, n: usize, piv: &mut [u8; SYS]) -> bool {
    if kept_system(sys, m, n)
        && let Some((a, copy)) = sys.split_at_mut_checked(m * m)
        && let Some(copy) = copy.get_mut(..m * m)
    {
        copy.copy_from_slice(a);
    }
    factor(sys, m, piv)
}

/// After a drop: the system of the members `kept` (indices into the support of the kept
/// system of `old` unknowns, in order), from the kept system's entries (a chord: the Jacobian
/// where it was taken), factored, and kept in turn. `false` when there is no kept system or
/// the reduced one is singular.
fn reduced_system(sys: &mut [f32], old: usize, n: usize, kept: &[u8], piv: &mut [u8; SYS]) -> bool {
    if !kept_system(sys, old, n) {
        return false;
    }
    let s = kept.len();
    let m = s + 1;
    let Some((a, copy)) = sys.split_at_mut_checked(old * old) else {
        return false;
    };
    // The value column and the sum row sit at `old - 1` in the kept system.
    let at = |i: usize| kept.get(i).map_or(old - 1, |&r| usize::from(r));
    for r in 0..m {
        for c in 0..m {
            let x = copy.get(at(r) * old + at(c)).copied().unwrap_or(0.0);
            if let Some(slot) = a.get_mut(r * m + c) {
                *slot = x;
            }
        }
    }
    keep_and_factor(sys, m, n, piv)
}

/// Appends to `support[..s]` (mass 0 in `x`) every other candidate `y < n` with
/// `g(y) - v > bar`, and returns the new size; `None` when they do not fit in [`POLISH_MAX`].
fn add_missing(
    g: &[f32],
    n: usize,
    v: f32,
    bar: f32,
    support: &mut [u16; POLISH_MAX],
    x: &mut [f32; POLISH_MAX],
    s: usize,
) -> Option<usize> {
    let mut size = s;
    for (y, &gy) in g.iter().enumerate().take(n) {
        if gy - v > bar && !support.iter().take(s).any(|&z| z as usize == y) {
            *support.get_mut(size)? = y as u16;
            *x.get_mut(size)? = 0.0;
            size += 1;
        }
    }
    Some(size)
}

/// `out` = the policy with mass `x[i]` on `support[i]` (negative masses clipped, then
/// renormalised), zero elsewhere.
fn fill(out: &mut [f32], support: &[u16], x: &[f32]) {
    for o in out.iter_mut() {
        *o = 0.0;
    }
    let mut t = 0.0f32;
    for &xi in x {
        t += if xi > 0.0 { xi } else { 0.0 };
    }
    if t <= 0.0 {
        return;
    }
    for (&y, &xi) in support.iter().zip(x) {
        if let Some(o) = out.get_mut(y as usize) {
            *o = if xi > 0.0 { xi / t } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// After a drop, the reduced system is the kept system's entries of the members left (and
    /// of the value and the sum), factored exactly as `factor` factors those entries, and kept
    /// in turn; without room for a kept copy there is none.
    #[test]
    fn reduced_systems_are_the_kept_entries() {
        let mut next = crate::xorshift32(11);
        for old in 2..=12usize {
            for _ in 0..if cfg!(miri) { 2 } else { 30 } {
                let a: Vec<f32> = (0..old * old)
                    .map(|_| (next() % 2001) as f32 / 1000.0 - 1.0)
                    .collect();
                let kept: Vec<u8> = (0..old - 1)
                    .filter(|_| !next().is_multiple_of(3))
                    .map(|i| i as u8)
                    .collect();
                let mut sys = std::vec![0.0f32; 2 * old * old];
                sys[..old * old].copy_from_slice(&a);
                let mut piv = [0u8; SYS];
                keep_and_factor(&mut sys, old, old, &mut piv);
                assert_eq!(&sys[old * old..], &a[..], "the copy");
                let m = kept.len() + 1;
                let at = |i: usize| kept.get(i).map_or(old - 1, |&r| usize::from(r));
                let sub: Vec<f32> = (0..m * m).map(|e| a[at(e / m) * old + at(e % m)]).collect();
                let mut lu = sub.clone();
                let mut expected = [0u8; SYS];
                let ok = factor(&mut lu, m, &mut expected);
                let mut reduced_piv = [0u8; SYS];
                assert_eq!(
                    reduced_system(&mut sys, old, old, &kept, &mut reduced_piv),
                    ok
                );
                if ok {
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&sys[..m * m]), bits(&lu));
                    assert_eq!(reduced_piv[..m], expected[..m]);
                    assert_eq!(bits(&sys[m * m..2 * m * m]), bits(&sub), "kept in turn");
                }
                let mut small = std::vec![0.0f32; 2 * old * old - 1];
                small[..old * old].copy_from_slice(&a);
                keep_and_factor(&mut small, old, old, &mut piv);
                assert!(!reduced_system(&mut small, old, old, &kept, &mut piv));
                // Nor with more unknowns than candidates (a full support's system).
                keep_and_factor(&mut sys, old, old - 1, &mut piv);
                assert!(!reduced_system(&mut sys, old, old - 1, &kept, &mut piv));
            }
        }
    }
}
