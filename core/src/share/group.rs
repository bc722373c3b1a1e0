//! The eight-lane group: eight user types with strict orders, one per lane, evaluated as
//! vector operations (the default path where the target has SIMD; see [`super::kernel`]).

use super::{
    LANES,
    recurrence::{at_most_one, lanes_written, weighted, with_usual_k},
};
use crate::population::{INDEX, TIE_NEXT};

/// The candidate of an order entry, as an index into an array of capacity `N`. Entries of a
/// population always name a candidate below `n <= N`; when `N` is a power of two the mask keeps
/// that true for the compiler too, which then drops the bounds checks of the gather and the
/// scatter.
#[inline(always)]
pub(crate) fn slot_index<const N: usize>(e: u16) -> usize {
    let i = (e & INDEX) as usize;
    if N.is_power_of_two() { i & (N - 1) } else { i }
}

/// Eight user types with strict orders, one per lane, position-major: the suffix sums and the
/// recurrence of all eight run as vector operations, so the serial chain of additions of one
/// user's suffix sum no longer bounds the speed. Every lane performs exactly the operations of
/// [`user_positions`](super::kernel::user_positions) and
/// [`poly`](super::kernel::poly) for its user, and [`Group::scatter`] adds the users in their
/// order, so the result is the same bits as one user at a time.
pub(crate) struct Group<const N: usize> {
    /// The weighted values of the recurrence (after `values`).
    upper: [[f32; LANES]; N],
}

impl<const N: usize> Group<N> {
    pub(crate) fn new() -> Self {
        Group {
            upper: [[0.0; LANES]; N],
        }
    }

    /// Whether the eight rows are strict orders, which the group needs.
    pub(crate) fn strict(rows: &[u16]) -> bool {
        let mut flags = 0u16;
        for &e in rows {
            flags |= e;
        }
        flags & TIE_NEXT == 0
    }

    /// The masses at position `p` of the eight rows, one per lane.
    #[inline(always)]
    fn gather(rows: &[&[u16]; LANES], p: usize, pi: &[f32; N]) -> [f32; LANES] {
        let mut m = [0.0f32; LANES];
        for (x, row) in m.iter_mut().zip(rows) {
            if let Some(&e) = row.get(p) {
                *x = pi.get(slot_index::<N>(e)).copied().unwrap_or(0.0);
            }
        }
        m
    }

    /// [`Group::values`] with the usual `k` as constants: the recurrence of each then runs
    /// written out (see [`sum_powers`](super::recurrence::sum_powers)), with no loop and no
    /// multiplication by the initial 1.
    pub(crate) fn values_k(&mut self, rows: &[u16], w: &[f32], n: usize, k: u32, pi: &[f32; N]) {
        if cfg!(ualign_scalar) {
            // Not run there by default (no groups without SIMD): one copy, not six.
            return self.values(rows, w, n, k, pi);
        }
        with_usual_k!(k, k => self.values(rows, w, n, k, pi))
    }

    /// The masses of the eight strict `rows` gathered position by position from the bottom,
    /// their suffix sums (`b` before a position's mass, `b + c` after it) and the recurrence on
    /// them, in one pass, each value times its user's weight `w` into `upper`. Each sum is
    /// clamped to at most 1 as it enters the recurrence (a user's total may exceed 1 by
    /// rounding; see [`clamp_masses`](super::recurrence::clamp_masses)), while the suffix sums
    /// themselves run unclamped: the operands of clamping every position's pair after the sums,
    /// as [`user_positions`](super::kernel::user_positions) does, and no change when the total
    /// is at most 1. (The dynamics' policies often sum an ulp above 1: clamping as the sums
    /// form costs two vector minimums a position, where a second pass for such users would
    /// cost the whole pass again.)
    #[inline(always)]
    fn values(&mut self, rows: &[u16], w: &[f32], n: usize, k: u32, pi: &[f32; N]) {
        let w: [f32; LANES] = core::array::from_fn(|l| w.get(l).copied().unwrap_or(0.0));
        let row = |l: usize| rows.get(l * n..).and_then(|r| r.get(..n));
        let (Some(r0), Some(r1), Some(r2), Some(r3), Some(r4), Some(r5), Some(r6), Some(r7)) = (
            row(0),
            row(1),
            row(2),
            row(3),
            row(4),
            row(5),
            row(6),
            row(7),
        ) else {
            return;
        };
        let rows = [r0, r1, r2, r3, r4, r5, r6, r7];
        let Some(upper) = self.upper.get_mut(..n) else {
            return;
        };
        // The masses go straight into the lanes the pass adds. (Stored one by one into a block
        // and read back as vectors, they cost more than the whole pass did: a vector load cannot
        // take its value from four smaller stores, so each waited for them to reach the cache.)
        // Every row is exactly `n` entries, so reading position `p < n` needs no check.
        let mut below = [0.0f32; LANES];
        // `below` of the position beneath, clamped: this position's `b`.
        let mut b = [0.0f32; LANES];
        for (p, v) in upper.iter_mut().enumerate().rev() {
            let m = Self::gather(&rows, p, pi);
            for l in 0..LANES {
                below[l] += m[l];
            }
            let a = below.map(at_most_one);
            *v = weighted(w, lanes_written(a, b, k));
            b = a;
        }
    }

    /// Adds each user's weighted values (from [`Group::values`]), in user order, into `block`:
    /// the sums of one user at a time. (A user of weight 0 adds zeros, which change no sum.)
    pub(crate) fn scatter(&self, rows: &[u16], n: usize, block: &mut [f32; N]) {
        for (l, row) in rows.chunks_exact(n.max(1)).take(LANES).enumerate() {
            for (&e, v) in row.iter().zip(self.upper.iter()) {
                if let (Some(b), Some(&x)) = (block.get_mut(slot_index::<N>(e)), v.get(l)) {
                    *b += x;
                }
            }
        }
    }
}
