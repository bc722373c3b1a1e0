//! Synthetic populations for tests, benchmarks and demos: impartial culture, Mallows and
//! Plackett-Luce, each user type drawn from a seeded [`rand_core::Rng`] and pushed with weight 1.

use rand_core::Rng;

use crate::{
    Error, float,
    population::PopulationBuilder,
    sampling::{below, unit_f32},
};

/// Pushes `m` uniformly random strict rankings (impartial culture).
///
/// ```
/// use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
/// use ualign::{Population, Storage, synthetic};
/// let (mut w, mut o) = ([0.0f32; 100], [0u16; 100 * 8]);
/// let mut b = Population::<8>::builder(8, Storage::new(&mut w, &mut o))?;
/// synthetic::impartial_culture(&mut b, 100, &mut Xoshiro128PlusPlus::seed_from_u64(1))?;
/// assert_eq!(b.finish()?.m(), 100);
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::TooManyUsers`] when the storage is full.
pub fn impartial_culture<R: Rng + ?Sized, const N: usize>(
    builder: &mut PopulationBuilder<'_, N>,
    m: usize,
    rng: &mut R,
) -> Result<(), Error> {
    let n = builder.n();
    let mut perm = [0usize; N];
    let perm = perm
        .get_mut(..n)
        .ok_or(Error::TooManyCandidates { n, max: N })?;
    for _ in 0..m {
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i;
        }
        for i in (1..n).rev() {
            let j = below(rng, i as u32 + 1) as usize;
            // `j <= i < n` always; the test lets the optimiser drop the bounds check.
            if j <= i && i < perm.len() {
                perm.swap(i, j);
            }
        }
        builder.push_ranking(1.0, perm.iter().map(|&c| [c]))?;
    }
    Ok(())
}

/// Pushes `m` rankings from the Mallows model around the reference order `0 > 1 > ... > n-1`
/// with dispersion `phi` in `[0, 1]` (0: everyone ranks the reference; 1: impartial culture),
/// by the repeated insertion method.
///
/// Errors: [`Error::InvalidModelParameter`], [`Error::TooManyUsers`].
pub fn mallows<R: Rng + ?Sized, const N: usize>(
    builder: &mut PopulationBuilder<'_, N>,
    m: usize,
    phi: f32,
    rng: &mut R,
) -> Result<(), Error> {
    if !(0.0..=1.0).contains(&phi) {
        return Err(Error::InvalidModelParameter);
    }
    let n = builder.n();
    let mut order = [0usize; N];
    let mut pw = [0.0f32; N]; // phi^d for d = 0..n
    let (order, pw) = (
        order
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        pw.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
    );
    let mut x = 1.0f32;
    for p in pw.iter_mut() {
        *p = x;
        x *= phi;
    }
    for _ in 0..m {
        // Insert item i at position j (0 = top) with probability ∝ phi^(i - j).
        for i in 0..n {
            let mut z = 0.0f32;
            for p in pw.iter().take(i + 1) {
                z += *p;
            }
            let u = unit_f32(rng) * z;
            let mut acc = 0.0f32;
            let mut pos = i;
            for j in 0..=i {
                acc += pw.get(i - j).copied().unwrap_or(0.0);
                if u < acc {
                    pos = j;
                    break;
                }
            }
            let mut q = i;
            while q > pos {
                // `1 <= q <= i < n`: the test only spares the optimiser a bounds check.
                if q < order.len() {
                    order.swap(q, q - 1);
                }
                q -= 1;
            }
            if let Some(slot) = order.get_mut(pos) {
                *slot = i;
            }
        }
        builder.push_ranking(1.0, order.iter().map(|&c| [c]))?;
    }
    Ok(())
}

/// Pushes `m` rankings from the Plackett-Luce model with candidate strengths `strength`
/// (positive, finite; length `n`): the next place goes to a remaining candidate with
/// probability proportional to its strength.
///
/// Errors: [`Error::LengthMismatch`], [`Error::InvalidModelParameter`], [`Error::TooManyUsers`].
pub fn plackett_luce<R: Rng + ?Sized, const N: usize>(
    builder: &mut PopulationBuilder<'_, N>,
    m: usize,
    strength: &[f32],
    rng: &mut R,
) -> Result<(), Error> {
    let n = builder.n();
    if strength.len() != n {
        return Err(Error::LengthMismatch {
            expected: n,
            found: strength.len(),
        });
    }
    if strength.iter().any(|&s| !(s.is_finite() && s > 0.0)) {
        return Err(Error::InvalidModelParameter);
    }
    let mut rest = [0usize; N];
    let rest = rest
        .get_mut(..n)
        .ok_or(Error::TooManyCandidates { n, max: N })?;
    let weight = |c: usize| strength.get(c).copied().unwrap_or(0.0);
    for _ in 0..m {
        for (i, r) in rest.iter_mut().enumerate() {
            *r = i;
        }
        // rest[..left] are still unplaced; the chosen one is swapped to the end of that range.
        for left in (1..=n).rev() {
            let mut z = 0.0f32;
            for &c in rest.iter().take(left) {
                z += weight(c);
            }
            let u = unit_f32(rng) * z;
            let mut acc = 0.0f32;
            let mut pick = left - 1;
            for (i, &c) in rest.iter().enumerate().take(left) {
                acc += weight(c);
                if u < acc {
                    pick = i;
                    break;
                }
            }
            // `pick < left <= n` always: the test only spares the optimiser a bounds check.
            if pick < left && left <= rest.len() {
                rest.swap(pick, left - 1);
            }
        }
        // Chosen first sits at the end: read the ranking backwards.
        builder.push_ranking(1.0, rest.iter().rev().map(|&c| [c]))?;
    }
    Ok(())
}

/// Plackett-Luce strengths `exp(-decay * i)` for candidate `i`: a convenient skewed default.
pub fn geometric_strengths(strength: &mut [f32], decay: f32) {
    for (i, s) in strength.iter_mut().enumerate() {
        *s = float::exp(-decay * i as f32);
    }
}
