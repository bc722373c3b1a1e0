//! Share evaluations per solve, cold against warm, over a seeded stream of related requests
//! ([`ScoreStream`]: the same users, the candidates re-scored a little per request).
//!
//! ```sh
//! cargo run --release -p ualign-benches --example warm_stream             # the table
//! cargo run --release -p ualign-benches --example warm_stream -- 64 1000 4 0.02 200 1
//! ```
//!
//! Every request is solved twice with optimistic Hedge to `1e-4`: from the uniform policy
//! (`optimistic_hedge`, cold) and from the equilibrium the warm chain deployed for the request
//! before (`optimistic_hedge_warm`, warm; the first request of a stream is cold in both). The
//! figures are the medians of the evaluations (`Solution::iterations`, the polish's included)
//! over the requests after the first. Evaluation counts are deterministic: no timing.
//!
//! Arguments `n m k sigma requests seed` run one stream; `unrelated` solves 100 independent
//! instances of the model instead, each warm from the equilibrium of the one before (a start
//! far from the new equilibrium); without arguments, the table of benches/README.md. A first
//! argument `polish-off` runs the streams (the table, or the one stream) with
//! `SolveOptions::polish(false)`.

use std::cell::Cell;

use ualign::{
    Population,
    certificate::certify,
    share::Oracle,
    solver::{SolveOptions, optimistic_hedge, optimistic_hedge_warm},
};
use ualign_benches::{CAPACITY, ScoreStream};

/// The population's oracle, counting the polish's Jacobians (which `iterations` does not).
struct Counted<'a, 'p> {
    pop: &'a Population<'p, CAPACITY>,
    jacobians: Cell<u32>,
}

impl Oracle<CAPACITY> for Counted<'_, '_> {
    fn n(&self) -> usize {
        self.pop.n()
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        self.pop.shares_into(pi, k, out);
    }
    fn population(&self) -> Population<'_, CAPACITY> {
        *self.pop
    }
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        self.jacobians.set(self.jacobians.get() + 1);
        self.pop.jacobian_into(pi, k, support, stride, out);
    }
}

/// The target exploitability.
const EPSILON: f32 = 1e-4;

/// What one stream measured.
struct Row {
    cold: Vec<u32>,
    warm: Vec<u32>,
    /// The Jacobians, cold and warm, over all requests after the first.
    jacobians: (u32, u32),
    /// Requests whose certificate missed `EPSILON`, cold and warm.
    missed: (usize, usize),
}

fn median(v: &[u32]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    match s.len() {
        0 => 0.0,
        l if l % 2 == 1 => f64::from(s[l / 2]),
        l => (f64::from(s[l / 2 - 1]) + f64::from(s[l / 2])) / 2.0,
    }
}

fn stream(n: usize, m: usize, k: u32, sigma: f32, requests: usize, seed: u64, polish: bool) -> Row {
    let mut s = ScoreStream::new(n, m, seed, sigma);
    let opts = SolveOptions::new(k).epsilon(EPSILON).polish(polish);
    let mut row = Row {
        cold: Vec::new(),
        warm: Vec::new(),
        jacobians: (0, 0),
        missed: (0, 0),
    };
    let mut previous: Option<Vec<f32>> = None;
    for _ in 0..requests {
        let pop = s.next_population().expect("a valid stream population");
        let oracle = Counted {
            pop: &pop,
            jacobians: Cell::new(0),
        };
        let mut cold = vec![0.0f32; n];
        let c = optimistic_hedge(&oracle, &opts, &mut cold).expect("valid options");
        let Some(start) = &previous else {
            previous = Some(cold);
            continue;
        };
        let cold_jacobians = oracle.jacobians.replace(0);
        let mut warm = vec![0.0f32; n];
        let w = optimistic_hedge_warm(&oracle, &opts, start, &mut warm).expect("a valid start");
        row.jacobians.0 += cold_jacobians;
        row.jacobians.1 += oracle.jacobians.get();
        // The warm start changes the path, never what is certified.
        assert_eq!(w.certificate, certify(&pop, &warm, k).expect("a policy"));
        row.cold.push(c.iterations);
        row.warm.push(w.iterations);
        row.missed.0 += usize::from(!c.converged);
        row.missed.1 += usize::from(!w.converged);
        previous = Some(warm);
    }
    row
}

fn print(n: usize, m: usize, k: u32, sigma: f32, requests: usize, seed: u64, polish: bool) {
    let r = stream(n, m, k, sigma, requests, seed, polish);
    let (c, w) = (median(&r.cold), median(&r.warm));
    let (tc, tw): (u64, u64) = (
        r.cold.iter().map(|&x| u64::from(x)).sum(),
        r.warm.iter().map(|&x| u64::from(x)).sum(),
    );
    println!(
        "| ({n}, {m}, {k}), sigma {sigma} | {c} | {w} | {:.2}x | {tc} / {tw} ({:.2}x) | {} / {} | {} / {} |",
        c / w.max(1.0),
        tc as f64 / tw.max(1) as f64,
        r.jacobians.0,
        r.jacobians.1,
        r.missed.0,
        r.missed.1
    );
}

/// 100 independent instances (stream seeds 0 to 99, first request each), each solved cold and
/// warm from the cold equilibrium of the instance before.
fn unrelated(n: usize, m: usize, k: u32) {
    let opts = SolveOptions::new(k).epsilon(EPSILON);
    let mut previous: Option<Vec<f32>> = None;
    let (mut cold_total, mut warm_total, mut worse, mut excess) = (0u32, 0u32, 0u32, 0u32);
    for seed in 0..100 {
        let mut s = ScoreStream::new(n, m, seed, 0.0);
        let pop = s.next_population().expect("a valid stream population");
        let mut cold = vec![0.0f32; n];
        let c = optimistic_hedge(&pop, &opts, &mut cold).expect("valid options");
        if let Some(start) = &previous {
            let mut warm = vec![0.0f32; n];
            let w = optimistic_hedge_warm(&pop, &opts, start, &mut warm).expect("a valid start");
            assert_eq!(w.certificate, certify(&pop, &warm, k).expect("a policy"));
            cold_total += c.iterations;
            warm_total += w.iterations;
            worse += u32::from(w.iterations > c.iterations);
            excess = excess.max(w.iterations.saturating_sub(c.iterations));
        }
        previous = Some(cold);
    }
    println!(
        "| ({n}, {m}, {k}) | {cold_total} / {warm_total} ({:.2}x) | {worse} of 99 | {excess} |",
        f64::from(cold_total) / f64::from(warm_total.max(1))
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("unrelated") {
        println!(
            "| instances (n, m, k) | evaluations cold / warm | warm took more | most evaluations more |"
        );
        println!("| --- | ---: | ---: | ---: |");
        for (n, m, k) in [(8, 4, 2), (16, 16, 4), (32, 200, 8), (64, 1000, 4)] {
            unrelated(n, m, k);
        }
        return;
    }
    // `polish-off` first: the same streams with `SolveOptions::polish(false)`.
    let polish = args.first().map(String::as_str) != Some("polish-off");
    let args = if polish { &args[..] } else { &args[1..] };
    let (requests, seed) = (200, 1);
    println!(
        "| stream (n, m, k) | cold evaluations, median | warm evaluations, median | ratio | \
         total cold / warm | Jacobians cold / warm | not converged cold / warm |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    if let [n, m, k, sigma, requests, seed] = args {
        let p = |s: &str| {
            s.parse::<f64>()
                .expect("numbers: n m k sigma requests seed")
        };
        print(
            p(n) as usize,
            p(m) as usize,
            p(k) as u32,
            p(sigma) as f32,
            p(requests) as usize,
            p(seed) as u64,
            polish,
        );
        return;
    }
    for (n, m, k) in [
        (8, 4, 2),
        (16, 16, 4),
        (32, 200, 8),
        (64, 1000, 4),
        (16, 16, 1),
    ] {
        for sigma in [0.01, 0.05] {
            print(n, m, k, sigma, requests, seed, polish);
        }
    }
}
