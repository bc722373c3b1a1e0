#![allow(clippy::needless_range_loop)]
//! Hedge's time-mixture certificate, recomputed from the kept iterates by a second route.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::solver::{SolveOptions, hedge};

#[test]
fn mixture_certificate_is_the_mean_share_and_obeys_the_regret_bound() {
    let mut r = rng(77);
    for case in 0..12 {
        let n = 2 + (r.next_u32() % 10) as usize;
        let m = 5 + (r.next_u32() % 40) as usize;
        let k = 1 + r.next_u32() % 6;
        let users = random_users(&mut r, n, m, 5);
        let mut owned = Owned::new(n, m);
        let pop = build::<16>(&mut owned, n, &users).unwrap();
        let rounds = 400;
        let mut it = vec![0.0f32; n * rounds];
        let h = hedge(
            &pop,
            &SolveOptions::new(k).epsilon(0.0).max_iter(rounds as u32),
            &mut it,
        )
        .unwrap();
        assert_eq!(h.mixture.rounds(), rounds);
        assert_eq!(h.solution.iterations as usize, rounds);
        // Second route: mean over t of the f64 reference shares of each kept iterate.
        let mut mean = vec![0.0f64; n];
        for t in 0..rounds {
            let pi = h.mixture.iterate(t).unwrap();
            let s: f64 = pi.iter().map(|&x| x as f64).sum();
            assert!((s - 1.0).abs() < 1e-5 && pi.iter().all(|&x| x >= 0.0));
            for (acc, g) in mean
                .iter_mut()
                .zip(reference_shares(&users, &to_f64(pi), k))
            {
                *acc += g / rounds as f64;
            }
        }
        let max = mean.iter().cloned().fold(f64::MIN, f64::max);
        let c = h.solution.certificate;
        assert!(
            (c.worst_case_win_rate as f64 - (1.0 - max)).abs() < 1e-5,
            "case {case}"
        );
        let e = max - 1.0 / (k as f64 + 1.0);
        assert!(
            e <= h.regret_bound as f64 + 1e-6,
            "case {case}: {e} > {}",
            h.regret_bound
        );
    }
}
