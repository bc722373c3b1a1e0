//! The reference report for `examples/c/rerank.c`, computed through the Rust API of `ualign`
//! (not through the C ABI). `.ci/capi.sh` diffs this program's stdout against the C program's:
//! every float is printed as the hex of its IEEE-754 bits, so equal text means equal bits.
//!
//! The instance is docs/maths.md §7's majority/minority case over candidates a = 0, b = 1, c = 2:
//! weight 0.6 ranks a > c > b (scores 3, 1, 2), weight 0.4 ranks b > c > a (scores 1, 3, 2).
//! Both programs pass the same `f32` weights and scores; the C ABI widens them to `f64` exactly as
//! done here.
//!
//! Run: `cargo run --release -p ualign-capi --example reference`.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Certificate, Population, Storage,
    certificate::certify,
    sampling,
    solver::{SolveOptions, optimistic_hedge},
};
use ualign_capi::status_of;

const N: usize = 3;
const WEIGHTS: [f32; 2] = [0.6, 0.4];
const SCORES: [[f32; N]; 2] = [[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]];
const K: u32 = 2;
const EPSILON: f32 = 1e-5;
const MAX_ITER: u32 = 10_000;
const SEED: u64 = 42;
const PICKS_K: u32 = 8;

fn hex(x: f32) -> String {
    format!("{:08x}", x.to_bits())
}

fn cert_line(name: &str, c: &Certificate) -> String {
    format!(
        "{name} k={} wcwr={} e={} worst={} bound={}",
        c.k,
        hex(c.worst_case_win_rate),
        hex(c.exploitability),
        c.worst_opponent,
        hex(c.bound)
    )
}

fn build<'a>(
    scores: &[[f32; N]],
    weights: &[f32],
    wbuf: &'a mut [f32],
    obuf: &'a mut [u16],
) -> Result<Population<'a, 1024>, ualign::Error> {
    let mut b = Population::<1024>::builder(N, Storage::new(wbuf, obuf))?;
    for (row, &w) in scores.iter().zip(weights) {
        b.push_scores(w as f64, &row.map(|s| s as f64))?;
    }
    b.finish()
}

fn main() -> Result<(), ualign::Error> {
    let (mut wbuf, mut obuf) = ([0.0f32; 2], [0u16; 2 * N]);
    let pop = build(&SCORES, &WEIGHTS, &mut wbuf, &mut obuf)?;
    println!("init status=0");

    let mut policy = [0.0f32; N];
    let opts = SolveOptions::new(K).epsilon(EPSILON).max_iter(MAX_ITER);
    let sol = optimistic_hedge(&pop, &opts, &mut policy)?;
    println!("solve status=0");
    println!("solve iterations={}", sol.iterations);
    println!("solve policy={}", policy.map(hex).join(" "));
    println!("{}", cert_line("solve", &sol.certificate));

    let point_mass = [1.0f32, 0.0, 0.0];
    println!(
        "{}",
        cert_line("certify_point_mass_a", &certify(&pop, &point_mass, K)?)
    );
    let third = 1.0f32 / 3.0;
    println!(
        "{}",
        cert_line("certify_uniform", &certify(&pop, &[third; N], K)?)
    );

    let mut rng = Xoshiro128PlusPlus::seed_from_u64(SEED);
    let picks = sampling::picks::<_, 1024>(&policy, PICKS_K, &mut rng)?;
    let shown: Vec<String> = picks.iter().map(|p| p.to_string()).collect();
    println!("picks seed={SEED} k={PICKS_K} picks={}", shown.join(" "));
    println!(
        "picks distinct={}",
        sampling::distinct::<1024>(&picks).len()
    );

    let mut nan_scores = SCORES;
    nan_scores[1][2] = f32::NAN;
    let (mut wbuf, mut obuf) = ([0.0f32; 2], [0u16; 2 * N]);
    let status = match build(&nan_scores, &WEIGHTS, &mut wbuf, &mut obuf) {
        Ok(_) => 0,
        Err(e) => status_of(e),
    };
    println!("nan_score status={status}");
    Ok(())
}
