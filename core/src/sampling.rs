//! Deployment (docs/maths.md §6): seeded picks from a policy or a Hedge time mixture, distinct
//! picks, and candidates ordered by mass.
//!
//! Any [`rand_core::Rng`] works; the documented default is `rand_xoshiro::Xoshiro128PlusPlus`
//! seeded with `seed_from_u64`, which gives the same picks on every target for the same seed.
//! Only `next_u32` is used, so 32-bit generators are at no disadvantage.

use heapless::Vec;
use rand_core::Rng;

use crate::{Error, check_k_at_most, mixture::TimeMixture, policy::check_policy, score::Score};

/// A uniform `f32` in `[0, 1)` with 24 random bits (exact on every target).
pub fn unit_f32<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform integer in `0..n` (`n >= 1`; 0 for `n == 0`), by Lemire's multiply-shift with
/// rejection, so it is exactly uniform.
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let threshold = n.wrapping_neg() % n;
    loop {
        let x = rng.next_u32() as u64 * n as u64;
        if (x as u32) >= threshold {
            return (x >> 32) as u32;
        }
    }
}

/// One draw from `pi` (non-negative masses), normalised: candidate `y` with probability
/// `pi[y] / sum(pi)`, as [`crate::certificate::certify`] reads a policy. Inverse CDF on a 24-bit
/// uniform scaled by the sum: a policy of multiples of `2^-24` that sums to 1 (every policy the
/// solvers return) is drawn exactly, any other to the precision of its `f32` running sums. Never
/// returns a candidate of mass 0: rounding past the end falls back to the last candidate with
/// mass.
pub fn draw<R: Rng + ?Sized>(pi: &[f32], rng: &mut R) -> usize {
    let (_, total) = scan(pi, f32::INFINITY);
    scan(pi, unit_f32(rng) * total).0
}

/// The inverse CDF of `pi`'s positive masses at `u`: the first candidate whose running sum
/// exceeds `u`, else the last with mass, with the running sum there (so at `u` infinite, the
/// sum of every mass, in the order each draw adds them). Times 1 when the policy sums to 1, the
/// scaled uniform is the uniform itself.
fn scan(pi: &[f32], u: f32) -> (usize, f32) {
    let mut acc = 0.0f32;
    let mut last = 0usize;
    for (y, &p) in pi.iter().enumerate() {
        if p > 0.0 {
            acc += p;
            last = y;
            if u < acc {
                return (y, acc);
            }
        }
    }
    (last, acc)
}

/// `k` independent draws from `pi` normalised by its sum (as [`draw`]), in draw order.
///
/// ```
/// use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
/// let mut rng = Xoshiro128PlusPlus::seed_from_u64(7);
/// let picks = ualign::sampling::picks::<_, 16>(&[0.8, 0.2, 0.0], 4, &mut rng)?;
/// assert_eq!(picks.len(), 4);
/// assert!(picks.iter().all(|&y| y < 2));
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidK`] (also when `k > K`, before anything is drawn),
/// [`Error::InvalidPolicy`].
pub fn picks<R: Rng + ?Sized, const K: usize>(
    pi: &[f32],
    k: u32,
    rng: &mut R,
) -> Result<Vec<u16, K>, Error> {
    check_k_at_most(k, capacity::<K>())?;
    check_policy(pi, pi.len())?;
    if pi.is_empty() || pi.len() > crate::MAX_CANDIDATES {
        return Err(Error::InvalidPolicy);
    }
    Ok(draws(pi, k, rng))
}

/// `k` draws from a Hedge time mixture: one round `t` drawn uniformly, then `k` draws from
/// `pi_t` (docs/maths.md §4). One round serves all `k` draws: that is the object the mixture's
/// certificate covers.
///
/// Errors: [`Error::InvalidK`] (also when `k > K`, before anything is drawn),
/// [`Error::BufferTooSmall`] for an empty mixture.
pub fn mixture_picks<R: Rng + ?Sized, const K: usize>(
    mixture: &TimeMixture<'_>,
    k: u32,
    rng: &mut R,
) -> Result<Vec<u16, K>, Error> {
    check_k_at_most(k, capacity::<K>())?;
    let rounds = u32::try_from(mixture.rounds()).unwrap_or(u32::MAX);
    let t = below(rng, rounds) as usize;
    let pi = mixture.iterate(t).ok_or(Error::BufferTooSmall {
        needed: mixture.n(),
        found: 0,
    })?;
    Ok(draws(pi, k, rng))
}

/// The largest `k` a pick list of capacity `K` holds: `K`, and never above [`crate::MAX_K`].
fn capacity<const K: usize>() -> u32 {
    u32::try_from(K).map_or(crate::MAX_K, |c| c.min(crate::MAX_K))
}

/// `k` draws from `pi` (the caller checked that `k` fits in `K`; a draw that would not fit is
/// left out rather than panicking).
fn draws<R: Rng + ?Sized, const K: usize>(pi: &[f32], k: u32, rng: &mut R) -> Vec<u16, K> {
    let mut out = Vec::new();
    let (_, total) = scan(pi, f32::INFINITY);
    for _ in 0..k {
        if out.push(scan(pi, unit_f32(rng) * total).0 as u16).is_err() {
            break;
        }
    }
    out
}

/// The distinct members of `picks`, in order of first appearance. Showing these instead of all
/// `k` slots shows the user the same favourite; only a tie with the rival's response is split
/// among distinct candidates instead of slots, so the win rate may differ, and certificates
/// speak about showing all `k` slots (docs/maths.md §6.2: one candidate drawn twice against a
/// rival with the same response wins `2/3` as two slots, `1/2` as one).
pub fn distinct<const K: usize>(picks: &[u16]) -> Vec<u16, K> {
    let mut out: Vec<u16, K> = Vec::new();
    for &y in picks {
        if !out.contains(&y) && out.push(y).is_err() {
            break;
        }
    }
    out
}

/// Candidates with positive mass, ordered by mass (largest first, lower index first on ties):
/// the reranked list.
///
/// Errors: [`Error::TooManyCandidates`] when `pi.len() > N`.
pub fn by_mass<const N: usize>(pi: &[f32]) -> Result<Vec<u16, N>, Error> {
    if pi.len() > N || pi.len() > crate::MAX_CANDIDATES {
        return Err(Error::TooManyCandidates {
            n: pi.len(),
            max: N.min(crate::MAX_CANDIDATES),
        });
    }
    // Each candidate as one integer, its complemented mass key above its index, so that an
    // ascending sort of integers gives the order (the sort the population's scores take).
    let mut items: Vec<u64, N> = Vec::new();
    for (y, &p) in pi.iter().enumerate() {
        let key = u64::from(!((p.order_key() >> 32) as u32));
        if p > 0.0 && items.push(key << 16 | y as u64).is_err() {
            break;
        }
    }
    crate::sort_by::<N, u64, _>(items.as_mut_slice(), u64::cmp);
    let mut out: Vec<u16, N> = Vec::new();
    for &item in items.iter() {
        // As many as `items` holds: every push fits.
        if out.push(item as u16).is_err() {
            break;
        }
    }
    Ok(out)
}
