//! The solver's answer does not depend on the capacity `N` a population is built with: the
//! polish's Newton system and the Jacobian's block accumulator are sized by `N` (2 `N`^2 floats
//! and a 16 x 16 block for small capacities, what lets the solver run in a Cortex-M0's 16 KiB of
//! RAM), and every size gives the same bits: policy, iterations, convergence and certificate.

mod common;

use std::cell::Cell;

use common::*;
use rand_xoshiro::rand_core::Rng;
use ualign::{
    Population,
    share::Oracle,
    solver::{Solution, SolveOptions, optimistic_hedge},
};

/// The population's oracle, counting the Jacobians the polish asks for.
struct Counted<'a, 'p, const N: usize> {
    pop: &'a Population<'p, N>,
    jacobians: Cell<u32>,
}

impl<const N: usize> Oracle<N> for Counted<'_, '_, N> {
    fn n(&self) -> usize {
        self.pop.n()
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
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

/// Policy bits, the solution and the Jacobians computed, with a population of capacity `N`.
fn solve<const N: usize>(
    n: usize,
    users: &[User],
    opts: &SolveOptions,
) -> (Vec<u32>, Solution, u32) {
    let mut owned = Owned::new(n, users.len());
    let pop = build::<N>(&mut owned, n, users).unwrap();
    let counted = Counted {
        pop: &pop,
        jacobians: Cell::new(0),
    };
    let mut policy = vec![0.0f32; n];
    let sol = optimistic_hedge(&counted, opts, &mut policy).unwrap();
    (
        policy.iter().map(|p| p.to_bits()).collect(),
        sol,
        counted.jacobians.get(),
    )
}

fn same(a: &(Vec<u32>, Solution, u32), b: &(Vec<u32>, Solution, u32), what: &str) {
    assert_eq!(a.0, b.0, "{what}: policy bits");
    assert_eq!(a.1.iterations, b.1.iterations, "{what}: iterations");
    assert_eq!(a.1.converged, b.1.converged, "{what}: converged");
    assert_eq!(a.2, b.2, "{what}: Jacobians");
    let (x, y) = (a.1.certificate, b.1.certificate);
    assert_eq!(
        (
            x.worst_case_win_rate.to_bits(),
            x.exploitability.to_bits(),
            x.worst_opponent,
            x.bound.to_bits()
        ),
        (
            y.worst_case_win_rate.to_bits(),
            y.exploitability.to_bits(),
            y.worst_opponent,
            y.bound.to_bits()
        ),
        "{what}: certificate"
    );
}

#[test]
fn the_capacity_does_not_change_the_answer() {
    let mut rng = rng(17);
    let mut polished = 0;
    for case in 0..40 {
        let n = 2 + (rng.next_u32() % 15) as usize;
        let m = 1 + (rng.next_u32() % 16) as usize;
        let k = 1 + rng.next_u32() % 8;
        let levels = if case % 2 == 0 { 1 << 20 } else { 4 };
        let users = random_users(&mut rng, n, m, levels);
        let opts = SolveOptions::new(k).epsilon(1e-6).max_iter(2_000);
        let what = format!("case {case}: n={n} m={m} k={k}");
        // 16: the small system and the 16 x 16 block; 32: the small system and the 32 x 32
        // block; 64: the largest system and the 32 x 32 block.
        let a = solve::<16>(n, &users, &opts);
        let b = solve::<32>(n, &users, &opts);
        let c = solve::<64>(n, &users, &opts);
        same(&a, &b, &what);
        same(&a, &c, &what);
        polished += (a.2 > 0) as u32;
    }
    // Most of these reach the Newton polish, whose storage is what the capacity sizes.
    assert!(polished >= 20, "only {polished} of 40 cases polished");
}
