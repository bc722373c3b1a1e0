#![allow(clippy::needless_range_loop)]
//! The main theorem measured: on random impartial-culture, Mallows and Plackett-Luce populations
//! up to n = 64, m = 1000, k = 1..16, optimistic Hedge's certificate is at least
//! `k/(k+1) - epsilon`, and the certificate is recomputed by a second route.

mod common;

use common::*;
use ualign::{
    Population,
    solver::{SolveOptions, optimistic_hedge},
    synthetic,
};

const EPS: f32 = 1e-3;

fn check(pop: &Population<'_, 64>, k: u32, label: &str) {
    let n = pop.n();
    let mut pi = vec![0.0f32; n];
    let sol = optimistic_hedge(
        pop,
        &SolveOptions::new(k).epsilon(EPS).max_iter(20_000),
        &mut pi,
    )
    .expect("solve");
    eprintln!(
        "{label} k={k}: {} iterations, e = {:e}",
        sol.iterations, sol.certificate.exploitability
    );
    assert!(
        sol.converged,
        "{label} k={k}: not converged, e = {}",
        sol.certificate.exploitability
    );
    let bound = k as f32 / (k as f32 + 1.0);
    assert!(
        sol.certificate.worst_case_win_rate >= bound - EPS,
        "{label} k={k}"
    );
    // Second route: rebuild utilities from the stored orders and recompute in f64.
    let users: Vec<User> = (0..pop.m())
        .map(|j| {
            let mut utility = vec![0.0; n];
            let mut level = n as f64;
            for (c, tie) in pop.order(j).unwrap() {
                utility[c] = level;
                if !tie {
                    level -= 1.0;
                }
            }
            User {
                weight: pop.weight(j).unwrap() as f64,
                utility,
            }
        })
        .collect();
    let g = reference_shares(&users, &to_f64(&pi), k);
    let max = g.iter().cloned().fold(f64::MIN, f64::max);
    let f = 1.0 - max;
    assert!(
        (f - sol.certificate.worst_case_win_rate as f64).abs() < 2e-5,
        "{label} k={k}: certificate {} vs recomputed {f}",
        sol.certificate.worst_case_win_rate
    );
    assert!(f >= bound as f64 - EPS as f64 - 2e-5);
}

#[test]
fn impartial_culture_mallows_plackett_luce() {
    let sizes = [(8usize, 50usize), (64, 1000)];
    for (s, &(n, m)) in sizes.iter().enumerate() {
        for k in [1u32, 2, 3, 4, 8, 16] {
            for model in 0..3 {
                let mut owned = Owned::new(n, m);
                let mut b = Population::<64>::builder(n, owned.storage()).unwrap();
                let mut r = rng(1000 * s as u64 + 10 * k as u64 + model);
                let label = match model {
                    0 => {
                        synthetic::impartial_culture(&mut b, m, &mut r).unwrap();
                        "IC"
                    }
                    1 => {
                        synthetic::mallows(&mut b, m, 0.7, &mut r).unwrap();
                        "Mallows"
                    }
                    _ => {
                        let mut st = vec![0.0f32; n];
                        synthetic::geometric_strengths(&mut st, 0.1);
                        synthetic::plackett_luce(&mut b, m, &st, &mut r).unwrap();
                        "PL"
                    }
                };
                let pop = b.finish().unwrap();
                check(&pop, k, &format!("{label} n={n} m={m}"));
            }
        }
    }
}

/// `max_iter` caps every share evaluation, the polish's and the running mean's included, and
/// what is deployed at the cap is still certified exactly.
#[test]
fn the_iteration_cap_is_a_cap() {
    for (case, (n, m, k)) in [
        (6usize, 30usize, 1u32),
        (12, 40, 3),
        (24, 60, 5),
        (40, 80, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut owned = Owned::new(n, m);
        let mut b = Population::<64>::builder(n, owned.storage()).unwrap();
        synthetic::mallows(&mut b, m, 0.8, &mut rng(77 + case as u64)).unwrap();
        let pop = b.finish().unwrap();
        for cap in [1u32, 2, 3, 8, 9, 16, 17, 18, 33, 64, 65] {
            let mut pi = vec![0.0f32; n];
            // An unreachable target: the cap is what stops it.
            let opts = SolveOptions::new(k).epsilon(0.0).max_iter(cap);
            let sol = optimistic_hedge(&pop, &opts, &mut pi).unwrap();
            assert!(
                sol.iterations <= cap,
                "n={n} k={k} cap={cap}: {} evaluations",
                sol.iterations
            );
            let c = ualign::certificate::certify(&pop, &pi, k).unwrap();
            assert_eq!(c, sol.certificate, "n={n} k={k} cap={cap}");
        }
    }
}
