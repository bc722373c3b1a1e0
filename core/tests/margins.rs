#![allow(clippy::needless_range_loop)]
//! The k = 1 margin matrix answers exactly what the population answers.

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    margins::Margins,
    share::{Oracle, shares},
    solver::{nlhf, nlhf_margins},
};

/// Every entry of the matrix against the chance, counted directly from the utilities, that a
/// user prefers `y` to `z` (ties counting one half).
fn assert_direct_counts<const N: usize>(
    margins: &Margins<'_, N>,
    users: &[User],
    n: usize,
    case: usize,
) {
    let total: f64 = users.iter().map(|u| u.weight).sum();
    for y in 0..n {
        for z in 0..n {
            let direct: f64 = users
                .iter()
                .map(|u| {
                    let (a, b) = (u.utility[y], u.utility[z]);
                    u.weight
                        * if a > b {
                            1.0
                        } else if a == b {
                            0.5
                        } else {
                            0.0
                        }
                })
                .sum::<f64>()
                / total;
            let got = margins.get(y, z).unwrap();
            assert!(
                (got - direct).abs() < 1e-6,
                "case {case}: A[{y}][{z}] {got} vs {direct}"
            );
        }
    }
}

#[test]
fn matrix_shares_and_jacobian_match_the_population() {
    let mut r = rng(404);
    for case in 0..100 {
        let n = 1 + (r.next_u32() % 12) as usize;
        let m = 1 + (r.next_u32() % 60) as usize;
        let levels = 1 + r.next_u32() % 5;
        let users = random_users(&mut r, n, m, levels);
        let mut owned = Owned::new(n, m);
        let pop = build::<16>(&mut owned, n, &users).unwrap();
        let mut buf = vec![0.0f64; n * n];
        let margins = Margins::new(pop, &mut buf).unwrap();
        // A[y][z] + A[z][y] = 1 and A[y][y] = 1/2, counted directly from utilities.
        assert_direct_counts(&margins, &users, n, case);
        let pi = random_policy(&mut r, n, case % 2 == 0);
        let (mut g1, mut g2) = (vec![0.0f32; n], vec![0.0f32; n]);
        shares(&pop, &pi, 1, &mut g1).unwrap();
        margins.shares_into(&pi, 1, &mut g2);
        for y in 0..n {
            assert!((g1[y] - g2[y]).abs() < 2e-6, "case {case} y={y}");
        }
        // Other k go to the population, bit for bit.
        margins.shares_into(&pi, 3, &mut g2);
        shares(&pop, &pi, 3, &mut g1).unwrap();
        assert_eq!(g1, g2);
        let support: Vec<u16> = (0..n as u16).collect();
        let (mut j1, mut j2) = (vec![0.0f32; n * n], vec![0.0f32; n * n]);
        pop.jacobian_into(&pi, 1, &support, n, &mut j1);
        margins.jacobian_into(&pi, 1, &support, n, &mut j2);
        for (a, b) in j1.iter().zip(&j2) {
            assert!((a - b).abs() < 1e-6, "case {case}");
        }
    }
}

/// Above 32 candidates the matrix is built by tiles over blocks of users, upper triangle first:
/// the entries still match the direct counts, zero-weight users included, and the shares match
/// the population's.
#[test]
fn tiled_matrices_match_direct_counts() {
    let mut r = rng(405);
    for case in 0..12 {
        let n = 33 + (r.next_u32() % 48) as usize;
        let m = 1 + (r.next_u32() % 50) as usize;
        let levels = if case % 2 == 0 { 3 } else { 1000 };
        let mut users = random_users(&mut r, n, m, levels);
        for u in users.iter_mut().skip(1).step_by(7) {
            u.weight = 0.0;
        }
        let mut owned = Owned::new(n, m);
        let pop = build::<96>(&mut owned, n, &users).unwrap();
        let mut buf = vec![0.0f64; n * n];
        let margins = Margins::new(pop, &mut buf).unwrap();
        assert_direct_counts(&margins, &users, n, case);
        let pi = random_policy(&mut r, n, case % 3 == 0);
        let (mut g1, mut g2) = (vec![0.0f32; n], vec![0.0f32; n]);
        shares(&pop, &pi, 1, &mut g1).unwrap();
        margins.shares_into(&pi, 1, &mut g2);
        for y in 0..n {
            assert!((g1[y] - g2[y]).abs() < 2e-6, "case {case} y={y}");
        }
    }
}

/// Equal weights go through the byte-counting path (up to 256 candidates, blocks of 128 users):
/// every entry is then exactly `w` times the number of users preferring `y` to `z` (ties one
/// half), counted here from the utilities, across block boundaries, with and without ties, and
/// past 256 candidates (the weighted path) to the same exact value. A block of other weights in
/// between goes the weighted way and keeps the direct counts.
#[test]
fn equal_weights_are_counted_exactly() {
    let mut r = rng(406);
    let cases = [
        (1, 1),
        (2, 127),
        (9, 128),
        (9, 129),
        (31, 300),
        (32, 5),
        (33, 257),
        (64, 128),
        (200, 130),
        (256, 129),
        (257, 40),
        (300, 3),
    ];
    for (case, &(n, m)) in cases.iter().enumerate() {
        let levels = if case % 2 == 0 { 3 } else { 1000 };
        let mut users = random_users(&mut r, n, m, levels);
        for u in users.iter_mut() {
            u.weight = 1.0;
        }
        let mut owned = Owned::new(n, m);
        let pop = build::<300>(&mut owned, n, &users).unwrap();
        let w = pop.weight(0).unwrap() as f64;
        let mut buf = vec![0.0f64; n * n];
        let margins = Margins::new(pop, &mut buf).unwrap();
        for y in 0..n {
            for z in 0..n {
                let halves: u32 = users
                    .iter()
                    .map(|u| match u.utility[y].partial_cmp(&u.utility[z]) {
                        Some(core::cmp::Ordering::Greater) => 2,
                        Some(core::cmp::Ordering::Equal) => 1,
                        _ => 0,
                    })
                    .sum();
                let exact = w * (halves as f64 / 2.0);
                let got = margins.get(y, z).unwrap();
                assert_eq!(got, exact, "case {case} (n {n}, m {m}): A[{y}][{z}]");
            }
        }
    }
    // 128 users of one weight, then 100 of random weights, then 128 of one weight again.
    let n = 40;
    let mut users = random_users(&mut r, n, 356, 4);
    for (j, u) in users.iter_mut().enumerate() {
        if !(128..228).contains(&j) {
            u.weight = 2.0;
        }
    }
    let mut owned = Owned::new(n, users.len());
    let pop = build::<64>(&mut owned, n, &users).unwrap();
    let mut buf = vec![0.0f64; n * n];
    let margins = Margins::new(pop, &mut buf).unwrap();
    assert_direct_counts(&margins, &users, n, 99);
}

#[test]
fn nlhf_through_the_matrix_reaches_the_target_certified_by_the_population() {
    let mut r = rng(405);
    for case in 0..20 {
        let (n, m) = (
            2 + (r.next_u32() % 20) as usize,
            50 + (r.next_u32() % 200) as usize,
        );
        let users = random_users(&mut r, n, m, 8);
        let mut owned = Owned::new(n, m);
        let pop = build::<32>(&mut owned, n, &users).unwrap();
        let mut buf = vec![0.0f64; n * n];
        let margins = Margins::new(pop, &mut buf).unwrap();
        let mut pi = vec![0.0f32; n];
        let mut work = vec![0.0f64; (n + 1) * (n + 1)];
        let sol = nlhf_margins(&margins, 1e-6, 50_000, &mut pi, &mut work).unwrap();
        assert!(sol.converged, "case {case}: {sol:?}");
        let c = ualign::certificate::certify(&pop, &pi, 1).unwrap();
        assert_eq!(c, sol.certificate);
        // Same game as the population route: both reach the same value 1/2.
        let mut pi2 = vec![0.0f32; n];
        let s2 = nlhf(&pop, 1e-6, 50_000, &mut pi2).unwrap();
        assert!((s2.certificate.worst_case_win_rate - c.worst_case_win_rate).abs() < 2e-6);
    }
}

/// The simplex ends NLHF in a few pivots (a budget of `2 n + 4` leaves the dynamics no room to
/// reach `1e-6`) with an equilibrium by definition (docs/maths.md §3): `A pi <= W / 2` entrywise,
/// computed here in `f64` from the matrix, on random profiles with many ties (degenerate tableaux),
/// all-indifferent users, equal and unequal weights; the certificate is the population's.
#[test]
fn the_simplex_gives_the_maximal_lottery_in_a_few_pivots() {
    let mut r = rng(407);
    for case in 0..300 {
        let n = 1 + (r.next_u32() % 40) as usize;
        let m = 1 + (r.next_u32() % 80) as usize;
        let levels = 1 + r.next_u32() % 6;
        let mut users = random_users(&mut r, n, m, levels);
        if case % 3 == 0 {
            for u in users.iter_mut() {
                u.weight = 1.0;
            }
        }
        let mut owned = Owned::new(n, m);
        let pop = build::<40>(&mut owned, n, &users).unwrap();
        let mut buf = vec![0.0f64; n * n];
        let margins = Margins::new(pop, &mut buf).unwrap();
        let mut pi = vec![0.0f32; n];
        let mut work = vec![0.0f64; (n + 1) * (n + 1)];
        let budget = 2 * n as u32 + 4;
        let sol = nlhf_margins(&margins, 1e-6, budget, &mut pi, &mut work).unwrap();
        assert!(
            sol.converged && sol.iterations <= budget,
            "case {case}: {sol:?}"
        );
        assert!(pi.iter().all(|&p| p >= 0.0));
        assert!((pi.iter().map(|&p| p as f64).sum::<f64>() - 1.0).abs() < 1e-6);
        let half = margins.get(0, 0).unwrap();
        for y in 0..n {
            let g: f64 = (0..n)
                .map(|z| margins.get(y, z).unwrap() * pi[z] as f64)
                .sum();
            assert!(g <= half + 1e-6, "case {case}: g({y}) = {g} > {half}");
        }
        let c = ualign::certificate::certify(&pop, &pi, 1).unwrap();
        assert_eq!(c, sol.certificate);
        // A cap below the pivots the simplex needs holds for pivots and dynamics together.
        if sol.iterations > 1 {
            let cap = sol.iterations - 1;
            let capped = nlhf_margins(&margins, 1e-6, cap, &mut pi, &mut work).unwrap();
            assert!(
                capped.iterations <= cap,
                "case {case}: {capped:?} over {cap}"
            );
        }
    }
}

/// docs/maths.md §7's exact cases at `k = 1`: the majority's favourite alone; a Condorcet cycle
/// uniform.
#[test]
fn the_simplex_solves_the_exact_cases() {
    let users = majority_minority();
    let mut owned = Owned::new(3, 2);
    let pop = build::<4>(&mut owned, 3, &users).unwrap();
    let (mut buf, mut work, mut pi) = ([0.0f64; 9], [0.0f64; 16], [0.0f32; 3]);
    let margins = Margins::new(pop, &mut buf).unwrap();
    let sol = nlhf_margins(&margins, 1e-6, 10, &mut pi, &mut work).unwrap();
    assert_eq!(pi, [1.0, 0.0, 0.0]);
    assert!(sol.converged);
    let users = cyclic(5);
    let mut owned = Owned::new(5, 5);
    let pop = build::<8>(&mut owned, 5, &users).unwrap();
    let (mut buf, mut work, mut pi) = ([0.0f64; 25], [0.0f64; 36], [0.0f32; 5]);
    let margins = Margins::new(pop, &mut buf).unwrap();
    let sol = nlhf_margins(&margins, 1e-6, 20, &mut pi, &mut work).unwrap();
    assert!(sol.converged, "{sol:?}");
    assert!(pi.iter().all(|&p| (p - 0.2).abs() < 1e-6), "{pi:?}");
    // A policy of the wrong length and an invalid epsilon are refused before any work.
    assert_eq!(
        nlhf_margins(&margins, 1e-6, 20, &mut pi[..4], &mut work).err(),
        Some(ualign::Error::LengthMismatch {
            expected: 5,
            found: 4
        })
    );
    for eps in [f32::NAN, -1e-6, f32::INFINITY] {
        assert_eq!(
            nlhf_margins(&margins, eps, 20, &mut pi, &mut work).err(),
            Some(ualign::Error::InvalidEpsilon)
        );
    }
    // A tableau smaller than (n + 1)^2 is refused.
    assert_eq!(
        nlhf_margins(&margins, 1e-6, 20, &mut pi, &mut work[..35]).err(),
        Some(ualign::Error::BufferTooSmall {
            needed: 36,
            found: 35
        })
    );
}

#[test]
fn small_buffer_is_refused() {
    let users = majority_minority();
    let mut owned = Owned::new(3, 2);
    let pop = build::<4>(&mut owned, 3, &users).unwrap();
    let mut buf = [0.0f64; 8];
    assert_eq!(
        Margins::new(pop, &mut buf).err(),
        Some(ualign::Error::BufferTooSmall {
            needed: 9,
            found: 8
        })
    );
}
