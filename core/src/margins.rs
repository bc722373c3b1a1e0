//! The margin matrix: NLHF's `k = 1` game as an `n x n` matrix (SPEC §3).
//!
//! At `k = 1` the share is linear in the policy: `g(y) = sum_z A[y][z] pi(z)` with
//! `A[y][z] = P(a user prefers y to z) + P(a user ties them) / 2` (so `A[y][y] = 1/2` and
//! `A[y][z] + A[z][y] = 1`). `A - A^T` is the margin matrix whose maximal lottery NLHF computes.
//! Built once in `O(m n^2)` (branch-free rows, so it vectorises), it turns every share evaluation
//! of the `k = 1` game into an `O(n^2)` product instead of `O(m n)`: the solver then needs no pass
//! over the users at all. Entries are accumulated in `f64`, so 100,000 user types lose nothing.
//! Above 32 candidates only the upper triangle is accumulated, tile by tile over blocks of
//! users so that a tile stays in L1 (`(256, 5000)`: 145 -> 38 ms with `f64` class numbers and
//! one comparison per entry for strict orders), and the lower triangle is
//! `A[z][y] = W - A[y][z]` with `W` the total weight.

use crate::{Error, Population, population::INDEX, population::TIE_NEXT, share::Oracle};

/// Rows and columns of a tile of `A`: 32 x 32 `f64` is 8 KB, at home in L1.
const TILE: usize = 32;
/// User types per block: their class numbers (`8 N` bytes each) stay near L1 too.
const USERS: usize = 8;

/// A population together with its `k = 1` matrix `A` (row-major, in a caller buffer of `n * n`
/// `f64`). As an [`Oracle`] it answers `k = 1` from the matrix and any other `k` from the
/// population.
#[derive(Clone, Copy, Debug)]
pub struct Margins<'a, const N: usize> {
    pop: Population<'a, N>,
    a: &'a [f64],
}

impl<'a, const N: usize> Margins<'a, N> {
    /// Builds `A` for `pop` in `buf` (at least `n * n` entries).
    ///
    /// ```
    /// use ualign::{Population, Storage, margins::Margins};
    /// let (mut w, mut o) = ([0.0f32; 2], [0u16; 4]);
    /// let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o))?;
    /// b.push_ranking(0.7, [[0], [1]])?;
    /// b.push_ranking(0.3, [[1], [0]])?;
    /// let mut buf = [0.0f64; 4];
    /// let a = Margins::new(b.finish()?, &mut buf)?;
    /// assert!((a.get(0, 1).unwrap() - 0.7).abs() < 1e-7 && a.get(1, 1) == Some(0.5));
    /// # Ok::<(), ualign::Error>(())
    /// ```
    ///
    /// Errors: [`Error::BufferTooSmall`].
    pub fn new(pop: Population<'a, N>, buf: &'a mut [f64]) -> Result<Self, Error> {
        let n = pop.n();
        let cells = n.saturating_mul(n);
        let found = buf.len();
        let a = buf.get_mut(..cells).ok_or(Error::BufferTooSmall {
            needed: cells,
            found,
        })?;
        for x in a.iter_mut() {
            *x = 0.0;
        }
        if n > N {
            return Err(Error::TooManyCandidates { n, capacity: N });
        }
        if n <= TILE {
            // The whole matrix is one tile: each user adds its full rows.
            let mut class = [0.0f64; N];
            for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
                if w == 0.0 {
                    continue;
                }
                let strict = classes_of(row, &mut class);
                let class = class.get(..n).unwrap_or(&[]);
                for (y, (&cy, a_row)) in class.iter().zip(a.chunks_exact_mut(n)).enumerate() {
                    if strict {
                        add_row_strict(a_row, class, cy, w as f64, Some(y));
                    } else {
                        add_row(a_row, class, cy, w as f64);
                    }
                }
            }
            return Ok(Margins { pop, a });
        }
        // The upper triangle, users in blocks: each tile of `A` stays in
        // L1 while a block of users adds into it, instead of every user streaming the whole
        // matrix (8 n^2 bytes) through the cache. Each entry still adds the users one by one, in
        // order, in f64. The lower triangle follows from `A[z][y] = W - A[y][z]`.
        let mut classes = [[0.0f64; N]; USERS];
        let mut ws = [0.0f64; USERS];
        let mut strict = [false; USERS];
        let mut total = 0.0f64;
        let rows = pop.order_rows();
        for (blk, blk_w) in pop.weights().chunks(USERS).enumerate() {
            let mut count = 0usize;
            for (j, &w) in blk_w.iter().enumerate() {
                let Some(row) = rows.get((blk * USERS + j) * n..(blk * USERS + j + 1) * n) else {
                    break;
                };
                if w == 0.0 {
                    continue;
                }
                let (Some(class), Some(slot), Some(st)) = (
                    classes.get_mut(count),
                    ws.get_mut(count),
                    strict.get_mut(count),
                ) else {
                    break;
                };
                *st = classes_of(row, class);
                *slot = w as f64;
                total += w as f64;
                count += 1;
            }
            for ty in (0..n).step_by(TILE) {
                for tz in (ty..n).step_by(TILE) {
                    let z_end = (tz + TILE).min(n);
                    for ((class, &w), &st) in classes.iter().zip(ws.iter()).zip(&strict).take(count)
                    {
                        let (Some(cls_z), Some(cls_y)) =
                            (class.get(tz..z_end), class.get(ty..(ty + TILE).min(n)))
                        else {
                            continue;
                        };
                        for (y, &cy) in (ty..).zip(cls_y) {
                            // In a diagonal tile only the columns from the diagonal on: the
                            // entries left of it come from `W - A[z][y]` below.
                            let z0 = if ty == tz { y } else { tz };
                            let (Some(a_row), Some(cls_z)) =
                                (a.get_mut(y * n + z0..y * n + z_end), cls_z.get(z0 - tz..))
                            else {
                                continue;
                            };
                            if st {
                                let diag = (ty == tz).then_some(0);
                                add_row_strict(a_row, cls_z, cy, w, diag);
                            } else {
                                add_row(a_row, cls_z, cy, w);
                            }
                        }
                    }
                }
            }
        }
        for y in 1..n {
            for z in 0..y {
                let upper = a.get(z * n + y).copied().unwrap_or(0.0);
                if let Some(x) = a.get_mut(y * n + z) {
                    *x = total - upper;
                }
            }
        }
        Ok(Margins { pop, a })
    }

    /// `A[y][z]`: the chance that a user prefers `y` to `z`, ties counting one half.
    pub fn get(&self, y: usize, z: usize) -> Option<f64> {
        let n = self.pop.n();
        if y >= n || z >= n {
            return None;
        }
        self.a.get(y * n + z).copied()
    }

    /// The population the matrix was built from.
    pub fn population(&self) -> &Population<'a, N> {
        &self.pop
    }
}

/// `class[c]` = the class number of candidate `c` in the order `row`, 0 = top, as an `f64`: the
/// comparisons in [`add_row`] then give masks as wide as the values they select (exact up to
/// 2^53 classes; 30% faster than `u32` classes on SSE2). Returns whether the order is strict.
fn classes_of(row: &[u16], class: &mut [f64]) -> bool {
    let mut cls = 0.0f64;
    let mut flags = 0u16;
    for &e in row {
        if let Some(c) = class.get_mut((e & INDEX) as usize) {
            *c = cls;
        }
        if e & TIE_NEXT == 0 {
            cls += 1.0;
        }
        flags |= e;
    }
    flags & TIE_NEXT == 0
}

/// One user's part of a row of `A` (candidate of class `cy` against candidates of classes
/// `cls_z`): `w` where it is preferred, `w / 2` where tied. Branch-free, so it vectorises.
/// [`add_row`] for a strict order, where only the row's own candidate ties (`diag`, its column in
/// `a_row`, when the row's range holds it): one comparison per entry instead of two, then `w / 2`
/// on the diagonal. The entry there gets `+ 0.0` first, which changes no bit of a sum of
/// non-negative terms, so the result is `add_row`'s, bit for bit.
#[inline(always)]
fn add_row_strict(a_row: &mut [f64], cls_z: &[f64], cy: f64, w: f64, diag: Option<usize>) {
    for (x, &cz) in a_row.iter_mut().zip(cls_z) {
        *x += if cy < cz { w } else { 0.0 };
    }
    if let Some(x) = diag.and_then(|d| a_row.get_mut(d)) {
        *x += w * 0.5;
    }
}

#[inline(always)]
fn add_row(a_row: &mut [f64], cls_z: &[f64], cy: f64, w: f64) {
    let half = w * 0.5;
    for (x, &cz) in a_row.iter_mut().zip(cls_z) {
        *x += if cy < cz {
            w
        } else if cy == cz {
            half
        } else {
            0.0
        };
    }
}

impl<const N: usize> Oracle<N> for Margins<'_, N> {
    fn n(&self) -> usize {
        self.pop.n()
    }

    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        if k != 1 {
            return self.pop.shares_into(pi, k, out);
        }
        let n = self.pop.n();
        for (o, a_row) in out.iter_mut().zip(self.a.chunks_exact(n)) {
            let mut x = 0.0f64;
            for (&a, &p) in a_row.iter().zip(pi) {
                x += a * p as f64;
            }
            *o = x as f32;
        }
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        if k != 1 {
            return self.pop.jacobian_into(pi, k, support, stride, out);
        }
        if stride == 0 {
            return;
        }
        for (&y, row) in support.iter().zip(out.chunks_mut(stride)) {
            for (o, &z) in row.iter_mut().zip(support) {
                *o += self.get(y as usize, z as usize).unwrap_or(0.0) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{add_row, add_row_strict};

    /// For strict orders the one-comparison row gives `add_row`'s bits, summed over many users,
    /// on full rows and on column ranges with and without the diagonal.
    #[test]
    fn strict_rows_are_bit_identical() {
        const N: usize = 12;
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for (tz, len) in [(0usize, N), (0, 5), (4, 8), (7, 5)] {
            let (mut general, mut strict) = ([[0.0f64; N]; N], [[0.0f64; N]; N]);
            for _ in 0..50 {
                // A random strict order: class numbers are a permutation of 0..N.
                let mut class: [f64; N] = core::array::from_fn(|i| i as f64);
                for i in (1..N).rev() {
                    class.swap(i, next() as usize % (i + 1));
                }
                let w = (1 + next() % 1000) as f64 * 1e-3;
                for y in 0..N {
                    let cls_z = &class[tz..tz + len];
                    add_row(&mut general[y][tz..tz + len], cls_z, class[y], w);
                    let diag = (tz..tz + len).contains(&y).then(|| y - tz);
                    add_row_strict(&mut strict[y][tz..tz + len], cls_z, class[y], w, diag);
                }
            }
            for y in 0..N {
                for z in 0..N {
                    assert_eq!(
                        general[y][z].to_bits(),
                        strict[y][z].to_bits(),
                        "{tz} {len} {y} {z}"
                    );
                }
            }
        }
    }
}
