//! The Jacobian of the shares on a support (docs/maths.md §4.5): what the Newton polish of the
//! solver solves with. This module owns the largest support it accumulates in blocks,
//! [`SUPPORT_MAX`], which the solver's polish takes as its own limit
//! ([`crate::solver::POLISH_MAX`]).
//!
//! With `a = b + c` and `S = sum_{i=0..k} a^i b^(k-i)`, a candidate `z` strictly below `y` raises
//! both `a` and `b` (`dS/da + dS/db`), one tied with `y` (or `y` itself) raises `a` only
//! (`dS/da`), one above `y` changes nothing. One user's rows are added in one of two ways, the
//! same bits: by support member ([`add_row`], the SIMD path: [`strict_user_in_lanes`] for a
//! strict order, its rows padded to whole lanes) or in the user's order, skipping the members
//! above (the scalar path: [`strict_user_in_order`] for a strict order, in the same pass as its
//! positions and derivatives, [`add_user_in_order`] for one with ties).

use super::{
    BLOCK, LANES,
    group::slot_index,
    kernel::{SCALAR, user_positions},
    recurrence::{at_most_one, derivative, derivative_written, derivatives},
};
use crate::{
    Population,
    population::{INDEX, TIE_NEXT},
    scratch::with_scratch,
};

/// The largest support the Jacobian accumulates over blocks of users, and so the largest
/// support the Newton polish handles (its system lives on the stack):
/// [`crate::solver::POLISH_MAX`] is this constant.
pub const SUPPORT_MAX: usize = 48;

/// The largest support [`jacobian_unchecked`] gives a `TINY_SUPPORT^2` block accumulator (at a
/// capacity above [`PROFILE_SUPPORT`]): the usual support of a small rerank.
pub(super) const TINY_SUPPORT: usize = 8;

/// The capacity up to which [`jacobian_unchecked`] gives every support the one
/// `PROFILE_SUPPORT^2` block accumulator (every support fits it): the Cortex-M0's small
/// profile.
pub(super) const PROFILE_SUPPORT: usize = crate::limits::SMALL_PROFILE;

/// The largest support [`jacobian_unchecked`] gives a `SMALL_SUPPORT^2` block accumulator.
pub(super) const SMALL_SUPPORT: usize = 32;

/// The Jacobian of the shares restricted to `support` (see
/// [`Oracle::jacobian_into`](super::Oracle::jacobian_into)).
pub(crate) fn jacobian_unchecked<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    support: &[u16],
    stride: usize,
    out: &mut [f32],
) {
    with_scratch!(
        pop.n(),
        N,
        jacobian_in::<N>(pop, pi, k, support, stride, out)
    );
}

/// [`jacobian_unchecked`] with per-candidate scratch for `C` candidates ([`crate::scratch`]) and
/// the smallest block accumulator that holds the support (for a capacity of at most
/// [`PROFILE_SUPPORT`], the one that holds every support).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn jacobian_in<const N: usize, const C: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    support: &[u16],
    stride: usize,
    out: &mut [f32],
) {
    // The block accumulator is zeroed on every call: 9 KiB for the largest support the polish
    // uses, a tenth of a (16, 16, 4) Jacobian on a Cortex-M4F. Smaller supports take a smaller
    // one; a capacity of at most `PROFILE_SUPPORT` compiles only the 1 KiB one that holds all
    // its supports (the Cortex-M0's small profile: 16 KiB of RAM and 32 KiB of flash, where a
    // second copy of this function would not fit). All accumulate in blocks, so the bits are
    // the same.
    let s = support.len();
    if N <= PROFILE_SUPPORT {
        jacobian_acc::<N, C, { PROFILE_SUPPORT * PROFILE_SUPPORT }, SCALAR>(
            pop, pi, k, support, stride, out,
        );
    } else if s <= TINY_SUPPORT {
        jacobian_acc::<N, C, { TINY_SUPPORT * TINY_SUPPORT }, SCALAR>(
            pop, pi, k, support, stride, out,
        );
    } else if N <= SMALL_SUPPORT || s <= SMALL_SUPPORT {
        jacobian_acc::<N, C, { SMALL_SUPPORT * SMALL_SUPPORT }, SCALAR>(
            pop, pi, k, support, stride, out,
        );
    } else {
        jacobian_acc::<N, C, { SUPPORT_MAX * SUPPORT_MAX }, SCALAR>(
            pop, pi, k, support, stride, out,
        );
    }
}

/// [`jacobian_unchecked`] with scratch for `C` candidates and a block accumulator of `A`
/// entries: supports of `s` members with
/// `s * s <= A` are accumulated in blocks of users, larger ones straight into `out`. `S` picks
/// the path (see [`super::kernel`]): the scalar path adds each user's rows in the user's order
/// and takes the derivatives one member at a time; the SIMD path adds them row by row and takes
/// the derivatives [`LANES`] at a time. Both give the same bits.
pub(crate) fn jacobian_acc<const N: usize, const C: usize, const A: usize, const S: bool>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    support: &[u16],
    stride: usize,
    out: &mut [f32],
) {
    let n = pop.n();
    let mut mass = [0.0f32; C];
    let mut upper = [0.0f32; C];
    let mut lower = [0.0f32; C];
    // Class numbers as f32 (exact below 2^24): compared against f32 entries in `add_row`, the
    // masks have the entries' width.
    let mut class = [0.0f32; C]; // class number of each candidate, 0 = top
    let mut a_of = [0.0f32; C]; // a = b + c of each candidate, for this user
    let mut b_of = [0.0f32; C]; // b of each candidate, for this user
    let mut cls_s = [0.0f32; C]; // class of each support member
    // Per support member: a, then w dS/da (a tie); b, then w (dS/da + dS/db) (strictly below).
    let mut d_same = [0.0f32; C];
    let mut d_below = [0.0f32; C];
    let s = support.len().min(C);
    if stride == 0 || s == 0 {
        return;
    }
    // Supports the polish uses are accumulated over blocks of users, then flushed into the
    // output (see `flush`). Larger supports accumulate straight into the output.
    let blocked = s <= SUPPORT_MAX && s * s <= A;
    // The block's row stride: `s` on the scalar path; on the SIMD path `s` rounded up to whole
    // [`LANES`], so that [`add_row`] takes whole lanes (every accumulator the Jacobian takes
    // has the room; the per-member arrays of `C >= s` entries have it unless `C` is not a
    // multiple of `LANES`). The padding columns are never flushed.
    let padded = s.next_multiple_of(LANES);
    let width = if !S && padded * padded <= A && padded <= C {
        padded
    } else {
        s
    };
    let mut acc = [0.0f32; A];
    let mut in_block = 0usize;
    let mut flushed = false;
    let scale = 1.0 / (k + 1) as f32;
    // On the scalar path the rows are added in each user's order, skipping the zeros (see
    // `add_user_in_order`); that needs each candidate's slot in the support.
    let mut slot_of = [u16::MAX; C];
    let mut lists = InOrder::new();
    if S {
        for (i, &y) in support.iter().enumerate().take(s) {
            if let Some(slot) = slot_of.get_mut(y as usize) {
                *slot = i as u16;
            }
        }
    }
    // `pi` in an array of the scratch's length, for the unchecked reads of
    // `strict_user_in_order` and `strict_user_in_lanes`.
    let mut pi_c = [0.0f32; C];
    // Each candidate's position in the user's order (`strict_user_in_lanes`).
    let mut pos = [0u16; C];
    if blocked {
        for (x, &p) in pi_c.iter_mut().zip(pi) {
            *x = p;
        }
    }
    let all_strict = pop.all_strict();
    for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
        if w == 0.0 {
            continue;
        }
        let strict = all_strict || row.iter().all(|&e| e & TIE_NEXT == 0);
        let w = w * scale;
        if S && blocked && strict {
            // The scalar path's usual case: positions, derivatives and rows in one pass.
            let d = (&mut d_same, &mut d_below);
            let kw = (k, w, N > PROFILE_SUPPORT);
            strict_user_in_order::<C>(row, &pi_c, &slot_of, s, kw, d, &mut acc, &mut lists);
        } else if !S && blocked && strict && width == padded {
            // The SIMD path's usual case: the members' derivatives and rows in whole lanes.
            let scratch = (&mut a_of, &mut pos, &mut cls_s, &mut d_same, &mut d_below);
            let support = support.get(..s).unwrap_or(&[]);
            strict_user_in_lanes::<C>(row, &pi_c, support, (k, w, width), scratch, &mut acc);
        } else {
            if strict {
                // Not the scalar path in blocks (taken above): the rows compare classes.
                strict_positions(row, pi, Some(&mut class[..]), &mut a_of, &mut b_of);
            } else {
                let scratch = (&mut mass[..], &mut upper[..], &mut lower[..]);
                positions(row, pi, scratch, &mut class, &mut a_of, &mut b_of);
            }
            // Class of each support member for this user, so the inner loop is branch-light.
            for (cs, &z) in cls_s.iter_mut().zip(support).filter(|_| !S || !blocked) {
                *cs = class.get(z as usize).copied().unwrap_or(0.0);
            }
            let cls_all = &cls_s;
            let cls_s = cls_s.get(..s).unwrap_or(&[]);
            // a and b of each support member, then the derivatives of all of them.
            for ((sa, sb), &y) in d_same.iter_mut().zip(d_below.iter_mut()).zip(support) {
                *sa = a_of.get(y as usize).copied().unwrap_or(0.0);
                *sb = b_of.get(y as usize).copied().unwrap_or(0.0);
            }
            if S {
                derivatives_one_by_one(&mut d_same, &mut d_below, s, k, w);
            } else {
                derivatives_in_lanes(&mut d_same, &mut d_below, s, k, w);
            }
            let pairs = d_same.iter().zip(d_below.iter());
            if blocked && S {
                add_user_in_order(row, &slot_of, &d_same, &d_below, s, &mut acc, &mut lists);
            } else if blocked {
                // Padding columns compare with class 0; what they gather is never read.
                let cls_w = cls_all.get(..width).unwrap_or(&[]);
                for (i, ((&cy, (&same, &below)), row)) in cls_s
                    .iter()
                    .zip(pairs)
                    .zip(acc.chunks_mut(width))
                    .enumerate()
                {
                    // A strict order: only the member itself ties with itself.
                    add_row(row, cls_w, cy, same, below, strict.then_some(i));
                }
            } else {
                for ((&cy, (&same, &below)), row) in
                    cls_s.iter().zip(pairs).zip(out.chunks_mut(stride))
                {
                    add_row(row, cls_s, cy, same, below, None);
                }
            }
        }
        if blocked {
            in_block += 1;
            if in_block == BLOCK {
                flush(&mut acc, (s, width), stride, out, flushed);
                flushed = true;
                in_block = 0;
            }
        }
    }
    if blocked && in_block > 0 {
        flush(&mut acc, (s, width), stride, out, flushed);
    }
}

/// For any order `row` (best first): each candidate's class (0 for the top class), `a = b + c`
/// and `b` (the masses at or below its class and below it), through [`user_positions`] and its
/// per-position scratch `(mass, upper, lower)`.
pub(super) fn positions(
    row: &[u16],
    pi: &[f32],
    (mass, upper, lower): (&mut [f32], &mut [f32], &mut [f32]),
    class: &mut [f32],
    a_of: &mut [f32],
    b_of: &mut [f32],
) {
    user_positions(row, pi, mass, upper, lower);
    let mut cls = 0.0f32;
    for (p, &e) in row.iter().enumerate() {
        let y = (e & INDEX) as usize;
        if let (Some(slot), Some(&a), Some(&b)) = (class.get_mut(y), upper.get(p), lower.get(p)) {
            *slot = cls;
            if let (Some(x), Some(z)) = (a_of.get_mut(y), b_of.get_mut(y)) {
                *x = a;
                *z = b;
            }
        }
        if e & TIE_NEXT == 0 {
            cls += 1.0;
        }
    }
}

/// For a strict order `row` (best first): each candidate's `a` (the mass at or below it), `b`
/// (the mass below it) and, when asked for, its class (its position, 0 at the top), in one pass
/// from the bottom. These
/// are the values [`positions`] gives, the same bits: the suffix sums are formed in the same
/// order, and clamped at 1 when the total passes 1. One pass and no per-position scratch: on
/// the host, at (16, 8, 4), the general path was over half of a Jacobian.
#[inline(always)]
pub(super) fn strict_positions(
    row: &[u16],
    pi: &[f32],
    mut class: Option<&mut [f32]>,
    a_of: &mut [f32],
    b_of: &mut [f32],
) {
    let (mut below, mut b) = (0.0f32, 0.0f32);
    for (p, &e) in row.iter().enumerate().rev() {
        let y = (e & INDEX) as usize;
        below += pi.get(y).copied().unwrap_or(0.0);
        if let (Some(x), Some(z)) = (a_of.get_mut(y), b_of.get_mut(y)) {
            *x = below;
            *z = b;
        }
        if let Some(c) = class.as_deref_mut().and_then(|c| c.get_mut(y)) {
            *c = p as f32;
        }
        b = below;
    }
    // As in `user_positions`: one comparison per user (a software one on a core without an FPU).
    if below > 1.0 {
        for &e in row {
            let y = (e & INDEX) as usize;
            if let (Some(x), Some(z)) = (a_of.get_mut(y), b_of.get_mut(y)) {
                *x = at_most_one(*x);
                *z = at_most_one(*z);
            }
        }
    }
}

/// One user with a strict order, on the SIMD path in blocks of rows `width` wide (a multiple of
/// [`LANES`]): [`strict_positions`]'s suffix sums (from the bottom, in the same order, clamped
/// at 1, which changes one only when their total passes 1), then the members' `a`, `b` and
/// positions gathered into lanes, their [`derivatives`] weighted as [`derivatives_in_lanes`]
/// weights them, and [`add_row`]'s rows, each over whole lanes. The same operations on the same
/// values as [`strict_positions`], [`derivatives_in_lanes`] and [`add_row`] one after the
/// other, so the same bits. The per-candidate arrays have the scratch's length `C` (at least
/// `width`): indices masked to it (a power of two) need no bounds checks. The padding lanes take
/// `a = b = 0` and position 0, and what they add lands in padding columns, which are never read.
#[inline(always)]
fn strict_user_in_lanes<const C: usize>(
    row: &[u16],
    pi: &[f32; C],
    support: &[u16],
    (k, w, width): (u32, f32, usize),
    (suffix, pos, cls, same, below): LaneScratch<'_, C>,
    acc: &mut [f32],
) {
    // The mass at or below each position, and each candidate's position.
    let mut sum = 0.0f32;
    for (p, &e) in row.iter().enumerate().rev() {
        let y = slot_index::<C>(e);
        sum += pi.get(y).copied().unwrap_or(0.0);
        if let Some(x) = suffix.get_mut(p) {
            *x = sum;
        }
        if let Some(q) = pos.get_mut(y) {
            *q = p as u16;
        }
    }
    // `b` of a position is the sum at the position below it; `suffix` past the last position
    // is never written (0.0), or past the array's end.
    let (same_lanes, _) = same.as_chunks_mut::<LANES>();
    let (below_lanes, _) = below.as_chunks_mut::<LANES>();
    let (cls_lanes, _) = cls.as_chunks_mut::<LANES>();
    let lanes = same_lanes
        .iter_mut()
        .zip(below_lanes.iter_mut())
        .zip(cls_lanes.iter_mut());
    for (members, ((same, below), cls)) in support.chunks(LANES).zip(lanes) {
        let mut a = [0.0f32; LANES];
        let mut b = [0.0f32; LANES];
        *cls = [0.0; LANES];
        for (((x, z), c), &y) in a
            .iter_mut()
            .zip(b.iter_mut())
            .zip(cls.iter_mut())
            .zip(members)
        {
            let p = usize::from(pos.get(slot_index::<C>(y)).copied().unwrap_or(0));
            let upper = suffix.get(p).copied().unwrap_or(0.0);
            let lower = suffix.get(p + 1).copied().unwrap_or(0.0);
            // Clamped whatever the total: a sum of non-negative masses only grows, so no clamp
            // changes a sum when the total is at most 1 (and a branch on the total, which the
            // dynamics' policies pass by an ulp about as often as not, costs more than two
            // minimums).
            (*x, *z) = (at_most_one(upper), at_most_one(lower));
            *c = p as f32;
        }
        let (d_a, d_b) = derivatives(a, b, k);
        for (((p, q), &x), &y) in same.iter_mut().zip(below.iter_mut()).zip(&d_a).zip(&d_b) {
            *p = x * w;
            *q = (x + y) * w;
        }
    }
    let cls_w = cls.get(..width).unwrap_or(&[]);
    let members = cls
        .iter()
        .zip(same.iter().zip(below.iter()))
        .take(support.len());
    for (i, ((&cy, (&d_same, &d_below)), row)) in members.zip(acc.chunks_mut(width)).enumerate() {
        add_row(row, cls_w, cy, d_same, d_below, Some(i));
    }
}

/// [`strict_user_in_lanes`]'s per-candidate arrays: the suffix sums, the positions, and per
/// member its position and derivatives.
type LaneScratch<'a, const C: usize> = (
    &'a mut [f32; C],
    &'a mut [u16; C],
    &'a mut [f32; C],
    &'a mut [f32; C],
    &'a mut [f32; C],
);

/// One Jacobian row of one user: `d_same` where the support member ties with the row's
/// candidate (class `cy`), `d_below` where it sits strictly below, nothing above.
///
/// With `diag`, the user's order is strict and the row's own member (column `diag`) is the only
/// one that ties: one comparison per entry instead of two, then `d_same` on the diagonal. The
/// diagonal gets `+ 0.0` first, which changes no bit of a sum of non-negative terms, so the row
/// is the same bits either way.
#[inline]
pub(super) fn add_row(
    row: &mut [f32],
    cls_s: &[f32],
    cy: f32,
    d_same: f32,
    d_below: f32,
    diag: Option<usize>,
) {
    if let Some(diag) = diag {
        // A block row padded to whole lanes leaves the vectorised loop no remainder.
        for (o, &cz) in row.iter_mut().zip(cls_s) {
            *o += if cz > cy { d_below } else { 0.0 };
        }
        if let Some(o) = row.get_mut(diag) {
            *o += d_same;
        }
        return;
    }
    for (o, &cz) in row.iter_mut().zip(cls_s) {
        *o += if cz == cy {
            d_same
        } else if cz > cy {
            d_below
        } else {
            0.0
        };
    }
}

/// One user with a strict order, on the scalar path in blocks: [`strict_positions`], the
/// derivatives ([`derivative`]) and [`add_user_in_order`]'s rows in one pass from the bottom,
/// touching only the support members (`slot_of` maps a candidate to its slot, `s` members). The
/// same operations on the same values: the suffix sums in the same order, clamped at 1 when
/// their total passes 1, and one addition per entry of `acc`, so the same bits. `pi`, `slot_of`
/// and the derivatives have the scratch's length `C`: indices masked to it (a power of two)
/// need no bounds checks. `written` takes the derivatives written out for the usual `k`
/// ([`derivative_written`]; not in the small profile, whose flash has no room for them).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn strict_user_in_order<const C: usize>(
    row: &[u16],
    pi: &[f32; C],
    slot_of: &[u16; C],
    s: usize,
    (k, w, written): (u32, f32, bool),
    (same, below): (&mut [f32; C], &mut [f32; C]),
    acc: &mut [f32],
    scratch: &mut InOrder,
) {
    // The members' slots from the bottom up, each with its `a` and `b`.
    let list = &mut scratch.list;
    let mut count = 0usize;
    let (mut sum, mut b) = (0.0f32, 0.0f32);
    for &e in row.iter().rev() {
        let y = slot_index::<C>(e);
        sum += pi.get(y).copied().unwrap_or(0.0);
        if let Some(&i) = slot_of.get(y)
            && (i as usize) < s
        {
            let i = slot_index::<C>(i);
            if let (Some(x), Some(z), Some(l)) = (
                same.get_mut(i),
                below.get_mut(i),
                list.get_mut(count % LIST),
            ) {
                *x = sum;
                *z = b;
                *l = i as u16;
                count += 1;
            }
        }
        b = sum;
    }
    let list = list.get(..count).unwrap_or(&[]);
    let clamp = sum > 1.0;
    for &i in list {
        let i = slot_index::<C>(i);
        if let (Some(x), Some(z)) = (same.get_mut(i), below.get_mut(i)) {
            let (a, bb) = if clamp {
                (at_most_one(*x), at_most_one(*z))
            } else {
                (*x, *z)
            };
            let (d_a, d_b) = if written {
                derivative_written(a, bb, k)
            } else {
                derivative(a, bb, k)
            };
            *x = d_a * w;
            *z = (d_a + d_b) * w;
        }
    }
    // Row `i` gets `same[i]` on its diagonal and `below[i]` on the members below it: those
    // listed before it.
    for (at, &i) in list.iter().enumerate() {
        let i = slot_index::<C>(i);
        let (Some(&d_same), Some(&d_below)) = (same.get(i), below.get(i)) else {
            continue;
        };
        let start = i * s;
        if let Some(o) = acc.get_mut(start + i) {
            *o += d_same;
        }
        for &z in list.get(..at).unwrap_or(&[]) {
            if let Some(o) = acc.get_mut(start + z as usize) {
                *o += d_below;
            }
        }
    }
}

/// One user's rows of the `s x s` block, for a scalar FPU: the support members are taken in the
/// user's order, so row `i` adds `same[i]` over its tie class and `below[i]` over the members
/// after it, and skips the members above, where [`add_row`] adds zero. Adding `+0.0` to an entry
/// that is never `-0.0` changes no bit, so the block is the same bits, in about a third of the
/// instructions on a Cortex-M4F. `slot_of` maps a candidate to its index in the support. (A
/// strict order takes [`strict_user_in_order`].)
#[inline(always)]
pub(super) fn add_user_in_order(
    row: &[u16],
    slot_of: &[u16],
    same: &[f32],
    below: &[f32],
    s: usize,
    acc: &mut [f32],
    scratch: &mut InOrder,
) {
    // Support slots in the user's order, and (with ties) where each one's tie class starts and
    // ends (entries past `count` are stale from earlier users and never read).
    let InOrder { list, class } = scratch;
    let mut count = 0usize;
    let mut start = 0usize;
    for &e in row {
        if let (Some(&i), Some(l)) = (slot_of.get((e & INDEX) as usize), list.get_mut(count))
            && (i as usize) < s
        {
            *l = i;
            count += 1;
        }
        if e & TIE_NEXT == 0 {
            for c in class.iter_mut().take(count).skip(start) {
                *c = (start as u8, count as u8);
            }
            start = count;
        }
    }
    let list = list.get(..count).unwrap_or(&[]);
    for (at, &i) in list.iter().enumerate() {
        let (c0, c1) = match class.get(at) {
            Some(&(c0, c1)) => (c0 as usize, c1 as usize),
            None => (at, at + 1),
        };
        let i = i as usize;
        let (Some(&d_same), Some(&d_below), Some(out)) =
            (same.get(i), below.get(i), acc.get_mut(i * s..(i + 1) * s))
        else {
            continue;
        };
        for &z in list.get(c0..c1).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(z as usize) {
                *o += d_same;
            }
        }
        for &z in list.get(c1..).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(z as usize) {
                *o += d_below;
            }
        }
    }
}

/// [`add_user_in_order`]'s per-user lists, kept across users so that no user pays for zeroing
/// them (on a Cortex-M4F, `memclr` of these was 6% of a (16, 16, 4) rerank).
pub(super) struct InOrder {
    list: [u16; LIST],
    class: [(u8, u8); SUPPORT_MAX],
}

/// The length of [`InOrder`]'s list: a power of two at least [`SUPPORT_MAX`], so that an index
/// taken modulo it needs no bounds check.
const LIST: usize = SUPPORT_MAX.next_power_of_two();

impl InOrder {
    pub(super) fn new() -> Self {
        InOrder {
            list: [0; LIST],
            class: [(0, 0); SUPPORT_MAX],
        }
    }
}

/// Adds the `s x s` block `acc` (row stride `width`) into `out` (row stride `stride`) and zeroes
/// it (padding columns are neither read nor zeroed: what they gather is never used): sums of
/// blocks of users, so 100,000 users round like 400 terms, not 100,000. The first block is
/// stored rather than added: `out` starts at zero and the entries are sums of non-negative terms
/// (never `-0.0`), so the bits are the same.
fn flush(acc: &mut [f32], (s, width): (usize, usize), stride: usize, out: &mut [f32], add: bool) {
    if s == 0 || width == 0 || stride == 0 {
        return;
    }
    for (a_row, o_row) in acc.chunks_mut(width).take(s).zip(out.chunks_mut(stride)) {
        for (a, o) in a_row.iter_mut().zip(o_row.iter_mut()).take(s) {
            *o = if add { *o + *a } else { *a };
            *a = 0.0;
        }
    }
}

/// For the first `s` entries, `a` in `same` and `b` in `below` become `w dS/da` and
/// `w (dS/da + dS/db)`, [`LANES`] at a time (the tail padded with zeros): the SIMD path.
fn derivatives_in_lanes(same: &mut [f32], below: &mut [f32], s: usize, k: u32, w: f32) {
    let len = s.min(same.len()).min(below.len());
    let (Some(same), Some(below)) = (same.get_mut(..len), below.get_mut(..len)) else {
        return;
    };
    for (sc, bc) in same.chunks_mut(LANES).zip(below.chunks_mut(LANES)) {
        let mut a = [0.0f32; LANES];
        let mut b = [0.0f32; LANES];
        for ((x, y), (&p, &q)) in a.iter_mut().zip(b.iter_mut()).zip(sc.iter().zip(bc.iter())) {
            *x = p;
            *y = q;
        }
        let (d_a, d_b) = derivatives(a, b, k);
        for ((p, q), (&x, &y)) in sc.iter_mut().zip(bc.iter_mut()).zip(d_a.iter().zip(&d_b)) {
            *p = x * w;
            *q = (x + y) * w;
        }
    }
}

/// [`derivatives_in_lanes`] one entry at a time with [`derivative`] (the same bits as a lane of
/// [`derivatives`]): the scalar path. A scalar FPU gains nothing from lanes, and copying into
/// them cost a `memclr` per chunk.
fn derivatives_one_by_one(same: &mut [f32], below: &mut [f32], s: usize, k: u32, w: f32) {
    for (p, q) in same.iter_mut().zip(below.iter_mut()).take(s) {
        let (x, y) = derivative(*p, *q, k);
        *p = x * w;
        *q = (x + y) * w;
    }
}
