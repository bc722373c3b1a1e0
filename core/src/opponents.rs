//! Opponents that also show several responses (docs/maths.md §5).
//!
//! An opponent shows an `l`-multiset `Z`; it wins when the user's pick among the `k + l` slots is
//! one of its slots. For user type `j`, with `A` the tie class of `Z`'s best element, `t` the
//! number of `Z`'s slots in `A`, `c = pi(A)` and `b = pi(strictly below A)`, its chance is
//! `sum_{i=0..k} C(k,i) c^i b^(k-i) t/(t+i)`. The worst `Z` is found by enumerating all
//! `C(n+l-1, l)` multisets, refused beyond a limit.
//!
//! Like [`crate::certificate`], the chances are guaranteed bounds: the opponent's chance is
//! bounded above (our win rate below) in integer fixed point with every step rounded up, over
//! the exact weights and the policy normalised exactly. The chance is the expectation of
//! `t/(t+i)` over the number `i` of our draws that land in `A` given that none lands above it,
//! computed draw by draw (`P_d(i) = P_{d-1}(i) b + P_{d-1}(i-1) c`): non-negative terms only.

use heapless::Vec;

use crate::{
    Error, Population,
    certificate::{Weights, masses_up, to_fixed},
    check_k_at_most,
    fixed::{ONE, mul_wide_up, ratio_down, ratio_up},
    policy::check_policy,
    population::{INDEX, TIE_NEXT},
};

pub use crate::limits::OPPONENT_MAX_K as MAX_K;

/// The worst `l`-response opponent against `k` draws from a policy, with the bounds.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpponentReport<const L: usize> {
    /// The opponent's multiset, candidate indices in non-decreasing order.
    pub multiset: Vec<u16, L>,
    /// The opponent's winning chance.
    pub opponent_win_rate: f32,
    /// Our win rate against it, `1 - opponent_win_rate`.
    pub win_rate: f32,
    /// `(k+1-l)/(k+1)` rounded down (0 for `l > k + 1`): what an exact equilibrium guarantees
    /// (union bound; subtract `l * e` for an approximate one).
    pub lower_bound: f32,
    /// `k/(k+l)` rounded up: no method guarantees more in general.
    pub upper_bound: f32,
}

/// `C(n+l-1, l)`, or `None` on overflow of `u64`.
pub fn multiset_count(n: usize, l: usize) -> Option<u64> {
    // C(n+l-1, l) = prod_{i=1..l} (n-1+i)/i, exact at each step.
    let mut c: u128 = 1;
    for i in 1..=l as u128 {
        c = c.checked_mul((n as u128).checked_add(i)?.checked_sub(1)?)? / i;
        if c > u64::MAX as u128 {
            return None;
        }
    }
    u64::try_from(c).ok()
}

/// The opponent's winning chance with multiset `z` against `k` draws from `pi`.
///
/// Errors: [`Error::InvalidK`] (also `k >` [`MAX_K`]), [`Error::InvalidOpponentSize`] for an
/// empty `z`, [`Error::UnknownCandidate`], [`Error::InvalidPolicy`].
pub fn opponent_win_rate<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    z: &[u16],
) -> Result<f32, Error> {
    check_k_at_most(k, MAX_K)?;
    check_policy(pi, pop.n())?;
    if z.is_empty() {
        return Err(Error::InvalidOpponentSize { l: 0 });
    }
    let mut count = [0u16; N];
    for &y in z {
        match count.get_mut(y as usize) {
            Some(c) if (y as usize) < pop.n() => *c = c.saturating_add(1),
            _ => {
                return Err(Error::UnknownCandidate {
                    user: 0,
                    candidate: y as usize,
                });
            }
        }
    }
    let mut mass = [0u64; N];
    masses_up(pi, &mut mass);
    let (num, den) = chance(pop, &mass, k, &count);
    Ok(ratio_up(num.min(den), den))
}

/// Enumerates every `l`-multiset and reports the one with the highest winning chance against
/// `k` draws from `pi` (the first found on ties), refusing when there are more than `limit`.
///
/// Errors: those of [`opponent_win_rate`], [`Error::InvalidOpponentSize`] when `l == 0` or
/// `l > L`, [`Error::TooManyMultisets`].
pub fn worst_opponent<const N: usize, const L: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    l: usize,
    limit: u64,
) -> Result<OpponentReport<L>, Error> {
    check_k_at_most(k, MAX_K)?;
    check_policy(pi, pop.n())?;
    if l == 0 || l > L || l > u16::MAX as usize {
        return Err(Error::InvalidOpponentSize { l });
    }
    let n = pop.n();
    match multiset_count(n, l) {
        Some(c) if c <= limit => {}
        _ => return Err(Error::TooManyMultisets { limit }),
    }
    let mut mass = [0u64; N];
    masses_up(pi, &mut mass);
    // Current multiset as non-decreasing indices; counts per candidate.
    let mut z = [0u16; L];
    let mut count = [0u16; N];
    if let Some(c) = count.first_mut() {
        *c = l as u16;
    }
    let mut best_z = z;
    let mut best = (0u128, 1u128);
    let mut first = true;
    loop {
        // Every multiset shares the denominator: compare the numerators.
        let x = chance(pop, &mass, k, &count);
        if first || x.0 > best.0 {
            best = x;
            best_z = z;
            first = false;
        }
        // Next multiset: bump the last position that can grow, reset the rest to it.
        let Some(pos) = (0..l)
            .rev()
            .find(|&i| z.get(i).is_some_and(|&v| (v as usize) + 1 < n))
        else {
            break;
        };
        let v = z.get(pos).copied().unwrap_or(0) + 1;
        for slot in z.iter_mut().take(l).skip(pos) {
            *slot = v;
        }
        for c in count.iter_mut() {
            *c = 0;
        }
        for &y in z.iter().take(l) {
            if let Some(c) = count.get_mut(y as usize) {
                *c += 1;
            }
        }
    }
    let mut multiset = Vec::new();
    for &y in best_z.iter().take(l) {
        multiset
            .push(y)
            .map_err(|_| Error::InvalidOpponentSize { l })?;
    }
    let (num, den) = (best.0.min(best.1), best.1);
    Ok(OpponentReport {
        multiset,
        opponent_win_rate: ratio_up(num, den),
        win_rate: ratio_down(den - num, den),
        lower_bound: ratio_down(
            (u128::from(k) + 1).saturating_sub(l as u128),
            u128::from(k) + 1,
        ),
        upper_bound: ratio_up(u128::from(k), u128::from(k) + l as u128),
    })
}

/// An upper bound `num / den` of the opponent's chance, averaged over users with their exact
/// weights, for the multiset given by per-candidate `count`; `mass` from [`masses_up`].
fn chance<const N: usize>(
    pop: &Population<'_, N>,
    mass: &[u64; N],
    k: u32,
    count: &[u16],
) -> (u128, u128) {
    let n = pop.n();
    let weights = Weights::of(pop);
    let mut num = 0u128;
    let mut total_down = 0u128;
    let mut dist = [0u64; MAX_K as usize + 1];
    for (j, row) in pop.order_rows().chunks_exact(n).enumerate() {
        let (w_up, w_down) = weights.get(pop, j);
        total_down += u128::from(w_down);
        if w_up == 0 {
            continue;
        }
        let cnt = |e: u16| u32::from(count.get((e & INDEX) as usize).copied().unwrap_or(0));
        let at = |e: u16| mass.get((e & INDEX) as usize).copied().unwrap_or(0);
        // The first position holding one of Z's candidates, then its whole class.
        let Some(first) = row.iter().position(|&e| cnt(e) > 0) else {
            continue;
        };
        let mut start = first;
        while start > 0 && row.get(start - 1).is_some_and(|&e| e & TIE_NEXT != 0) {
            start -= 1;
        }
        let mut end = first + 1;
        while row.get(end - 1).is_some_and(|&e| e & TIE_NEXT != 0) {
            end += 1;
        }
        let class = row.get(start..end).unwrap_or(&[]);
        let t: u32 = class.iter().map(|&e| cnt(e)).sum();
        let below = row
            .get(end..)
            .unwrap_or(&[])
            .iter()
            .fold(0u64, |s, &e| s.saturating_add(at(e)));
        let c = class.iter().fold(0u64, |s, &e| s.saturating_add(at(e)));
        let (b, c) = (to_fixed(below), to_fixed(c));
        // dist[i] = P(i draws in A, the others below A), draw by draw, rounded up.
        for d in dist.iter_mut() {
            *d = 0;
        }
        if let Some(d) = dist.first_mut() {
            *d = u64::from(ONE);
        }
        for drawn in 0..k as usize {
            for i in (0..=drawn + 1).rev() {
                let stay = dist.get(i).map_or(0, |&x| mul_wide_up(b, x));
                let came = i
                    .checked_sub(1)
                    .and_then(|p| dist.get(p))
                    .map_or(0, |&x| mul_wide_up(c, x));
                if let Some(d) = dist.get_mut(i) {
                    *d = stay.saturating_add(came);
                }
            }
        }
        let mut v = 0u128;
        for (i, &p) in dist.iter().enumerate().take(k as usize + 1) {
            // ceil(p t / (t + i))
            let top = u128::from(p) * u128::from(t);
            let bottom = u128::from(t) + i as u128;
            // t >= 1 (the class holds one of Z's candidates), so bottom >= 1.
            let (q, r) = (top.checked_div(bottom), top.checked_rem(bottom));
            v += q.unwrap_or(top) + u128::from(r.is_some_and(|r| r != 0));
        }
        num = num.saturating_add(v.saturating_mul(u128::from(w_up)));
    }
    (num, u128::from(ONE) * total_down)
}
