//! The population's kernels: the shares of every user type, one user at a time or eight at
//! once, summed in blocks (docs/maths.md §2.3).
//!
//! Two paths, both compiled on every target, give the same bits: the SIMD path (eight users with
//! strict orders share one vector pass, [`Group`]; a strict order outside a group in one fused
//! pass, [`strict_user`]; an order with ties one user at a time with the lanes advancing
//! together) and the scalar path (a strict order in one fused pass; an order with ties one user
//! at a time, one lane at a time). [`SCALAR`], set by the build script's `ualign_scalar` for
//! Cortex-M and RISC-V, picks the one that runs; unit tests run both on the host and compare
//! them bit for bit.

use super::{
    BLOCK, LANES,
    blocks::Sink,
    group::{Group, slot_index},
    recurrence::{
        at_most_one, clamp_masses, lanes_by_lane, lanes_by_step, sum_powers, with_usual_k,
    },
};
use crate::{
    Population,
    population::{INDEX, TIE_NEXT},
};

/// Whether the scalar path runs by default: on targets without SIMD (`ualign_scalar`).
pub(crate) const SCALAR: bool = cfg!(ualign_scalar);

/// [`shares`] without validation, for the solvers (lengths and `k` are checked by the caller;
/// a short slice only shortens the work, it never panics).
pub(crate) fn shares_unchecked<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
) {
    sums_unchecked(pop, pi, k, out, Sink::Shares);
}

/// [`shares_unchecked`] or [`block_sums_into`](super::block_sums_into), as `sink` says.
pub(crate) fn sums_unchecked<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
    sink: Sink,
) {
    let (rows, weights, strict, n) = (pop.order_rows(), pop.weights(), pop.all_strict(), pop.n());
    // The scratch below is zeroed on every call, sized by the capacity: with `N = 1024`, about
    // 120 KB, microseconds of `memset` whatever `n`. A smaller capacity that still holds `n` runs
    // the same operations on the same values, so the result is the same bits.
    if N > TINY_CAPACITY && n <= TINY_CAPACITY {
        shares_rows::<TINY_CAPACITY, SCALAR>(rows, weights, strict, n, pi, k, out, sink);
    } else if N > SMALL_CAPACITY && n <= SMALL_CAPACITY {
        shares_rows::<SMALL_CAPACITY, SCALAR>(rows, weights, strict, n, pi, k, out, sink);
    } else if N > MEDIUM_CAPACITY && n <= MEDIUM_CAPACITY {
        shares_rows::<MEDIUM_CAPACITY, SCALAR>(rows, weights, strict, n, pi, k, out, sink);
    } else {
        shares_rows::<N, SCALAR>(rows, weights, strict, n, pi, k, out, sink);
    }
}

/// The capacity [`shares_unchecked`] narrows a larger one to for `n <= 16` (a power of two, for
/// [`slot_index`]).
const TINY_CAPACITY: usize = 16;
/// The same for `n <= 64`: at (16, 16, 4) with `N = 1024`, 0.75 -> 0.41 us.
const SMALL_CAPACITY: usize = 64;
/// The same for `n <= 256`.
const MEDIUM_CAPACITY: usize = 256;

/// [`shares_unchecked`] on the order rows and weights of a population of `n` candidates, with
/// scratch of capacity `N >= n`; `strict` when no row has a tie (known from the population, so
/// the rows need not be searched for one). With [`Sink::Blocks`],
/// [`block_sums_into`](super::block_sums_into).
///
/// `S` picks the path: `true` is the scalar path (the lanes of an order with ties one at a
/// time), `false` the SIMD path (eight strict orders at once, [`Group`]; the lanes of an order
/// with ties a step at a time). Either way a strict order outside a group goes through
/// [`strict_user`]. [`SCALAR`] is the default; both give the same bits.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(target_os = "none"), inline(never))]
pub(crate) fn shares_rows<const N: usize, const S: bool>(
    rows: &[u16],
    weights: &[f32],
    strict: bool,
    n: usize,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
    sink: Sink,
) {
    sink.start(out);
    let mut block = [0.0f32; N];
    // The row of `out` the next block goes to under `Sink::Blocks`.
    let mut next_row = 0usize;
    // The one-user-at-a-time scratch, zeroed when a user first needs it (a population of
    // strict orders in whole groups never does).
    let mut single: Option<Single<N>> = None;
    // The group scratch is 8 N floats: only worth zeroing when the population outweighs it.
    let mut group = if !S && weights.len().saturating_mul(n) >= 4 * N {
        Some(Group::<N>::new())
    } else {
        None
    };
    // The policy in an array of the capacity, so `slot_index` indexes it without a check.
    let mut policy = [0.0f32; N];
    for (p, &x) in policy.iter_mut().zip(pi) {
        *p = x;
    }
    // Rows are sliced by hand rather than with `chunks(BLOCK * n)` / `chunks_exact(n)`: the
    // optimiser cannot see that `n > 0`, and the chunk iterators then keep a panic path.
    for (blk, blk_w) in weights.chunks(BLOCK).enumerate() {
        let Some(blk_rows) = rows.get(blk * BLOCK * n..) else {
            break;
        };
        let mut j = 0;
        while j < blk_w.len() {
            // On the SIMD path, eight strict orders at once, one per lane (see `Group`); anything
            // else one by one. `!S` is tested here too, not only where `group` is made: the
            // optimiser then drops the group code from the scalar build (2.4 KB of the
            // Cortex-M0's flash), which it does not prove dead from `group` alone.
            if !S
                && let Some(group) = group.as_mut()
                && let (Some(ws), Some(rs)) = (
                    blk_w.get(j..j + LANES),
                    blk_rows.get(j * n..(j + LANES) * n),
                )
                && (strict || Group::<N>::strict(rs))
            {
                group.values_k(rs, ws, n, k, &policy);
                group.scatter(rs, n, &mut block);
                j += LANES;
                continue;
            }
            let (Some(&w), Some(row)) = (blk_w.get(j), blk_rows.get(j * n..(j + 1) * n)) else {
                break;
            };
            j += 1;
            if w == 0.0 {
                continue;
            }
            // A strict order outside a group: one fused pass keeps everything in registers
            // (on the SIMD path too: at (8, 4, 2) about half the time of the positions, the
            // vectorised recurrence and the scatter).
            if strict_user(row, &policy, w, k, strict, &mut block) {
                continue;
            }
            let Single {
                mass,
                upper,
                lower,
                value,
            } = single.get_or_insert_with(Single::new);
            user_positions(row, pi, mass, upper, lower);
            poly::<S>(upper, lower, n, k, value);
            for (&e, &v) in row.iter().zip(value.iter()) {
                if let Some(b) = block.get_mut((e & INDEX) as usize) {
                    *b += w * v;
                }
            }
        }
        sink.flush(&mut block, out, n, &mut next_row);
    }
    sink.finish(out, k);
}

/// Scratch of one user's positions (for the users [`Group`] does not take).
struct Single<const N: usize> {
    mass: [f32; N],
    /// `b + c` per position.
    upper: [f32; N],
    /// `b` per position.
    lower: [f32; N],
    /// `sum_{i=0..k} (b+c)^i b^(k-i)` per position.
    value: [f32; N],
}

impl<const N: usize> Single<N> {
    fn new() -> Self {
        Single {
            mass: [0.0; N],
            upper: [0.0; N],
            lower: [0.0; N],
            value: [0.0; N],
        }
    }
}

/// One user with a strict order, fused for a scalar FPU: one pass from the bottom, each suffix
/// sum (`b + c`, the `b` of the position above) clamped as it is formed, then the recurrence and
/// the weighted add into `block`. Sums of non-negative terms only grow toward the top, so when
/// the total is at most 1 no clamp changes anything, and when it is above 1 clamping each sum is
/// what [`user_positions`] does by clamping them all afterwards: these are the operations of
/// [`user_positions`], [`poly`] and the scatter, in the same order for every value, so the bits
/// are the same. `false` (nothing added) when the order has a tie; `known_strict` (the
/// population has no ties) skips looking for one.
///
/// The usual `k` get their own copy with the recurrence unrolled (a scalar FPU spends a fifth of
/// a pair's instructions on the loop otherwise); the operations are the same.
#[inline]
pub(crate) fn strict_user<const N: usize>(
    row: &[u16],
    pi: &[f32; N],
    w: f32,
    k: u32,
    known_strict: bool,
    block: &mut [f32; N],
) -> bool {
    if !known_strict && row.iter().any(|&e| e & TIE_NEXT != 0) {
        return false;
    }
    with_usual_k!(k, k => strict_user_k(row, pi, w, k, block));
    true
}

/// [`strict_user`] for one `k`: inlined into each copy of [`with_usual_k`], where `k` is a
/// constant.
#[inline(always)]
fn strict_user_k<const N: usize>(row: &[u16], pi: &[f32; N], w: f32, k: u32, block: &mut [f32; N]) {
    let (mut below, mut b) = (0.0f32, 0.0f32);
    for &e in row.iter().rev() {
        let slot = slot_index::<N>(e);
        below += pi.get(slot).copied().unwrap_or(0.0);
        let a = at_most_one(below);
        let s = sum_powers(a, b, k);
        if let Some(x) = block.get_mut(slot) {
            *x += w * s;
        }
        b = a;
    }
}

/// For one user's order `row`: `upper[p] = b + c` and `lower[p] = b` of the candidate at
/// position `p`, classes summed from the bottom up. Returns whether the order is strict.
#[inline]
pub(crate) fn user_positions(
    row: &[u16],
    pi: &[f32],
    mass: &mut [f32],
    upper: &mut [f32],
    lower: &mut [f32],
) -> bool {
    let mut flags = 0u16;
    for (m, &e) in mass.iter_mut().zip(row) {
        *m = pi.get((e & INDEX) as usize).copied().unwrap_or(0.0);
        flags |= e;
    }
    let n = row.len();
    if flags & TIE_NEXT == 0 {
        // A strict order: every class is one position, and the general loop below reduces to
        // these same operations (`c = 0 + m = m`, `top = below + c`), so the results are the
        // same bits, without the class scan.
        let (Some(upper), Some(lower), Some(mass)) =
            (upper.get_mut(..n), lower.get_mut(..n), mass.get(..n))
        else {
            return true;
        };
        let mut below = 0.0f32;
        for ((u, l), &m) in upper.iter_mut().zip(lower.iter_mut()).zip(mass).rev() {
            *l = below;
            below += m;
            *u = below;
        }
        if below > 1.0 {
            clamp_masses(upper, lower);
        }
        return true;
    }
    let mut below = 0.0f32;
    let mut end = n;
    while end > 0 {
        // The class ending at `end` starts after the last position that does not tie onward.
        let mut start = end - 1;
        while start > 0 && row.get(start - 1).is_some_and(|&e| e & TIE_NEXT != 0) {
            start -= 1;
        }
        let mut c = 0.0f32;
        for &m in mass.get(start..end).unwrap_or(&[]) {
            c += m;
        }
        let top = below + c;
        for p in start..end {
            if let (Some(u), Some(l)) = (upper.get_mut(p), lower.get_mut(p)) {
                *u = top;
                *l = below;
            }
        }
        below = top;
        end = start;
    }
    if below > 1.0 {
        clamp_masses(upper.get_mut(..n).unwrap_or(&mut []), lower);
    }
    false
}

/// `value[p] = sum_{i=0..k} upper[p]^i lower[p]^(k-i)` for `p < n`, [`LANES`] at a time, the
/// lanes one at a time on the scalar path (`S`), a step at a time otherwise.
#[inline]
pub(crate) fn poly<const S: bool>(
    upper: &[f32],
    lower: &[f32],
    n: usize,
    k: u32,
    value: &mut [f32],
) {
    let room = upper.len().min(lower.len()).min(value.len());
    let len = n.min(room);
    // Whole chunks as fixed-size arrays: no bounds checks, and LLVM vectorises the lanes. When
    // the scratch has room, the last partial chunk runs whole too: its extra lanes hold values
    // of earlier users (finite, in [0, 1]) and their results are never read.
    let full = if len.div_ceil(LANES) * LANES <= room {
        len.div_ceil(LANES)
    } else {
        len / LANES
    };
    for ((u, l), v) in upper
        .chunks_exact(LANES)
        .zip(lower.chunks_exact(LANES))
        .zip(value.chunks_exact_mut(LANES))
        .take(full)
    {
        if let (Ok(a), Ok(b), Ok(v)) = (
            <[f32; LANES]>::try_from(u),
            <[f32; LANES]>::try_from(l),
            <&mut [f32; LANES]>::try_from(v),
        ) {
            *v = lanes_on::<S, LANES>(a, b, k);
        }
    }
    // The tail, padded with zeros.
    let p = full * LANES;
    if p < len {
        let mut a = [0.0f32; LANES];
        let mut b = [0.0f32; LANES];
        for (l, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
            *x = upper.get(p + l).copied().unwrap_or(0.0);
            *y = lower.get(p + l).copied().unwrap_or(0.0);
        }
        let s = lanes_on::<S, LANES>(a, b, k);
        for (slot, &x) in value.iter_mut().skip(p).take(len - p).zip(s.iter()) {
            *slot = x;
        }
    }
}

/// The recurrence on `W` lanes by the scalar path's order (`S`: one lane at a time) or the
/// SIMD path's (a step at a time); the same bits.
#[inline(always)]
fn lanes_on<const S: bool, const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
    if S {
        lanes_by_lane(a, b, k)
    } else {
        lanes_by_step(a, b, k)
    }
}
