//! Helpers for the ualign benchmarks (`benches/oracle.rs`, `examples/solver_grid.rs`).
//!
//! * [`IcStore`]: owned `Vec` storage for a seeded impartial-culture population, drawn by
//!   [`ualign_accel::bench::impartial_culture`] (core's [`ualign::synthetic::impartial_culture`]
//!   with `Xoshiro128PlusPlus`), the population `ualign bench` draws for the same seed.
//! * The roofline probes, the work model, the threaded and wide oracles and the route are those
//!   of `ualign bench`, from the `ualign-accel` crate, so the numbers of `cargo bench` and
//!   `ualign bench` come from one implementation.
//! * [`ScoreStream`]: a seeded stream of related requests (the same users, the candidates
//!   re-scored a little per request), for the warm starts of `examples/warm_stream.rs`.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{Error, Population, Storage, sampling::unit_f32};

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

/// A seeded stream of related requests: `m` user types score `n` candidates, and every request
/// re-scores them a little. User `j` scores candidate `y` at `quality[y] + taste[j][y]` (both
/// uniform on `[0, 1)`, drawn once: some candidates are better for everyone, and users differ),
/// and each request after the first adds `sigma * u` to every score, `u` uniform on `[-1, 1)`
/// (a random walk: each request is close to the one before). Weights are 1. Drawn with
/// `Xoshiro128PlusPlus::seed_from_u64(seed)`, so a seed is one stream.
#[derive(Clone, Debug)]
pub struct ScoreStream {
    n: usize,
    m: usize,
    sigma: f32,
    rng: Xoshiro128PlusPlus,
    scores: Vec<f32>,
    started: bool,
    weights: Vec<f32>,
    order: Vec<u16>,
}

impl ScoreStream {
    /// The stream of `m` user types over `n` candidates, re-scored by `sigma` per request.
    pub fn new(n: usize, m: usize, seed: u64, sigma: f32) -> Self {
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
        let quality: Vec<f32> = (0..n).map(|_| unit_f32(&mut rng)).collect();
        let scores = (0..m * n)
            .map(|i| quality[i % n] + unit_f32(&mut rng))
            .collect();
        ScoreStream {
            n,
            m,
            sigma,
            rng,
            scores,
            started: false,
            weights: vec![0.0; m],
            order: vec![0; m * n],
        }
    }

    /// The scores of the next request (`m x n`, row-major): the first request's as drawn, then
    /// each re-scored by the last.
    pub fn next_scores(&mut self) -> &[f32] {
        if self.started {
            for s in self.scores.iter_mut() {
                *s += self.sigma * (2.0 * unit_f32(&mut self.rng) - 1.0);
            }
        }
        self.started = true;
        &self.scores
    }

    /// The population of the next request, built in the stream's own storage.
    pub fn next_population(&mut self) -> Result<Population<'_, CAPACITY>, Error> {
        self.next_scores();
        let mut b = Population::<CAPACITY>::builder(
            self.n,
            Storage::new(&mut self.weights, &mut self.order),
        )?;
        let mut row = vec![0.0f64; self.n];
        for j in 0..self.m {
            for (r, &s) in row
                .iter_mut()
                .zip(&self.scores[j * self.n..(j + 1) * self.n])
            {
                *r = f64::from(s);
            }
            b.push_scores(1.0, &row)?;
        }
        b.finish()
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
    fn streams_are_seeded_and_each_request_is_near_the_last() -> Result<(), Error> {
        let (mut a, mut b) = (
            ScoreStream::new(5, 7, 3, 0.01),
            ScoreStream::new(5, 7, 3, 0.01),
        );
        let first = a.next_scores().to_vec();
        assert_eq!(first, b.next_scores());
        let second = a.next_scores().to_vec();
        assert_ne!(first, second);
        assert!(
            first
                .iter()
                .zip(&second)
                .all(|(x, y)| (x - y).abs() <= 0.01)
        );
        assert_eq!(a.next_population()?.n(), 5);
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
