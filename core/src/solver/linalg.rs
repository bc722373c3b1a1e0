//! Small dense linear algebra for the Newton polish: an LU factorisation with partial pivoting
//! that the polish keeps, so that further steps on the same support solve with it again
//! without a new Jacobian.

/// Factors the `m x m` row-major `a` in place by Gaussian elimination with partial pivoting:
/// `U` above the diagonal, the reciprocals of its pivots on it, the multipliers of `L` below
/// it, and `piv[col]` the row swapped with row `col` at step `col`. `false` when the matrix is
/// singular to working precision (a pivot below `1e-9`), or `piv` holds fewer than `m` entries.
pub(super) fn factor(a: &mut [f32], m: usize, piv: &mut [u8]) -> bool {
    if piv.len() < m || m > usize::from(u8::MAX) {
        return false;
    }
    let Some(a) = a.get_mut(..m * m) else {
        return false;
    };
    for col in 0..m {
        let mut p = col;
        let mut best = 0.0f32;
        // Rows by index, not `chunks_exact`: its count is a division by `m`, an integer
        // division per column (tens of cycles each on x86-64).
        for r in col..m {
            let v = a.get(r * m + col).copied().unwrap_or(0.0);
            let v = if v < 0.0 { -v } else { v };
            if v > best {
                best = v;
                p = r;
            }
        }
        if best < 1e-9 {
            return false;
        }
        if let Some(slot) = piv.get_mut(col) {
            *slot = p as u8;
        }
        // The pivot's row and row `col` swapped entry by entry. On a host even when they are
        // the same row: which row holds the pivot follows the values, in no pattern a branch
        // predictor learns. A microcontroller, which predicts no branch, skips that swap.
        if p != col || !cfg!(target_os = "none") {
            for c in 0..m {
                let (i, j) = (col * m + c, p * m + c);
                if i < a.len() && j < a.len() {
                    a.swap(i, j);
                }
            }
        }
        // Rows `col` and below, as the pivot row and the rest.
        let Some((top, rest)) = a
            .get_mut(col * m..)
            .and_then(|lower| lower.split_at_mut_checked(m))
        else {
            return false;
        };
        // The pivot's reciprocal, stored in its place: each multiplier is then a
        // multiplication, and so is each step of the back substitution.
        let inv = 1.0 / top.get(col).copied().unwrap_or(1.0);
        if let Some(d) = top.get_mut(col) {
            *d = inv;
        }
        let top = top.get(col + 1..).unwrap_or(&[]);
        for r in 0..m - col - 1 {
            let Some(row) = rest.get_mut(r * m..(r + 1) * m) else {
                continue;
            };
            let Some((x, tail)) = row.get_mut(col..).and_then(|r| r.split_first_mut()) else {
                continue;
            };
            let f = *x * inv;
            *x = f;
            if f == 0.0 {
                continue;
            }
            for (x, &t) in tail.iter_mut().zip(top) {
                *x -= f * t;
            }
        }
    }
    true
}

/// Solves `a x = b` in place (`b` becomes `x`) with the factors and pivots of [`factor`]: the
/// row swaps, then forward and back substitution. Every entry of `b` meets the operations that
/// elimination applied to its row, in the same order, so the bits are those of eliminating `a`
/// and `b` together (multipliers and unknowns scaled by the pivots' reciprocals, the unknowns
/// taken out of the rows above by columns).
pub(super) fn solve_factored(a: &[f32], m: usize, piv: &[u8], b: &mut [f32]) {
    // The factors' rows moved with every later swap, so all swaps come first.
    for col in 0..m {
        let p = usize::from(piv.get(col).copied().unwrap_or(col as u8));
        // As in `factor`: a host swaps an entry with itself rather than branch.
        if (p != col || !cfg!(target_os = "none")) && p < b.len() && col < b.len() {
            b.swap(p, col);
        }
    }
    for col in 0..m {
        let top = b.get(col).copied().unwrap_or(0.0);
        // Column `col` below the diagonal, by index (see `factor`).
        for r in col + 1..m {
            let f = a.get(r * m + col).copied().unwrap_or(0.0);
            if f != 0.0
                && let Some(x) = b.get_mut(r)
            {
                *x -= f * top;
            }
        }
    }
    // Back substitution by columns: each unknown, once known, is taken out of the rows above
    // at once, so the chain from one unknown to the next is one multiplication and one
    // subtraction (by rows, it is a whole row's dot product).
    for col in (0..m).rev() {
        let d = a.get(col * m + col).copied().unwrap_or(1.0);
        let Some((above, rest)) = b.split_at_mut_checked(col) else {
            continue;
        };
        let Some(x) = rest.first_mut() else {
            continue;
        };
        *x *= d;
        let x = *x;
        for (r, acc) in above.iter_mut().enumerate() {
            *acc -= a.get(r * m + col).copied().unwrap_or(0.0) * x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// Gaussian elimination with partial pivoting applied to `b` as it goes, each pivot's
    /// reciprocal taken once, then back substitution by columns: the textbook route, which
    /// factoring then solving must reproduce bit for bit.
    fn eliminate(a: &mut [f32], b: &mut [f32], m: usize) -> bool {
        for col in 0..m {
            let mut p = col;
            let mut best = 0.0f32;
            for r in col..m {
                let v = a[r * m + col].abs();
                if v > best {
                    best = v;
                    p = r;
                }
            }
            if best < 1e-9 {
                return false;
            }
            if p != col {
                for c in 0..m {
                    a.swap(p * m + c, col * m + c);
                }
                b.swap(p, col);
            }
            let inv = 1.0 / a[col * m + col];
            for r in col + 1..m {
                let f = a[r * m + col] * inv;
                if f == 0.0 {
                    continue;
                }
                for c in col..m {
                    a[r * m + c] -= f * a[col * m + c];
                }
                b[r] -= f * b[col];
            }
        }
        for col in (0..m).rev() {
            b[col] *= 1.0 / a[col * m + col];
            for r in 0..col {
                b[r] -= a[r * m + col] * b[col];
            }
        }
        true
    }

    /// Factor-then-solve is elimination's bits, and a second right-hand side through the kept
    /// factors is the bits of eliminating it afresh.
    #[test]
    fn factors_solve_like_elimination() {
        let mut next = crate::xorshift32(5);
        let mut unit = || (next() % 2001) as f32 / 1000.0 - 1.0;
        for m in 1..=12usize {
            for _ in 0..if cfg!(miri) { 2 } else { 50 } {
                let mut a: Vec<f32> = (0..m * m).map(|_| unit()).collect();
                // Some zeros, so that skipped multipliers are exercised.
                for i in (0..m * m).step_by(5) {
                    a[i] = 0.0;
                }
                let b1: Vec<f32> = (0..m).map(|_| unit()).collect();
                let b2: Vec<f32> = (0..m).map(|_| unit()).collect();
                let (mut e1, mut x1) = (a.clone(), b1.clone());
                let (mut e2, mut x2) = (a.clone(), b2.clone());
                let ok = eliminate(&mut e1, &mut x1, m);
                assert_eq!(ok, eliminate(&mut e2, &mut x2, m));
                let mut lu = a.clone();
                let mut piv = [0u8; 16];
                assert_eq!(factor(&mut lu, m, &mut piv), ok);
                if !ok {
                    continue;
                }
                let (mut y1, mut y2) = (b1.clone(), b2.clone());
                solve_factored(&lu, m, &piv, &mut y1);
                solve_factored(&lu, m, &piv, &mut y2);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&y1), bits(&x1), "m = {m}");
                assert_eq!(bits(&y2), bits(&x2), "m = {m}");
            }
        }
    }
}
