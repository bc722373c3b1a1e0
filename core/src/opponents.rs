//! Opponents that also show several responses (SPEC §5).
//!
//! An opponent shows an `l`-multiset `Z`; it wins when the user's pick among the `k + l` slots is
//! one of its slots. For user type `j`, with `A` the tie class of `Z`'s best element, `t` the
//! number of `Z`'s slots in `A`, `c = pi(A)` and `b = pi(strictly below A)`, its chance is
//! `sum_{i=0..k} C(k,i) c^i b^(k-i) t/(t+i)`. The worst `Z` is found by enumerating all
//! `C(n+l-1, l)` multisets, refused beyond a limit.

use heapless::Vec;

use crate::{
    Error, Population, check_k,
    population::{INDEX, TIE_NEXT},
    share::check_policy,
};

/// The largest `k` the opponent computation accepts (its binomial terms are exact in `f64` up
/// to here).
pub const MAX_K: u32 = 64;

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
    /// `(k+1-l)/(k+1)`: what an exact equilibrium guarantees (union bound; subtract `l * e` for
    /// an approximate one).
    pub lower_bound: f32,
    /// `k/(k+l)`: no method guarantees more in general.
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
    check_k(k)?;
    if k > MAX_K {
        return Err(Error::InvalidK { k });
    }
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
    let binom = binomials(k);
    Ok(chance(pop, pi, k, &count, &binom) as f32)
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
    check_k(k)?;
    if k > MAX_K {
        return Err(Error::InvalidK { k });
    }
    check_policy(pi, pop.n())?;
    if l == 0 || l > L || l > u16::MAX as usize {
        return Err(Error::InvalidOpponentSize { l });
    }
    let n = pop.n();
    match multiset_count(n, l) {
        Some(c) if c <= limit => {}
        _ => return Err(Error::TooManyMultisets { limit }),
    }
    let binom = binomials(k);
    // Current multiset as non-decreasing indices; counts per candidate.
    let mut z = [0u16; L];
    let mut count = [0u16; N];
    if let Some(c) = count.first_mut() {
        *c = l as u16;
    }
    let mut best_z = z;
    let mut best = f64::NEG_INFINITY;
    loop {
        let x = chance(pop, pi, k, &count, &binom);
        if x > best {
            best = x;
            best_z = z;
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
    let chance = best as f32;
    Ok(OpponentReport {
        multiset,
        opponent_win_rate: chance,
        win_rate: 1.0 - chance,
        lower_bound: (k as f32 + 1.0 - l as f32) / (k as f32 + 1.0),
        upper_bound: k as f32 / (k as f32 + l as f32),
    })
}

/// `C(k, i)` for `i = 0..=k` in `f64` (exact for `k <= 56`, correctly rounded products beyond).
fn binomials(k: u32) -> [f64; MAX_K as usize + 1] {
    let mut b = [0.0f64; MAX_K as usize + 1];
    let mut c = 1.0f64;
    for (i, slot) in b.iter_mut().enumerate().take(k as usize + 1) {
        *slot = c;
        c = c * (k as f64 - i as f64) / (i as f64 + 1.0);
    }
    b
}

/// The opponent's chance, averaged over users, for the multiset given by per-candidate `count`.
fn chance<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    count: &[u16],
    binom: &[f64; MAX_K as usize + 1],
) -> f64 {
    let n = pop.n();
    let mut total = 0.0f64;
    let mut cp = [0.0f64; MAX_K as usize + 1];
    let mut bp = [0.0f64; MAX_K as usize + 1];
    for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
        if w == 0.0 {
            continue;
        }
        let cnt = |e: u16| count.get((e & INDEX) as usize).copied().unwrap_or(0) as u32;
        let mass = |e: u16| pi.get((e & INDEX) as usize).copied().unwrap_or(0.0) as f64;
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
        let c: f64 = class.iter().map(|&e| mass(e)).sum();
        let b: f64 = row.get(end..).unwrap_or(&[]).iter().map(|&e| mass(e)).sum();
        let (mut x, mut y) = (1.0f64, 1.0f64);
        for i in 0..=k as usize {
            if let (Some(ci), Some(bi)) = (cp.get_mut(i), bp.get_mut(i)) {
                *ci = x;
                *bi = y;
            }
            x *= c;
            y *= b;
        }
        let mut s = 0.0f64;
        for i in 0..=k as usize {
            let term = binom.get(i).copied().unwrap_or(0.0)
                * cp.get(i).copied().unwrap_or(0.0)
                * bp.get(k as usize - i).copied().unwrap_or(0.0);
            s += term * t as f64 / (t as f64 + i as f64);
        }
        total += w as f64 * s;
    }
    total
}
