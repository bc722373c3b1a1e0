//! Warm starts (`optimistic_hedge_warm`): they change the path, never what is certified. From the
//! exact equilibrium a warm solve takes at most the evaluations of a cold one; the certificate is
//! `certify` of the policy deployed; the same start gives the same bits; a start with zero masses
//! does not trap the dynamics; bad starts are typed errors; and, with the polish off, the
//! dynamics are those written out in `common::dynamics`, started from the mixture of the start
//! with the uniform policy (`WARM_FLOOR`).

mod common;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    Error,
    certificate::certify,
    float,
    policy::snap,
    solver::{SolveOptions, WARM_FLOOR, optimistic_hedge, optimistic_hedge_warm},
};

const N: usize = 16;

/// Seeded instances `(users, n, m, k)`, with and without ties.
fn instances(seed: u64, count: usize) -> Vec<(Vec<User>, usize, usize, u32)> {
    let mut r = rng(seed);
    (0..count)
        .map(|case| {
            let n = 3 + (r.next_u32() % 12) as usize;
            let m = 5 + (r.next_u32() % 60) as usize;
            let k = 1 + r.next_u32() % 5;
            let levels = if case % 3 == 0 { 3 } else { 1000 };
            (random_users(&mut r, n, m, levels), n, m, k)
        })
        .collect()
}

/// Solved once cold, solved again from what it deployed: no more evaluations than cold, a
/// certificate that is `certify`'s, converged whenever cold converged, and the same bits on a
/// second run.
#[test]
fn from_the_equilibrium_no_more_evaluations_than_cold() {
    let (mut fewer, mut cases) = (0u32, 0u32);
    for (case, (users, n, m, k)) in instances(77, 40).into_iter().enumerate() {
        let mut owned = Owned::new(n, m);
        let pop = build::<N>(&mut owned, n, &users).unwrap();
        for polish in [true, false] {
            let opts = SolveOptions::new(k)
                .epsilon(1e-5)
                .max_iter(4000)
                .polish(polish);
            let mut cold = vec![0.0f32; n];
            let c = optimistic_hedge(&pop, &opts, &mut cold).unwrap();
            let mut warm = vec![0.0f32; n];
            let w = optimistic_hedge_warm(&pop, &opts, &cold, &mut warm).unwrap();
            let what = format!("case {case}: n {n}, k {k}, polish {polish}");
            assert!(w.iterations <= c.iterations, "{what}: {w:?} vs {c:?}");
            assert!(w.converged || !c.converged, "{what}");
            assert_eq!(w.certificate, certify(&pop, &warm, k).unwrap(), "{what}");
            assert_eq!(w.converged, w.certificate.exploitability <= 1e-5, "{what}");
            // Deployed like any solve: on the grid.
            let mut snapped = warm.clone();
            snap::<N>(&mut snapped).unwrap();
            assert_eq!(snapped, warm, "{what}");
            // Deterministic.
            let mut again = vec![0.0f32; n];
            let w2 = optimistic_hedge_warm(&pop, &opts, &cold, &mut again).unwrap();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!((bits(&again), w2), (bits(&warm), w), "{what}");
            fewer += u32::from(w.iterations < c.iterations);
            cases += 1;
        }
    }
    assert!(
        fewer * 2 > cases,
        "warm starts saved evaluations on {fewer} of {cases} solves only"
    );
}

/// A start far from the equilibrium, with zero masses where the equilibrium has its support,
/// still gets there: the floor revives the candidates (with the polish and by the dynamics
/// alone), and the answer is certified.
#[test]
fn zero_masses_do_not_trap_the_dynamics() {
    let users = majority_minority();
    let mut owned = Owned::new(3, 2);
    let pop = build::<N>(&mut owned, 3, &users).unwrap();
    for polish in [true, false] {
        // The point mass on c, which the equilibrium (0.8, 0.2, 0) at k = 2 leaves out.
        let opts = SolveOptions::new(2).epsilon(1e-5).polish(polish);
        let mut pi = [0.0f32; 3];
        let sol = optimistic_hedge_warm(&pop, &opts, &[0.0, 0.0, 1.0], &mut pi).unwrap();
        assert!(sol.converged, "polish {polish}: {sol:?}");
        assert!(
            (pi[0] - 0.8).abs() < 1e-3 && (pi[1] - 0.2).abs() < 1e-3,
            "{pi:?}"
        );
        assert_eq!(sol.certificate, certify(&pop, &pi, 2).unwrap());
    }
    // Random sparse starts on random instances: every solve that converges cold converges warm.
    let mut r = rng(5);
    for (case, (users, n, m, k)) in instances(78, 24).into_iter().enumerate() {
        let mut owned = Owned::new(n, m);
        let pop = build::<N>(&mut owned, n, &users).unwrap();
        let opts = SolveOptions::new(k).epsilon(1e-4);
        let mut cold = vec![0.0f32; n];
        let c = optimistic_hedge(&pop, &opts, &mut cold).unwrap();
        let start = random_policy(&mut r, n, true);
        let mut warm = vec![0.0f32; n];
        let w = optimistic_hedge_warm(&pop, &opts, &start, &mut warm).unwrap();
        assert!(w.converged || !c.converged, "case {case}: {w:?}");
        assert_eq!(
            w.certificate,
            certify(&pop, &warm, k).unwrap(),
            "case {case}"
        );
    }
}

/// A start of the wrong length, with a negative, NaN or infinite mass, or summing to zero is an
/// error, as are the options `optimistic_hedge` refuses; a start that does not sum to 1 is
/// normalised (a power-of-two scale gives the same bits).
#[test]
fn bad_starts_are_errors() {
    let users = majority_minority();
    let mut owned = Owned::new(3, 2);
    let pop = build::<N>(&mut owned, 3, &users).unwrap();
    let opts = SolveOptions::new(2);
    let mut pi = [0.0f32; 3];
    let mut solve = |start: &[f32], opts: &SolveOptions| {
        optimistic_hedge_warm(&pop, opts, start, &mut pi).map(|s| (s, pi))
    };
    assert_eq!(
        solve(&[0.5, 0.5], &opts).map(|_| ()),
        Err(Error::LengthMismatch {
            expected: 3,
            found: 2
        })
    );
    for bad in [
        [0.5, -0.5, 1.0],
        [0.5, f32::NAN, 0.5],
        [f32::INFINITY, 0.0, 0.0],
        [0.0, 0.0, 0.0],
        [-0.0, 0.0, 0.0],
    ] {
        assert_eq!(
            solve(&bad, &opts).map(|_| ()),
            Err(Error::InvalidPolicy),
            "{bad:?}"
        );
    }
    assert_eq!(
        solve(&[1.0, 0.0, 0.0], &SolveOptions::new(0)).map(|_| ()),
        Err(Error::InvalidK {
            k: 0,
            max: ualign::MAX_K
        })
    );
    assert_eq!(
        solve(&[1.0, 0.0, 0.0], &opts.epsilon(-1.0)).map(|_| ()),
        Err(Error::InvalidEpsilon)
    );
    assert_eq!(
        solve(&[0.25, 0.5, 0.25], &opts).unwrap(),
        solve(&[1.0, 2.0, 1.0], &opts).unwrap()
    );
    // The output buffer is checked too.
    assert_eq!(
        optimistic_hedge_warm(&pop, &opts, &[1.0, 0.0, 0.0], &mut [0.0f32; 2]).map(|_| ()),
        Err(Error::LengthMismatch {
            expected: 3,
            found: 2
        })
    );
}

/// With the polish off and a target out of reach, the warm solve deploys the best iterate of
/// the dynamics started from `softmax(ln((1 - WARM_FLOOR) start + WARM_FLOOR / n))`, bit for
/// bit: the start enters through the log-weights and nowhere else.
#[test]
fn the_start_is_the_mixture_with_the_uniform_floor() {
    let mut r = rng(4712);
    for (case, (users, n, m, k)) in instances(79, 16).into_iter().enumerate() {
        if k == 1 {
            continue; // at k = 1 the running mean is certified too
        }
        let mut owned = Owned::new(n, m);
        let pop = build::<N>(&mut owned, n, &users).unwrap();
        let rounds = 20 + r.next_u32() % 100;
        let start = random_policy(&mut r, n, true);
        let opts = SolveOptions::new(k)
            .epsilon(0.0)
            .max_iter(rounds)
            .polish(false);
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge_warm(&pop, &opts, &start, &mut pi).unwrap();

        let sum: f64 = start.iter().map(|&p| f64::from(p)).sum();
        let floor = f64::from(WARM_FLOOR) / n as f64;
        let logits: Vec<f32> = start
            .iter()
            .map(|&p| {
                float::ln(((1.0 - f64::from(WARM_FLOOR)) * (f64::from(p) / sum) + floor) as f32)
            })
            .collect();
        let (want, iterations) = dynamics(&pop, k, rounds, logits, true);
        assert_eq!(sol.iterations, iterations, "case {case}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&pi), bits(&want), "case {case}: n {n}, k {k}");
    }
}
