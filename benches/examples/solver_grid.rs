//! Share evaluations the solver spends, over a seeded grid of impartial-culture instances: the
//! figure the polish heuristics of `ualign::solver` were tuned and are documented against. A
//! third grid draws the same sizes from users who agree on a common quality
//! ([`ScoreStream`]'s first request): shares far from flat, where the dynamics' first step
//! matters most.
//!
//! ```sh
//! cargo run --release -p ualign-benches --example solver_grid            # the three grids
//! cargo run --release -p ualign-benches --example solver_grid -- 64 1000 4 1 1e-4
//! ```
//!
//! With `n m k seed epsilon` it traces one solve instead: every share evaluation (with the
//! exploitability of the policy evaluated and its support size) and every Jacobian.

use std::cell::{Cell, RefCell};
use ualign::{
    Population,
    margins::Margins,
    share::Oracle,
    solver::{Solution, SolveOptions, nlhf_margins, optimistic_hedge},
};
use ualign_benches::{CAPACITY, IcStore, ScoreStream};

/// An oracle that logs what the solver asks of it.
struct Traced<'a, 'p> {
    pop: &'a Population<'p, CAPACITY>,
    log: Option<RefCell<Vec<String>>>,
    jacobians: Cell<u64>,
}

impl Oracle<CAPACITY> for Traced<'_, '_> {
    fn n(&self) -> usize {
        self.pop.n()
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.pop.shares_into(pi, k, out);
        if let Some(log) = &self.log {
            // The f32 estimate the solver steers by (certificates come from `certify`).
            let max = out.iter().fold(0.0f32, |m, &x| m.max(x));
            let e = (max - 1.0 / (k + 1) as f32).max(0.0);
            let support = pi.iter().filter(|&&p| p > 0.0).count();
            log.borrow_mut()
                .push(format!("share     e = {e:.3e}  support {support}"));
        }
    }
    fn population(&self) -> Population<'_, CAPACITY> {
        *self.pop
    }
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        self.pop.jacobian_into(pi, k, support, stride, out);
        self.jacobians.set(self.jacobians.get() + 1);
        if let Some(log) = &self.log {
            log.borrow_mut()
                .push(format!("jacobian  support {}", support.len()));
        }
    }
}

/// Where a grid's instances come from.
#[derive(Clone, Copy)]
enum Model {
    /// Impartial culture ([`IcStore`]).
    Ic,
    /// Scores of a common quality plus each user's taste ([`ScoreStream`]).
    Quality,
}

/// One solve, and the Jacobians it took.
fn solve(n: usize, m: usize, k: u32, seed: u64, epsilon: f32, trace: bool) -> (Solution, u64) {
    solve_model(Model::Ic, (n, m, k, seed), epsilon, trace)
}

/// [`solve`] on an instance of `model`.
fn solve_model(
    model: Model,
    (n, m, k, seed): (usize, usize, u32, u64),
    epsilon: f32,
    trace: bool,
) -> (Solution, u64) {
    // Only the model's own store is drawn; the population borrows it.
    let (mut ic, mut scores);
    let pop = match model {
        Model::Ic => {
            ic = IcStore::new(n, m, seed);
            ic.population()
        }
        Model::Quality => {
            scores = ScoreStream::new(n, m, seed, 0.0);
            scores.next_population()
        }
    }
    .expect("a valid grid instance");
    let oracle = Traced {
        pop: &pop,
        log: trace.then(|| RefCell::new(Vec::new())),
        jacobians: Cell::new(0),
    };
    let mut pi = vec![0.0f32; n];
    let opts = SolveOptions::new(k).epsilon(epsilon);
    let sol = optimistic_hedge(&oracle, &opts, &mut pi).expect("valid options");
    if let Some(log) = &oracle.log {
        for line in log.borrow().iter() {
            println!("{line}");
        }
        println!("{sol:?}");
    }
    (sol, oracle.jacobians.get())
}

fn grid(name: &str, model: Model, sizes: &[(usize, usize)], ks: &[u32], epsilon: f32) {
    let (mut total, mut worst, mut failed, mut count) = (0u64, 0u32, 0u32, 0u32);
    let mut jacobians = 0u64;
    for &(n, m) in sizes {
        for &k in ks {
            for seed in 5..8 {
                let (sol, jac) = solve_model(model, (n, m, k, seed), epsilon, false);
                total += u64::from(sol.iterations);
                jacobians += jac;
                worst = worst.max(sol.iterations);
                failed += u32::from(!sol.converged);
                count += 1;
            }
        }
    }
    println!(
        "{name}: {count} instances to {epsilon:e}: {total} share evaluations and {jacobians} \
         Jacobians, worst {worst} evaluations, {failed} not converged"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [n, m, k, seed, eps] = args.as_slice() {
        let parse = |s: &str| s.parse::<f64>().expect("numbers: n m k seed epsilon");
        let (n, m, k, seed, eps) = (
            parse(n) as usize,
            parse(m) as usize,
            parse(k) as u32,
            parse(seed) as u64,
            parse(eps) as f32,
        );
        let _ = solve(n, m, k, seed, eps, true);
        // Timed without the log (population build excluded): the best of five.
        let mut store = IcStore::new(n, m, seed);
        let pop = store.population().expect("a valid grid instance");
        let mut pi = vec![0.0f32; n];
        let best = (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                let _ = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(eps), &mut pi);
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min);
        println!("solve: {best:.3} ms");
        if k == 1 {
            // NLHF through the margin matrix: the build, then the whole (build + solve).
            let mut buf = vec![0.0f64; n * n];
            let mut work = vec![0.0f64; (n + 1) * (n + 1)];
            let (mut build, mut whole, mut cert) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
            let mut iterations = 0;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                let margins = Margins::new(pop, &mut buf).expect("a buffer of n * n");
                build = build.min(t.elapsed().as_secs_f64() * 1e3);
                let sol =
                    nlhf_margins(&margins, eps, 10_000, &mut pi, &mut work).expect("valid options");
                whole = whole.min(t.elapsed().as_secs_f64() * 1e3);
                if !sol.converged {
                    println!("margins: not converged: {sol:?}");
                }
                iterations = sol.iterations;
                let t = std::time::Instant::now();
                let _ = ualign::certificate::certify(&pop, &pi, 1);
                cert = cert.min(t.elapsed().as_secs_f64() * 1e3);
            }
            println!(
                "margins: build {build:.3} ms, build + solve {whole:.3} ms (of which certificate {cert:.3} ms), {iterations} iterations"
            );
        }
        return;
    }
    let sizes = [
        (5, 7),
        (8, 8),
        (16, 16),
        (24, 100),
        (32, 64),
        (64, 1000),
        (9, 3000),
    ];
    grid(
        "k in 1, 2, 4, 8, 16",
        Model::Ic,
        &sizes,
        &[1, 2, 4, 8, 16],
        1e-4,
    );
    let k1 = [(5, 7), (8, 8), (16, 16), (24, 100), (32, 64), (64, 1000)];
    grid("k = 1", Model::Ic, &k1, &[1], 1e-6);
    let ks = [1, 2, 4, 8, 16];
    grid(
        "quality + taste, k in 1, 2, 4, 8, 16",
        Model::Quality,
        &sizes,
        &ks,
        1e-4,
    );
}
