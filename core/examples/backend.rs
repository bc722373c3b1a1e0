//! Prints, for a fixed set of seeded instances, the shares of a fixed policy and the certificate
//! optimistic Hedge reaches, so the two float backends can be compared:
//!
//! ```text
//! cargo run -p ualign --example backend > libm.txt
//! cargo run -p ualign --example backend --no-default-features --features micromath > micromath.txt
//! ```

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Population, Storage,
    share::shares,
    solver::{SolveOptions, optimistic_hedge},
    synthetic,
};

fn main() -> Result<(), ualign::Error> {
    for (seed, n, m, k) in [
        (1u64, 8usize, 50usize, 2u32),
        (2, 16, 200, 4),
        (3, 32, 500, 8),
        (4, 64, 1000, 1),
    ] {
        let mut w = vec![0.0f32; m];
        let mut o = vec![0u16; m * n];
        let mut b = Population::<64>::builder(n, Storage::new(&mut w, &mut o))?;
        synthetic::mallows(&mut b, m, 0.8, &mut Xoshiro128PlusPlus::seed_from_u64(seed))?;
        let pop = b.finish()?;
        let uniform = vec![1.0 / n as f32; n];
        let mut g = vec![0.0f32; n];
        shares(&pop, &uniform, k, &mut g)?;
        let gmax = g.iter().cloned().fold(0.0f32, f32::max);
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(
            &pop,
            &SolveOptions::new(k).epsilon(1e-5).max_iter(5000),
            &mut pi,
        )?;
        println!(
            "n={n} m={m} k={k}: max share(uniform) = {gmax:.9}, iterations = {}, worst-case win rate = {:.9}, exploitability = {:.3e}",
            sol.iterations, sol.certificate.worst_case_win_rate, sol.certificate.exploitability
        );
    }
    Ok(())
}
