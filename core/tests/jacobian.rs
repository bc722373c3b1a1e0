#![allow(clippy::needless_range_loop)]
//! The share's Jacobian (used by the solver's Newton polish) against central finite differences
//! of the f64 reference shares.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::share::Oracle;

#[test]
fn jacobian_matches_finite_differences() {
    let mut r = rng(606);
    for case in 0..40 {
        let n = 2 + (r.next_u32() % 8) as usize;
        let m = 1 + (r.next_u32() % 300) as usize; // past one block of 256 users too
        let k = 1 + r.next_u32() % 6;
        let levels = 2 + r.next_u32() % 6;
        let users = random_users(&mut r, n, m, levels);
        let mut owned = Owned::new(n, m);
        let pop = build::<16>(&mut owned, n, &users).unwrap();
        let pi = random_policy(&mut r, n, false);
        let support: Vec<u16> = (0..n as u16).filter(|y| y % 3 != 1 || n < 3).collect();
        let s = support.len();
        let mut jac = vec![0.0f32; s * (s + 1)];
        pop.jacobian_into(&pi, k, &support, s + 1, &mut jac);
        let base = to_f64(&pi);
        let h = 1e-6;
        for (c, &z) in support.iter().enumerate() {
            let (mut up, mut down) = (base.clone(), base.clone());
            up[z as usize] += h;
            down[z as usize] -= h;
            let (gu, gd) = (
                reference_shares(&users, &up, k),
                reference_shares(&users, &down, k),
            );
            for (rr, &y) in support.iter().enumerate() {
                let fd = (gu[y as usize] - gd[y as usize]) / (2.0 * h);
                let got = jac[rr * (s + 1) + c] as f64;
                assert!(
                    (got - fd).abs() < 1e-4 * (1.0 + fd.abs()),
                    "case {case} k={k} ({y},{z}): {got} vs {fd}"
                );
            }
        }
    }
}
