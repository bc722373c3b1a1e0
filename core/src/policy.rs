//! Policies: what a valid policy is, its own payoff, and the exact form the solvers deploy.
//!
//! A policy is a vector of `f32` masses over the candidates; it means the distribution
//! proportional to them (certificates normalise by the exact sum). The solvers deploy policies
//! [`snap`]ped to multiples of `2^-24` that sum to exactly 1, so that any reader, normalising or
//! not, means the same distribution.

use crate::{
    Error, check_k, check_len,
    fixed::{div_rem, scaled},
    scratch::with_scratch,
};

/// Checks that `pi` is a policy over `n` candidates: finite, non-negative, summing to 1 within
/// `1e-3` (the tolerance covers policies printed with few digits).
pub fn check_policy(pi: &[f32], n: usize) -> Result<(), Error> {
    check_len(pi.len(), n)?;
    // Integers, which a core without an FPU for f64 adds in a few instructions.
    const ONE: u128 = 1 << 62;
    const TOLERANCE: u128 = ONE / 1000;
    let sum = total_of(pi)?;
    if !(sum > ONE - TOLERANCE && sum < ONE + TOLERANCE) {
        return Err(Error::InvalidPolicy);
    }
    Ok(())
}

/// The sum of the masses in units of `2^-62`, each floored (so within `n 2^-62` below the
/// exact sum); [`Error::InvalidPolicy`] when one is not finite or is negative.
fn total_of(pi: &[f32]) -> Result<u128, Error> {
    let mut total = 0u128;
    for &p in pi {
        total = total.saturating_add(u128::from(floor_of(p)?));
    }
    Ok(total)
}

/// One mass in units of `2^-62`, floored; [`Error::InvalidPolicy`] when it is not finite or
/// is negative.
fn floor_of(p: f32) -> Result<u64, Error> {
    if !p.is_finite() || p < 0.0 {
        return Err(Error::InvalidPolicy);
    }
    Ok(scaled(p, 62).0)
}

/// What every checked share evaluation ([`crate::share::shares`], `Tally::shares`,
/// `Wide::shares`) accepts: a valid `k`, a policy over `n` candidates and an output of length
/// `n`.
pub(crate) fn check_shares_call(pi: &[f32], k: u32, out: &[f32], n: usize) -> Result<(), Error> {
    check_k(k)?;
    check_policy(pi, n)?;
    check_len(out.len(), n)
}

/// The policy's own payoff `sum_y pi(y) g(y)`, which is `1/(k+1)` exactly in exact arithmetic
/// (docs/maths.md §2). Exposed for tests and diagnostics.
pub fn self_payoff(pi: &[f32], g: &[f32]) -> f64 {
    pi.iter().zip(g).map(|(&p, &x)| p as f64 * x as f64).sum()
}

/// The grid of deployed policies: masses are whole multiples of `2^-GRID_BITS`.
pub const GRID_BITS: u32 = 24;

/// Rounds the policy `pi` (non-negative, finite, positive sum) to the nearest policy whose
/// masses are whole multiples of `2^-24` summing to exactly 1: each mass's share of the exact
/// total is floored to the grid, and the units left over go to the largest remainders (the
/// lowest index first on ties). Every such mass is an `f32` exactly, and so is its decimal
/// expansion, so the policy printed is the policy certified. Integer arithmetic only: the same
/// bits on every target. A point mass, and any policy already on the grid, is unchanged.
///
/// Errors: [`Error::InvalidPolicy`] when the masses sum to zero or one is not finite.
pub fn snap<const N: usize>(pi: &mut [f32]) -> Result<(), Error> {
    if pi.len() > N {
        return Err(Error::TooManyCandidates {
            n: pi.len(),
            max: N,
        });
    }
    with_scratch!(pi.len(), N, snap_in(pi))
}

/// [`snap`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn snap_in<const C: usize>(pi: &mut [f32]) -> Result<(), Error> {
    // The masses in units of `2^-62` (floored, as in `total_of`) and their exact sum.
    let mut rest = [0u128; C];
    let mut total = 0u128;
    for (r, &p) in rest.iter_mut().zip(pi.iter()) {
        *r = u128::from(floor_of(p)?);
        total = total.saturating_add(*r);
    }
    if total == 0 {
        return Err(Error::InvalidPolicy);
    }
    let unit = 1u128 << GRID_BITS;
    let mut units = [0u32; C];
    let mut given = 0u128;
    for (u, r) in units.iter_mut().zip(rest.iter_mut()).take(pi.len()) {
        let x = *r * unit;
        // Most candidates of an equilibrium have no mass: no division for them.
        let (q, rest) = if x == 0 { (0, 0) } else { div_rem(x, total) };
        *u = u32::try_from(q).unwrap_or(0);
        *r = rest;
        given += u128::from(*u);
    }
    // Fewer than n units are left; they go to the largest remainders. The remainders sum to
    // `left * total`, each below `total`, so at least `left` of them are not zero: only
    // those are sorted (at an equilibrium, the support).
    let mut left = unit.saturating_sub(given);
    let mut order = [0u16; C];
    let mut held = 0usize;
    for (i, &r) in rest.iter().enumerate().take(pi.len()) {
        // Written at the next place and counted when not zero: no branch on which are zero.
        if let Some(o) = order.get_mut(held) {
            *o = i as u16;
        }
        held += usize::from(r != 0);
    }
    let order = order.get_mut(..held).unwrap_or(&mut []);
    let at = |i: u16| rest.get(usize::from(i)).copied().unwrap_or(0);
    crate::sort_by::<C, _, _>(order, |&a, &b| at(b).cmp(&at(a)).then(a.cmp(&b)));
    for &i in order.iter() {
        if left == 0 {
            break;
        }
        if let Some(u) = units.get_mut(usize::from(i)) {
            *u += 1;
            left -= 1;
        }
    }
    // u <= 2^24 is an exact f32, and scaling by a power of two is exact.
    let scale = 1.0 / (1u32 << GRID_BITS) as f32;
    for (p, &u) in pi.iter_mut().zip(units.iter()) {
        *p = u as f32 * scale;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy is accepted exactly when its masses are finite, non-negative and sum to 1
    /// within `1e-3` (the sums below are computed in `f64`, away from the edges by more than
    /// the floors of 2^-62 the check allows itself).
    #[test]
    fn policies_sum_to_one_within_a_thousandth() {
        let mut next = crate::xorshift32(23);
        for _ in 0..if cfg!(miri) { 100 } else { 20_000 } {
            let n = 1 + (next() % 12) as usize;
            let mut pi = [0.0f32; 12];
            for p in pi.iter_mut().take(n) {
                *p = (next() % 1000) as f32 / 1000.0;
            }
            let total: f64 = pi.iter().take(n).map(|&p| f64::from(p)).sum();
            if total == 0.0 {
                continue;
            }
            // Scaled toward a sum of 1 - 2e-3 to 1 + 2e-3.
            let target = 1.0 + (f64::from(next() % 4001) - 2000.0) * 1e-6;
            for p in pi.iter_mut().take(n) {
                *p = (f64::from(*p) * target / total) as f32;
            }
            let sum: f64 = pi.iter().take(n).map(|&p| f64::from(p)).sum();
            if ((sum - 1.0).abs() - 1e-3).abs() < 1e-12 {
                continue;
            }
            let ok = check_policy(&pi[..n], n).is_ok();
            assert_eq!(ok, (sum - 1.0).abs() < 1e-3, "{:?} sums to {sum}", &pi[..n]);
        }
        assert!(check_policy(&[0.5, 0.5], 2).is_ok());
        assert!(check_policy(&[1.0, 0.0, 0.0], 3).is_ok());
        for bad in [
            [0.5, f32::NAN],
            [1.5, -0.5],
            [f32::INFINITY, 0.0],
            [0.0, 0.0],
        ] {
            assert_eq!(check_policy(&bad, 2), Err(Error::InvalidPolicy), "{bad:?}");
        }
        assert!(check_policy(&[0.5, 0.5], 3).is_err());
    }

    #[test]
    fn snapped_policies_sum_to_exactly_one_on_the_grid() {
        let mut next = crate::xorshift32(7);
        for n in 1..40usize {
            let mut pi = [0.0f32; 40];
            for p in pi.iter_mut().take(n) {
                *p = (next() % 1000) as f32 / 997.0
                    * if next().is_multiple_of(4) { 0.0 } else { 1.0 };
            }
            pi[0] += 0.001;
            let before = pi;
            snap::<64>(&mut pi[..n]).unwrap();
            let total: f64 = before[..n].iter().map(|&p| f64::from(p)).sum();
            let mut units = 0u64;
            for (y, &p) in pi[..n].iter().enumerate() {
                let u = f64::from(p) * f64::from(1u32 << 24);
                assert_eq!(u, u.trunc(), "off the grid");
                units += u as u64;
                // Within one grid unit of the exact share.
                assert!((f64::from(p) - f64::from(before[y]) / total).abs() <= 1.0 / 16777216.0);
            }
            assert_eq!(units, 1 << 24, "n = {n}");
        }
    }

    /// The snap is the largest-remainder apportionment of `2^24` units among all the masses
    /// (Hamilton's method: each mass's quota floored, the units left to the largest remainders,
    /// the lowest index first on ties), computed here over every candidate with exact integers.
    #[test]
    fn snapped_policies_are_the_largest_remainders() {
        extern crate std;
        use std::vec::Vec;
        let mut next = crate::xorshift32(31);
        for case in 0..if cfg!(miri) { 20 } else { 5_000 } {
            let n = 1 + (next() % 24) as usize;
            let mut pi = [0.0f32; 24];
            for p in pi.iter_mut().take(n) {
                // Zeros, repeated masses (tied remainders) and unrelated ones.
                *p = match next() % 4 {
                    0 => 0.0,
                    1 => 0.125,
                    2 => (next() % 7) as f32 / 3.0,
                    _ => (next() % 100_000) as f32 / 99_991.0,
                };
            }
            pi[0] += 1e-3;
            let floors: Vec<u128> = pi[..n]
                .iter()
                .map(|&p| floor_of(p).unwrap().into())
                .collect();
            let total: u128 = floors.iter().sum();
            let unit = 1u128 << GRID_BITS;
            let mut units: Vec<u128> = floors.iter().map(|&f| f * unit / total).collect();
            let mut by_rest: Vec<usize> = (0..n).collect();
            by_rest.sort_by_key(|&i| (core::cmp::Reverse(floors[i] * unit % total), i));
            let left = unit - units.iter().sum::<u128>();
            for &i in by_rest.iter().take(left as usize) {
                units[i] += 1;
            }
            let mut snapped = pi;
            snap::<32>(&mut snapped[..n]).unwrap();
            for y in 0..n {
                assert_eq!(
                    f64::from(snapped[y]),
                    units[y] as f64 / unit as f64,
                    "case {case}, candidate {y} of {:?}",
                    &pi[..n]
                );
            }
        }
    }

    #[test]
    fn point_masses_and_grid_policies_are_unchanged() {
        let mut pi = [0.0f32, 1.0, 0.0];
        snap::<4>(&mut pi).unwrap();
        assert_eq!(pi, [0.0, 1.0, 0.0]);
        let mut pi = [0.25f32, 0.5, 0.125, 0.125];
        snap::<4>(&mut pi).unwrap();
        assert_eq!(pi, [0.25, 0.5, 0.125, 0.125]);
        assert_eq!(snap::<4>(&mut [0.0f32; 3]), Err(Error::InvalidPolicy));
    }
}
