//! # ualign: asymptotic universal alignment, certified, without an allocator
//!
//! An assistant holds `n` candidate responses; a population of `m` weighted user types ranks them.
//! Showing a user `k` responses drawn from the symmetric Nash equilibrium of the `(k+1)`-player
//! alignment game guarantees that the user's favourite beats any single rival response with
//! probability at least `k/(k+1)` (Cai & Zheng, ICML 2026). This crate computes that equilibrium,
//! certifies any policy (a worst-case win rate never above the exact value and an exploitability
//! never below it, computed in integers: docs/certificates.md), and samples the `k` responses, on
//! a desktop or a microcontroller.
//!
//! The data flow, top to bottom, one module per concept:
//!
//! 1. [`population`]: weighted user types from score rows or rankings, validated; orders and tie
//!    classes computed once, into caller-provided storage.
//! 2. [`share`]: the exact share `g(y)` of every candidate against `k` draws from a policy.
//!    [`share::tally`] is the same oracle over the distinct (set below, tie class) pairs: far
//!    fewer than `m * n` when `n` is small and the ballots many, as in real elections.
//!    [`share::wide`] is the population's oracle laid out for wide vectors: the same bits, on a
//!    host whose CPU gathers 16 lanes at once.
//! 3. [`certificate`]: worst-case win rate, exploitability and worst opponent of `(pi, k)`.
//! 4. [`solver`]: Hedge (time-mixture certificate), optimistic Hedge (last iterate certificate;
//!    from uniform, or warm from a previous equilibrium), and the NLHF baseline (`k = 1`).
//!    [`margins`] holds the `k = 1` game as an `n x n` matrix, which makes NLHF cheap: a few
//!    simplex pivots give its exact maximal lottery ([`solver::nlhf_margins`]).
//! 5. [`opponents`]: the worst opponent that itself shows `l` responses.
//! 6. [`sampling`]: seeded picks, distinct picks, candidates ordered by mass.
//! 7. [`synthetic`]: impartial-culture, Mallows and Plackett-Luce populations for tests and
//!    benchmarks.
//!
//! Every limit is defined once, in [`limits`]; Hedge's time mixture is [`mixture`], so that
//! [`sampling`] needs nothing of the solvers.
//!
//! Capacities: the candidate capacity `N` is a const generic (scratch arrays of `N` floats live on
//! the stack); user storage, which may hold 100,000 types on a desktop, is a pair of slices the
//! caller owns ([`population::Storage`]). Nothing allocates.
//!
//! ```
//! use ualign::{population::{Population, Storage}, solver::{optimistic_hedge, SolveOptions}};
//!
//! // docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
//! let mut weights = [0.0f32; 2];
//! let mut order = [0u16; 2 * 3];
//! let mut b = Population::<8>::builder(3, Storage::new(&mut weights, &mut order))?;
//! b.push_ranking(0.6, [[0], [2], [1]])?;
//! b.push_ranking(0.4, [[1], [2], [0]])?;
//! let pop = b.finish()?;
//!
//! let mut policy = [0.0f32; 3];
//! let sol = optimistic_hedge(&pop, &SolveOptions::new(2).epsilon(1e-5), &mut policy)?;
//! assert!((policy[0] - 0.8).abs() < 1e-3 && (policy[1] - 0.2).abs() < 1e-3);
//! assert!(sol.certificate.worst_case_win_rate >= 2.0 / 3.0 - 1e-5);
//! # Ok::<(), ualign::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod certificate;
mod error;
mod fixed;
pub mod float;
pub mod limits;
pub mod margins;
pub mod mixture;
pub mod opponents;
pub mod policy;
pub mod population;
pub mod sampling;
pub mod score;
mod scratch;
pub mod share;
mod simplex;
pub mod solver;
pub mod synthetic;

pub use certificate::Certificate;
pub use error::Error;
pub use population::{Population, Storage};

pub use limits::{MAX_CANDIDATES, MAX_K};

/// Checks that a slice of `found` values has the `expected` length.
pub(crate) fn check_len(found: usize, expected: usize) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch { expected, found })
    }
}

/// The first `needed` values of a caller's buffer, or [`Error::BufferTooSmall`].
pub(crate) fn prefix_mut<T>(buf: &mut [T], needed: usize) -> Result<&mut [T], Error> {
    let found = buf.len();
    buf.get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, found })
}

/// Checks `1 <= k <= MAX_K`.
pub(crate) fn check_k(k: u32) -> Result<(), Error> {
    check_k_at_most(k, MAX_K)
}

/// Checks `1 <= k <= max`.
pub(crate) fn check_k_at_most(k: u32, max: u32) -> Result<(), Error> {
    if k == 0 || k > max {
        Err(Error::InvalidK { k, max })
    } else {
        Ok(())
    }
}

/// Longest slice [`sort_by`] sorts by insertion: a user's order of 16 candidates took 1,900
/// Cortex-M4F instructions by heapsort.
const INSERTION_MAX: usize = 24;

/// Sorts `v` by `less`, a strict total order (so the result is the same as any other sort's),
/// by heapsort: `O(len log len)`, in place, and without the order-violation panic of
/// `slice::sort_unstable_by`, so core stays panic-free (see ROBUSTNESS.md). Up to
/// [`INSERTION_MAX`] items, insertion sort, which does fewer comparisons there. `MAX` is the
/// most items the caller can pass (its capacity): at most [`INSERTION_MAX`], no heapsort is
/// compiled (a longer `v` would still be sorted, by insertion).
pub(crate) fn sort_by<const MAX: usize, T: Copy, F>(v: &mut [T], mut cmp: F)
where
    F: FnMut(&T, &T) -> core::cmp::Ordering,
{
    if MAX <= INSERTION_MAX || v.len() <= INSERTION_MAX {
        // Each item moves left past the larger ones before it, which shift right by one (one
        // store each, where swapping them was two loads and two stores). As cells, a window of
        // two is read and written without an index to check.
        let cells = core::cell::Cell::from_mut(v).as_slice_of_cells();
        for end in 2..=cells.len() {
            let Some(sorted) = cells.get(..end) else {
                break;
            };
            let Some(last) = sorted.last() else {
                break;
            };
            let x = last.get();
            let mut hole = last;
            for pair in sorted.windows(2).rev() {
                let [before, slot] = pair else {
                    break;
                };
                let b = before.get();
                if cmp(&x, &b) != core::cmp::Ordering::Less {
                    break;
                }
                slot.set(b);
                hole = before;
            }
            hole.set(x);
        }
        return;
    }
    let mut less = |v: &[T], a: usize, b: usize| match (v.get(a), v.get(b)) {
        (Some(x), Some(y)) => cmp(x, y) == core::cmp::Ordering::Less,
        _ => false,
    };
    // Sift `node` down within `v[..end]` (a max-heap under `less`).
    let mut sift = |v: &mut [T], mut node: usize, end: usize| {
        loop {
            let mut child = 2 * node + 1;
            if child >= end {
                break;
            }
            if child + 1 < end && less(v, child, child + 1) {
                child += 1;
            }
            if !less(v, node, child) {
                break;
            }
            if node < v.len() && child < v.len() {
                v.swap(node, child);
            }
            node = child;
        }
    };
    let len = v.len();
    for i in (0..len / 2).rev() {
        sift(v, i, len);
    }
    for end in (1..len).rev() {
        if end < v.len() {
            v.swap(0, end);
        }
        sift(v, 0, end);
    }
}

/// Marsaglia's xorshift32 from `state` (non-zero): reproducible test data for the unit tests of
/// every module.
#[cfg(test)]
pub(crate) fn xorshift32(mut state: u32) -> impl FnMut() -> u32 {
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    }
}

#[cfg(test)]
mod tests {
    /// Both sorts (insertion up to `INSERTION_MAX` items, heapsort above) give exactly what the
    /// standard sort gives under a strict total order.
    #[test]
    fn sort_by_matches_the_standard_sort() {
        let mut next = super::xorshift32(0x9e37_79b9);
        // Miri runs this about a million times slower: fewer lengths there.
        let lens = if cfg!(miri) { 32 } else { 200 };
        for len in 0..lens {
            let mut a = [0u16; 200];
            for x in a.iter_mut().take(len) {
                *x = (next() % 37) as u16;
            }
            let mut b = a;
            let key = |x: &u16| (x % 5, *x);
            super::sort_by::<200, _, _>(&mut a[..len], |x, y| key(y).cmp(&key(x)));
            b[..len].sort_unstable_by_key(|x| core::cmp::Reverse(key(x)));
            assert_eq!(a, b, "len {len}");
        }
    }
}
