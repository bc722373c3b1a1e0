//! `SolveOptions::polish(false)`: optimistic Hedge without the Newton polish. What it deploys
//! comes from the dynamics alone (no Jacobian is asked for, and the policy is the best iterate
//! of a second implementation of the dynamics, snapped, bit for bit), and it is certified like
//! any other policy.

mod common;

use std::cell::Cell;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    Population,
    certificate::certify,
    policy::snap,
    share::Oracle,
    solver::{SolveOptions, optimistic_hedge},
};

const N: usize = 16;

/// The population's oracle, counting what the solver asks of it.
struct Counted<'a, 'p> {
    pop: &'a Population<'p, N>,
    shares: Cell<u32>,
    jacobians: Cell<u32>,
}

impl<'a, 'p> Counted<'a, 'p> {
    fn new(pop: &'a Population<'p, N>) -> Self {
        Counted {
            pop,
            shares: Cell::new(0),
            jacobians: Cell::new(0),
        }
    }
}

impl Oracle<N> for Counted<'_, '_> {
    fn n(&self) -> usize {
        self.pop.n()
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.shares.set(self.shares.get() + 1);
        self.pop.shares_into(pi, k, out);
    }
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        self.jacobians.set(self.jacobians.get() + 1);
        self.pop.jacobian_into(pi, k, support, stride, out);
    }
    fn population(&self) -> Population<'_, N> {
        *self.pop
    }
}

/// With the polish off no Jacobian is computed, every share evaluation is an iteration, and the
/// policy deployed is certified: its certificate is `certify`'s, on the grid of `snap`, and
/// `converged` says whether it met `epsilon`. With the polish on (the default) the same
/// instances do ask for Jacobians, so the option is what turned them off.
#[test]
fn without_the_polish_no_jacobian_and_a_certified_policy() {
    let mut r = rng(2026);
    let mut polished = 0u32;
    for case in 0..24 {
        let n = 3 + (r.next_u32() % 12) as usize;
        let m = 5 + (r.next_u32() % 60) as usize;
        let k = 1 + r.next_u32() % 5;
        let users = random_users(&mut r, n, m, if case % 3 == 0 { 3 } else { 1000 });
        let mut owned = Owned::new(n, m);
        let pop = build::<N>(&mut owned, n, &users).unwrap();
        for epsilon in [1e-3f32, 1e-6] {
            let opts = SolveOptions::new(k).epsilon(epsilon).max_iter(3000);
            let off = Counted::new(&pop);
            let mut pi = vec![0.0f32; n];
            let sol = optimistic_hedge(&off, &opts.polish(false), &mut pi).unwrap();
            assert_eq!(off.jacobians.get(), 0, "case {case}");
            assert_eq!(off.shares.get(), sol.iterations, "case {case}");
            assert!(sol.iterations <= 3000);
            assert_eq!(
                certify(&pop, &pi, k).unwrap(),
                sol.certificate,
                "case {case}"
            );
            assert_eq!(sol.converged, sol.certificate.exploitability <= epsilon);
            let mut snapped = pi.clone();
            snap::<N>(&mut snapped).unwrap();
            assert_eq!(snapped, pi, "case {case}: not on the grid");

            let on = Counted::new(&pop);
            let mut pj = vec![0.0f32; n];
            optimistic_hedge(&on, &opts, &mut pj).unwrap();
            polished += on.jacobians.get();
            // The default is the polish on.
            let mut pk = vec![0.0f32; n];
            let again = optimistic_hedge(&pop, &opts.polish(true), &mut pk).unwrap();
            assert_eq!((pj, again.iterations), (pk, on.shares.get()));
        }
    }
    assert!(
        polished > 0,
        "no instance used the polish: the test shows nothing"
    );
}

/// Optimistic Hedge written out a second time (docs/maths.md §4.3): from uniform, the first
/// step `min(k + 1, 2.25 ln n)` (`2.25 ln n` at `k = 1`, at least `2 / (max g - min g)`), grown
/// by 5% after a round that does not raise the estimated exploitability, halved after one that
/// more than doubles it, capped at `1e6 (k + 1)`, and a round estimated above six times the best
/// sent back to the best iterate with half the step; the deployed policy is the iterate of lowest
/// estimate, snapped. With the polish off and a target out of reach, this is what the solver
/// deploys, bit for bit, after exactly `max_iter` rounds (at `k = 1` up to three, before the
/// running mean is certified too).
#[test]
fn without_the_polish_the_policy_is_the_best_iterate_of_the_dynamics() {
    let mut r = rng(4711);
    for case in 0..24 {
        let n = 2 + (r.next_u32() % 14) as usize;
        let m = 3 + (r.next_u32() % 40) as usize;
        // At `k = 1` the running mean is certified too from round 4: three rounds at most.
        let k = if case % 4 == 3 {
            1
        } else {
            2 + r.next_u32() % 15
        };
        let levels = if case % 2 == 0 { 4 } else { 1000 };
        let mut users = random_users(&mut r, n, m, levels);
        if case % 3 == 2 {
            // Users who agree on a common quality: shares far from flat at the start, where
            // the first step is `min(k + 1, 2.25 ln n)`.
            let quality: Vec<f64> = (0..n)
                .map(|_| (3 * (r.next_u32() % levels)) as f64)
                .collect();
            for u in users.iter_mut() {
                for (x, q) in u.utility.iter_mut().zip(&quality) {
                    *x += q;
                }
            }
        }
        let mut owned = Owned::new(n, m);
        let pop = build::<N>(&mut owned, n, &users).unwrap();
        let rounds = if k == 1 {
            2 + r.next_u32() % 2
        } else {
            40 + (r.next_u32() % 200)
        };
        let opts = SolveOptions::new(k)
            .epsilon(0.0)
            .max_iter(rounds)
            .polish(false);
        let mut pi = vec![0.0f32; n];
        let sol = optimistic_hedge(&pop, &opts, &mut pi).unwrap();

        let (want, iterations) = dynamics(&pop, k, rounds, vec![0.0; n], false);
        assert_eq!(sol.iterations, iterations, "case {case}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&pi), bits(&want), "case {case}: n {n}, k {k}");
        assert_eq!(certify(&pop, &pi, k).unwrap(), sol.certificate);
    }
}

/// Without the polish the dynamics still reach `1e-4` on (16, 16, k) instances, impartial
/// culture and Mallows: a round that strays far above the best iterate goes back to it with
/// half the step. (Without that return, the step grew on every other round of such an excursion
/// and 9 of these 24 instances ran to `max_iter`, stuck between `4e-4` and `6e-2`.)
#[test]
fn without_the_polish_the_dynamics_reach_the_target() {
    use rand_xoshiro::{Xoshiro256PlusPlus, rand_core::SeedableRng};
    use ualign::{
        Storage,
        synthetic::{impartial_culture, mallows},
    };
    let (n, m) = (16, 16);
    for k in [2u32, 4, 8] {
        for seed in 0..8u64 {
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            if seed % 2 == 0 {
                impartial_culture(&mut b, m, &mut rng).unwrap();
            } else {
                mallows(&mut b, m, 0.8, &mut rng).unwrap();
            }
            let pop = b.finish().unwrap();
            let opts = SolveOptions::new(k)
                .epsilon(1e-4)
                .max_iter(2000)
                .polish(false);
            let mut pi = vec![0.0f32; n];
            let sol = optimistic_hedge(&pop, &opts, &mut pi).unwrap();
            assert!(
                sol.converged,
                "k {k}, seed {seed}: {} after {} rounds",
                sol.certificate.exploitability, sol.iterations
            );
        }
    }
}
