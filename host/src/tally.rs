//! When the tool evaluates shares through a [`Tally`] (one recurrence per distinct pair of set
//! below and tie class) instead of the population (one per user type and candidate).
//!
//! A tally pays when many user types share those pairs: few candidates and many ballots, as in
//! real elections (Dublin West, 9 candidates and 10,335 ballot types: 2,492 pairs against
//! 93,015 entries, a share evaluation 33 times faster). With many candidates the pairs are
//! nearly all distinct and the population's own oracle is the faster one. Results differ from the
//! population's in the last bits, so `--threads 1` (the firmware's computation, bit for bit)
//! never takes a tally.

use std::cell::Cell;

use ualign::{
    Population,
    tally::{Node, Tally},
};

/// Populations with fewer entries (user types x candidates) are not tallied: building the tally
/// would cost more than the evaluations it saves.
pub const MIN_CELLS: usize = 1 << 14;

/// Populations over more candidates are not tallied: sets of candidates below a position are
/// then rarely shared, and a build that fails costs time and memory for nothing (core's limit is
/// 64).
pub const MAX_N: usize = 32;

/// A tally is kept only with at most one pair per this many population entries (the build stops
/// at the first pair past that, so a population that shares little costs a bounded attempt). The
/// real elections of `../shared` have 12 (14 candidates) to 37 (Dublin West) entries per pair.
pub const MIN_SHARING: usize = 8;

/// Owned storage of a tally.
#[derive(Debug, Default)]
pub struct TallyStore {
    nodes: Vec<Node>,
    table: Vec<u32>,
    sums: Vec<Cell<f32>>,
}

impl TallyStore {
    /// The tally of `pop` when it pays: at most [`MAX_N`] candidates, at least [`MIN_CELLS`]
    /// entries, and at most one distinct pair per [`MIN_SHARING`] entries (the build stops as
    /// soon as there are more). `None` otherwise.
    pub fn tally<'a, const N: usize>(
        &'a mut self,
        pop: &Population<'a, N>,
    ) -> Option<Tally<'a, N>> {
        let cells = pop.m().checked_mul(pop.n())?;
        if pop.n() > MAX_N || cells < MIN_CELLS {
            return None;
        }
        // Room for the pairs a tally may keep, but no more than orders of few tie classes can
        // make (a strict order over n candidates has n * 2^(n-1) possible pairs; twice that
        // leaves room for classes, such as the unranked candidates of a ballot): the buffers
        // are zeroed, and 23,000 nodes where 2,304 can occur cost most of a build.
        let limit = cells / MIN_SHARING;
        let capacity = match u32::try_from(pop.n()) {
            Ok(n) if n <= 20 => limit.min((n as usize) << n),
            _ => limit,
        };
        let TallyStore { nodes, table, sums } = self;
        *nodes = vec![Node::default(); capacity];
        *table = vec![0; capacity.checked_mul(2)?.next_power_of_two()];
        *sums = vec![Cell::new(0.0); capacity];
        Tally::new(*pop, nodes, table, sums).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::ic_population;

    #[test]
    fn tallies_only_when_pairs_are_shared() -> Result<(), String> {
        // 9 candidates, 4,000 ballots: at most 9 * 2^8 = 2,304 pairs for 36,000 entries.
        let (mut w, mut o) = (vec![0.0f32; 4000], vec![0u16; 4000 * 9]);
        let pop = ic_population(9, 4000, 1, &mut w, &mut o)?;
        let mut store = TallyStore::default();
        let tally = store.tally(&pop).ok_or("a shared population is tallied")?;
        assert!(tally.len() <= 2304 && tally.len() * MIN_SHARING <= 36_000);
        // 24 candidates, 1,000 ballots: the pairs are nearly all distinct.
        let (mut w, mut o) = (vec![0.0f32; 1000], vec![0u16; 1000 * 24]);
        let pop = ic_population(24, 1000, 1, &mut w, &mut o)?;
        assert!(TallyStore::default().tally(&pop).is_none());
        // 33 candidates: not tried, however many ballots.
        let (mut w, mut o) = (vec![0.0f32; 1000], vec![0u16; 1000 * 33]);
        let pop = ic_population(33, 1000, 1, &mut w, &mut o)?;
        assert!(TallyStore::default().tally(&pop).is_none());
        // Too small to pay for the build.
        let (mut w, mut o) = (vec![0.0f32; 16], vec![0u16; 16 * 16]);
        let pop = ic_population(16, 16, 1, &mut w, &mut o)?;
        assert!(TallyStore::default().tally(&pop).is_none());
        Ok(())
    }
}
