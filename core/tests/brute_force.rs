#![allow(clippy::needless_range_loop)]
//! The closed form of docs/maths.md §2 against brute-force enumeration of all `n^k` draws, in exact
//! integer arithmetic, on hundreds of random small instances with ties.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::share::shares;

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Exact `g(y)` as a fraction `num / den`: enumerate every tuple of `k` draws; the extra slot
/// holding `y` is picked with chance `1/(1+t)` when no draw is strictly above `y` and `t` draws
/// tie with `y`, else 0.
fn exact_share(
    users: &[(u128, Vec<u32>)],
    masses: &[u128],
    denom: u128,
    k: u32,
    y: usize,
) -> (u128, u128) {
    let n = masses.len();
    let l = (1..=k as u128 + 1).fold(1u128, |a, b| a / gcd(a, b) * b); // lcm(1..=k+1)
    let total_w: u128 = users.iter().map(|u| u.0).sum();
    let mut num = 0u128;
    let tuples = (n as u128).pow(k);
    for code in 0..tuples {
        let mut c = code;
        let mut prob = 1u128;
        let mut draws = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let d = (c % n as u128) as usize;
            c /= n as u128;
            prob *= masses[d];
            draws.push(d);
        }
        if prob == 0 {
            continue;
        }
        for (w, util) in users {
            if draws.iter().any(|&d| util[d] > util[y]) {
                continue;
            }
            let t = draws.iter().filter(|&&d| util[d] == util[y]).count() as u128;
            num += w * prob * (l / (1 + t));
        }
    }
    (num, total_w * denom.pow(k) * l)
}

#[test]
fn closed_form_matches_enumeration_with_ties() {
    let mut r = rng(2026);
    let mut checked = 0;
    for case in 0..400 {
        let n = 1 + (r.next_u32() % 4) as usize;
        let k = 1 + r.next_u32() % 5;
        let m = 1 + (r.next_u32() % 4) as usize;
        let levels = 1 + r.next_u32() % 3; // 1 level: everyone ties everything
        let users: Vec<(u128, Vec<u32>)> = (0..m)
            .map(|_| {
                (
                    1 + (r.next_u32() % 5) as u128,
                    (0..n).map(|_| r.next_u32() % levels).collect(),
                )
            })
            .collect();
        // A policy with denominator 16: masses sum exactly to 16 (some may be 0).
        let denom = 16u128;
        let mut masses = vec![0u128; n];
        for _ in 0..denom {
            masses[(r.next_u32() % n as u32) as usize] += 1;
        }
        let pi: Vec<f32> = masses.iter().map(|&a| a as f32 / denom as f32).collect();
        let mut owned = Owned::new(n, m);
        let core_users: Vec<User> = users
            .iter()
            .map(|(w, u)| User {
                weight: *w as f64,
                utility: u.iter().map(|&x| x as f64).collect(),
            })
            .collect();
        let pop = build::<4>(&mut owned, n, &core_users).unwrap();
        let mut g = vec![0.0f32; n];
        shares(&pop, &pi, k, &mut g).unwrap();
        for y in 0..n {
            let (num, den) = exact_share(&users, &masses, denom, k, y);
            let exact = num as f64 / den as f64;
            assert!(
                (g[y] as f64 - exact).abs() <= 2e-6,
                "case {case}: n={n} k={k} y={y}: closed form {} vs enumeration {exact} ({num}/{den})",
                g[y]
            );
            checked += 1;
        }
    }
    assert!(checked > 800);
}
