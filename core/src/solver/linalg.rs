//! Small dense linear algebra for the Newton polish.

/// Solves `a x = b` in place (`a` is `m x m` row-major, `b` becomes `x`) by Gaussian
/// elimination with partial pivoting. `false` when the matrix is singular to working precision.
pub(super) fn solve(a: &mut [f32], b: &mut [f32], m: usize) -> bool {
    for col in 0..m {
        let mut piv = col;
        let mut best = 0.0f32;
        for r in col..m {
            let v = a.get(r * m + col).copied().unwrap_or(0.0);
            let v = if v < 0.0 { -v } else { v };
            if v > best {
                best = v;
                piv = r;
            }
        }
        if best < 1e-9 {
            return false;
        }
        if piv != col {
            for c in 0..m {
                let (i, j) = (piv * m + c, col * m + c);
                if i < a.len() && j < a.len() {
                    a.swap(i, j);
                }
            }
            if piv < b.len() && col < b.len() {
                b.swap(piv, col);
            }
        }
        let d = a.get(col * m + col).copied().unwrap_or(1.0);
        for r in col + 1..m {
            let f = a.get(r * m + col).copied().unwrap_or(0.0) / d;
            if f == 0.0 {
                continue;
            }
            for c in col..m {
                let top = a.get(col * m + c).copied().unwrap_or(0.0);
                if let Some(x) = a.get_mut(r * m + c) {
                    *x -= f * top;
                }
            }
            let top = b.get(col).copied().unwrap_or(0.0);
            if let Some(x) = b.get_mut(r) {
                *x -= f * top;
            }
        }
    }
    for col in (0..m).rev() {
        let mut acc = b.get(col).copied().unwrap_or(0.0);
        for c in col + 1..m {
            acc -= a.get(col * m + c).copied().unwrap_or(0.0) * b.get(c).copied().unwrap_or(0.0);
        }
        let d = a.get(col * m + col).copied().unwrap_or(1.0);
        if let Some(x) = b.get_mut(col) {
            *x = acc / d;
        }
    }
    true
}
