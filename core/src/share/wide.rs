//! The share oracle of a population of strict orders, laid out for wide vectors.
//!
//! [`share`](crate::share)'s kernel reads each user's masses through the order table and adds
//! each value back into its candidate's sum: per entry a gather and a scatter, and a scatter is a
//! read-modify-write that vector units do one lane at a time. A [`Wide`] keeps the orders a
//! second time, as bytes, in two layouts:
//!
//! * **by position across [`WIDE_LANES`] users**: position `p` of a group of 16 users is 16
//!   bytes, so its masses are one gather, and the suffix sums and the recurrence of the 16 users
//!   run as vector operations;
//! * **by candidate, per user** (the position of each candidate in the user's order): a
//!   candidate's value is read back from its position's, so the 16 users' values of 16
//!   candidates are 16 gathers into one register, and nothing is scattered.
//!
//! Every value goes through the operations of [`share`](crate::share) in the same order (suffix
//! sums from the bottom, each clamped to 1 as it forms, the recurrence, times the weight), and
//! each candidate's sum adds the users in their order, in blocks of [`BLOCK`]: the result is the
//! population's, bit for bit.
//!
//! The layout pays where one instruction gathers 8 or 16 lanes (x86-64 with AVX2 or AVX-512).
//! This crate is compiled for the target's baseline, so a host calls [`Wide::evaluate`] (always
//! inlined) from a function compiled for the CPU it runs on; elsewhere, as on a Cortex-M, the
//! population's own oracle is as fast and needs no second copy of the orders.

use super::{
    BLOCK, Oracle,
    blocks::Sink,
    jacobian::jacobian_unchecked,
    recurrence::{at_most_one, lanes_written, weighted, with_usual_k},
};
use crate::{
    Error, Population,
    policy::check_shares_call,
    population::{INDEX, TIE_NEXT},
};

/// Users per group: the lanes of one vector pass.
pub const WIDE_LANES: usize = 16;

/// The most candidates a [`Wide`] takes: positions and candidates are stored as bytes.
pub const WIDE_MAX_CANDIDATES: usize = 256;

const L: usize = WIDE_LANES;

/// A population of strict orders with its orders laid out for wide vectors (see the module).
///
/// ```
/// use ualign::{Population, Storage, share::shares, share::wide::Wide};
/// // docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
/// let (mut w, mut o) = ([0.0f32; 2], [0u16; 2 * 3]);
/// let mut b = Population::<8>::builder(3, Storage::new(&mut w, &mut o))?;
/// b.push_ranking(0.6, [[0], [2], [1]])?;
/// b.push_ranking(0.4, [[1], [2], [0]])?;
/// let pop = b.finish()?;
///
/// let mut table = vec![0u8; Wide::<8>::table_len(3, 2).unwrap()];
/// let mut weights = vec![0.0f32; Wide::<8>::weights_len(2)];
/// let wide = Wide::new(pop, &mut table, &mut weights)?;
///
/// let (mut g, mut h) = ([0.0f32; 3], [0.0f32; 3]);
/// wide.shares(&[0.5, 0.25, 0.25], 2, &mut g)?;
/// shares(&pop, &[0.5, 0.25, 0.25], 2, &mut h)?;
/// assert_eq!(g, h); // the same bits
/// # Ok::<(), ualign::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Wide<'a, const N: usize> {
    population: Population<'a, N>,
    /// Group `g`, position `p`, lane `l` at `(g n + p) 16 + l`: the candidate.
    order: &'a [u8],
    /// User `j`, candidate `c` at `j n + c`: the candidate's position in the user's order;
    /// then 16 bytes of padding.
    rank: &'a [u8],
    /// The weights, padded with zeros to whole groups.
    weights: &'a [f32],
}

impl<'a, const N: usize> Wide<'a, N> {
    /// Bytes of the table [`Wide::new`] needs for `m` user types over `n` candidates: two
    /// bytes per user and candidate, users rounded up to whole groups of [`WIDE_LANES`], and 16
    /// bytes of padding (so that the last user's positions can be read 16 at a time). `None`
    /// on overflow.
    pub fn table_len(n: usize, m: usize) -> Option<usize> {
        m.div_ceil(L)
            .checked_mul(L)?
            .checked_mul(n)?
            .checked_mul(2)?
            .checked_add(L)
    }

    /// Weights [`Wide::new`] needs for `m` user types: `m` rounded up to whole groups.
    pub fn weights_len(m: usize) -> usize {
        m.div_ceil(L).saturating_mul(L)
    }

    /// Lays out `population` in `table` and `weights` (at least [`Wide::table_len`] and
    /// [`Wide::weights_len`] long; what is beyond is not used).
    ///
    /// Errors: [`Error::TooManyCandidates`] above [`WIDE_MAX_CANDIDATES`],
    /// [`Error::TiedOrders`] when an order has a tie, [`Error::BufferTooSmall`].
    pub fn new(
        population: Population<'a, N>,
        table: &'a mut [u8],
        weights: &'a mut [f32],
    ) -> Result<Self, Error> {
        let (n, m) = (population.n(), population.m());
        if n > WIDE_MAX_CANDIDATES {
            return Err(Error::TooManyCandidates {
                n,
                max: WIDE_MAX_CANDIDATES,
            });
        }
        let rows = population.order_rows();
        if rows.iter().any(|&e| e & TIE_NEXT != 0) {
            return Err(Error::TiedOrders);
        }
        let needed = Self::table_len(n, m).ok_or(Error::BufferTooSmall {
            needed: usize::MAX,
            found: table.len(),
        })?;
        let users = Self::weights_len(m);
        let found = (table.len(), weights.len());
        let Some(table) = table.get_mut(..needed) else {
            return Err(Error::BufferTooSmall {
                needed,
                found: found.0,
            });
        };
        let Some(padded) = weights.get_mut(..users) else {
            return Err(Error::BufferTooSmall {
                needed: users,
                found: found.1,
            });
        };
        let (order, rank) = table.split_at_mut((needed - L) / 2);
        // Padding users: weight 0, the identity order (their values are zeros).
        for (j, w) in padded.iter_mut().enumerate() {
            *w = population.weight(j).unwrap_or(0.0);
            let (g, l) = (j / L, j % L);
            for p in 0..n {
                let c = rows.get(j * n + p).map_or(p, |&e| (e & INDEX) as usize);
                // `p, c < n <= 256`: both fit a byte.
                if let Some(x) = order.get_mut((g * n + p) * L + l) {
                    *x = c as u8;
                }
                if let Some(x) = rank.get_mut(j * n + c) {
                    *x = p as u8;
                }
            }
        }
        Ok(Wide {
            population,
            order,
            rank,
            weights: padded,
        })
    }

    /// The population laid out.
    pub fn population(&self) -> &Population<'a, N> {
        &self.population
    }

    /// The shares `g(y)` of `pi` against `k` draws into `out`: [`crate::share::shares`] of the
    /// population, the same bits.
    ///
    /// Errors: [`Error::InvalidK`], [`Error::LengthMismatch`], [`Error::InvalidPolicy`].
    pub fn shares(&self, pi: &[f32], k: u32, out: &mut [f32]) -> Result<(), Error> {
        check_shares_call(pi, k, out, self.population.n())?;
        self.evaluate(pi, k, out);
        Ok(())
    }

    /// [`Oracle::shares_into`], always inlined: called from a function compiled for wider
    /// vectors than the target's baseline (a `#[target_feature]` function on the host), the
    /// whole kernel is compiled for them. The operations, and so the bits, are the same.
    #[inline(always)]
    pub fn evaluate(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.sums(pi, k, out, Sink::Shares);
    }

    /// [`crate::share::block_sums_into`] of the population, the same bits, always inlined like
    /// [`Wide::evaluate`]: the rows of the blocks of [`BLOCK`] users, before they are added and
    /// divided by `k + 1`. Same input contract.
    #[inline(always)]
    pub fn block_sums_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.sums(pi, k, out, Sink::Blocks);
    }

    /// [`Wide::evaluate`] or [`Wide::block_sums_into`], as `sums` says.
    #[inline(always)]
    fn sums(&self, pi: &[f32], k: u32, out: &mut [f32], sink: Sink) {
        let n = self.population.n();
        if n <= 16 {
            self.shares_k::<16>(pi, k, out, sink);
        } else if n <= 64 {
            self.shares_k::<64>(pi, k, out, sink);
        } else {
            self.shares_k::<256>(pi, k, out, sink);
        }
    }

    /// The usual `k` as constants ([`with_usual_k`]), as in the population's kernel.
    #[inline(always)]
    fn shares_k<const C: usize>(&self, pi: &[f32], k: u32, out: &mut [f32], sink: Sink) {
        with_usual_k!(k, k => self.shares_c::<C>(pi, k, out, sink))
    }

    /// The kernel with scratch of `C >= n` candidates (a power of two, so masked indices need
    /// no bounds check).
    #[inline(always)]
    fn shares_c<const C: usize>(&self, pi: &[f32], k: u32, out: &mut [f32], sink: Sink) {
        let n = self.population.n();
        sink.start(out);
        // The next block's row of `out` under `Sink::Blocks`.
        let mut row = 0usize;
        let mut policy = [0.0f32; C];
        for (p, &x) in policy.iter_mut().zip(pi) {
            *p = x;
        }
        // Two groups' values: a group's values by candidate are added while the next group's
        // are computed by position, so the gathers of the one overlap the arithmetic of the
        // other (the order of every sum stays the same).
        let mut values = [[[0.0f32; L]; C]; 2];
        let mut block = [0.0f32; C];
        let group = L * n;
        let mut previous: Option<&[u8]> = None;
        let mut g = 0;
        while let Some(w) = self.weights.get(g * L..(g + 1) * L) {
            let (Ok(w), Some(order), Some(rank)) = (
                <[f32; L]>::try_from(w),
                self.order.get(g * group..(g + 1) * group),
                self.rank.get(g * group..(g + 1) * group + L),
            ) else {
                break;
            };
            let [even, odd] = &mut values;
            let (current, last) = if g % 2 == 0 {
                (even, &*odd)
            } else {
                (odd, &*even)
            };
            let pending = match previous {
                // Up to 16 candidates a group's values by candidate are 16 gathers, too few to
                // be worth interleaving: they go first.
                Some(rank) if C <= L => {
                    candidates::<C>(rank, last, n, &mut block);
                    None
                }
                Some(rank) => Some(Previous {
                    rank,
                    values: last,
                    block: &mut block,
                }),
                None => None,
            };
            positions::<C>(order, &policy, w, n, k, current, pending);
            // The previous group's values are in: a block ends after every `BLOCK` users.
            if g > 0 && (g * L).is_multiple_of(BLOCK) {
                sink.flush(&mut block, out, n, &mut row);
            }
            previous = Some(rank);
            g += 1;
        }
        if let Some(r) = previous {
            let [even, odd] = &values;
            candidates::<C>(r, if g % 2 == 1 { even } else { odd }, n, &mut block);
        }
        sink.flush(&mut block, out, n, &mut row);
        sink.finish(out, k);
    }
}

/// A position or candidate byte as an index below `C`.
#[inline(always)]
fn slot<const C: usize>(x: u8) -> usize {
    x as usize & (C - 1)
}

/// One group's weighted values by position: masses gathered position by position from the
/// bottom, suffix sums clamped to 1 as they form (as `share`'s one-pass path does), the
/// recurrence, times the weights. With `previous` (the previous group's positions, values and
/// the block), that group's values are added by candidate along the way, one user and 16
/// candidates per position: [`candidates`], the same additions in the same order.
#[inline(always)]
fn positions<const C: usize>(
    order: &[u8],
    policy: &[f32; C],
    w: [f32; L],
    n: usize,
    k: u32,
    values: &mut [[f32; L]; C],
    previous: Option<Previous<'_, C>>,
) {
    let Some(values) = values.get_mut(..n) else {
        return;
    };
    let mut sums = Sums {
        below: [0.0; L],
        b: [0.0; L],
    };
    let mut steps = values.iter_mut().zip(order.chunks_exact(L)).rev();
    let Some(Previous {
        rank,
        values: last,
        block,
    }) = previous
    else {
        for (v, idx) in steps {
            sums.step::<C>(v, idx, policy, w, k);
        }
        return;
    };
    // `n.div_ceil(L) * L >= n` turns of the inner loop: every position gets its step.
    for (c0, chunk) in block.chunks_exact_mut(L).take(n.div_ceil(L)).enumerate() {
        let Ok(chunk) = <&mut [f32; L]>::try_from(chunk) else {
            continue;
        };
        let mut acc = *chunk;
        #[allow(clippy::needless_range_loop)]
        for l in 0..L {
            if let Some((v, idx)) = steps.next() {
                sums.step::<C>(v, idx, policy, w, k);
            }
            add_user::<C>(rank, last, n, c0, l, &mut acc);
        }
        *chunk = acc;
    }
    // None left (`block` holds `C >= n` candidates in whole chunks); kept so that no position
    // could ever be skipped.
    for (v, idx) in steps {
        sums.step::<C>(v, idx, policy, w, k);
    }
}

/// The suffix sums of a group's 16 users during [`positions`].
struct Sums {
    /// Each user's mass at and below the position.
    below: [f32; L],
    /// The same at the position below, clamped (`b`).
    b: [f32; L],
}

impl Sums {
    /// The masses at a position (the candidates `idx`) added and clamped (`a = b + c`), and the
    /// weighted values of the recurrence into `v`. (A function, not a closure: a closure may be
    /// left out of line, compiled for the baseline instead of the caller's vectors.)
    #[inline(always)]
    fn step<const C: usize>(
        &mut self,
        v: &mut [f32; L],
        idx: &[u8],
        policy: &[f32; C],
        w: [f32; L],
        k: u32,
    ) {
        let Ok(idx) = <&[u8; L]>::try_from(idx) else {
            return;
        };
        let mut a = [0.0f32; L];
        for l in 0..L {
            self.below[l] += policy[slot::<C>(idx[l])];
            a[l] = at_most_one(self.below[l]);
        }
        *v = weighted(w, lanes_written(a, self.b, k));
        self.b = a;
    }
}

/// The previous group, whose values [`positions`] adds by candidate along the way.
struct Previous<'p, const C: usize> {
    /// Its positions by candidate (see [`Wide`]).
    rank: &'p [u8],
    /// Its values by position.
    values: &'p [[f32; L]; C],
    /// The block its values go into.
    block: &'p mut [f32; C],
}

/// Adds user `l`'s values of candidates `16 c0 ..` (gathered by their positions in `rank`)
/// into `acc`.
#[inline(always)]
fn add_user<const C: usize>(
    rank: &[u8],
    values: &[[f32; L]; C],
    n: usize,
    c0: usize,
    l: usize,
    acc: &mut [f32; L],
) {
    let r = rank.get(l * n + c0 * L..).and_then(|r| r.get(..L));
    if let (Some(Ok(r)), Some(l)) = (r.map(<&[u8; L]>::try_from), (l < L).then_some(l)) {
        for (x, &r) in acc.iter_mut().zip(r) {
            *x += values[slot::<C>(r)][l];
        }
    }
}

/// Adds one group's values into `block` by candidate, users in order: for 16 candidates at a
/// time, each user's 16 values gathered by position into one running sum. Where fewer than 16
/// candidates remain, the bytes read past them are the next user's positions (or the padding):
/// positions below `n`, whose values go into slots of `block` at `n` and above, which are never
/// read (`C` is a multiple of 16).
#[inline(always)]
fn candidates<const C: usize>(rank: &[u8], values: &[[f32; L]; C], n: usize, block: &mut [f32; C]) {
    for (c0, chunk) in block.chunks_exact_mut(L).take(n.div_ceil(L)).enumerate() {
        let Ok(chunk) = <&mut [f32; L]>::try_from(chunk) else {
            continue;
        };
        let mut acc = *chunk;
        for l in 0..L {
            add_user::<C>(rank, values, n, c0, l, &mut acc);
        }
        *chunk = acc;
    }
}

impl<const N: usize> Oracle<N> for Wide<'_, N> {
    fn n(&self) -> usize {
        self.population.n()
    }
    fn population(&self) -> Population<'_, N> {
        self.population
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.evaluate(pi, k, out);
    }
    /// The population's Jacobian (the solver asks for one only near the end).
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        jacobian_unchecked(&self.population, pi, k, support, stride, out);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::{Storage, share::shares, xorshift32};
    use std::{vec, vec::Vec};

    const N: usize = 256;

    /// `m` random strict orders over `n` candidates, weights drawn from 0..=3 (zeros included).
    fn population<'a>(
        n: usize,
        m: usize,
        seed: u32,
        w: &'a mut [f32],
        o: &'a mut [u16],
    ) -> Population<'a, N> {
        let mut next = xorshift32(seed);
        let mut b = Population::<N>::builder(n, Storage::new(w, o)).unwrap();
        let mut perm: Vec<usize> = (0..n).collect();
        for j in 0..m {
            for i in (1..n).rev() {
                perm.swap(i, next() as usize % (i + 1));
            }
            // The first user has weight 1, so the total is never zero.
            let weight = if j == 0 { 1.0 } else { (next() % 4) as f64 };
            b.push_ranking(weight, perm.iter().map(|&c| [c])).unwrap();
        }
        b.finish().unwrap()
    }

    /// A random policy, scaled so its entries sum to `total` (above 1 exercises the clamp).
    fn policy(n: usize, seed: u32, total: f32) -> Vec<f32> {
        let mut next = xorshift32(seed);
        // Some candidates get no mass at all.
        let raw: Vec<f32> = (0..n)
            .map(|_| match next() % 5 {
                0 => 0.0,
                r => r as f32 * (next() % 1000 + 1) as f32,
            })
            .collect();
        let sum: f32 = raw.iter().sum::<f32>().max(1.0);
        raw.iter().map(|&x| x / sum * total).collect()
    }

    fn wide_matches_population(n: usize, m: usize, seed: u32) {
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = population(n, m, seed, &mut w, &mut o);
        let mut table = vec![0u8; Wide::<N>::table_len(n, m).unwrap()];
        let mut weights = vec![0.0f32; Wide::<N>::weights_len(m)];
        let wide = Wide::new(pop, &mut table, &mut weights).unwrap();
        for (i, total) in [1.0f32, 1.0 + 4.0 * f32::EPSILON].into_iter().enumerate() {
            let pi = policy(n, seed + i as u32, total);
            for k in [1, 2, 3, 4, 5, 8, 13] {
                let (mut g, mut h) = (vec![0.0f32; n], vec![1.0f32; n]);
                crate::share::shares_unchecked(&pop, &pi, k, &mut g);
                wide.shares_into(&pi, k, &mut h);
                let (g, h): (Vec<u32>, Vec<u32>) = (
                    g.iter().map(|x| x.to_bits()).collect(),
                    h.iter().map(|x| x.to_bits()).collect(),
                );
                assert_eq!(g, h, "n = {n}, m = {m}, k = {k}, total {total}");
            }
        }
    }

    /// The wide layout's block rows are the population's, bit for bit.
    #[test]
    fn block_sums_are_the_population_bits() {
        let ms: &[usize] = if cfg!(miri) {
            &[17]
        } else {
            &[1, 16, 255, 256, 257, 700]
        };
        for (i, &m) in ms.iter().enumerate() {
            let n = [5, 20, 70][i % 3];
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let pop = population(n, m, 40 + i as u32, &mut w, &mut o);
            let mut table = vec![0u8; Wide::<N>::table_len(n, m).unwrap()];
            let mut weights = vec![0.0f32; Wide::<N>::weights_len(m)];
            let wide = Wide::new(pop, &mut table, &mut weights).unwrap();
            let pi = policy(n, 3 + i as u32, 1.0);
            let rows = crate::share::blocks(m);
            for k in [1, 3, 8, 11] {
                let (mut g, mut h) = (vec![0.0f32; rows * n], vec![1.0f32; rows * n]);
                crate::share::block_sums_into(&pop, &pi, k, &mut g);
                wide.block_sums_into(&pi, k, &mut h);
                let (g, h): (Vec<u32>, Vec<u32>) = (
                    g.iter().map(|x| x.to_bits()).collect(),
                    h.iter().map(|x| x.to_bits()).collect(),
                );
                assert_eq!(g, h, "n = {n}, m = {m}, k = {k}");
            }
        }
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "12 s or more under miri; safe arithmetic, run natively"
    )]
    fn same_bits_as_the_population() {
        // Candidates around the capacities (16, 64, 256) and the 16-candidate chunks; users
        // around a group and a block (256).
        let (ns, ms): (&[usize], &[usize]) = if cfg!(miri) {
            (&[1, 17], &[1, 17])
        } else {
            (
                &[1, 2, 3, 15, 16, 17, 40, 63, 64, 65, 200, 256],
                &[1, 15, 16, 17, 255, 256, 257, 600],
            )
        };
        for (i, &n) in ns.iter().enumerate() {
            for (j, &m) in ms.iter().enumerate() {
                wide_matches_population(n, m, 1 + (i * 31 + j) as u32);
            }
        }
    }

    #[test]
    fn checked_shares_agree_and_reject_bad_input() {
        let (mut w, mut o) = (vec![0.0f32; 20], vec![0u16; 20 * 5]);
        let pop = population(5, 20, 7, &mut w, &mut o);
        let mut table = vec![0u8; Wide::<N>::table_len(5, 20).unwrap()];
        let mut weights = vec![0.0f32; Wide::<N>::weights_len(20)];
        let wide = Wide::new(pop, &mut table, &mut weights).unwrap();
        let pi = [0.1f32, 0.2, 0.3, 0.15, 0.25];
        let (mut g, mut h) = ([0.0f32; 5], [0.0f32; 5]);
        wide.shares(&pi, 3, &mut g).unwrap();
        shares(&pop, &pi, 3, &mut h).unwrap();
        assert_eq!(g, h);
        // Each share is a win probability of a draw, so the policy's average is 1/(k+1).
        let own: f32 = pi.iter().zip(&g).map(|(p, x)| p * x).sum();
        assert!((own - 0.25).abs() < 1e-6);
        assert_eq!(
            wide.shares(&pi, 0, &mut g),
            Err(Error::InvalidK {
                k: 0,
                max: crate::MAX_K
            })
        );
        assert_eq!(
            wide.shares(&pi[..4], 3, &mut g),
            Err(Error::LengthMismatch {
                expected: 5,
                found: 4
            })
        );
        assert_eq!(wide.shares(&[0.5; 5], 3, &mut g), Err(Error::InvalidPolicy));
        assert_eq!(
            wide.shares(&pi, 3, &mut g[..4]),
            Err(Error::LengthMismatch {
                expected: 5,
                found: 4
            })
        );
        assert_eq!(wide.population().m(), 20);
    }

    #[test]
    fn layout_errors() {
        // Buffers one short.
        let (mut w, mut o) = (vec![0.0f32; 3], vec![0u16; 3 * 4]);
        let pop = population(4, 3, 3, &mut w, &mut o);
        let (t, u) = (
            Wide::<N>::table_len(4, 3).unwrap(),
            Wide::<N>::weights_len(3),
        );
        assert_eq!((t, u), (2 * 16 * 4 + 16, 16));
        let (mut table, mut weights) = (vec![0u8; t - 1], vec![0.0f32; u]);
        assert_eq!(
            Wide::new(pop, &mut table, &mut weights).err(),
            Some(Error::BufferTooSmall {
                needed: t,
                found: t - 1
            })
        );
        let (mut table, mut weights) = (vec![0u8; t], vec![0.0f32; u - 1]);
        assert_eq!(
            Wide::new(pop, &mut table, &mut weights).err(),
            Some(Error::BufferTooSmall {
                needed: u,
                found: u - 1
            })
        );
        // A tie.
        let (mut w, mut o) = ([0.0f32; 1], [0u16; 3]);
        let mut b = Population::<N>::builder(3, Storage::new(&mut w, &mut o)).unwrap();
        b.push_ranking(1.0, [&[0usize, 2][..], &[1]]).unwrap();
        let tied = b.finish().unwrap();
        let (mut table, mut weights) = ([0u8; 112], [0.0f32; 16]);
        assert_eq!(
            Wide::new(tied, &mut table, &mut weights).err(),
            Some(Error::TiedOrders)
        );
        // More candidates than a byte holds.
        let (mut w, mut o) = (vec![0.0f32; 1], vec![0u16; 257]);
        let mut b = Population::<512>::builder(257, Storage::new(&mut w, &mut o)).unwrap();
        b.push_ranking(1.0, (0..257).map(|c| [c])).unwrap();
        let big = b.finish().unwrap();
        let (mut table, mut weights) = (vec![0u8; 2 * 16 * 257 + 16], vec![0.0f32; 16]);
        assert_eq!(
            Wide::new(big, &mut table, &mut weights).err(),
            Some(Error::TooManyCandidates {
                n: 257,
                max: WIDE_MAX_CANDIDATES
            })
        );
        assert_eq!(Wide::<N>::table_len(usize::MAX, 2), None);
    }
}
