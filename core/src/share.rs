//! The share oracle: `g(y)` for every candidate against `k` draws from a policy (docs/maths.md §2).
//!
//! For user type `j`, a candidate `y` with tie-class mass `c` and mass strictly below `b`,
//!
//! ```text
//! g_j(y) = (1/(k+1)) * sum_{i=0..k} (b+c)^i b^(k-i)
//! ```
//!
//! evaluated by the recurrence `s_0 = 1`, `s_i = (b+c) s_{i-1} + b^i`: only multiplications and
//! additions of non-negative numbers, so no cancellation, no division by `c`, and the relative
//! error grows at most linearly in `k`. The recurrence runs over fixed lanes of [`LANES`] `f32`
//! values, and on x86-64 eight users with strict orders share one vector pass; LLVM turns the lane
//! loops into SIMD. A Cortex-M (`target_arch = "arm"`, no SIMD) takes scalar paths instead: the
//! lanes one at a time, and a strict order in one fused pass. Every value goes through the same
//! operations in the same order on every path (unit tests compare the paths bit for bit), and no
//! fused multiply-add is used, so results are bit-identical across targets. Masses above 1 that
//! rounding can produce are clamped to 1, so every share stays in `[0, 1]`.
//!
//! Users are summed in blocks of [`BLOCK`] into a block partial, then the partials into the
//! total, which keeps the rounding error of 100,000 users near that of a few hundred.

use crate::{
    Error, Population, check_k, check_len, policy::check_policy, population::INDEX,
    population::TIE_NEXT, solver::POLISH_MAX,
};

/// Lanes of the polynomial evaluation.
pub const LANES: usize = 8;
/// User types summed per block before the block joins the total.
pub const BLOCK: usize = 256;

/// Anything that computes the shares of a policy over `n <= N` candidates.
///
/// [`Population`] is the single-threaded oracle; the solvers take any oracle, so a host can split
/// the user types across threads (each part a [`Population::users`] view) without core knowing
/// about threads.
pub trait Oracle<const N: usize> {
    /// Number of candidates.
    fn n(&self) -> usize;
    /// Writes `g(y)` for every candidate into `out`. Callers pass a policy of length `n`, an
    /// `out` of length `n` and a valid `k`; other inputs must not panic but may give any result.
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]);
    /// Adds the Jacobian `d g(support[r]) / d pi(support[c])` into `out[r * stride + c]`
    /// (`out` zeroed by the caller). Same input contract as `shares_into`. `f32` like the shares:
    /// the Newton polish recomputes its exact residual every step, so a Jacobian good to a few
    /// `f32` ulps only turns quadratic convergence into a fast linear one, and the system stays
    /// half the size on a device's stack.
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]);
    /// The whole population these shares are of. The solvers certify what they deploy on it
    /// ([`crate::certificate::certify`]), whatever route computed the shares.
    fn population(&self) -> Population<'_, N>;
}

impl<const N: usize> Oracle<N> for Population<'_, N> {
    fn n(&self) -> usize {
        Population::n(self)
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        shares_unchecked(self, pi, k, out);
    }
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        jacobian_unchecked(self, pi, k, support, stride, out);
    }
    fn population(&self) -> Population<'_, N> {
        *self
    }
}

/// Writes the share `g(y)` of every candidate into `out` (length `n`).
///
/// ```
/// use ualign::{Population, Storage, share::shares};
/// // The Condorcet cycle: every share is exactly 1/(k+1) under the uniform policy.
/// let (mut w, mut o) = ([0.0f32; 3], [0u16; 9]);
/// let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o))?;
/// for r in [[0, 1, 2], [1, 2, 0], [2, 0, 1]] {
///     b.push_ranking(1.0, r.map(|c| [c]))?;
/// }
/// let pop = b.finish()?;
/// let mut g = [0.0f32; 3];
/// shares(&pop, &[1.0 / 3.0; 3], 4, &mut g)?;
/// assert!(g.iter().all(|&x| (x - 0.2).abs() < 1e-6));
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidK`], [`Error::LengthMismatch`], [`Error::InvalidPolicy`].
pub fn shares<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
) -> Result<(), Error> {
    check_shares_call(pi, k, out, pop.n())?;
    shares_unchecked(pop, pi, k, out);
    Ok(())
}

/// What every checked share evaluation ([`shares`], `Tally::shares`, `Wide::shares`) accepts:
/// a valid `k`, a policy over `n` candidates and an output of length `n`.
pub(crate) fn check_shares_call(pi: &[f32], k: u32, out: &[f32], n: usize) -> Result<(), Error> {
    check_k(k)?;
    check_policy(pi, n)?;
    check_len(out.len(), n)
}

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

/// Number of blocks of [`BLOCK`] user types in a population of `m`: the rows of
/// [`block_sums_into`].
pub fn blocks(m: usize) -> usize {
    m.div_ceil(BLOCK)
}

/// The sums behind [`shares`], block by block: for block `b` of [`BLOCK`] user types (in order),
/// `(k+1)` times the block's share of every candidate, `sum_{j in b} w_j (k+1) g_j(y)`, into
/// `out[b n..(b+1) n]`; there are [`blocks`]`(m)` of them. [`shares`] is these rows added in
/// order, starting from zero, then divided by `(k + 1) as f32`, so a caller that computes the
/// blocks of contiguous parts of a population (each a [`Population::users`] view starting at a
/// multiple of [`BLOCK`]), on several threads, and adds them in that order gets [`shares`] bit
/// for bit. The input contract is [`Oracle::shares_into`]'s: other inputs must not panic but may
/// give any result (a short `out` receives the blocks that fit).
pub fn block_sums_into<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
) {
    sums_unchecked(pop, pi, k, out, Sink::Blocks);
}

/// Where [`shares_rows`] puts the sums of each block of users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sink {
    /// Added into `out` in order, from zero, then divided by `k + 1`: the shares.
    Shares,
    /// Block `b`'s sums into `out[b n..(b+1) n]`, not divided ([`block_sums_into`]).
    Blocks,
}

/// [`shares_unchecked`] or [`block_sums_into`], as `sums` says.
fn sums_unchecked<const N: usize>(
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
        shares_rows::<TINY_CAPACITY>(rows, weights, strict, n, pi, k, out, sink);
    } else if N > SMALL_CAPACITY && n <= SMALL_CAPACITY {
        shares_rows::<SMALL_CAPACITY>(rows, weights, strict, n, pi, k, out, sink);
    } else if N > MEDIUM_CAPACITY && n <= MEDIUM_CAPACITY {
        shares_rows::<MEDIUM_CAPACITY>(rows, weights, strict, n, pi, k, out, sink);
    } else {
        shares_rows::<N>(rows, weights, strict, n, pi, k, out, sink);
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
/// the rows need not be searched for one). With [`Sink::Blocks`], [`block_sums_into`].
#[allow(clippy::too_many_arguments)]
fn shares_rows<const N: usize>(
    rows: &[u16],
    weights: &[f32],
    strict: bool,
    n: usize,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
    sink: Sink,
) {
    if sink == Sink::Shares {
        for o in out.iter_mut() {
            *o = 0.0;
        }
    }
    let mut block = [0.0f32; N];
    // The one-user-at-a-time scratch, zeroed when a user first needs it (a population of
    // strict orders in whole groups never does).
    let mut single: Option<Single<N>> = None;
    // The group scratch is 8 N floats: only worth zeroing when the population outweighs it.
    let mut group = if cfg!(not(target_arch = "arm")) && weights.len().saturating_mul(n) >= 4 * N {
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
        for b in block.iter_mut() {
            *b = 0.0;
        }
        let mut j = 0;
        while j < blk_w.len() {
            // Eight strict orders at once, one per lane (see `Group`); anything else one by one.
            if let Some(group) = group.as_mut()
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
            // Without SIMD, one fused pass per strict order keeps everything in registers.
            if cfg!(target_arch = "arm") && strict_user(row, &policy, w, k, strict, &mut block) {
                continue;
            }
            let Single {
                mass,
                upper,
                lower,
                value,
            } = single.get_or_insert_with(Single::new);
            user_positions(row, pi, mass, upper, lower);
            poly(upper, lower, n, k, value);
            for (&e, &v) in row.iter().zip(value.iter()) {
                if let Some(b) = block.get_mut((e & INDEX) as usize) {
                    *b += w * v;
                }
            }
        }
        match sink {
            Sink::Shares => {
                for (o, &b) in out.iter_mut().zip(block.iter()) {
                    *o += b;
                }
            }
            Sink::Blocks => {
                let row = out.get_mut(blk * n..).unwrap_or(&mut []);
                for (o, &b) in row.iter_mut().take(n).zip(block.iter()) {
                    *o = b;
                }
            }
        }
    }
    if sink == Sink::Shares {
        let scale = (k + 1) as f32;
        for o in out.iter_mut() {
            *o /= scale;
        }
    }
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

/// The candidate of an order entry, as an index into an array of capacity `N`. Entries of a
/// population always name a candidate below `n <= N`; when `N` is a power of two the mask keeps
/// that true for the compiler too, which then drops the bounds checks of the gather and the
/// scatter.
#[inline(always)]
fn slot_index<const N: usize>(e: u16) -> usize {
    let i = (e & INDEX) as usize;
    if N.is_power_of_two() { i & (N - 1) } else { i }
}

/// Eight user types with strict orders, one per lane, position-major: the suffix sums and the
/// recurrence of all eight run as vector operations, so the serial chain of additions of one
/// user's suffix sum no longer bounds the speed. Every lane performs exactly the operations of
/// [`user_positions`] and [`poly`] for its user, and [`Group::scatter`] adds the users in their
/// order, so the result is the same bits as one user at a time.
struct Group<const N: usize> {
    /// The weighted values of the recurrence (after `values`).
    upper: [[f32; LANES]; N],
}

impl<const N: usize> Group<N> {
    fn new() -> Self {
        Group {
            upper: [[0.0; LANES]; N],
        }
    }

    /// Whether the eight rows are strict orders, which the group needs.
    fn strict(rows: &[u16]) -> bool {
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
    /// written out (see [`sum_powers`]), with no loop and no multiplication by the initial 1.
    fn values_k(&mut self, rows: &[u16], w: &[f32], n: usize, k: u32, pi: &[f32; N]) {
        if cfg!(target_arch = "arm") {
            // Never reached there (no groups without SIMD): one copy, not six.
            return self.values(rows, w, n, k, pi);
        }
        match k {
            1 => self.values(rows, w, n, 1, pi),
            2 => self.values(rows, w, n, 2, pi),
            3 => self.values(rows, w, n, 3, pi),
            4 => self.values(rows, w, n, 4, pi),
            8 => self.values(rows, w, n, 8, pi),
            _ => self.values(rows, w, n, k, pi),
        }
    }

    /// The masses of the eight strict `rows` gathered position by position from the bottom,
    /// their suffix sums (`b` before a position's mass, `b + c` after it) and the recurrence on
    /// them, in one pass, each value times its user's weight `w` into `upper`. When a user's
    /// total exceeds 1 (rounding; see [`clamp_masses`]) the pass runs again on clamped sums: the
    /// same values as clamping first.
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
        for (p, v) in upper.iter_mut().enumerate().rev() {
            let m = Self::gather(&rows, p, pi);
            let b = below;
            for l in 0..LANES {
                below[l] += m[l];
            }
            *v = weighted(w, lanes_written(below, b, k));
        }
        if below.iter().any(|&b| b > 1.0) {
            // The suffix sums again, then each position's pair clamped: `b` of a position is
            // the sum of the one below it, still in `upper` when the position is overwritten.
            let mut below = [0.0f32; LANES];
            for (p, u) in upper.iter_mut().enumerate().rev() {
                let m = Self::gather(&rows, p, pi);
                for l in 0..LANES {
                    below[l] += m[l];
                }
                *u = below;
            }
            for p in 0..n {
                let (Some(&a), b) = (upper.get(p), upper.get(p + 1).copied()) else {
                    break;
                };
                let (mut a, mut b) = (a, b.unwrap_or([0.0; LANES]));
                clamp_masses(&mut a, &mut b);
                if let Some(u) = upper.get_mut(p) {
                    *u = weighted(w, lanes_written(a, b, k));
                }
            }
        }
    }

    /// Adds each user's weighted values (from [`Group::values`]), in user order, into `block`:
    /// the sums of one user at a time. (A user of weight 0 adds zeros, which change no sum.)
    fn scatter(&self, rows: &[u16], n: usize, block: &mut [f32; N]) {
        for (l, row) in rows.chunks_exact(n.max(1)).take(LANES).enumerate() {
            for (&e, v) in row.iter().zip(self.upper.iter()) {
                if let (Some(b), Some(&x)) = (block.get_mut(slot_index::<N>(e)), v.get(l)) {
                    *b += x;
                }
            }
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
fn strict_user<const N: usize>(
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
    match k {
        1 => strict_user_k(row, pi, w, 1, block),
        2 => strict_user_k(row, pi, w, 2, block),
        3 => strict_user_k(row, pi, w, 3, block),
        4 => strict_user_k(row, pi, w, 4, block),
        8 => strict_user_k(row, pi, w, 8, block),
        _ => strict_user_k(row, pi, w, k, block),
    }
    true
}

/// [`strict_user`] for one `k`: inlined into each arm of its `match`, where `k` is a constant.
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

/// `sum_{i=0..k} a^i b^(k-i)`, the recurrence `s_0 = 1`, `s_i = a s_{i-1} + b^i` of [`poly`] and
/// [`lanes`] with the same operations in the same order (the first step's `a * 1` is `a`
/// exactly, so it is written `a + b`). For `k` = 1, 2, 3, 4 and 8 the steps are written out: the
/// firmware is built for size and would otherwise run them as a loop, whose counter and branch
/// cost a scalar FPU about as much as the arithmetic.
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

/// `value[p] = sum_{i=0..k} upper[p]^i lower[p]^(k-i)` for `p < n`, [`LANES`] at a time.
#[inline]
pub(crate) fn poly(upper: &[f32], lower: &[f32], n: usize, k: u32, value: &mut [f32]) {
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
            *v = lanes(a, b, k);
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
        let s = lanes(a, b, k);
        for (slot, &x) in value.iter_mut().skip(p).take(len - p).zip(s.iter()) {
            *slot = x;
        }
    }
}

/// The recurrence `s_0 = 1`, `s_i = a s_{i-1} + b^i` on `W` independent lanes ([`LANES`] here,
/// 16 in [`crate::wide`]; `a`, `b` at most 1, see [`clamp_masses`]).
///
/// The lanes are independent, so the order in which they advance does not change a bit: with
/// SIMD all lanes take one step together; on a scalar FPU (Cortex-M) one lane runs all `k` steps
/// in four registers before the next, instead of spilling 32 lane values around every step.
#[inline(always)]
#[cfg(not(target_arch = "arm"))]
pub(crate) fn lanes<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
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

/// [`lanes`] for a `k` that [`sum_powers`] writes out (1, 2, 3, 4, 8; any other `k` runs
/// `lanes`): the same operations, so the same bits. With `k` a constant (see
/// [`Group::values_k`]) this is straight-line code on all lanes.
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

/// See the other `lanes`: the same operations, one lane at a time.
#[inline(always)]
#[cfg(target_arch = "arm")]
pub(crate) fn lanes<const W: usize>(a: [f32; W], b: [f32; W], k: u32) -> [f32; W] {
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
fn clamp_masses(upper: &mut [f32], lower: &mut [f32]) {
    for (u, l) in upper.iter_mut().zip(lower.iter_mut()) {
        *u = at_most_one(*u);
        *l = at_most_one(*l);
    }
}

/// The Jacobian of the shares restricted to `support` (see [`Oracle::jacobian_into`]).
///
/// With `a = b + c` and `S = sum_{i=0..k} a^i b^(k-i)`, a candidate `z` strictly below `y` raises
/// both `a` and `b` (`dS/da + dS/db`), one tied with `y` (or `y` itself) raises `a` only
/// (`dS/da`), one above `y` changes nothing.
pub(crate) fn jacobian_unchecked<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    support: &[u16],
    stride: usize,
    out: &mut [f32],
) {
    // The block accumulator is zeroed on every call: 9 KiB for the largest support the polish
    // uses, a tenth of a (16, 16, 4) Jacobian on a Cortex-M4F. Small supports (and every support
    // of a small capacity, which then compiles one copy) take a 4 KiB one; both accumulate in
    // blocks, so the bits are the same.
    if N <= SMALL_SUPPORT || support.len() <= SMALL_SUPPORT {
        jacobian_acc::<N, { SMALL_SUPPORT * SMALL_SUPPORT }>(pop, pi, k, support, stride, out);
    } else {
        jacobian_acc::<N, { POLISH_MAX * POLISH_MAX }>(pop, pi, k, support, stride, out);
    }
}

/// The largest support [`jacobian_unchecked`] gives a `SMALL_SUPPORT^2` block accumulator.
const SMALL_SUPPORT: usize = 32;

/// [`jacobian_unchecked`] with a block accumulator of `A` entries: supports of `s` members with
/// `s * s <= A` are accumulated in blocks of users, larger ones straight into `out`.
fn jacobian_acc<const N: usize, const A: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    support: &[u16],
    stride: usize,
    out: &mut [f32],
) {
    let n = pop.n();
    let mut mass = [0.0f32; N];
    let mut upper = [0.0f32; N];
    let mut lower = [0.0f32; N];
    // Class numbers as f32 (exact below 2^24): compared against f32 entries in `add_row`, the
    // masks have the entries' width.
    let mut class = [0.0f32; N]; // class number of each candidate, 0 = top
    let mut a_of = [0.0f32; N]; // a = b + c of each candidate, for this user
    let mut b_of = [0.0f32; N]; // b of each candidate, for this user
    let mut cls_s = [0.0f32; N]; // class of each support member
    // Per support member: a, then w dS/da (a tie); b, then w (dS/da + dS/db) (strictly below).
    let mut d_same = [0.0f32; N];
    let mut d_below = [0.0f32; N];
    let s = support.len().min(N);
    if stride == 0 || s == 0 {
        return;
    }
    // Supports the polish uses are accumulated over blocks of users, then flushed into the
    // output (see `flush`). Larger supports accumulate straight into the output.
    let blocked = s <= POLISH_MAX && s * s <= A;
    let mut acc = [0.0f32; A];
    let mut in_block = 0usize;
    let mut flushed = false;
    let scale = 1.0 / (k + 1) as f32;
    // Without SIMD the rows are added in each user's order, skipping the zeros (see
    // `add_user_in_order`); that needs each candidate's slot in the support.
    let in_order = cfg!(target_arch = "arm");
    let mut slot_of = [u16::MAX; N];
    let mut lists = InOrder::new();
    if in_order {
        for (i, &y) in support.iter().enumerate().take(s) {
            if let Some(slot) = slot_of.get_mut(y as usize) {
                *slot = i as u16;
            }
        }
    }
    for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
        if w == 0.0 {
            continue;
        }
        let strict = user_positions(row, pi, &mut mass, &mut upper, &mut lower);
        let mut cls = 0.0f32;
        for (p, &e) in row.iter().enumerate() {
            if let (Some(slot), Some(&a), Some(&b)) = (
                class.get_mut((e & INDEX) as usize),
                upper.get(p),
                lower.get(p),
            ) {
                *slot = cls;
                if let (Some(x), Some(y)) = (
                    a_of.get_mut((e & INDEX) as usize),
                    b_of.get_mut((e & INDEX) as usize),
                ) {
                    *x = a;
                    *y = b;
                }
            }
            if e & TIE_NEXT == 0 {
                cls += 1.0;
            }
        }
        let w = w * scale;
        // Class of each support member for this user, so the inner loop is branch-light.
        for (cs, &z) in cls_s.iter_mut().zip(support) {
            *cs = class.get(z as usize).copied().unwrap_or(0.0);
        }
        let cls_s = cls_s.get(..s).unwrap_or(&[]);
        // a and b of each support member, then the derivatives of all of them, LANES at a time.
        for ((sa, sb), &y) in d_same.iter_mut().zip(d_below.iter_mut()).zip(support) {
            *sa = a_of.get(y as usize).copied().unwrap_or(0.0);
            *sb = b_of.get(y as usize).copied().unwrap_or(0.0);
        }
        derivative_chunks(&mut d_same, &mut d_below, s, k, w);
        let pairs = d_same.iter().zip(d_below.iter());
        if blocked {
            if in_order && strict {
                add_strict_user_in_order(row, &slot_of, &d_same, &d_below, s, &mut acc, &mut lists);
            } else if in_order {
                add_user_in_order(row, &slot_of, &d_same, &d_below, s, &mut acc, &mut lists);
            } else if strict {
                // A strict order: only the member itself ties with itself.
                for (i, ((&cy, (&same, &below)), row)) in
                    cls_s.iter().zip(pairs).zip(acc.chunks_mut(s)).enumerate()
                {
                    add_row_strict(row, cls_s, cy, same, below, i);
                }
            } else {
                for ((&cy, (&same, &below)), row) in cls_s.iter().zip(pairs).zip(acc.chunks_mut(s))
                {
                    add_row(row, cls_s, cy, same, below);
                }
            }
            in_block += 1;
            if in_block == BLOCK {
                flush(&mut acc, s, stride, out, flushed);
                flushed = true;
                in_block = 0;
            }
        } else {
            for ((&cy, (&same, &below)), row) in cls_s.iter().zip(pairs).zip(out.chunks_mut(stride))
            {
                add_row(row, cls_s, cy, same, below);
            }
        }
    }
    if blocked && in_block > 0 {
        flush(&mut acc, s, stride, out, flushed);
    }
}

/// One Jacobian row of one user: `d_same` where the support member ties with the row's
/// candidate (class `cy`), `d_below` where it sits strictly below, nothing above.
#[inline]
fn add_row<T: Copy + core::ops::AddAssign + From<f32>>(
    row: &mut [T],
    cls_s: &[f32],
    cy: f32,
    d_same: f32,
    d_below: f32,
) {
    let (same, below, zero) = (T::from(d_same), T::from(d_below), T::from(0.0));
    for (o, &cz) in row.iter_mut().zip(cls_s) {
        *o += if cz == cy {
            same
        } else if cz > cy {
            below
        } else {
            zero
        };
    }
}

/// [`add_row`] for a strict order, where only the row's own member (column `diag`) ties: one
/// comparison per entry instead of two, then `d_same` on the diagonal. The diagonal gets `+ 0.0`
/// first, which changes no bit of a sum of non-negative terms, so the row is `add_row`'s, bit for
/// bit.
#[inline]
fn add_row_strict(row: &mut [f32], cls_s: &[f32], cy: f32, d_same: f32, d_below: f32, diag: usize) {
    for (o, &cz) in row.iter_mut().zip(cls_s) {
        *o += if cz > cy { d_below } else { 0.0 };
    }
    if let Some(o) = row.get_mut(diag) {
        *o += d_same;
    }
}

/// One user's rows of the `s x s` block, for a scalar FPU: the support members are taken in the
/// user's order, so row `i` adds `same[i]` over its tie class and `below[i]` over the members
/// after it, and skips the members above, where [`add_row`] adds zero. Adding `+0.0` to an entry
/// that is never `-0.0` changes no bit, so the block is the same bits, in about a third of the
/// instructions on a Cortex-M4F. `slot_of` maps a candidate to its index in the support.
fn add_user_in_order(
    row: &[u16],
    slot_of: &[u16],
    same: &[f32],
    below: &[f32],
    s: usize,
    acc: &mut [f32],
    scratch: &mut InOrder,
) {
    // Support slots in the user's order, and where each one's tie class starts and ends (entries
    // past `count` are stale from earlier users and never read).
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
    for (&i, &(c0, c1)) in list.iter().zip(class.iter()) {
        let i = i as usize;
        let (Some(&d_same), Some(&d_below), Some(out)) =
            (same.get(i), below.get(i), acc.get_mut(i * s..(i + 1) * s))
        else {
            continue;
        };
        for &z in list.get(c0 as usize..c1 as usize).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(z as usize) {
                *o += d_same;
            }
        }
        for &z in list.get(c1 as usize..).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(z as usize) {
                *o += d_below;
            }
        }
    }
}

/// [`add_user_in_order`] for a strict order: every class is one member, so row `i` adds
/// `same[i]` to its own entry and `below[i]` to the members after it, with no class bounds to
/// track. The same additions in the same order, so the same bits.
fn add_strict_user_in_order(
    row: &[u16],
    slot_of: &[u16],
    same: &[f32],
    below: &[f32],
    s: usize,
    acc: &mut [f32],
    scratch: &mut InOrder,
) {
    let list = &mut scratch.list;
    let mut count = 0usize;
    for &e in row {
        if let (Some(&i), Some(l)) = (slot_of.get((e & INDEX) as usize), list.get_mut(count))
            && (i as usize) < s
        {
            *l = i;
            count += 1;
        }
    }
    let list = list.get(..count).unwrap_or(&[]);
    for (at, &i) in list.iter().enumerate() {
        let i = i as usize;
        let (Some(&d_same), Some(&d_below), Some(out)) =
            (same.get(i), below.get(i), acc.get_mut(i * s..(i + 1) * s))
        else {
            continue;
        };
        if let Some(o) = out.get_mut(i) {
            *o += d_same;
        }
        for &z in list.get(at + 1..).unwrap_or(&[]) {
            if let Some(o) = out.get_mut(z as usize) {
                *o += d_below;
            }
        }
    }
}

/// [`add_user_in_order`]'s per-user lists, kept across users so that no user pays for zeroing
/// them (on a Cortex-M4F, `memclr` of these was 6% of a (16, 16, 4) rerank).
struct InOrder {
    list: [u16; POLISH_MAX],
    class: [(u8, u8); POLISH_MAX],
}

impl InOrder {
    fn new() -> Self {
        InOrder {
            list: [0; POLISH_MAX],
            class: [(0, 0); POLISH_MAX],
        }
    }
}

/// Adds the `s x s` block `acc` into `out` (row stride `stride`) and zeroes it: sums of blocks
/// of users, so 100,000 users round like 400 terms, not 100,000. The first block is stored
/// rather than added: `out` starts at zero and the entries are sums of non-negative terms (never
/// `-0.0`), so the bits are the same.
fn flush(acc: &mut [f32], s: usize, stride: usize, out: &mut [f32], add: bool) {
    if s == 0 || stride == 0 {
        return;
    }
    for (a_row, o_row) in acc.chunks_mut(s).take(s).zip(out.chunks_mut(stride)) {
        for (a, o) in a_row.iter_mut().zip(o_row.iter_mut()) {
            *o = if add { *o + *a } else { *a };
            *a = 0.0;
        }
    }
}

/// For the first `s` entries, `a` in `same` and `b` in `below` become `w dS/da` and
/// `w (dS/da + dS/db)`, [`LANES`] at a time (the tail padded with zeros).
#[cfg(not(target_arch = "arm"))]
fn derivative_chunks(same: &mut [f32], below: &mut [f32], s: usize, k: u32, w: f32) {
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

/// The same as the other `derivative_chunks`, one entry at a time with `derivative` (the same
/// bits as a lane of `derivatives`): a scalar FPU gains nothing from lanes, and copying into
/// them cost a `memclr` per chunk.
#[cfg(target_arch = "arm")]
fn derivative_chunks(same: &mut [f32], below: &mut [f32], s: usize, k: u32, w: f32) {
    for (p, q) in same.iter_mut().zip(below.iter_mut()).take(s) {
        let (x, y) = derivative(*p, *q, k);
        *p = x * w;
        *q = (x + y) * w;
    }
}

/// `(dS/da, dS/db)` for `S = sum_{i=0..k} a^i b^(k-i)` on [`LANES`] lanes, by Horner in `a`
/// (all lanes a step at a time with SIMD; see `derivative` for a scalar FPU).
#[inline(always)]
#[cfg(not(target_arch = "arm"))]
fn derivatives(a: [f32; LANES], b: [f32; LANES], k: u32) -> ([f32; LANES], [f32; LANES]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Storage, xorshift32};

    /// The block rows added in order from zero and divided by `k + 1` are the shares, bit for
    /// bit; and the rows of a view starting at a block boundary are the whole's rows of its
    /// blocks (how a host splits a population across threads without changing a bit).
    #[test]
    fn block_sums_add_up_to_the_shares_bit_for_bit() {
        const N: usize = 16;
        const M: usize = 3 * BLOCK + 45;
        let mut next = xorshift32(0x1234_5677);
        let (ms, ks): (&[usize], &[u32]) = if cfg!(miri) {
            (&[1, BLOCK + 3], &[3])
        } else {
            (&[1, 7, BLOCK - 1, BLOCK, BLOCK + 1, M], &[1, 2, 4, 7])
        };
        for (case, &m) in ms.iter().enumerate() {
            let n = 3 + case * 2;
            let (mut w, mut o) = ([0.0f32; M], [0u16; M * N]);
            let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
            for j in 0..m {
                // Ties in every third user; zero weights now and then.
                let scores: [f64; N] = core::array::from_fn(|_| {
                    let r = next();
                    if j % 3 == 0 { (r % 3) as f64 } else { r as f64 }
                });
                let weight = if j > 0 && j % 11 == 0 {
                    0.0
                } else {
                    (next() % 7 + 1) as f64
                };
                b.push_scores(weight, &scores[..n]).unwrap();
            }
            let pop = b.finish().unwrap();
            let raw: [f32; N] = core::array::from_fn(|_| (next() % 100) as f32 + 1.0);
            let total: f32 = raw[..n].iter().sum();
            let pi: [f32; N] = core::array::from_fn(|i| raw[i] / total);
            let pi = &pi[..n];
            let rows = blocks(m);
            assert_eq!(rows, m.div_ceil(BLOCK));
            for &k in ks {
                let mut want = [0.0f32; N];
                shares(&pop, pi, k, &mut want[..n]).unwrap();
                let mut sums = [0.0f32; 4 * N];
                block_sums_into(&pop, pi, k, &mut sums[..rows * n]);
                let mut got = [0.0f32; N];
                for row in sums[..rows * n].chunks_exact(n) {
                    for (g, &x) in got.iter_mut().zip(row) {
                        *g += x;
                    }
                }
                for g in got[..n].iter_mut() {
                    *g /= (k + 1) as f32;
                }
                assert_eq!(
                    want.map(f32::to_bits),
                    got.map(f32::to_bits),
                    "m {m}, k {k}"
                );
                // Each block alone, as a view.
                for blk in 0..rows {
                    let view = pop.users(blk * BLOCK..((blk + 1) * BLOCK).min(m)).unwrap();
                    let mut one = [0.0f32; N];
                    block_sums_into(&view, pi, k, &mut one[..n]);
                    let whole = &sums[blk * n..(blk + 1) * n];
                    assert!(
                        one[..n]
                            .iter()
                            .map(|x| x.to_bits())
                            .eq(whole.iter().map(|x| x.to_bits())),
                        "m {m}, k {k}, block {blk}"
                    );
                }
            }
        }
    }

    /// A policy whose `f32` entries sum above 1 (accepted: within the tolerance of
    /// [`check_policy`]) still gives shares in `[0, 1]`: a candidate of mass 0 above all others
    /// wins every draw, share exactly 1, for every `k`.
    #[test]
    fn a_policy_summing_above_one_keeps_shares_in_the_unit_interval() {
        let pi = [0.43550828f32, 0.44823772, 0.0, 0.030770812, 0.08548321];
        let sum: f32 = pi.iter().sum();
        assert!(sum > 1.0, "the case needs an f32 sum above 1: {sum}");
        let (mut w, mut o) = ([0.0f32; 1], [0u16; 5]);
        let mut b = Population::<8>::builder(5, Storage::new(&mut w, &mut o)).unwrap();
        b.push_scores(1.0, &[0.0, 0.0, 2.0, 0.0, 1.0]).unwrap();
        let pop = b.finish().unwrap();
        for k in [1, 2, 8, 21, 64] {
            let mut g = [0.0f32; 5];
            shares(&pop, &pi, k, &mut g).unwrap();
            assert_eq!(g[2], 1.0, "k = {k}: {g:?}");
            assert!(
                g.iter().all(|&x| (0.0..=1.0).contains(&x)),
                "k = {k}: {g:?}"
            );
        }
    }

    /// The fused strict-order pass (what a Cortex-M runs) gives the same bits as the general
    /// per-user path, clamped totals included, and declines orders with ties.
    #[test]
    fn fused_strict_path_is_bit_identical_to_the_general_path() {
        const N: usize = 16;
        let mut next = xorshift32(0x2545_f491_u32);
        // Miri runs this about a million times slower: fewer cases there.
        for case in 0..if cfg!(miri) { 80 } else { 400 } {
            let n = 1 + (next() % N as u32) as usize;
            let (mut w, mut o) = ([0.0f32; 1], [0u16; N]);
            let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
            let tied = case % 4 == 0;
            let scores: [f64; N] = core::array::from_fn(|_| {
                let r = next();
                if tied { (r % 3) as f64 } else { r as f64 }
            });
            b.push_scores(1.0, &scores[..n]).unwrap();
            let pop = b.finish().unwrap();
            let row = pop.order_rows();
            let mut pi = [0.0f32; N];
            let mut total = 0.0f32;
            for p in pi.iter_mut().take(n) {
                *p = if next().is_multiple_of(5) {
                    0.0
                } else {
                    (next() % 1000) as f32 + 1.0
                };
                total += *p;
            }
            if total == 0.0 {
                // Every mass drawn zero: a point mass instead (0 / 0 would be NaN, whose sign
                // bit is not specified, so two paths need not agree on it; Miri varies it).
                pi[0] = 1.0;
                total = 1.0;
            }
            for p in pi.iter_mut().take(n) {
                *p /= total;
            }
            if case % 3 == 0 {
                pi[0] += 3e-7; // a total above 1: the clamped branch
            }
            // 1, 2, 3, 4 and 8 run `sum_powers`' written-out steps, 5 and 16 its loop.
            for k in [1u32, 2, 3, 4, 5, 8, 16] {
                let w = 0.37f32;
                let (mut mass, mut upper, mut lower, mut value) =
                    ([0.0f32; N], [0.0; N], [0.0; N], [0.0; N]);
                user_positions(row, &pi[..n], &mut mass, &mut upper, &mut lower);
                poly(&upper, &lower, n, k, &mut value);
                let mut general = [0.0f32; N];
                for (&e, &v) in row.iter().zip(value.iter()) {
                    general[(e & INDEX) as usize] += w * v;
                }
                let has_tie = row.iter().any(|&e| e & TIE_NEXT != 0);
                // Searching the row for ties, and (strict rows) told there are none.
                for known_strict in [false, true] {
                    if known_strict && has_tie {
                        continue;
                    }
                    let mut fused = [0.0f32; N];
                    let strict = strict_user(row, &pi, w, k, known_strict, &mut fused);
                    assert_eq!(strict, !has_tie, "case {case}");
                    if strict {
                        for y in 0..n {
                            assert_eq!(
                                fused[y].to_bits(),
                                general[y].to_bits(),
                                "case {case}, k {k}, y {y}, known {known_strict}"
                            );
                        }
                    } else {
                        assert!(fused.iter().all(|&x| x == 0.0));
                    }
                }
            }
        }
    }

    /// The Jacobian rows added in each user's order (what a Cortex-M runs), and the strict rows
    /// of strict users, are the same bits as the rows of `add_row`, over many users with ties
    /// and supports of every size.
    #[test]
    fn in_order_jacobian_rows_are_bit_identical_to_add_row() {
        const N: usize = 12;
        let mut next = xorshift32(0x1234_5678_u32);
        // One set of lists for every case: stale entries from earlier users must not matter.
        let mut lists = InOrder::new();
        for case in 0..60 {
            let n = 1 + (next() % N as u32) as usize;
            let m = 1 + (next() % 20) as usize;
            let (mut w, mut o) = ([0.0f32; 20], [0u16; 20 * N]);
            let mut b =
                Population::<N>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
            for _ in 0..m {
                let spread = if case % 2 == 0 { 3 } else { 1000 };
                let scores: [f64; N] = core::array::from_fn(|_| (next() % spread) as f64);
                b.push_scores(1.0, &scores[..n]).unwrap();
            }
            let pop = b.finish().unwrap();
            // A support: a random subset in a random order.
            let mut support = [0u16; N];
            let mut s = 0;
            for y in 0..n {
                if !next().is_multiple_of(3) {
                    support[s] = y as u16;
                    s += 1;
                }
            }
            if s == 0 {
                continue;
            }
            for i in (1..s).rev() {
                support.swap(i, (next() as usize) % (i + 1));
            }
            let mut slot_of = [u16::MAX; N];
            for (i, &y) in support[..s].iter().enumerate() {
                slot_of[y as usize] = i as u16;
            }
            let (mut by_row, mut in_order) = ([0.0f32; N * N], [0.0f32; N * N]);
            let mut in_order_strict = [0.0f32; N * N];
            // The strict rows, for the users whose order is strict (the others as by_row).
            let mut strict_rows = [0.0f32; N * N];
            for row in pop.order_rows().chunks_exact(n) {
                let mut class = [0.0f32; N];
                let mut c = 0.0f32;
                for &e in row {
                    class[(e & INDEX) as usize] = c;
                    if e & TIE_NEXT == 0 {
                        c += 1.0;
                    }
                }
                let cls_s: [f32; N] = core::array::from_fn(|i| class[support[i] as usize]);
                let same: [f32; N] = core::array::from_fn(|_| (next() % 1000) as f32 * 1e-3);
                let below: [f32; N] = core::array::from_fn(|_| (next() % 1000) as f32 * 1e-3);
                let strict = row.iter().all(|&e| e & TIE_NEXT == 0);
                for i in 0..s {
                    let cells = i * s..(i + 1) * s;
                    add_row(
                        &mut by_row[cells.clone()],
                        &cls_s[..s],
                        cls_s[i],
                        same[i],
                        below[i],
                    );
                    if strict {
                        let r = &mut strict_rows[cells];
                        add_row_strict(r, &cls_s[..s], cls_s[i], same[i], below[i], i);
                    } else {
                        add_row(
                            &mut strict_rows[cells],
                            &cls_s[..s],
                            cls_s[i],
                            same[i],
                            below[i],
                        );
                    }
                }
                add_user_in_order(row, &slot_of, &same, &below, s, &mut in_order, &mut lists);
                // What a Cortex-M runs: the strict users through their own lists.
                if strict {
                    let acc = &mut in_order_strict;
                    add_strict_user_in_order(row, &slot_of, &same, &below, s, acc, &mut lists);
                } else {
                    let acc = &mut in_order_strict;
                    add_user_in_order(row, &slot_of, &same, &below, s, acc, &mut lists);
                }
            }
            for (((a, b), c), d) in by_row
                .iter()
                .zip(&in_order)
                .zip(&strict_rows)
                .zip(&in_order_strict)
            {
                assert_eq!(a.to_bits(), b.to_bits(), "case {case}");
                assert_eq!(a.to_bits(), c.to_bits(), "case {case}, strict rows");
                assert_eq!(a.to_bits(), d.to_bits(), "case {case}, strict lists");
            }
        }
    }

    /// The scalar `derivative` (Cortex-M) gives each lane of `derivatives` (SIMD) bit for bit.
    #[test]
    fn scalar_derivative_is_bit_identical_to_the_lanes() {
        let mut next = xorshift32(0x9e37_79b9);
        // Miri runs this about a million times slower: fewer draws there.
        let draws = if cfg!(miri) { 5 } else { 200 };
        for k in [1u32, 2, 3, 4, 8, 16, 64] {
            for _ in 0..draws {
                let a: [f32; LANES] = core::array::from_fn(|_| (next() >> 8) as f32 / 16_777_216.0);
                let b: [f32; LANES] =
                    core::array::from_fn(|l| a[l] * ((next() >> 8) as f32 / 16_777_216.0));
                let (d_a, d_b) = derivatives(a, b, k);
                for l in 0..LANES {
                    let (x, y) = derivative(a[l], b[l], k);
                    assert_eq!(
                        (x.to_bits(), y.to_bits()),
                        (d_a[l].to_bits(), d_b[l].to_bits()),
                        "k = {k}"
                    );
                }
            }
        }
    }

    /// A large capacity narrowed to 64 or 256 for small `n` gives the bits of the full capacity,
    /// the eight-lane path included (narrowing turns it on for populations it was off for).
    #[test]
    fn narrowed_capacities_give_the_same_bits() {
        const BIG: usize = 1024;
        let mut next = xorshift32(0x5151_2026);
        let cases = [
            (1usize, 3usize),
            (9, 40),
            (16, 16),
            (33, 20),
            (64, 9),
            (65, 30),
            (256, 17),
        ];
        // Miri zeroes arrays of 1024 floats slowly: one case there (all of them take minutes).
        let cases = if cfg!(miri) { &cases[1..2] } else { &cases[..] };
        for &(n, m) in cases {
            let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 256]);
            let mut b =
                Population::<BIG>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
            for u in 0..m {
                // Every third user with ties, the others strict.
                let spread = if u % 3 == 0 { 4 } else { 1 << 20 };
                let scores: [f64; 256] = core::array::from_fn(|_| (next() % spread) as f64);
                b.push_scores((1 + next() % 5) as f64, &scores[..n])
                    .unwrap();
            }
            let pop = b.finish().unwrap();
            let mut pi: [f32; 256] = core::array::from_fn(|_| (next() % 1000) as f32);
            let total: f32 = pi[..n].iter().sum();
            for p in pi[..n].iter_mut() {
                *p /= total.max(1.0);
            }
            let pi = &pi[..n];
            let ks = [1u32, 2, 4, 9];
            for &k in if cfg!(miri) { &ks[2..3] } else { &ks[..] } {
                let (mut narrowed, mut full) = ([0.0f32; 256], [0.0f32; 256]);
                shares_unchecked(&pop, pi, k, &mut narrowed[..n]);
                let strict = pop.all_strict();
                shares_rows::<BIG>(
                    pop.order_rows(),
                    pop.weights(),
                    strict,
                    n,
                    pi,
                    k,
                    &mut full[..n],
                    Sink::Shares,
                );
                let bits = |v: &[f32; 256]| v.map(|x| x.to_bits());
                assert_eq!(bits(&narrowed), bits(&full), "n {n}, m {m}, k {k}");
            }
        }
    }

    /// The small block accumulator of the Jacobian gives the same bits as the large one, for
    /// supports up to its size, with ties, over more than one block of users.
    #[test]
    fn small_jacobian_accumulator_gives_the_same_bits() {
        const N: usize = 64;
        const M: usize = BLOCK + 37;
        let mut next = xorshift32(0x0ac0_2026);
        let n = 40;
        // Miri: one block of users (the flush between blocks is the same code).
        let m = if cfg!(miri) { 24 } else { M };
        let (mut w, mut o) = ([0.0f32; M], [0u16; M * 40]);
        let mut b =
            Population::<N>::builder(n, Storage::new(&mut w[..m], &mut o[..m * n])).unwrap();
        for u in 0..m {
            let spread = if u % 4 == 0 { 5 } else { 1 << 20 };
            let scores: [f64; 40] = core::array::from_fn(|_| (next() % spread) as f64);
            b.push_scores((1 + next() % 3) as f64, &scores).unwrap();
        }
        let pop = b.finish().unwrap();
        let mut pi: [f32; 40] = core::array::from_fn(|_| (1 + next() % 1000) as f32);
        let total: f32 = pi.iter().sum();
        for p in pi.iter_mut() {
            *p /= total;
        }
        let support: [u16; SMALL_SUPPORT] = core::array::from_fn(|i| (i as u16 * 7 + 3) % 40);
        let sizes = [1usize, 5, 17, SMALL_SUPPORT];
        for &s in if cfg!(miri) { &sizes[1..2] } else { &sizes[..] } {
            let stride = s + 1;
            let (mut small, mut large) = ([0.0f32; 33 * 33], [0.0f32; 33 * 33]);
            jacobian_unchecked(&pop, &pi, 4, &support[..s], stride, &mut small);
            jacobian_acc::<N, { POLISH_MAX * POLISH_MAX }>(
                &pop,
                &pi,
                4,
                &support[..s],
                stride,
                &mut large,
            );
            assert!(small[..stride * s].iter().any(|&x| x != 0.0));
            assert_eq!(small.map(f32::to_bits), large.map(f32::to_bits), "s {s}");
        }
    }

    /// The eight-lane path gives the same bits as the one-user-at-a-time path.
    #[test]
    fn group_path_is_bit_identical_to_the_per_user_path() {
        const N: usize = 8;
        let (n, m) = (7usize, 40usize);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Mostly strict orders and some with ties, so both paths run in one population (whose
        // groups are then searched for ties); then strict orders only (known strict).
        for with_ties in [true, false] {
            let (mut w, mut o) = ([0.0f32; 40], [0u16; 40 * 7]);
            let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
            for j in 0..m {
                let scores: [f64; 7] = if with_ties && j % 9 == 4 {
                    core::array::from_fn(|_| (next() % 3) as f64)
                } else {
                    // Distinct scores: a shuffle of 0..7.
                    let mut s: [f64; 7] = core::array::from_fn(|i| i as f64);
                    for i in (1..7).rev() {
                        s.swap(i, (next() % (i as u64 + 1)) as usize);
                    }
                    s
                };
                b.push_scores((1 + next() % 5) as f64, &scores).unwrap();
            }
            let pop = b.finish().unwrap();
            assert_eq!(pop.all_strict(), !with_ties);
            group_matches_per_user(&pop, n, m, &mut next);
        }
    }

    fn group_matches_per_user(
        pop: &Population<'_, 8>,
        n: usize,
        m: usize,
        next: &mut impl FnMut() -> u64,
    ) {
        const N: usize = 8;
        assert!(pop.m() * n >= 4 * N, "the group path must be on");
        let mut pi = [0.0f32; 7];
        for p in pi.iter_mut() {
            *p = (1 + next() % 100) as f32;
        }
        let total: f32 = pi.iter().sum();
        for p in pi.iter_mut() {
            *p /= total;
        }
        // The same policy with its total pushed above 1: the clamped paths.
        let mut above = pi;
        above[3] += 4e-7;
        // 1, 2, 3, 4 and 8 take `lanes_written`, 5 and 16 the loop of `lanes`.
        for (k, pi) in [1u32, 2, 3, 4, 5, 8, 16]
            .into_iter()
            .flat_map(|k| [(k, pi), (k, above)])
        {
            let mut fast = [0.0f32; 7];
            shares_unchecked(pop, &pi, k, &mut fast);
            // The per-user path, spelled out.
            let (mut mass, mut upper, mut lower, mut value) =
                ([0.0f32; N], [0.0; N], [0.0; N], [0.0; N]);
            let mut slow = [0.0f32; 7];
            for j in 0..m {
                let row = &pop.order_rows()[j * n..(j + 1) * n];
                let w = pop.weights()[j];
                user_positions(row, &pi, &mut mass, &mut upper, &mut lower);
                poly(&upper, &lower, n, k, &mut value);
                for (&e, &v) in row.iter().zip(value.iter()) {
                    slow[(e & INDEX) as usize] += w * v;
                }
            }
            for s in slow.iter_mut() {
                *s /= (k + 1) as f32;
            }
            for y in 0..n {
                assert_eq!(fast[y].to_bits(), slow[y].to_bits(), "k={k} y={y}");
            }
        }
    }
}
