//! The share oracle over the distinct (set below, tie class) pairs of a population
//! (docs/maths.md §2).
//!
//! A user type's share of a candidate `y` depends on `b`, the mass of the *set* of candidates it
//! ranks strictly below `y`, and on `c`, the mass of `y`'s tie class; not on how it orders the
//! candidates below. Many user types share these pairs: over `n = 9` candidates there are at most
//! `9 * 2^8 = 2304` of them however many ballots there are (the Dublin West election's 10,335
//! ballot types have 2,492 with their tie classes). A [`Tally`] adds the weights of each pair
//! once, at build time; a share evaluation then runs one recurrence per pair instead of one per
//! user type and candidate, for the same shares up to rounding.
//!
//! The rounding differs from [`Population`]'s oracle (weights are added before, not after, the
//! recurrence), so a solve through a tally is not bit-identical to one through the population;
//! the population stays the reference (the firmware's computation).
//!
//! ```
//! use core::cell::Cell;
//! use ualign::{Population, Storage, share::shares, share::tally::{Node, Tally}};
//! // 3 ballots a > b > c and 2 ballots b > a > c: 15 (user, candidate) pairs, 5 distinct
//! // (set below, class) pairs: (∅, c) twice over, ({c}, b), ({b, c}, a), ({c}, a), ({a, c}, b).
//! let (mut w, mut o) = ([0.0f32; 5], [0u16; 15]);
//! let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o))?;
//! for r in [[0, 1, 2], [0, 1, 2], [0, 1, 2], [1, 0, 2], [1, 0, 2]] {
//!     b.push_ranking(1.0, r.map(|c| [c]))?;
//! }
//! let pop = b.finish()?;
//! let (mut nodes, mut table) = ([Node::default(); 15], [0u32; 32]);
//! let sums = [const { Cell::new(0.0f32) }; 15];
//! let tally = Tally::new(pop, &mut nodes, &mut table, &sums)?;
//! assert_eq!(tally.len(), 5);
//! let pi = [0.5, 0.3, 0.2];
//! let (mut g, mut h) = ([0.0f32; 3], [0.0f32; 3]);
//! tally.shares(&pi, 2, &mut g)?;
//! shares(&pop, &pi, 2, &mut h)?;
//! assert!(g.iter().zip(&h).all(|(x, y)| (x - y).abs() < 1e-6));
//! # Ok::<(), ualign::Error>(())
//! ```

use core::cell::Cell;

use super::{
    Oracle,
    recurrence::{at_most_one, derivative, sum_powers, with_usual_k},
};
use crate::{
    Error, Population,
    policy::check_shares_call,
    population::{INDEX, TIE_NEXT},
};

/// The most candidates a [`Tally`] takes (its sets are bit masks of one `u64`).
pub const TALLY_MAX_CANDIDATES: usize = 64;

/// One distinct (set below, tie class) pair and the total weight of the user types that have it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Node {
    /// The candidates ranked strictly below the class, as a bit mask.
    below: u64,
    /// The tie class, as a bit mask.
    class: u64,
    /// `1 +` the index of a node whose `below | class` is this node's `below`; 0 when `below` is
    /// empty. Always an earlier node, so one pass in index order has its mass ready.
    under: u32,
    /// The weights of the user types with this pair, added.
    weight: f64,
}

/// The share oracle of a population, over its distinct (set below, tie class) pairs.
#[derive(Clone, Copy, Debug)]
pub struct Tally<'a, const N: usize> {
    pop: Population<'a, N>,
    nodes: &'a [Node],
    /// Scratch: the mass of `below | class` of each node, written by each evaluation.
    sums: &'a [Cell<f32>],
}

impl<'a, const N: usize> Tally<'a, N> {
    /// Tallies `pop` into `nodes`, using `table` as a hash table.
    ///
    /// `table.len()` must be a power of two of at least `2 * nodes.len()`, and `sums` at least
    /// as long as `nodes`; `nodes` needs one entry per distinct pair, at most `m * n`.
    ///
    /// Errors: [`Error::TooManyCandidates`] when `n > 64`; [`Error::BufferTooSmall`] when
    /// `table` or `sums` is too small, or when the pairs outnumber `nodes` (then a tally would
    /// not pay: the population's own oracle is the better one).
    pub fn new(
        pop: Population<'a, N>,
        nodes: &'a mut [Node],
        table: &mut [u32],
        sums: &'a [Cell<f32>],
    ) -> Result<Tally<'a, N>, Error> {
        let n = pop.n();
        if n > TALLY_MAX_CANDIDATES {
            return Err(Error::TooManyCandidates {
                n,
                max: TALLY_MAX_CANDIDATES,
            });
        }
        let capacity = nodes.len().min(u32::MAX as usize - 1);
        let nodes = nodes.get_mut(..capacity).unwrap_or(&mut []);
        let needed = capacity.saturating_mul(2).max(1).next_power_of_two();
        if table.len() < needed || !table.len().is_power_of_two() {
            return Err(Error::BufferTooSmall {
                needed,
                found: table.len(),
            });
        }
        if sums.len() < capacity {
            return Err(Error::BufferTooSmall {
                needed: capacity,
                found: sums.len(),
            });
        }
        for slot in table.iter_mut() {
            *slot = 0;
        }
        let mut count = 0usize;
        for (row, &w) in pop.order_rows().chunks_exact(n).zip(pop.weights()) {
            if w == 0.0 {
                continue;
            }
            // The classes from the bottom up: each is a node keyed by the set below it.
            let (mut below, mut under, mut end) = (0u64, 0u32, row.len());
            while end > 0 {
                let mut start = end - 1;
                while start > 0 && row.get(start - 1).is_some_and(|&e| e & TIE_NEXT != 0) {
                    start -= 1;
                }
                let mut class = 0u64;
                for &e in row.get(start..end).unwrap_or(&[]) {
                    class |= 1u64 << ((e & INDEX) as u32 % 64);
                }
                let i = find_or_insert(nodes, table, &mut count, below, class, under)?;
                if let Some(node) = nodes.get_mut(i) {
                    node.weight += f64::from(w);
                }
                under = i as u32 + 1;
                below |= class;
                end = start;
            }
        }
        let nodes: &'a [Node] = nodes;
        Ok(Tally {
            pop,
            nodes: nodes.get(..count).unwrap_or(&[]),
            sums,
        })
    }

    /// Number of distinct (set below, tie class) pairs: the work of a share evaluation, against
    /// `m * n` for the population's oracle.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no pairs (never, for a population built by its builder).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The population tallied.
    pub fn population(&self) -> &Population<'a, N> {
        &self.pop
    }

    /// Writes the share `g(y)` of every candidate into `out` (length `n`), like
    /// [`crate::share::shares`] up to rounding.
    ///
    /// Errors: [`Error::InvalidK`], [`Error::LengthMismatch`], [`Error::InvalidPolicy`].
    pub fn shares(&self, pi: &[f32], k: u32, out: &mut [f32]) -> Result<(), Error> {
        check_shares_call(pi, k, out, self.pop.n())?;
        self.shares_k(pi, k, out);
        Ok(())
    }

    /// The evaluation with the usual `k` as constants (see [`with_usual_k`]).
    fn shares_k(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        with_usual_k!(k, k => self.evaluate(pi, k, out))
    }

    /// `(a, b)` of `node`: `b` the mass below it (the sum of the node under), `a = b + c`, both
    /// clamped to 1 as the population's oracle clamps them; `a` unclamped goes into `sum` for the
    /// nodes above, so the nodes must be visited in index order.
    #[inline(always)]
    fn masses(&self, node: &Node, sum: &Cell<f32>, pi: &[f32]) -> (f32, f32) {
        let low = match node.under {
            0 => 0.0,
            u => self.sums.get(u as usize - 1).map_or(0.0, Cell::get),
        };
        let top = low + class_mass(node.class, pi);
        sum.set(top);
        (at_most_one(top), at_most_one(low))
    }

    /// One pass over the nodes in index order ([`Tally::masses`]), the recurrence, weighted,
    /// onto every member of the class (in `f64`, then divided by `k + 1`).
    #[inline(always)]
    fn evaluate(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        let mut acc = [0.0f64; TALLY_MAX_CANDIDATES];
        for (node, sum) in self.nodes.iter().zip(self.sums) {
            let (a, b) = self.masses(node, sum, pi);
            let v = f64::from(sum_powers(a, b, k)) * node.weight;
            let mut members = node.class;
            while members != 0 {
                if let Some(a) = acc.get_mut(members.trailing_zeros() as usize) {
                    *a += v;
                }
                members &= members - 1;
            }
        }
        let scale = f64::from(k + 1);
        for (o, &a) in out.iter_mut().zip(acc.iter()).take(self.pop.n()) {
            *o = (a / scale) as f32;
        }
    }
}

impl<const N: usize> Oracle<N> for Tally<'_, N> {
    fn n(&self) -> usize {
        self.pop.n()
    }
    fn population(&self) -> Population<'_, N> {
        self.pop
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.shares_k(pi, k, out);
    }
    /// One pass over the nodes like a share evaluation: a node adds `w dS/da` to the rows of its
    /// class members in the columns of the class, and `w (dS/da + dS/db)` in the columns of the
    /// set below (the population's Jacobian, pair by pair instead of user by user).
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        let mut slot = [0usize; TALLY_MAX_CANDIDATES];
        let mut in_support = 0u64;
        for (i, &y) in support.iter().enumerate() {
            if let Some(sl) = slot.get_mut(y as usize) {
                *sl = i;
                in_support |= 1u64 << y;
            }
        }
        let scale = 1.0 / (k + 1) as f32;
        for (node, sum) in self.nodes.iter().zip(self.sums) {
            let (a, b) = self.masses(node, sum, pi);
            let mut rows = node.class & in_support;
            if rows == 0 {
                continue;
            }
            let (d_a, d_b) = derivative(a, b, k);
            let w = node.weight as f32 * scale;
            let (same, below) = (d_a * w, (d_a + d_b) * w);
            while rows != 0 {
                let r = slot
                    .get(rows.trailing_zeros() as usize)
                    .copied()
                    .unwrap_or(0);
                let row = r.checked_mul(stride).and_then(|at| out.get_mut(at..));
                if let Some(row) = row {
                    add_to(row, node.class & in_support, &slot, same);
                    add_to(row, node.below & in_support, &slot, below);
                }
                rows &= rows - 1;
            }
        }
    }
}

/// Adds `x` to `row[slot[z]]` for every candidate `z` of `set`.
#[inline(always)]
fn add_to(row: &mut [f32], mut set: u64, slot: &[usize; TALLY_MAX_CANDIDATES], x: f32) {
    while set != 0 {
        let c = slot
            .get(set.trailing_zeros() as usize)
            .copied()
            .unwrap_or(0);
        if let Some(o) = row.get_mut(c) {
            *o += x;
        }
        set &= set - 1;
    }
}

/// The mass of a class, its members added in index order (the order the population stores tied
/// candidates in, so the population's oracle adds them in the same order).
#[inline(always)]
fn class_mass(class: u64, pi: &[f32]) -> f32 {
    if class.is_power_of_two() {
        return pi
            .get(class.trailing_zeros() as usize)
            .copied()
            .unwrap_or(0.0);
    }
    let (mut c, mut members) = (0.0f32, class);
    while members != 0 {
        c += pi
            .get(members.trailing_zeros() as usize)
            .copied()
            .unwrap_or(0.0);
        members &= members - 1;
    }
    c
}

/// The index of the node keyed `(below, class)`, inserted (with `under`, weight 0) when new.
fn find_or_insert(
    nodes: &mut [Node],
    table: &mut [u32],
    count: &mut usize,
    below: u64,
    class: u64,
    under: u32,
) -> Result<usize, Error> {
    let mask = table.len().wrapping_sub(1);
    // Every bit of both masks reaches the top bits, which pick the slot.
    let mut h = (below ^ class.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 31;
    h = h.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    let bits = table.len().trailing_zeros();
    let mut slot = if bits == 0 {
        0
    } else {
        (h >> (64 - bits)) as usize & mask
    };
    // At most half the table is ever full (`table.len() >= 2 * nodes.len()`), so a free slot
    // comes within `table.len()` probes.
    for _ in 0..table.len() {
        match table.get(slot).copied() {
            Some(0) => {
                let i = *count;
                let node = nodes.get_mut(i).ok_or(Error::BufferTooSmall {
                    needed: i + 1,
                    found: i,
                })?;
                *node = Node {
                    below,
                    class,
                    under,
                    weight: 0.0,
                };
                if let Some(t) = table.get_mut(slot) {
                    *t = i as u32 + 1;
                }
                *count += 1;
                return Ok(i);
            }
            Some(t) => {
                let i = t as usize - 1;
                if nodes
                    .get(i)
                    .is_some_and(|nd| nd.below == below && nd.class == class)
                {
                    return Ok(i);
                }
            }
            None => break,
        }
        slot = (slot + 1) & mask;
    }
    Err(Error::BufferTooSmall {
        needed: table.len().saturating_mul(2),
        found: table.len(),
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::{
        Storage,
        solver::{SolveOptions, optimistic_hedge},
        xorshift32,
    };
    use std::{collections::BTreeSet, vec, vec::Vec};

    /// Buffers for a tally of up to `cells` pairs.
    fn buffers(cells: usize) -> (Vec<Node>, Vec<u32>, Vec<Cell<f32>>) {
        (
            vec![Node::default(); cells],
            vec![0u32; (2 * cells).next_power_of_two()],
            vec![Cell::new(0.0); cells],
        )
    }

    /// The distinct (set below, class) pairs of the stored orders, counted by sets of sets.
    fn distinct_pairs(pop: &Population<'_, 16>) -> usize {
        let mut seen = BTreeSet::new();
        for j in 0..pop.m() {
            if pop.weight(j) == Some(0.0) {
                continue;
            }
            let order: Vec<(usize, bool)> = pop.order(j).unwrap().collect();
            let mut classes: Vec<BTreeSet<usize>> = vec![BTreeSet::new()];
            for &(c, tie_next) in &order {
                classes.last_mut().unwrap().insert(c);
                if !tie_next {
                    classes.push(BTreeSet::new());
                }
            }
            classes.retain(|c| !c.is_empty());
            let mut below = BTreeSet::new();
            for class in classes.iter().rev() {
                seen.insert((below.clone(), class.clone()));
                below.extend(class.iter().copied());
            }
        }
        seen.len()
    }

    #[test]
    fn one_node_per_distinct_pair_and_the_population_shares() {
        let mut next = xorshift32(0x7a11_2026);
        // Miri runs this about a million times slower: fewer cases there.
        let (cases, ks) = if cfg!(miri) {
            (4, &[2u32, 4][..])
        } else {
            (60, &[1u32, 2, 3, 4, 5, 8, 13][..])
        };
        for case in 0..cases {
            let n = 1 + case % 9;
            let m = 1 + (next() % 40) as usize;
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let mut b = Population::<16>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
            for j in 0..m {
                // Few levels (ties, repeated orders); every seventh user weightless.
                let levels = 1 + next() % 4;
                let scores: Vec<f64> = (0..n).map(|_| (next() % levels) as f64).collect();
                let weight = if j % 7 == 3 {
                    0.0
                } else {
                    1.0 + (next() % 3) as f64
                };
                b.push_scores(weight, &scores).unwrap();
            }
            let Ok(pop) = b.finish() else { continue };
            let (mut nodes, mut table, sums) = buffers(m * n);
            let tally = Tally::new(pop, &mut nodes, &mut table, &sums).unwrap();
            assert_eq!(tally.len(), distinct_pairs(&pop), "case {case}");
            let mut pi: Vec<f32> = (0..n).map(|_| (next() % 100) as f32 + 1.0).collect();
            let total: f32 = pi.iter().sum();
            pi.iter_mut().for_each(|p| *p /= total);
            // A support of every other candidate, in an order of its own, one column spare.
            let support: Vec<u16> = (0..n as u16).rev().step_by(2).collect();
            let (s, stride) = (support.len(), support.len() + 1);
            for &k in ks {
                let (mut g, mut h) = (vec![0.0f32; n], vec![0.0f32; n]);
                tally.shares(&pi, k, &mut g).unwrap();
                crate::share::shares(&pop, &pi, k, &mut h).unwrap();
                for y in 0..n {
                    assert!(
                        (g[y] - h[y]).abs() <= 2e-6,
                        "case {case} k {k}: {g:?} {h:?}"
                    );
                }
                let (mut jt, mut jp) = (vec![0.0f32; s * stride], vec![0.0f32; s * stride]);
                tally.jacobian_into(&pi, k, &support, stride, &mut jt);
                pop.jacobian_into(&pi, k, &support, stride, &mut jp);
                for (i, (&a, &b)) in jt.iter().zip(&jp).enumerate() {
                    let tol = 1e-5 * (1.0 + b.abs());
                    assert!((a - b).abs() <= tol, "case {case} k {k} entry {i}: {a} {b}");
                }
                assert!(
                    jp.iter().any(|&x| x != 0.0),
                    "case {case} k {k}: a zero Jacobian"
                );
            }
        }
    }

    /// docs/maths.md §7: the cyclic profile's shares are exactly `1/(k+1)` under the uniform
    /// policy, and the majority/minority instance solves to `(0.8, 0.2, 0)` at `k = 2` through a
    /// tally.
    #[test]
    fn exact_cases() {
        let n = 5;
        let (mut w, mut o) = ([0.0f32; 5], [0u16; 25]);
        let mut b = Population::<16>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        for i in 0..n {
            b.push_ranking(1.0, (0..n).map(|p| [(i + p) % n])).unwrap();
        }
        let pop = b.finish().unwrap();
        let (mut nodes, mut table, sums) = buffers(25);
        let tally = Tally::new(pop, &mut nodes, &mut table, &sums).unwrap();
        for k in 1..=6 {
            let mut g = [0.0f32; 5];
            tally.shares(&[0.2; 5], k, &mut g).unwrap();
            let fair = 1.0 / (k + 1) as f32;
            assert!(g.iter().all(|&x| (x - fair).abs() <= 1e-6), "k {k}: {g:?}");
        }

        let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
        let mut b = Population::<16>::builder(3, Storage::new(&mut w, &mut o)).unwrap();
        b.push_ranking(0.6, [[0], [2], [1]]).unwrap();
        b.push_ranking(0.4, [[1], [2], [0]]).unwrap();
        let pop = b.finish().unwrap();
        let (mut nodes, mut table, sums) = buffers(6);
        let tally = Tally::new(pop, &mut nodes, &mut table, &sums).unwrap();
        let mut pi = [0.0f32; 3];
        let sol = optimistic_hedge(&tally, &SolveOptions::new(2).epsilon(1e-6), &mut pi).unwrap();
        assert!(sol.converged);
        assert!((pi[0] - 0.8).abs() < 1e-3 && (pi[1] - 0.2).abs() < 1e-3 && pi[2] < 1e-3);
        // The solver's certificate is the population's of what it deployed: the tool prints it
        // without certifying again.
        let certificate = crate::certificate::certify(&pop, &pi, 2).unwrap();
        assert_eq!(sol.certificate, certificate);
        assert!(certificate.exploitability < 1e-5);
    }

    #[test]
    fn refuses_what_it_cannot_hold() {
        let (mut w, mut o) = ([0.0f32; 2], [0u16; 2 * 65]);
        let mut b = Population::<128>::builder(65, Storage::new(&mut w, &mut o)).unwrap();
        b.push_scores(1.0, &[0.0; 65]).unwrap();
        let wide = b.finish().unwrap();
        let (mut nodes, mut table, sums) = buffers(65);
        assert_eq!(
            Tally::new(wide, &mut nodes, &mut table, &sums).map(|t| t.len()),
            Err(Error::TooManyCandidates { n: 65, max: 64 })
        );

        let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
        let mut b = Population::<128>::builder(3, Storage::new(&mut w, &mut o)).unwrap();
        b.push_ranking(1.0, [[0], [1], [2]]).unwrap();
        b.push_ranking(1.0, [[2], [1], [0]]).unwrap();
        let pop = b.finish().unwrap();
        let sums = vec![Cell::new(0.0f32); 6];
        let mut nodes = vec![Node::default(); 6];
        // Table not a power of two, too small; sums too short; fewer nodes than pairs (6).
        for (table_len, sums_len, nodes_len) in [(12, 6, 6), (8, 6, 6), (16, 5, 6), (8, 6, 4)] {
            let mut table = vec![0u32; table_len];
            let r = Tally::new(pop, &mut nodes[..nodes_len], &mut table, &sums[..sums_len]);
            assert!(
                matches!(r, Err(Error::BufferTooSmall { .. })),
                "{table_len} {sums_len} {nodes_len}"
            );
        }
        let mut table = vec![0u32; 16];
        let tally = Tally::new(pop, &mut nodes, &mut table, &sums).unwrap();
        assert_eq!(tally.len(), 6);
        let mut g = [0.0f32; 3];
        assert_eq!(
            tally.shares(&[0.5, 0.2, 0.0], 1, &mut g),
            Err(Error::InvalidPolicy)
        );
        assert!(matches!(
            tally.shares(&[0.5, 0.5], 1, &mut g),
            Err(Error::LengthMismatch { .. })
        ));
        assert_eq!(
            tally.shares(&[0.5, 0.5, 0.0], 0, &mut g),
            Err(Error::InvalidK {
                k: 0,
                max: crate::MAX_K
            })
        );
        assert!(matches!(
            tally.shares(&[0.5, 0.5, 0.0], 1, &mut g[..2]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
