//! Numerical edge cases (issue 5): tiny masses, large `k`, many tied users, identical users, a
//! single candidate, weights over forty orders of magnitude. Every result must be finite and the
//! identities of docs/maths.md §2 must hold to the tolerance stated at each test.

use rand_xoshiro::Xoshiro128PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use ualign::{
    Error, MAX_K, Population, Storage,
    certificate::certify,
    opponents::{self, worst_opponent},
    policy::self_payoff,
    sampling::{by_mass, distinct, mixture_picks, picks},
    share::shares,
    solver::{SolveOptions, hedge, nlhf, optimistic_hedge},
};

const N: usize = 16;

struct Owned {
    weights: Vec<f32>,
    order: Vec<u16>,
}

impl Owned {
    fn new(n: usize, m: usize) -> Self {
        Owned {
            weights: vec![0.0; m],
            order: vec![0; n * m],
        }
    }
    fn storage(&mut self) -> Storage<'_> {
        Storage::new(&mut self.weights, &mut self.order)
    }
}

/// Builds a population from `(weight, scores)` rows.
fn build<'a>(owned: &'a mut Owned, n: usize, rows: &[(f64, Vec<f64>)]) -> Population<'a, N> {
    let mut b = Population::<N>::builder(n, owned.storage()).unwrap();
    for (w, s) in rows {
        b.push_scores(*w, s).unwrap();
    }
    b.finish().unwrap()
}

fn random_rows(n: usize, m: usize, levels: u32, seed: u64) -> Vec<(f64, Vec<f64>)> {
    let mut r = Xoshiro128PlusPlus::seed_from_u64(seed);
    (0..m)
        .map(|_| {
            let w = 0.1 + (r.next_u32() % 100) as f64 / 10.0;
            let s = (0..n).map(|_| (r.next_u32() % levels) as f64).collect();
            (w, s)
        })
        .collect()
}

fn g_of(pop: &Population<'_, N>, pi: &[f32], k: u32) -> Vec<f32> {
    let mut g = vec![0.0f32; pop.n()];
    shares(pop, pi, k, &mut g).unwrap();
    g
}

/// Shares finite and in `[0, 1]`, and `|sum pi g - 1/(k+1)| <= tol`.
fn check_identity(g: &[f32], pi: &[f32], k: u32, tol: f64) {
    assert!(
        g.iter()
            .all(|&x| x.is_finite() && (0.0..=1.0 + 1e-6).contains(&x)),
        "shares out of range: {g:?}"
    );
    let v = self_payoff(pi, g);
    let fair = 1.0 / (k as f64 + 1.0);
    assert!(
        (v - fair).abs() <= tol,
        "sum pi g = {v}, 1/(k+1) = {fair}, k = {k}"
    );
}

fn assert_simplex(pi: &[f32]) {
    let sum: f64 = pi.iter().map(|&p| p as f64).sum();
    assert!(pi.iter().all(|&p| p.is_finite() && p >= 0.0), "{pi:?}");
    assert!((sum - 1.0).abs() <= 1e-5, "sum {sum}");
}

/// Candidates of mass 1e-30 (and the smallest subnormal): shares stay finite, the identity holds
/// to 2e-6, and a candidate of negligible mass gets the share of one of mass 0 to 1e-6.
#[test]
fn candidates_of_mass_1e_minus_30() {
    let n = 6;
    let rows = random_rows(n, 40, 3, 1);
    let mut owned = Owned::new(n, rows.len());
    let pop = build(&mut owned, n, &rows);
    for tiny in [1e-30f32, f32::MIN_POSITIVE, 1e-45] {
        let mut pi = vec![tiny; n];
        pi[2] = 1.0 - 5.0 * tiny;
        for k in [1, 2, 7, 64, MAX_K] {
            let g = g_of(&pop, &pi, k);
            check_identity(&g, &pi, k, 2e-6);
            let mut zero = pi.clone();
            for (y, p) in zero.iter_mut().enumerate() {
                if y != 2 {
                    *p = 0.0;
                }
            }
            zero[2] = 1.0;
            let g0 = g_of(&pop, &zero, k);
            for (a, b) in g.iter().zip(&g0) {
                assert!((a - b).abs() <= 1e-6, "tiny {tiny} k {k}: {g:?} vs {g0:?}");
            }
            let c = certify(&pop, &pi, k).unwrap();
            assert!(c.worst_case_win_rate.is_finite() && c.exploitability.is_finite());
        }
    }
    // A candidate everyone ranks last: its equilibrium mass becomes tiny, the solver stays finite.
    let rows: Vec<(f64, Vec<f64>)> = (0..3)
        .map(|i| {
            let mut s = vec![0.0; 4];
            for (j, x) in s.iter_mut().enumerate().take(3) {
                *x = ((i + j) % 3) as f64 + 1.0;
            }
            (1.0, s)
        })
        .collect();
    let mut owned = Owned::new(4, 3);
    let pop = build(&mut owned, 4, &rows);
    let mut pi = vec![0.0f32; 4];
    let sol = optimistic_hedge(&pop, &SolveOptions::new(3).epsilon(1e-6), &mut pi).unwrap();
    assert_simplex(&pi);
    assert!(sol.converged, "{sol:?}");
    assert!(pi[3] < 1e-4, "{pi:?}");
}

/// `k = 64` (the opponents' limit) and `k = MAX_K`: shares, certificates and the solvers stay
/// finite; the identity holds to 1e-5 (the recurrence's error grows linearly in `k`).
#[test]
fn k_64_and_k_max() {
    let n = 12;
    let rows = random_rows(n, 200, 5, 2);
    let mut owned = Owned::new(n, rows.len());
    let pop = build(&mut owned, n, &rows);
    let mut r = Xoshiro128PlusPlus::seed_from_u64(3);
    for k in [64, MAX_K] {
        for _ in 0..20 {
            let raw: Vec<f64> = (0..n).map(|_| (r.next_u32() % 1000) as f64 + 1.0).collect();
            let t: f64 = raw.iter().sum();
            let pi: Vec<f32> = raw.iter().map(|&x| (x / t) as f32).collect();
            let g = g_of(&pop, &pi, k);
            check_identity(&g, &pi, k, 1e-5);
        }
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(
            &pop,
            &SolveOptions::new(k).epsilon(1e-5).max_iter(3000),
            &mut pi,
        )
        .unwrap();
        assert_simplex(&pi);
        let c = certify(&pop, &pi, k).unwrap();
        assert!((c.exploitability - sol.certificate.exploitability).abs() <= 1e-6);
        assert!(c.worst_case_win_rate <= c.bound + 1e-6);
        assert!(sol.certificate.exploitability <= 1e-3, "k = {k}: {sol:?}");
        let g = g_of(&pop, &pi, k);
        check_identity(&g, &pi, k, 1e-5);

        let mut it = vec![0.0f32; 50 * n];
        let h = hedge(&pop, &SolveOptions::new(k).max_iter(50), &mut it).unwrap();
        assert!(h.solution.certificate.exploitability.is_finite());
        let p = picks::<_, { MAX_K as usize }>(&pi, k, &mut r).unwrap();
        assert_eq!(p.len(), k as usize);
        assert!(p.iter().all(|&y| pi[y as usize] > 0.0));
        let m = mixture_picks::<_, { MAX_K as usize }>(&h.mixture, k, &mut r).unwrap();
        assert_eq!(m.len(), k as usize);
    }
    // The opponents' computation at its limit k = 64: union bound and copy bound hold.
    let mut pi = vec![0.0f32; n];
    optimistic_hedge(&pop, &SolveOptions::new(64).epsilon(1e-6), &mut pi).unwrap();
    let e = certify(&pop, &pi, 64).unwrap().exploitability;
    for l in 1..=2 {
        let rep = worst_opponent::<N, 4>(&pop, &pi, opponents::MAX_K, l, 10_000).unwrap();
        assert!(rep.opponent_win_rate.is_finite());
        assert!(
            rep.win_rate >= rep.lower_bound - l as f32 * e - 1e-5,
            "{rep:?}"
        );
    }
    assert_eq!(
        worst_opponent::<N, 4>(&pop, &pi, 65, 1, 10_000),
        Err(Error::InvalidK { k: 65, max: 64 })
    );
}

/// Ten thousand user types that tie every candidate: every share is exactly `1/(k+1)` for every
/// policy (to 1e-6), so every policy is an equilibrium. Ten thousand user types with random ties
/// over three levels: the identity holds to 1e-5 and the solver converges.
#[test]
fn ten_thousand_tied_users() {
    let (n, m) = (10, 10_000);
    let rows: Vec<(f64, Vec<f64>)> = (0..m)
        .map(|j| (1.0 + (j % 7) as f64, vec![0.5; n]))
        .collect();
    let mut owned = Owned::new(n, m);
    let pop = build(&mut owned, n, &rows);
    assert_eq!(pop.m(), m);
    let pi: Vec<f32> = (0..n).map(|y| (y + 1) as f32 / 55.0).collect();
    for k in [1, 2, 9, 64] {
        let g = g_of(&pop, &pi, k);
        for &x in &g {
            assert!((x as f64 - 1.0 / (k as f64 + 1.0)).abs() <= 1e-6, "{g:?}");
        }
        let c = certify(&pop, &pi, k).unwrap();
        assert!(c.exploitability <= 1e-6);
    }
    let mut sol_pi = vec![0.0f32; n];
    let sol = optimistic_hedge(&pop, &SolveOptions::new(4), &mut sol_pi).unwrap();
    assert!(sol.converged && sol.iterations == 1, "{sol:?}");
    assert_simplex(&sol_pi);

    let rows = random_rows(n, m, 3, 4);
    let mut owned = Owned::new(n, m);
    let pop = build(&mut owned, n, &rows);
    for k in [1, 3, 16] {
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(
            &pop,
            &SolveOptions::new(k).epsilon(1e-4).max_iter(2000),
            &mut pi,
        )
        .unwrap();
        assert_simplex(&pi);
        assert!(sol.converged, "k = {k}: {sol:?}");
        let g = g_of(&pop, &pi, k);
        check_identity(&g, &pi, k, 1e-5);
    }
}

/// All user types identical (a strict order): the point mass on their favourite is the
/// equilibrium, with worst-case win rate exactly `k/(k+1)` (to 1e-6).
#[test]
fn all_users_identical() {
    let n = 7;
    let scores: Vec<f64> = vec![3.0, 6.0, 1.0, 0.0, 2.0, 5.0, 4.0];
    let rows: Vec<(f64, Vec<f64>)> = (0..1000).map(|_| (2.5, scores.clone())).collect();
    let mut owned = Owned::new(n, rows.len());
    let pop = build(&mut owned, n, &rows);
    for k in [1, 2, 5, 64] {
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(1e-6), &mut pi).unwrap();
        assert_simplex(&pi);
        assert!(sol.converged, "k = {k}: {sol:?}");
        assert!(pi[1] >= 1.0 - 1e-4, "k = {k}: {pi:?}");
        let mut point = vec![0.0f32; n];
        point[1] = 1.0;
        let c = certify(&pop, &point, k).unwrap();
        // The normalised f32 weights of 1000 users sum to 1 only to ~5e-7.
        assert!(c.exploitability <= 1e-6, "{c:?}");
        assert!((c.worst_case_win_rate - c.bound).abs() <= 1e-6);
        assert_eq!(by_mass::<N>(&point).unwrap().as_slice(), &[1]);
    }
    let mut pi = vec![0.0f32; n];
    let sol = nlhf(&pop, 1e-6, 10_000, &mut pi).unwrap();
    assert!(sol.converged && pi[1] >= 1.0 - 1e-4);
}

/// One candidate: the only policy is `[1]`, its share is `1/(k+1)` exactly, every routine works.
#[test]
fn a_single_candidate() {
    let rows = vec![(1.0, vec![0.0]), (3.0, vec![7.0])];
    let mut owned = Owned::new(1, 2);
    let pop = build(&mut owned, 1, &rows);
    let mut r = Xoshiro128PlusPlus::seed_from_u64(5);
    for k in [1, 2, 64, MAX_K] {
        let g = g_of(&pop, &[1.0], k);
        assert!(
            (g[0] as f64 - 1.0 / (k as f64 + 1.0)).abs() <= 1e-7,
            "{g:?}"
        );
        let mut pi = [0.0f32];
        let sol = optimistic_hedge(&pop, &SolveOptions::new(k), &mut pi).unwrap();
        assert_eq!(pi, [1.0]);
        assert!(sol.converged && sol.certificate.worst_opponent == 0);
        let mut it = [0.0f32; 8];
        let h = hedge(&pop, &SolveOptions::new(k), &mut it).unwrap();
        assert!(h.solution.converged);
        assert!(h.regret_bound.is_finite());
        let p = picks::<_, { MAX_K as usize }>(&[1.0], k, &mut r).unwrap();
        assert!(p.iter().all(|&y| y == 0));
        assert_eq!(distinct::<4>(&p).as_slice(), &[0]);
        let m = mixture_picks::<_, { MAX_K as usize }>(&h.mixture, k, &mut r).unwrap();
        assert!(m.iter().all(|&y| y == 0));
    }
    let rep = worst_opponent::<N, 3>(&pop, &[1.0], 2, 3, 10).unwrap();
    assert_eq!(rep.multiset.as_slice(), &[0, 0, 0]);
    // Three opponent slots against two of ours, all the same candidate: it wins 3/5.
    assert!((rep.opponent_win_rate - 0.6).abs() <= 1e-6);
}

/// Weights from 1e-20 to 1e20 (forty orders of magnitude; the smallest normalise to f32
/// subnormals or zero): everything stays finite, the identity holds to 2e-6, and the result
/// equals that of the heavy users alone to 1e-6.
#[test]
fn weights_spanning_forty_orders_of_magnitude() {
    let n = 6;
    let base = random_rows(n, 41, 4, 6);
    let rows: Vec<(f64, Vec<f64>)> = base
        .iter()
        .enumerate()
        .map(|(i, (_, s))| (10f64.powi(i as i32 - 20), s.clone()))
        .collect();
    let mut owned = Owned::new(n, rows.len());
    let pop = build(&mut owned, n, &rows);
    assert!(pop.weights().iter().all(|w| w.is_finite() && *w >= 0.0));
    let total: f64 = pop.weights().iter().map(|&w| w as f64).sum();
    assert!(
        (total - 1.0).abs() <= 1e-6,
        "normalised weights sum to {total}"
    );
    // Users above 1e13 carry all but ~1e-7 of the weight.
    let heavy: Vec<(f64, Vec<f64>)> = rows.iter().filter(|r| r.0 > 1e13).cloned().collect();
    let mut owned_h = Owned::new(n, heavy.len());
    let pop_h = build(&mut owned_h, n, &heavy);
    let mut r = Xoshiro128PlusPlus::seed_from_u64(7);
    for k in [1, 2, 8, 64] {
        let raw: Vec<f64> = (0..n).map(|_| (r.next_u32() % 100) as f64 + 1.0).collect();
        let t: f64 = raw.iter().sum();
        let pi: Vec<f32> = raw.iter().map(|&x| (x / t) as f32).collect();
        let g = g_of(&pop, &pi, k);
        check_identity(&g, &pi, k, 2e-6);
        let gh = g_of(&pop_h, &pi, k);
        for (a, b) in g.iter().zip(&gh) {
            assert!((a - b).abs() <= 1e-6, "{g:?} vs {gh:?}");
        }
        let mut sol = vec![0.0f32; n];
        let s = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(1e-5), &mut sol).unwrap();
        assert_simplex(&sol);
        assert!(s.certificate.exploitability.is_finite());
        assert!(s.converged, "k = {k}: {s:?}");
    }
    // Every weight at the extremes alone is still a valid population.
    for w in [1e-20, 1e20, f32::MAX as f64] {
        let mut owned = Owned::new(n, 1);
        let pop = build(&mut owned, n, &[(w, base[0].1.clone())]);
        assert_eq!(pop.weights(), &[1.0]);
    }
    // Beyond f32 the weight is refused, never silently infinite.
    let mut owned = Owned::new(n, 1);
    let mut b = Population::<N>::builder(n, owned.storage()).unwrap();
    assert_eq!(
        b.push_scores(1e39, &base[0].1),
        Err(Error::NonFiniteWeight { user: 0 })
    );
}
