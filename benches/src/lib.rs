//! Helpers for the ualign benchmarks (`benches/oracle.rs`, `examples/solver_grid.rs`).
//!
//! * [`IcStore`]: owned `Vec` storage for a seeded impartial-culture population, drawn by
//!   [`ualign_accel::bench::impartial_culture`] (core's [`ualign::synthetic::impartial_culture`]
//!   with `Xoshiro128PlusPlus`), the population `ualign bench` draws for the same seed.
//! * The roofline probes, the work model, the threaded and wide oracles and the route are those
//!   of `ualign bench`, from the `ualign-accel` crate, so the numbers of `cargo bench` and
//!   `ualign bench` come from one implementation.

use ualign::{Error, Population};

pub use ualign_accel::bench::CAPACITY;

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
        ualign_accel::bench::impartial_culture(
            self.n,
            self.m,
            self.seed,
            &mut self.weights,
            &mut self.order,
        )
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
    use ualign_accel::bench::{peak_probe, share_work, stream_probe};

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
