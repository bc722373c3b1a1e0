#![allow(clippy::needless_range_loop)]
//! Several-response opponents (docs/maths.md §5) against brute-force enumeration of every draw.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    opponents::{multiset_count, opponent_win_rate, worst_opponent},
    solver::{SolveOptions, optimistic_hedge},
};

/// The opponent's chance with multiset `z` by enumerating all `n^k` draws: the user picks
/// uniformly among the `k + l` slots holding a top-ranked candidate.
fn brute(users: &[User], pi: &[f64], k: u32, z: &[usize]) -> f64 {
    let n = pi.len();
    let total: f64 = users.iter().map(|u| u.weight).sum();
    let mut win = 0.0;
    for code in 0..n.pow(k) {
        let (mut c, mut prob, mut draws) = (code, 1.0, vec![]);
        for _ in 0..k {
            draws.push(c % n);
            prob *= pi[c % n];
            c /= n;
        }
        for u in users {
            let best = draws
                .iter()
                .chain(z)
                .map(|&d| u.utility[d])
                .fold(f64::MIN, f64::max);
            let ours = draws.iter().filter(|&&d| u.utility[d] == best).count();
            let theirs = z.iter().filter(|&&d| u.utility[d] == best).count();
            win += u.weight / total * prob * theirs as f64 / (ours + theirs) as f64;
        }
    }
    win
}

#[test]
fn formula_matches_enumeration() {
    let mut r = rng(31);
    for _ in 0..150 {
        let n = 1 + (r.next_u32() % 4) as usize;
        let k = 1 + r.next_u32() % 4;
        let m = 1 + (r.next_u32() % 5) as usize;
        let users = random_users(&mut r, n, m, 3);
        let pi = random_policy(&mut r, n, true);
        let l = 1 + (r.next_u32() % 3) as usize;
        let z: Vec<usize> = (0..l).map(|_| (r.next_u32() % n as u32) as usize).collect();
        let mut owned = Owned::new(n, m);
        let pop = build::<4>(&mut owned, n, &users).unwrap();
        let zz: Vec<u16> = z.iter().map(|&y| y as u16).collect();
        let got = opponent_win_rate(&pop, &pi, k, &zz).unwrap() as f64;
        let want = brute(&users, &to_f64(&pi), k, &z);
        assert!(
            (got - want).abs() < 1e-6,
            "n={n} k={k} z={z:?}: {got} vs {want}"
        );
    }
}

#[test]
fn worst_multiset_is_the_enumerated_maximum_and_respects_the_bounds() {
    let mut r = rng(32);
    for case in 0..20 {
        let (n, m, k) = (4usize, 12usize, 1 + r.next_u32() % 4);
        let users = random_users(&mut r, n, m, 4);
        let mut owned = Owned::new(n, m);
        let pop = build::<4>(&mut owned, n, &users).unwrap();
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(1e-6), &mut pi).unwrap();
        let e = sol.certificate.exploitability;
        for l in 1..=3usize {
            let rep = worst_opponent::<4, 3>(&pop, &pi, k, l, 1000).unwrap();
            // Brute force over all l-tuples.
            let mut best: f64 = 0.0;
            for code in 0..n.pow(l as u32) {
                let z: Vec<usize> = (0..l).map(|i| code / n.pow(i as u32) % n).collect();
                best = best.max(brute(&users, &to_f64(&pi), k, &z));
            }
            assert!(
                (rep.opponent_win_rate as f64 - best).abs() < 1e-6,
                "case {case} l={l}"
            );
            assert!((rep.win_rate + rep.opponent_win_rate - 1.0).abs() < 1e-6);
            let z: Vec<usize> = rep.multiset.iter().map(|&y| y as usize).collect();
            assert!((brute(&users, &to_f64(&pi), k, &z) - best).abs() < 1e-6);
            // The bounds are the f32s next to the exact fractions, on their safe sides:
            // `x q` is exact in f64 (24 bits of `x` times at most 11 of `q`).
            let times = |x: f32, q: usize| f64::from(x) * q as f64;
            let (lower, upper) = (rep.lower_bound, rep.upper_bound);
            let (p, q) = ((k as usize + 1).saturating_sub(l) as f64, k as usize + 1);
            assert!(
                times(lower, q) <= p && times(lower.next_up(), q) > p,
                "{rep:?}"
            );
            let (p, q) = (k as f64, k as usize + l);
            assert!(
                times(upper, q) >= p && times(upper.next_down(), q) < p,
                "{rep:?}"
            );
            // Union bound against an approximate equilibrium.
            assert!(
                rep.win_rate >= lower - l as f32 * e - 1e-5,
                "case {case} l={l}: {rep:?}"
            );
        }
    }
}

#[test]
fn multiset_counts() {
    assert_eq!(multiset_count(4, 2), Some(10));
    assert_eq!(multiset_count(1, 7), Some(1));
    assert_eq!(multiset_count(10, 3), Some(220));
    assert_eq!(multiset_count(100, 5), Some(91_962_520));
    assert_eq!(multiset_count(1000, 10), None); // C(1009, 10) > u64::MAX
    assert_eq!(multiset_count(100_000, 10), None);
}
