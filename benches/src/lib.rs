//! Helpers for the ualign benchmarks (`benches/oracle.rs`) and the roofline probes.
//!
//! * [`IcStore`]: owned `Vec` storage for a seeded impartial-culture population, built with
//!   core's [`ualign::synthetic::impartial_culture`] and `Xoshiro128PlusPlus`.
//! * The roofline probes and the work model ([`stream_probe`], [`peak_probe`],
//!   [`IndirectProbe`], [`share_work`])
//!   are those of `ualign bench`: the host's `src/bench.rs`, `src/parallel.rs`, `src/simd.rs`
//!   and `src/route.rs` are compiled here in place (modules [`bench`], [`parallel`], [`simd`]
//!   and [`route`]),
//!   so their tests run with this crate's and
//!   the numbers of `cargo bench` and `ualign bench` come from one implementation.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{Error, Population, Storage, synthetic};

#[path = "../../host/src/bench.rs"]
pub mod bench;
#[path = "../../host/src/parallel.rs"]
pub mod parallel;
#[path = "../../host/src/route.rs"]
pub mod route;
#[path = "../../host/src/simd.rs"]
pub mod simd;

pub use bench::{CAPACITY, IndirectProbe, ShareWork, median, peak_probe, share_work, stream_probe};

/// The benchmark sizes `(name, n, m, k)`. `dublin-west-ic` is a synthetic stand-in for the
/// Dublin West election (9 candidates, 10,335 ballots), drawn from impartial culture.
pub const SIZES: [(&str, usize, usize, u32); 4] = [
    ("dublin-west-ic", 9, 10_335, 4),
    ("n64-m1000", 64, 1_000, 4),
    ("n256-m5000", 256, 5_000, 8),
    ("n16-m16", 16, 16, 4),
];

/// Owned storage holding a seeded impartial-culture population of `m` types over `n` candidates.
#[derive(Clone, Debug)]
pub struct IcStore {
    n: usize,
    m: usize,
    seed: u64,
    weights: Vec<f32>,
    order: Vec<u16>,
}

impl IcStore {
    /// Storage for `m` user types over `n` candidates; [`IcStore::population`] fills it.
    pub fn new(n: usize, m: usize, seed: u64) -> Self {
        IcStore {
            n,
            m,
            seed,
            weights: vec![0.0; m],
            order: vec![0; m * n],
        }
    }

    /// Draws the population (same seed, same population) into the storage and returns it.
    pub fn population(&mut self) -> Result<Population<'_, CAPACITY>, Error> {
        let mut b = Population::<CAPACITY>::builder(
            self.n,
            Storage::new(&mut self.weights, &mut self.order),
        )?;
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(self.seed);
        synthetic::impartial_culture(&mut b, self.m, &mut rng)?;
        b.finish()
    }

    /// The raw tables the share oracle streams: order rows (`m * n`) and weights (`m`). Filled
    /// once [`IcStore::population`] has run.
    pub fn tables(&self) -> (&[u16], &[f32]) {
        (&self.order, &self.weights)
    }
}

/// The uniform policy over `n` candidates.
pub fn uniform(n: usize) -> Vec<f32> {
    vec![1.0 / n as f32; n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ualign::share::shares;

    #[test]
    fn store_is_seeded_and_valid() -> Result<(), Error> {
        let mut a = IcStore::new(9, 300, 5);
        let mut b = IcStore::new(9, 300, 5);
        let (pa, pb) = (a.population()?, b.population()?);
        let (mut ga, mut gb) = (vec![0.0f32; 9], vec![0.0f32; 9]);
        shares(&pa, &uniform(9), 4, &mut ga)?;
        shares(&pb, &uniform(9), 4, &mut gb)?;
        assert_eq!(ga, gb);
        // Under the uniform policy every share of an IC population is near 1/(k+1).
        assert!(ga.iter().all(|&g| (g - 0.2).abs() < 0.05), "{ga:?}");
        let (order, weights) = a.tables();
        assert_eq!((order.len(), weights.len()), (2700, 300));
        Ok(())
    }

    #[test]
    fn probes_report_positive_rates() {
        let mut s = IcStore::new(16, 1000, 1);
        assert!(s.population().is_ok());
        let (order, weights) = s.tables();
        assert!(stream_probe(order, weights, 3) > 0.0);
        assert!(peak_probe(10_000, 2) > 0.0);
        let w = share_work(16, 1000, 4);
        assert!(w.intensity() > 1.0);
    }
}
