//! The margin matrix: NLHF's `k = 1` game as an `n x n` matrix (SPEC §3).
//!
//! At `k = 1` the share is linear in the policy: `g(y) = sum_z A[y][z] pi(z)` with
//! `A[y][z] = P(a user prefers y to z) + P(a user ties them) / 2` (so `A[y][y] = 1/2` and
//! `A[y][z] + A[z][y] = 1`). `A - A^T` is the margin matrix whose maximal lottery NLHF computes.
//! Built once in `O(m n^2)` (branch-free rows, so it vectorises), it turns every share evaluation
//! of the `k = 1` game into an `O(n^2)` product instead of `O(m n)`: the solver then needs no pass
//! over the users at all. Entries are accumulated in `f64`, so 100,000 user types lose nothing.

use crate::{Error, Population, population::INDEX, population::TIE_NEXT, share::Oracle};

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
        let mut class = [0u32; N];
        let class = class
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, capacity: N })?;
        for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
            if w == 0.0 {
                continue;
            }
            // Class number of each candidate for this user, 0 = top.
            let mut cls = 0u32;
            for &e in row {
                if let Some(c) = class.get_mut((e & INDEX) as usize) {
                    *c = cls;
                }
                if e & TIE_NEXT == 0 {
                    cls += 1;
                }
            }
            let (w, half) = (w as f64, w as f64 * 0.5);
            for (&cy, a_row) in class.iter().zip(a.chunks_exact_mut(n)) {
                for (x, &cz) in a_row.iter_mut().zip(class.iter()) {
                    *x += if cy < cz {
                        w
                    } else if cy == cz {
                        half
                    } else {
                        0.0
                    };
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

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f64]) {
        if k != 1 {
            return self.pop.jacobian_into(pi, k, support, stride, out);
        }
        if stride == 0 {
            return;
        }
        for (&y, row) in support.iter().zip(out.chunks_mut(stride)) {
            for (o, &z) in row.iter_mut().zip(support) {
                *o += self.get(y as usize, z as usize).unwrap_or(0.0);
            }
        }
    }
}
