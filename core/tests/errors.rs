#![allow(clippy::needless_range_loop)]
//! Every kind of bad input returns its own error; nothing panics.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Error, Population, Storage,
    certificate::certify,
    opponents::{opponent_win_rate, worst_opponent},
    sampling::{by_mass, mixture_picks, picks},
    share::shares,
    solver::{EPSILON_FLOOR, SolveOptions, hedge, optimistic_hedge},
    synthetic,
};

#[test]
fn population_errors() {
    let (mut w, mut o) = ([0.0f32; 2], [0u16; 8]);
    assert_eq!(
        Population::<4>::builder(0, Storage::new(&mut w, &mut o)).err(),
        Some(Error::NoCandidates)
    );
    assert_eq!(
        Population::<4>::builder(5, Storage::new(&mut w, &mut o)).err(),
        Some(Error::TooManyCandidates { n: 5, max: 4 })
    );
    let mut b = Population::<4>::builder(4, Storage::new(&mut w, &mut o)).unwrap();
    assert_eq!(
        b.push_scores(1.0, &[1.0, 2.0]),
        Err(Error::LengthMismatch {
            expected: 4,
            found: 2
        })
    );
    assert_eq!(
        b.push_scores(1.0, &[1.0, f64::NAN, 0.0, 0.0]),
        Err(Error::NonFiniteScore {
            user: 0,
            candidate: 1
        })
    );
    assert_eq!(
        b.push_scores(1.0, &[1.0, 0.0, f64::INFINITY, 0.0]),
        Err(Error::NonFiniteScore {
            user: 0,
            candidate: 2
        })
    );
    assert_eq!(
        b.push_scores(f64::NAN, &[0.0; 4]),
        Err(Error::NonFiniteWeight { user: 0 })
    );
    assert_eq!(
        b.push_scores(f64::INFINITY, &[0.0; 4]),
        Err(Error::NonFiniteWeight { user: 0 })
    );
    assert_eq!(
        b.push_scores(1e300, &[0.0; 4]),
        Err(Error::NonFiniteWeight { user: 0 })
    );
    assert_eq!(
        b.push_scores(-1.0, &[0.0; 4]),
        Err(Error::NegativeWeight { user: 0 })
    );
    assert_eq!(
        b.push_ranking(1.0, [[0usize, 4]]),
        Err(Error::UnknownCandidate {
            user: 0,
            candidate: 4
        })
    );
    assert_eq!(
        b.push_ranking(1.0, [vec![0usize], vec![1, 0]]),
        Err(Error::DuplicateCandidate {
            user: 0,
            candidate: 0
        })
    );
    assert!(b.is_empty(), "failed pushes add nothing");
    b.push_scores(0.0, &[0.0; 4]).unwrap();
    b.push_scores(0.0, &[1.0; 4]).unwrap();
    assert_eq!(
        b.push_scores(1.0, &[0.0; 4]),
        Err(Error::TooManyUsers { capacity: 2 })
    );
    assert_eq!(b.finish().err(), Some(Error::ZeroTotalWeight));

    let (mut w, mut o) = ([0.0f32; 2], [0u16; 8]);
    let b = Population::<4>::builder(4, Storage::new(&mut w, &mut o)).unwrap();
    assert_eq!(b.finish().err(), Some(Error::NoUsers));

    // Normalised by a total of 2^100, a weight of 2^-49 is 2^-149, the smallest f32; 2^-51 is
    // a quarter of it, which rounds to zero: refused, naming the user type. (2^-50, half of it,
    // is a tie that rounds to even, zero, natively; miri gives 2^-149 for it.)
    for (tiny, refused) in [(-49, false), (-51, true)] {
        let (mut w, mut o) = ([0.0f32; 3], [0u16; 6]);
        let weights = [pow2(100), 2f32.powi(tiny), 1.0];
        let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o)).unwrap();
        for &x in &weights {
            b.push_scores(x, &[1.0, 0.0]).unwrap();
        }
        let got = b.finish().map(|p| p.weights()[1]);
        if refused {
            assert_eq!(got, Err(Error::NegligibleWeight { user: 1 }));
        } else {
            assert_eq!(got, Ok(f32::from_bits(1)));
        }
    }
    // Storage too small for even one user type.
    let (mut w, mut o) = ([0.0f32; 2], [0u16; 3]);
    let mut b = Population::<4>::builder(4, Storage::new(&mut w, &mut o)).unwrap();
    assert_eq!(
        b.push_scores(1.0, &[0.0; 4]),
        Err(Error::TooManyUsers { capacity: 0 })
    );
}

fn with_pop(f: impl FnOnce(&Population<'_, 4>)) {
    let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
    let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o)).unwrap();
    b.push_ranking(0.6, [[0], [2], [1]]).unwrap();
    b.push_ranking(0.4, [[1], [2], [0]]).unwrap();
    f(&b.finish().unwrap());
}

#[test]
fn oracle_and_solver_errors() {
    with_pop(|pop| {
        let pi = [0.5f32, 0.5, 0.0];
        let mut g = [0.0f32; 3];
        assert_eq!(
            shares(pop, &pi, 0, &mut g),
            Err(Error::InvalidK {
                k: 0,
                max: ualign::MAX_K
            })
        );
        assert_eq!(
            shares(pop, &pi, ualign::MAX_K + 1, &mut g),
            Err(Error::InvalidK {
                k: ualign::MAX_K + 1,
                max: ualign::MAX_K
            })
        );
        assert_eq!(
            shares(pop, &pi[..2], 1, &mut g),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            shares(pop, &pi, 1, &mut g[..1]),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 1
            })
        );
        for bad in [
            [0.5f32, 0.6, 0.0],
            [1.5, -0.5, 0.0],
            [f32::NAN, 0.5, 0.5],
            [0.0, 0.0, 0.0],
        ] {
            assert_eq!(
                shares(pop, &bad, 1, &mut g),
                Err(Error::InvalidPolicy),
                "{bad:?}"
            );
            assert_eq!(certify(pop, &bad, 1).err(), Some(Error::InvalidPolicy));
        }
        let mut p = [0.0f32; 3];
        assert_eq!(
            optimistic_hedge(pop, &SolveOptions::new(0), &mut p).err(),
            Some(Error::InvalidK {
                k: 0,
                max: ualign::MAX_K
            })
        );
        // Below the floor the certificates resolve, a positive epsilon is refused.
        for eps in [-1.0, f32::NAN, f32::INFINITY, 1e-9, EPSILON_FLOOR / 2.0] {
            assert_eq!(
                optimistic_hedge(pop, &SolveOptions::new(2).epsilon(eps), &mut p).err(),
                Some(Error::InvalidEpsilon)
            );
        }
        assert_eq!(
            optimistic_hedge(pop, &SolveOptions::new(2), &mut p[..2]).err(),
            Some(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        );
        let mut it = [0.0f32; 2];
        assert_eq!(
            hedge(pop, &SolveOptions::new(2), &mut it).err(),
            Some(Error::BufferTooSmall {
                needed: 3,
                found: 2
            })
        );
        // Zero iterations allowed: still one certified round.
        let s = optimistic_hedge(pop, &SolveOptions::new(2).max_iter(0), &mut p).unwrap();
        assert_eq!(s.iterations, 1);
    });
}

#[test]
fn opponent_and_sampling_errors() {
    with_pop(|pop| {
        let pi = [0.8f32, 0.2, 0.0];
        assert_eq!(
            worst_opponent::<4, 4>(pop, &pi, 2, 0, 1000).err(),
            Some(Error::InvalidOpponentSize { l: 0 })
        );
        assert_eq!(
            worst_opponent::<4, 4>(pop, &pi, 2, 5, 1000).err(),
            Some(Error::InvalidOpponentSize { l: 5 })
        );
        assert_eq!(
            worst_opponent::<4, 4>(pop, &pi, 2, 4, 3).err(),
            Some(Error::TooManyMultisets { limit: 3 })
        );
        assert_eq!(
            worst_opponent::<4, 4>(pop, &pi, 65, 1, 1000).err(),
            Some(Error::InvalidK { k: 65, max: 64 })
        );
        assert_eq!(
            opponent_win_rate(pop, &pi, 2, &[]).err(),
            Some(Error::InvalidOpponentSize { l: 0 })
        );
        assert_eq!(
            opponent_win_rate(pop, &pi, 2, &[3]).err(),
            Some(Error::UnknownCandidate {
                user: 0,
                candidate: 3
            })
        );
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(1);
        assert_eq!(
            picks::<_, 4>(&pi, 5, &mut rng).err(),
            Some(Error::InvalidK { k: 5, max: 4 })
        );
        assert_eq!(
            picks::<_, 4>(&pi, 0, &mut rng).err(),
            Some(Error::InvalidK { k: 0, max: 4 })
        );
        assert_eq!(
            picks::<_, 4>(&[0.3, 0.3], 2, &mut rng).err(),
            Some(Error::InvalidPolicy)
        );
        assert_eq!(
            picks::<_, 4>(&[], 2, &mut rng).err(),
            Some(Error::InvalidPolicy)
        );
        assert_eq!(
            by_mass::<2>(&pi).err(),
            Some(Error::TooManyCandidates { n: 3, max: 2 })
        );
        let mut it = [0.0f32; 30];
        let h = hedge(pop, &SolveOptions::new(2).max_iter(10), &mut it).unwrap();
        assert_eq!(
            mixture_picks::<_, 2>(&h.mixture, 3, &mut rng).err(),
            Some(Error::InvalidK { k: 3, max: 2 })
        );
    });
}

#[test]
fn synthetic_model_errors() {
    let (mut w, mut o) = ([0.0f32; 4], [0u16; 16]);
    let mut b = Population::<4>::builder(4, Storage::new(&mut w, &mut o)).unwrap();
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(1);
    assert_eq!(
        synthetic::mallows(&mut b, 1, 1.5, &mut rng),
        Err(Error::InvalidModelParameter)
    );
    assert_eq!(
        synthetic::mallows(&mut b, 1, f32::NAN, &mut rng),
        Err(Error::InvalidModelParameter)
    );
    assert_eq!(
        synthetic::plackett_luce(&mut b, 1, &[1.0, 0.0, 1.0, 1.0], &mut rng),
        Err(Error::InvalidModelParameter)
    );
    assert_eq!(
        synthetic::plackett_luce(&mut b, 1, &[1.0], &mut rng),
        Err(Error::LengthMismatch {
            expected: 4,
            found: 1
        })
    );
    assert_eq!(
        synthetic::impartial_culture(&mut b, 5, &mut rng),
        Err(Error::TooManyUsers { capacity: 4 })
    );
}

/// The refusal of a too small epsilon states the floor that `EPSILON_FLOOR` holds.
#[test]
fn epsilon_floor_message_states_the_constant() {
    extern crate std;
    use std::string::ToString;
    assert_eq!(EPSILON_FLOOR, 1e-7);
    assert!(Error::InvalidEpsilon.to_string().contains("at least 1e-7"));
}

/// `2^e` for a normal `f32`, from its bits: exact everywhere (`powi` may be off by an ulp,
/// and miri models that).
fn pow2(e: i32) -> f32 {
    f32::from_bits(((127 + e) as u32) << 23)
}
