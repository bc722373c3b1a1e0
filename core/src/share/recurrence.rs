//! The recurrence of one `(b, c)` pair (docs/maths.md §2.3) and its derivatives, on one value
//! or on fixed lanes, and the one dispatch that gives the usual `k` their own copies.
//!
//! With `a = b + c` (both clamped to at most 1, see [`clamp_masses`]) the share polynomial is
//! `S = sum_{i=0..k} a^i b^(k-i)`, evaluated by `s_0 = 1`, `s_i = a s_{i-1} + b^i`: only
//! multiplications and additions of non-negative numbers, no fused multiply-add, so the bits
//! are the same on every target. Every layout ([`super::kernel`], [`super::group`],
//! [`super::tally`], [`super::wide`]) runs these functions, so they agree bit for bit wherever
//! they add in the same order.

use super::LANES;

/// Runs `$body` with `$k` bound to `k`, where the usual `k` (1, 2, 3, 4, 8) are constants: each
/// gets its own copy of the (inlined) body, in which [`sum_powers`] and the lane loops are
/// written out. Any other `k` runs the general copy. The operations, so the bits, are the same
/// in every copy.
macro_rules! with_usual_k {
    ($k:expr, $c:ident => $body:expr) => {
        match $k {
            1 => {
                let $c: u32 = 1;
                $body
            }
            2 => {
                let $c: u32 = 2;
                $body
            }
            3 => {
                let $c: u32 = 3;
                $body
            }
            4 => {
                let $c: u32 = 4;
                $body
            }
            8 => {
                let $c: u32 = 8;
                $body
            }
            other => {
                let $c: u32 = other;
                $body
            }
        }
    };
}
pub(crate) use with_usual_k;

/// `sum_{i=0..k} a^i b^(k-i)`, the recurrence `s_0 = 1`, `s_i = a s_{i-1} + b^i` of
/// [`super::kernel::poly`] and [`lanes`] with the same operations in the same order (the first
/// step's `a * 1` is `a` exactly, so it is written `a + b`). For `k` = 1, 2, 3, 4 and 8 the steps
/// are written out: the firmware is built for size and would otherwise run them as a loop, whose
/// counter and branch cost a scalar FPU about as much as the arithmetic.
#[inline(always)]
pub(crate) fn sum_powers(a: f32, b: f32, k: u32) -> f32 {
    let (mut s, mut bp) = (a + b, b);
    let mut step = || {
        bp *= b;
        s = a * s + bp;
    };
    match k {
        0 => return 1.0,
        1 => {}
        2 => step(),
        3 => {
            step();
            step();
        }
        4 => {
            step();
            step();
            step();
        }
        8 => {
            step();
            step();
            step();
            step();
            step();
            step();
            step();
        }
        _ => {
            for _ in 1..k {
                step();
            }
        }
    }
    s
}

/// The recurrence `s_0 = 1`, `s_i = a s_{i-1} + b^i` on `W` independent lanes ([`LANES`] here,
/// 16 in [`super::wide`]; `a`, `b` at most 1, see [`clamp_masses`]).
///
/// The lanes are independent, so the order in which they advance does not change a bit: with
/// SIMD all lanes take one step together ([`lanes_by_step`]); on a scalar FPU (`ualign_scalar`,
/// set by the build script for Cortex-M and RISC-V) one lane runs all `k` steps in four
/// registers before the next ([`lanes_by_lane`]), instead of spilling 32 lane values around
/// every step. Both are compiled everywhere, and a host test compares them bit for bit.
#[inline(always)]
pub(crate) fn lanes<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
    if cfg!(ualign_scalar) {
        lanes_by_lane(a, b, k)
    } else {
        lanes_by_step(a, b, k)
    }
}

/// [`lanes`] with every lane advancing one step at a time (what SIMD runs).
#[inline(always)]
pub(crate) fn lanes_by_step<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
    let mut s = [1.0f32; W];
    let mut bp = b;
    for _ in 0..k {
        for l in 0..W {
            s[l] = a[l] * s[l] + bp[l];
            bp[l] *= b[l];
        }
    }
    s
}

/// [`lanes`] one lane at a time, all `k` steps each (what a scalar FPU runs): the same
/// operations, so the same bits.
#[inline(always)]
pub(crate) fn lanes_by_lane<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
    let mut out = [1.0f32; W];
    for ((o, &a), &b) in out.iter_mut().zip(a.iter()).zip(b.iter()) {
        let mut s = 1.0f32;
        let mut bp = b;
        for _ in 0..k {
            // `bp + a s` is `a s + bp` bit for bit (addition commutes); this order lets the
            // accumulating multiply write `bp`'s copy in place.
            let t = bp;
            bp *= b;
            s = t + a * s;
        }
        *o = s;
    }
    out
}

/// [`lanes`] for a `k` that [`sum_powers`] writes out (1, 2, 3, 4, 8; any other `k` runs
/// `lanes`): the same operations, so the same bits. With `k` a constant (see
/// [`Group::values_k`](super::group::Group::values_k)) this is straight-line code on all lanes.
#[inline(always)]
pub(crate) fn lanes_written<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
    if !matches!(k, 1..=4 | 8) {
        return lanes(a, b, k);
    }
    let mut s = [0.0f32; W];
    for l in 0..W {
        s[l] = sum_powers(a[l], b[l], k);
    }
    s
}

/// `w * v` lane by lane: the weighted value one user at a time adds.
#[inline(always)]
pub(crate) fn weighted<const W: usize>(w: [f32; W], v: [f32; W]) -> [f32; W] {
    let mut out = [0.0f32; W];
    for l in 0..W {
        out[l] = w[l] * v[l];
    }
    out
}

/// `x` clamped to at most 1, by a comparison (the same instruction on every target).
#[inline(always)]
pub(crate) fn at_most_one(x: f32) -> f32 {
    if x > 1.0 { 1.0 } else { x }
}

/// Clamps every `upper` and `lower` to at most 1.
///
/// They are masses of the policy, so at most 1 in exact arithmetic; but a policy's `f32` entries
/// may sum to an ulp or two above 1, and so may a user's suffix sums. Left alone, `(1 + d)^k`
/// would carry the excess `k` times and a share could leave `[0, 1]`. With `a, b <= 1` every
/// rounded step of the recurrence stays at most its exact bound, so `s_k <= k + 1`. The suffix
/// sums grow toward the top, so the callers test only the total (one comparison per user) and
/// call this in the rare case it exceeds 1.
#[cold]
pub(crate) fn clamp_masses(upper: &mut [f32], lower: &mut [f32]) {
    for (u, l) in upper.iter_mut().zip(lower.iter_mut()) {
        *u = at_most_one(*u);
        *l = at_most_one(*l);
    }
}

/// `(dS/da, dS/db)` for `S = sum_{i=0..k} a^i b^(k-i)` on [`LANES`] lanes, by Horner in `a`
/// (all lanes a step at a time with SIMD; see [`derivative`] for a scalar FPU).
#[inline(always)]
pub(crate) fn derivatives(
    a: [f32; LANES],
    b: [f32; LANES],
    k: u32,
) -> ([f32; LANES], [f32; LANES]) {
    let mut d_a = [0.0f32; LANES];
    let mut d_b = [0.0f32; LANES];
    let mut bp = [1.0f32; LANES];
    // d_a: coefficient of a^(i-1) is i b^(k-i); d_b: coefficient of a^(i-1) is (k-i+1) b^(k-i),
    // for i = k down to 1. The coefficients count in f32, exact below 2^24.
    let (mut ca, mut cb) = (k as f32, 1.0f32);
    for _ in 0..k {
        for l in 0..LANES {
            d_a[l] = d_a[l] * a[l] + ca * bp[l];
            d_b[l] = d_b[l] * a[l] + cb * bp[l];
            bp[l] *= b[l];
        }
        ca -= 1.0;
        cb += 1.0;
    }
    (d_a, d_b)
}

/// [`derivative`] written out for `k` of 2, 3 and 4 (the usual small reranks), the same
/// operations with the coefficients as constants, so the same bits (a unit test compares
/// them). A core built for size would otherwise run the loop, whose counters cost a scalar FPU
/// about a third of the arithmetic; the other `k` take the loop.
#[inline(always)]
pub(crate) fn derivative_written(a: f32, b: f32, k: u32) -> (f32, f32) {
    let (mut x, mut y, mut bp) = (0.0f32, 0.0f32, 1.0f32);
    let mut step = |ca: f32, cb: f32| {
        x = x * a + ca * bp;
        y = y * a + cb * bp;
        bp *= b;
    };
    match k {
        2 => {
            step(2.0, 1.0);
            step(1.0, 2.0);
        }
        3 => {
            step(3.0, 1.0);
            step(2.0, 2.0);
            step(1.0, 3.0);
        }
        4 => {
            step(4.0, 1.0);
            step(3.0, 2.0);
            step(2.0, 3.0);
            step(1.0, 4.0);
        }
        _ => return derivative(a, b, k),
    }
    (x, y)
}

/// `(dS/da, dS/db)` for one `(a, b)`: the recurrence of `derivatives` for a single lane, the
/// same operations in the same order, so the same bits (a unit test compares them).
#[inline(always)]
pub(crate) fn derivative(a: f32, b: f32, k: u32) -> (f32, f32) {
    let (mut x, mut y, mut bp) = (0.0f32, 0.0f32, 1.0f32);
    let (mut ca, mut cb) = (k as f32, 1.0f32);
    for _ in 0..k {
        x = x * a + ca * bp;
        y = y * a + cb * bp;
        bp *= b;
        ca -= 1.0;
        cb += 1.0;
    }
    (x, y)
}
