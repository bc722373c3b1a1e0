#![allow(clippy::needless_range_loop)]
//! The identities and exact cases of docs/maths.md §2 and §7.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    certificate::{certify, win_rate_against},
    policy::self_payoff,
    share::shares,
    solver::{SolveOptions, optimistic_hedge},
};

#[test]
fn every_slot_is_picked_equally_often() {
    // sum_y pi(y) g(y) = 1/(k+1), on random policies (sparse and dense) and tied populations.
    let mut r = rng(11);
    for case in 0..200 {
        let n = 1 + (r.next_u32() % 40) as usize;
        let m = 1 + (r.next_u32() % 200) as usize;
        let k = 1 + r.next_u32() % 64;
        let levels = 1 + r.next_u32() % 10;
        let users = random_users(&mut r, n, m, levels);
        let pi = random_policy(&mut r, n, case % 2 == 0);
        let mut owned = Owned::new(n, m);
        let pop = build::<64>(&mut owned, n, &users).unwrap();
        let mut g = vec![0.0f32; n];
        shares(&pop, &pi, k, &mut g).unwrap();
        let lhs = self_payoff(&pi, &g);
        let rhs = 1.0 / (k as f64 + 1.0);
        assert!(
            (lhs - rhs).abs() <= 2e-6,
            "case {case} n={n} m={m} k={k}: {lhs} vs {rhs}"
        );
        // Second route for every share: the f64 textbook formula.
        let reference = reference_shares(&users, &to_f64(&pi), k);
        for y in 0..n {
            assert!(
                (g[y] as f64 - reference[y]).abs() <= 4e-6,
                "case {case} y={y}"
            );
        }
    }
}

#[test]
fn unanimous_top_choice_is_an_equilibrium_for_every_k() {
    let users = vec![
        ranking(3.0, &[2, 0, 1, 3]),
        ranking(1.0, &[2, 3, 1, 0]),
        ranking(2.0, &[2, 1, 0, 3]),
    ];
    let mut owned = Owned::new(4, 3);
    let pop = build::<4>(&mut owned, 4, &users).unwrap();
    for k in 1..=64 {
        let c = certify(&pop, &[0.0, 0.0, 1.0, 0.0], k).unwrap();
        assert_eq!(c.exploitability, 0.0, "k={k}");
        let bound = k as f32 / (k as f32 + 1.0);
        assert!((c.worst_case_win_rate - bound).abs() <= 1e-6);
        let mut pi = [0.0f32; 4];
        let sol = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(1e-5), &mut pi).unwrap();
        assert!(sol.converged && pi[2] > 0.999, "k={k}: {pi:?}");
    }
}

#[test]
fn cyclic_profiles_make_uniform_an_equilibrium() {
    for n in 3..=9 {
        let users = cyclic(n);
        let mut owned = Owned::new(n, n);
        let pop = build::<16>(&mut owned, n, &users).unwrap();
        let pi = vec![1.0 / n as f32; n];
        for k in 1..=32 {
            let mut g = vec![0.0f32; n];
            shares(&pop, &pi, k, &mut g).unwrap();
            let fair = 1.0 / (k as f32 + 1.0);
            for &x in &g {
                assert!((x - fair).abs() <= 1e-6, "n={n} k={k}: {g:?}");
            }
            let c = certify(&pop, &pi, k).unwrap();
            assert!(c.exploitability <= 1e-6);
        }
    }
}

#[test]
fn majority_minority_exact_equilibrium() {
    let users = majority_minority();
    let mut owned = Owned::new(3, 2);
    let pop = build::<4>(&mut owned, 3, &users).unwrap();
    // k = 2: exactly (0.8, 0.2, 0) with worst-case win rate 2/3.
    let c = certify(&pop, &[0.8, 0.2, 0.0], 2).unwrap();
    assert!(c.exploitability <= 1e-6, "{c:?}");
    assert!((c.worst_case_win_rate - 2.0 / 3.0).abs() <= 1e-6);
    let mut pi = [0.0f32; 3];
    let sol = optimistic_hedge(&pop, &SolveOptions::new(2).epsilon(1e-6), &mut pi).unwrap();
    assert!(sol.converged, "{sol:?}");
    assert!(
        (pi[0] - 0.8).abs() < 1e-3 && (pi[1] - 0.2).abs() < 1e-3 && pi[2] < 1e-3,
        "{pi:?}"
    );
    // NLHF's point mass on a wins 0.6 against the minority's favourite b for every k; its
    // worst case is min(0.6, k/(k+1)), since at k = 1 an opponent copying a gets 1/2.
    for k in 1..=16 {
        let wr = win_rate_against(&pop, &[1.0, 0.0, 0.0], k, &[0.0, 1.0, 0.0]).unwrap();
        assert!((wr - 0.6).abs() <= 1e-6, "k={k}: {wr}");
        let c = certify(&pop, &[1.0, 0.0, 0.0], k).unwrap();
        let expected = if k == 1 { 0.5 } else { 0.6 };
        assert!(
            (c.worst_case_win_rate - expected).abs() <= 1e-6,
            "k={k}: {c:?}"
        );
        assert_eq!(c.worst_opponent, if k == 1 { 0 } else { 1 });
    }
    // As k grows the equilibrium moves towards (0.6, 0.4, 0).
    let mut prev_a = 0.8f32;
    for k in [4u32, 8, 16, 64] {
        let mut pi = [0.0f32; 3];
        optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(1e-6), &mut pi).unwrap();
        assert!(pi[0] < prev_a + 1e-4 && pi[0] > 0.6 - 1e-4, "k={k}: {pi:?}");
        prev_a = pi[0];
    }
    assert!((prev_a - 0.6).abs() < 0.03, "k=64: a = {prev_a}");
}

#[test]
fn two_candidates_majority_share_is_nlhf_win_rate() {
    for d in [0.01f64, 0.1, 0.25, 0.4] {
        let users = vec![ranking(0.5 + d, &[0, 1]), ranking(0.5 - d, &[1, 0])];
        let mut owned = Owned::new(2, 2);
        let pop = build::<2>(&mut owned, 2, &users).unwrap();
        let mut nl = [0.0f32; 2];
        ualign::solver::nlhf(&pop, 1e-7, 10_000, &mut nl).unwrap();
        assert!(nl[0] > 0.9999, "{nl:?}");
        for k in 1..=16 {
            let wr = win_rate_against(&pop, &[1.0, 0.0], k, &[0.0, 1.0]).unwrap();
            assert!((wr as f64 - (0.5 + d)).abs() <= 1e-6, "d={d} k={k}");
            let c = certify(&pop, &[1.0, 0.0], k).unwrap();
            // An opponent copying a gets 1/(k+1): the worst case is min(k/(k+1), 1/2 + d).
            let expected = (k as f64 / (k as f64 + 1.0)).min(0.5 + d);
            assert!(
                (c.worst_case_win_rate as f64 - expected).abs() <= 1e-6,
                "d={d} k={k}"
            );
        }
    }
}

#[test]
fn mixed_opponent_win_rate_is_linear_and_worst_is_pure() {
    let mut r = rng(5);
    for _ in 0..50 {
        let (n, m, k) = (6, 20, 1 + r.next_u32() % 8);
        let users = random_users(&mut r, n, m, 4);
        let mut owned = Owned::new(n, m);
        let pop = build::<8>(&mut owned, n, &users).unwrap();
        let pi = random_policy(&mut r, n, false);
        let s = random_policy(&mut r, n, true);
        let wr = win_rate_against(&pop, &pi, k, &s).unwrap();
        let g = reference_shares(&users, &to_f64(&pi), k);
        let expected = 1.0 - s.iter().zip(&g).map(|(&a, &b)| a as f64 * b).sum::<f64>();
        assert!((wr as f64 - expected).abs() < 4e-6, "{wr} {expected} k={k}");
        let c = certify(&pop, &pi, k).unwrap();
        assert!(c.worst_case_win_rate <= wr + 1e-6);
    }
}

#[test]
fn tiny_masses_and_large_k_stay_accurate() {
    let mut r = rng(99);
    for k in [1u32, 16, 64, 256, 1024] {
        let n = 6;
        let users = random_users(&mut r, n, 30, 3);
        let mut pi = vec![0.0f32; n];
        pi[0] = 1e-30;
        pi[1] = 0.5;
        pi[2] = 0.5 - 1e-30;
        pi[4] = 1e-20;
        let mut owned = Owned::new(n, 30);
        let pop = build::<8>(&mut owned, n, &users).unwrap();
        let mut g = vec![0.0f32; n];
        shares(&pop, &pi, k, &mut g).unwrap();
        let reference = reference_shares(&users, &to_f64(&pi), k);
        for y in 0..n {
            assert!(g[y].is_finite());
            let tol = 1e-6 + 1e-6 * reference[y] * k as f64 / 8.0;
            assert!(
                (g[y] as f64 - reference[y]).abs() <= tol,
                "k={k} y={y}: {} vs {}",
                g[y],
                reference[y]
            );
        }
    }
}
