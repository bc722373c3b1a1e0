#![allow(clippy::needless_range_loop)]
//! NLHF collapses on Condorcet-winner instances: its point mass wins only the majority's share,
//! for every k, while the k-aware equilibrium reaches k/(k+1) - epsilon on the same instances.

mod common;

use common::*;
use ualign::{
    certificate::certify,
    solver::{SolveOptions, nlhf, optimistic_hedge},
    synthetic,
};

/// The Condorcet winner, if any, by counting pairwise majorities directly.
fn condorcet_winner(users: &[User], n: usize) -> Option<usize> {
    (0..n).find(|&a| {
        (0..n).filter(|&b| b != a).all(|b| {
            let (mut ab, mut ba) = (0.0, 0.0);
            for u in users {
                if u.utility[a] > u.utility[b] {
                    ab += u.weight;
                } else if u.utility[b] > u.utility[a] {
                    ba += u.weight;
                }
            }
            ab > ba
        })
    })
}

/// The best single response to a point mass on `a` wins the heaviest share of users who prefer
/// one response to `a` (ties split in half at k = 1, like the choice rule).
fn point_mass_worst_case(users: &[User], n: usize, a: usize, k: u32) -> f64 {
    let total: f64 = users.iter().map(|u| u.weight).sum();
    let mut worst = 1.0 / (k as f64 + 1.0); // copying a
    for b in (0..n).filter(|&b| b != a) {
        let mut share = 0.0;
        for u in users {
            if u.utility[b] > u.utility[a] {
                share += u.weight;
            } else if u.utility[b] == u.utility[a] {
                share += u.weight / (k as f64 + 1.0);
            }
        }
        worst = worst.max(share / total);
    }
    1.0 - worst
}

fn instances() -> Vec<(String, usize, Vec<User>)> {
    let mut out = vec![
        ("majority-minority".to_string(), 3, majority_minority()),
        (
            "two candidates 55/45".to_string(),
            2,
            vec![ranking(0.55, &[0, 1]), ranking(0.45, &[1, 0])],
        ),
    ];
    for (seed, n, phi) in [(1u64, 6usize, 0.8f32), (2, 10, 0.9), (3, 16, 0.85)] {
        let m = 101;
        let mut owned = Owned::new(n, m);
        let mut b = ualign::Population::<16>::builder(n, owned.storage()).unwrap();
        synthetic::mallows(&mut b, m, phi, &mut rng(seed)).unwrap();
        let pop = b.finish().unwrap();
        let users = (0..m)
            .map(|j| {
                let mut utility = vec![0.0; n];
                for (pos, (c, _)) in pop.order(j).unwrap().enumerate() {
                    utility[c] = (n - pos) as f64;
                }
                User {
                    weight: 1.0,
                    utility,
                }
            })
            .collect();
        out.push((format!("Mallows n={n} phi={phi}"), n, users));
    }
    out
}

#[test]
fn nlhf_collapses_while_the_k_aware_equilibrium_climbs() {
    const EPS: f32 = 1e-4;
    for (label, n, users) in instances() {
        let a = condorcet_winner(&users, n).expect("instance has a Condorcet winner");
        let mut owned = Owned::new(n, users.len());
        let pop = build::<16>(&mut owned, n, &users).unwrap();
        let mut nl = vec![0.0f32; n];
        let sol = nlhf(&pop, 1e-6, 20_000, &mut nl).unwrap();
        assert!(sol.converged, "{label}: {sol:?}");
        assert!(
            nl[a] > 0.999,
            "{label}: NLHF is not the point mass on the Condorcet winner: {nl:?}"
        );
        let majority = point_mass_worst_case(&users, n, a, 2);
        assert!(majority < 0.75, "{label}: not a collapse instance");
        for k in 1..=16u32 {
            let c = certify(&pop, &nl, k).unwrap();
            let expected = point_mass_worst_case(&users, n, a, k);
            assert!(
                (c.worst_case_win_rate as f64 - expected).abs() < 2e-3,
                "{label} k={k}: NLHF certificate {} vs {expected}",
                c.worst_case_win_rate
            );
            let mut pi = vec![0.0f32; n];
            let s = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(EPS), &mut pi).unwrap();
            let bound = k as f32 / (k as f32 + 1.0);
            assert!(
                s.converged && s.certificate.worst_case_win_rate >= bound - EPS,
                "{label} k={k}"
            );
            if k >= 4 {
                // The gap the project exists to close.
                assert!(
                    s.certificate.worst_case_win_rate > c.worst_case_win_rate + 0.05,
                    "{label} k={k}"
                );
            }
        }
    }
}
