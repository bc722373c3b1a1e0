//! NLHF's `k = 1` game as an `n x n` matrix (docs/maths.md §3.3).
//!
//! What is stored is `A`, the pairwise preference-mass matrix, **not** the margin matrix
//! `A - A^T`: at `k = 1` the share is linear in the policy, `g(y) = sum_z A[y][z] pi(z)` with
//! `A[y][z] = P(a user prefers y to z) + P(a user ties them) / 2` (so `A[y][y] = 1/2` and
//! `A[y][z] + A[z][y] = 1`). The margin matrix `A - A^T` (entries `2 A[y][z] - 1`, the diagonal
//! included) is the one whose maximal lottery NLHF computes: a policy is a maximal lottery exactly
//! when `A pi <= 1/2` entrywise, which is how [`crate::solver::nlhf_margins`] finds it from `A`.
//! The module and type keep the name of the game they serve.
//! Built once in `O(m n^2)`, it turns every share evaluation of the `k = 1` game into an
//! `O(n^2)` product instead of `O(m n)`: the solver then needs no pass over the users at all.
//! Only the upper triangle is accumulated; the lower one is `A[z][y] = W - A[y][z]` with `W` the
//! total weight. Blocks of 128 user types of one weight (impartial culture, any unweighted
//! profile) are counted with one byte comparison per user and entry, then scaled by the weight,
//! which is exact; other blocks add their weights in `f64` tile by tile, so 100,000 user types lose
//! nothing either way. `(256, 5000)`: 145 ms (`f64` rows) -> 38 ms (tiles) -> 7 ms (counting).

use crate::{Error, Population, population::INDEX, population::TIE_NEXT, share::Oracle};

/// Rows and columns of a tile of `A`: 32 x 32 `f64` is 8 KB, at home in L1.
const TILE: usize = 32;
/// User types per group of the weighted path: their class numbers (`8 N` bytes each) stay near L1
/// too.
const USERS: usize = 8;
/// User types per block of the counting path (equal weights): a byte per candidate and user, so a
/// block of `n = 256` candidates is 32 KB.
const BLOCK: usize = 128;

/// A population together with its `k = 1` matrix `A` of pairwise preference masses (row-major,
/// in a caller buffer of `n * n` `f64`; not the margins `A - A^T`, see the module). As an
/// [`Oracle`] it answers `k = 1` from the matrix and any other `k` from the population.
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
    /// Stack: about `192 N` bytes of scratch (a byte per candidate for each of 128 user types,
    /// and eight user types' `f64` class numbers).
    ///
    /// Errors: [`Error::BufferTooSmall`].
    pub fn new(pop: Population<'a, N>, buf: &'a mut [f64]) -> Result<Self, Error> {
        let n = pop.n();
        let a = crate::prefix_mut(buf, n.saturating_mul(n))?;
        for x in a.iter_mut() {
            *x = 0.0;
        }
        if n > N {
            return Err(Error::TooManyCandidates { n, max: N });
        }
        // The upper triangle (diagonal included), block by block of user types; the lower
        // triangle follows from `A[z][y] = W - A[y][z]`.
        let rows = pop.order_rows();
        let mut table = [[0i8; BLOCK]; N];
        let mut total = 0.0f64;
        for (b, ws) in pop.weights().chunks(BLOCK).enumerate() {
            let rows = rows.get(b * BLOCK * n..).unwrap_or(&[]);
            let w = ws.first().copied().unwrap_or(0.0);
            if ws.iter().all(|&x| x == w) && n <= 256 {
                if w != 0.0 {
                    total += count_block(a, n, rows, ws.len(), w as f64, &mut table);
                }
            } else {
                total += weigh_block::<N>(a, n, rows, ws);
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

    /// `A`, row-major `n x n`: preference masses in `[0, 1]`, not margins.
    pub fn matrix(&self) -> &'a [f64] {
        self.a
    }

    /// The population the matrix was built from.
    pub fn population(&self) -> &Population<'a, N> {
        &self.pop
    }
}

/// Adds to the upper triangle of `A` (row-major `n x n`) the `users` user types of equal weight
/// `w` whose orders start `rows`, and returns their total weight. Each entry counts the users
/// preferring `y` to `z` by one byte comparison per user (`table[c][j]` is user `j`'s class
/// number for `c`, biased to `i8`), sixteen users per SSE2 instruction, and adds `w` times the
/// count: every term is exact in `f64`, so are sums of such terms over blocks of one weight.
fn count_block<const N: usize>(
    a: &mut [f64],
    n: usize,
    rows: &[u16],
    users: usize,
    w: f64,
    table: &mut [[i8; BLOCK]; N],
) -> f64 {
    let mut strict = true;
    for j in 0..BLOCK {
        match rows.get(j * n..(j + 1) * n).filter(|_| j < users) {
            Some(row) => {
                let mut cls = 0u8;
                for &e in row {
                    if let Some(t) = table
                        .get_mut((e & INDEX) as usize)
                        .and_then(|t| t.get_mut(j))
                    {
                        *t = (cls ^ 0x80) as i8;
                    }
                    if e & TIE_NEXT == 0 {
                        cls = cls.wrapping_add(1);
                    } else {
                        strict = false;
                    }
                }
            }
            // Past the last user: every candidate in one class, so the column adds nothing.
            None => {
                for t in table.iter_mut().take(n) {
                    if let Some(t) = t.get_mut(j) {
                        *t = 0;
                    }
                }
            }
        }
    }
    let users = users.min(BLOCK) as u32;
    for (y, ty) in table.iter().enumerate().take(n) {
        let Some(a_row) = a.get_mut(y * n..(y + 1) * n) else {
            break;
        };
        if let Some(d) = a_row.get_mut(y) {
            *d += w * (0.5 * users as f64);
        }
        for (x, tz) in a_row.iter_mut().zip(table.iter()).skip(y + 1) {
            let less = count_less(ty, tz);
            let preferred = if strict {
                less as f64
            } else {
                let tied = users.saturating_sub(less + count_less(tz, ty));
                less as f64 + 0.5 * tied as f64
            };
            *x += w * preferred;
        }
    }
    w * users as f64
}

/// How many of the block's users put `y` (class numbers `ty`) strictly above `z` (`tz`).
#[inline(always)]
fn count_less(ty: &[i8; BLOCK], tz: &[i8; BLOCK]) -> u32 {
    // Sixteen byte lanes, each counting at most `BLOCK / 16 = 8` users.
    let mut acc = [0u8; 16];
    for (cy, cz) in ty.chunks_exact(16).zip(tz.chunks_exact(16)) {
        for ((s, &p), &q) in acc.iter_mut().zip(cy).zip(cz) {
            *s = s.wrapping_add((p < q) as u8);
        }
    }
    acc.iter().map(|&s| s as u32).sum()
}

/// Adds to the upper triangle of `A` the user types of weights `ws` (any weights) whose orders
/// start `rows`, and returns their total weight: tile by tile over groups of [`USERS`] users, so
/// that a tile of `A` stays in L1 while the group adds into it, each entry adding the users one by
/// one in `f64`.
fn weigh_block<const N: usize>(a: &mut [f64], n: usize, rows: &[u16], ws: &[f32]) -> f64 {
    let mut classes = [[0.0f64; N]; USERS];
    let mut wts = [0.0f64; USERS];
    let mut strict = [false; USERS];
    let mut total = 0.0f64;
    for (g, group_w) in ws.chunks(USERS).enumerate() {
        let mut count = 0usize;
        for (j, &w) in group_w.iter().enumerate() {
            let Some(row) = rows.get((g * USERS + j) * n..(g * USERS + j + 1) * n) else {
                break;
            };
            if w == 0.0 {
                continue;
            }
            let (Some(class), Some(slot), Some(st)) = (
                classes.get_mut(count),
                wts.get_mut(count),
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
                for ((class, &w), &st) in classes.iter().zip(wts.iter()).zip(&strict).take(count) {
                    let (Some(cls_z), Some(cls_y)) =
                        (class.get(tz..z_end), class.get(ty..(ty + TILE).min(n)))
                    else {
                        continue;
                    };
                    for (y, &cy) in (ty..).zip(cls_y) {
                        // In a diagonal tile only the columns from the diagonal on: the entries
                        // left of it come from `W - A[z][y]` below.
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
    total
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

    fn population(&self) -> Population<'_, N> {
        self.pop
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
        let mut next = crate::xorshift32(0x2545_f491);
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
