//! `ualign bench`: times the share oracle and the solver on a seeded impartial-culture population
//! and places the oracle on a roofline measured on the same machine.
//!
//! Two kernels are timed: the tool's (core's wide layout at the CPU's vector level, when it has
//! AVX2 or AVX-512 and the orders are strict: `simd` names the level; otherwise the population's)
//! as `share_ns_median`, and the population's portable kernel, the firmware's computation, as
//! `population_share_ns_median`. Each is placed against probes of its own level and access
//! pattern:
//!
//! * **Streaming probe** ([`stream_probe`]): reads the population's order table (`m * n` `u16`)
//!   and its `m` `f32` weights once, summing them, and reports bytes/ns. This is the memory
//!   traffic one share evaluation cannot avoid (the wide layout reads as many bytes).
//! * **Multiply-add probes** ([`peak_probe`], [`peak_probe_simd`]): independent `f32` chains
//!   `s = a * s + b`, the operation of core's share kernel (`share::poly`), compiled the same way
//!   (no fused multiply-add), at the baseline and at the vector level, reporting flops/ns.
//! * **Access probes**: [`IndirectProbe`], for every user and candidate one gather from the
//!   policy and one scatter into the candidate's sum through the order table (the population's
//!   kernel); [`GatherProbe`], the wide layout's gathers by position and by candidate (the wide
//!   kernel). Each is its kernel's access pattern and nothing else, whose time the kernel cannot
//!   beat; `indirect_ns` is the probe of the tool's kernel.
//! * **Work model** ([`share_work`]): one evaluation does `m * n * (3k + 4)` useful flops (the
//!   `k`-step recurrence costs a multiply-add plus the power update, `3k`; class sums, weighting
//!   and accumulation about 4) and moves `m * (2n + 4)` bytes.
//!
//! The roofline floor of one evaluation is the slowest of its flops at the peak, its bytes at
//! the streaming rate and the access probe's time; `roofline_fraction` is that floor over the
//! measured time (`population_roofline_fraction` the same for the population's kernel, against
//! `population_peak_flops_per_ns` and `population_indirect_ns`).
//! `compute_fraction` is the classic arithmetic roofline alone,
//! `achieved / min(peak, bandwidth * intensity)`. All rates are measured with `threads` threads
//! at once: `--threads` as in every command (0: every core when the work pays for them, see
//! [`crate::route::choose`]; the timed computation is the population route, reported as
//! `route`, with its `vector` level and `threads`). `solve_route` is the route `ualign solve`
//! takes on this population at this `k`.
//!
//! When the population gains from a tally ([`TallyStore::tally`]: few candidates, many ballots,
//! as in `dublin-west-ic`), the report adds its build time, a share evaluation and a solve
//! through it (`tally_*`, `null` otherwise); the roofline is the tool's kernel's.
//!
//! The population of `ualign bench --n N --m M --seed S` is [`impartial_culture`]: core's
//! generator, the one the criterion benchmarks draw with, so a seed gives the same population in
//! both.

use std::hint::black_box;
use std::thread;
use std::time::Instant;

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Population, Storage,
    population::TIE_NEXT,
    share::{LANES, Oracle},
    solver::{SolveOptions, optimistic_hedge},
    synthetic,
};

use crate::parallel::ThreadedOracle;
use crate::route::{self, Query, Sum, TallyStore, Task};
use crate::simd::{Kernel, Simd, WideStore};

/// Candidate capacity of the benchmark populations (core's const generic `N`).
pub const CAPACITY: usize = 1024;
/// Share evaluations timed by [`run`]; the median is reported.
pub const SHARE_RUNS: usize = 31;
/// Target exploitability of the timed solve.
pub const SOLVE_EPSILON: f32 = 1e-4;

/// The most solves one `ualign bench --solves S` times.
pub const MAX_SOLVES: usize = 1_000_000;

/// The most entries (user types x candidates, `--m` x `--n`) of a population [`run`] draws:
/// 2^26. At the bound, on one thread of an x86-64 server core, a share evaluation takes about a
/// second and the whole bench two to three minutes, and the bench holds about 4 bytes per
/// entry and 13 more per user type (the order table and the probes' copy of it, the wide
/// layout, the weights): 270 MB at 1,024 candidates, 1.1 GB at one. Far larger sizes would
/// take hours, or more memory than the machine has.
pub const MAX_CELLS: usize = 1 << 26;

/// Draws `m` uniformly random strict rankings over `n` candidates (impartial culture), weight 1
/// each, into `weights` (length `>= m`) and `order` (length `>= m * n`): core's
/// [`synthetic::impartial_culture`] drawn with `Xoshiro128PlusPlus::seed_from_u64(seed)`, the
/// generator of the criterion benchmarks and the tests, so one seed is one population
/// everywhere.
///
/// Errors: core's, e.g. [`ualign::Error::TooManyCandidates`] for `n` above [`CAPACITY`] or
/// [`ualign::Error::TooManyUsers`] when the storage is short.
pub fn impartial_culture<'a>(
    n: usize,
    m: usize,
    seed: u64,
    weights: &'a mut [f32],
    order: &'a mut [u16],
) -> Result<Population<'a, CAPACITY>, ualign::Error> {
    let mut b = Population::<CAPACITY>::builder(n, Storage::new(weights, order))?;
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
    synthetic::impartial_culture(&mut b, m, &mut rng)?;
    b.finish()
}

/// Reads `order` and `weights` once (`reps` times), summing them, and returns the best rate in
/// bytes/ns.
pub fn stream_probe(order: &[u16], weights: &[f32], reps: usize) -> f64 {
    const W: usize = 32;
    let bytes = (order.len() * 2 + weights.len() * 4) as f64;
    let mut best = 0.0f64;
    for _ in 0..reps.max(1) {
        let (order, weights) = (black_box(order), black_box(weights));
        let start = Instant::now();
        let mut acc = [0u32; W];
        let mut chunks = order.chunks_exact(W);
        for c in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(c) {
                *a = a.wrapping_add(x as u32);
            }
        }
        for &x in chunks.remainder() {
            acc[0] = acc[0].wrapping_add(x as u32);
        }
        let mut wacc = [0.0f32; LANES];
        let mut wchunks = weights.chunks_exact(LANES);
        for c in &mut wchunks {
            for (a, &x) in wacc.iter_mut().zip(c) {
                *a += x;
            }
        }
        for &x in wchunks.remainder() {
            wacc[0] += x;
        }
        black_box((acc, wacc));
        let ns = start.elapsed().as_nanos().max(1) as f64;
        best = best.max(bytes / ns);
    }
    best
}

/// The indirect accesses one share evaluation cannot avoid, and nothing else: for every user and
/// every position of its order, read the policy at that candidate and add the weighted value
/// into that candidate's sum (`acc[c] += w * pi[c]`: one gather and one scatter per pair, as the
/// kernel's gather through the order and scatter of the values). Indices are masked into arrays
/// of [`ualign::MAX_CANDIDATES`] entries, so no bounds check costs anything. The arrays are
/// allocated once, by [`IndirectProbe::new`].
pub struct IndirectProbe {
    padded: Box<[f32; ualign::MAX_CANDIDATES]>,
    acc: Box<[f32; ualign::MAX_CANDIDATES]>,
}

impl IndirectProbe {
    /// A probe reading the policy `pi`.
    pub fn new(pi: &[f32]) -> Self {
        let mut padded = Box::new([0.0f32; ualign::MAX_CANDIDATES]);
        for (p, &x) in padded.iter_mut().zip(pi) {
            *p = x;
        }
        IndirectProbe {
            padded,
            acc: Box::new([0.0f32; ualign::MAX_CANDIDATES]),
        }
    }

    /// Runs the accesses over `order` (rows of `n`) and `weights`, `reps` times; returns the
    /// best time in ns.
    pub fn run(&mut self, order: &[u16], weights: &[f32], n: usize, reps: usize) -> f64 {
        const MASK: usize = ualign::MAX_CANDIDATES - 1;
        let mut best = f64::INFINITY;
        for _ in 0..reps.max(1) {
            let (order, weights) = (black_box(order), black_box(weights));
            let start = Instant::now();
            for (row, &w) in order.chunks_exact(n.max(1)).zip(weights) {
                for &e in row {
                    let c = e as usize & MASK;
                    self.acc[c] += w * self.padded[c];
                }
            }
            black_box(&self.acc);
            best = best.min(start.elapsed().as_nanos().max(1) as f64);
        }
        best
    }
}

/// Independent 8-lane `f32` multiply-add chains (`s = a * s + b`, no fused multiply-add) for
/// `iters` rounds; returns the best of `reps` rates in flops/ns.
pub fn peak_probe(iters: u64, reps: usize) -> f64 {
    const CHAINS: usize = 6;
    let flops = (2 * CHAINS * LANES) as f64 * iters as f64;
    let mut best = 0.0f64;
    for _ in 0..reps.max(1) {
        let a = black_box([0.999_f32; LANES]);
        let b = black_box([1e-3_f32; LANES]);
        let mut s = black_box([[0.5_f32; LANES]; CHAINS]);
        let start = Instant::now();
        for _ in 0..iters {
            for chain in s.iter_mut() {
                for l in 0..LANES {
                    chain[l] = a[l] * chain[l] + b[l];
                }
            }
        }
        black_box(s);
        let ns = start.elapsed().as_nanos().max(1) as f64;
        best = best.max(flops / ns);
    }
    best
}

/// [`peak_probe`] at a vector level: `T` independent lanes `s = a * s + b` (a flat array, which
/// the compiler keeps in twelve vector registers: `T` = 192 with AVX-512, 96 with AVX2), enough
/// chains to keep both vector units busy.
pub fn peak_probe_simd(simd: Simd, iters: u64, reps: usize) -> f64 {
    match simd {
        Simd::Avx512 => simd.run(PeakFlat::<192> { iters, reps }),
        Simd::Avx2 => simd.run(PeakFlat::<96> { iters, reps }),
    }
}

/// See [`peak_probe_simd`].
struct PeakFlat<const T: usize> {
    iters: u64,
    reps: usize,
}

impl<const T: usize> Kernel for PeakFlat<T> {
    type Output = f64;
    #[inline(always)]
    fn call(self) -> f64 {
        let flops = (2 * T) as f64 * self.iters as f64;
        let mut best = 0.0f64;
        for _ in 0..self.reps.max(1) {
            let (a, b) = (black_box(0.999_f32), black_box(1e-3_f32));
            let mut s = black_box([0.5_f32; T]);
            let start = Instant::now();
            for _ in 0..self.iters {
                for x in s.iter_mut() {
                    *x = a * *x + b;
                }
            }
            black_box(s);
            let ns = start.elapsed().as_nanos().max(1) as f64;
            best = best.max(flops / ns);
        }
        best
    }
}

/// The accesses of core's wide layout ([`ualign::share::wide`]) and nothing else, compiled at a
/// [`Simd`] level: per group of 16 users and position, the 16 masses gathered through the order
/// bytes into a running sum stored by position; per user and 16 candidates, those sums gathered
/// back through the position bytes into the candidates' sums. The kernel without its
/// recurrence, with the same loops and scratch sizes; the tables are its layout, built here from
/// the population (as [`IndirectProbe`] reads a rebuilt order table).
pub struct GatherProbe {
    n: usize,
    order: Vec<u8>,
    /// Padded with 16 bytes, as core's.
    rank: Vec<u8>,
    policy: Box<[f32; 256]>,
}

impl GatherProbe {
    /// The layout of `pop` (strict orders over at most 256 candidates; `None` otherwise), reading
    /// the policy `pi`.
    pub fn new<const N: usize>(pop: &Population<'_, N>, pi: &[f32]) -> Option<Self> {
        let (n, m) = (pop.n(), pop.m());
        if n > 256 {
            return None;
        }
        let len = m.div_ceil(G).checked_mul(G * n)?;
        let (mut order, mut rank) = (vec![0u8; len], vec![0u8; len + G]);
        for j in 0..m {
            let (g, l) = (j / G, j % G);
            for (p, (c, tie)) in pop.order(j)?.enumerate() {
                if tie {
                    return None;
                }
                *order.get_mut((g * n + p) * G + l)? = c as u8;
                *rank.get_mut(j * n + c)? = p as u8;
            }
        }
        let mut policy = Box::new([0.0f32; 256]);
        for (p, &x) in policy.iter_mut().zip(pi) {
            *p = x;
        }
        Some(GatherProbe {
            n,
            order,
            rank,
            policy,
        })
    }

    /// Runs the accesses at `simd`, `reps` times; returns the best time in ns.
    pub fn run(&self, simd: Simd, reps: usize) -> f64 {
        let mut best = f64::INFINITY;
        for _ in 0..reps.max(1) {
            let start = Instant::now();
            let sum = simd.run(GatherPass(self));
            black_box(sum);
            best = best.min(start.elapsed().as_nanos().max(1) as f64);
        }
        best
    }

    /// One pass with scratch of `C` candidates (16, 64 or 256, as the kernel narrows it).
    #[inline(always)]
    fn pass<const C: usize>(&self) -> f32 {
        let n = self.n;
        let (order, rank) = (black_box(&self.order[..]), black_box(&self.rank[..]));
        let mut values = [[0.0f32; G]; C];
        let mut block = [0.0f32; C];
        let mut g = 0;
        while let (Some(ord), Some(rk)) = (
            order.get(g * G * n..(g + 1) * G * n),
            rank.get(g * G * n..(g + 1) * G * n + G),
        ) {
            let mut below = [0.0f32; G];
            for (v, idx) in values.iter_mut().take(n).zip(ord.chunks_exact(G)).rev() {
                for (l, &c) in idx.iter().enumerate().take(G) {
                    below[l] += self.policy[c as usize];
                }
                *v = below;
            }
            for (c0, chunk) in block.chunks_exact_mut(G).take(n.div_ceil(G)).enumerate() {
                let Ok(chunk) = <&mut [f32; G]>::try_from(chunk) else {
                    continue;
                };
                let mut acc = *chunk;
                #[allow(clippy::needless_range_loop)]
                for l in 0..G {
                    let r = rk.get(l * n + c0 * G..).and_then(|r| r.get(..G));
                    if let Some(Ok(r)) = r.map(<&[u8; G]>::try_from) {
                        for (x, &r) in acc.iter_mut().zip(r) {
                            *x += values[r as usize & (C - 1)][l];
                        }
                    }
                }
                *chunk = acc;
            }
            g += 1;
        }
        block.iter().sum()
    }
}

/// Users per group of the wide layout.
const G: usize = ualign::share::wide::WIDE_LANES;

/// [`GatherProbe`]'s pass as a [`Kernel`].
struct GatherPass<'p>(&'p GatherProbe);

impl Kernel for GatherPass<'_> {
    type Output = f32;
    #[inline(always)]
    fn call(self) -> f32 {
        match self.0.n {
            0..=16 => self.0.pass::<16>(),
            17..=64 => self.0.pass::<64>(),
            _ => self.0.pass::<256>(),
        }
    }
}

/// The work of one share evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShareWork {
    /// Useful floating-point operations: `m * n * (3k + 4)`.
    pub flops: f64,
    /// Bytes streamed from the population: `m * (2n + 4)` (order table and weights; the policy,
    /// the output and the per-user scratch stay in L1).
    pub bytes: f64,
}

impl ShareWork {
    /// Arithmetic intensity, flops per byte.
    pub fn intensity(&self) -> f64 {
        self.flops / self.bytes.max(1.0)
    }

    /// The roofline ceiling in flops/ns: `min(peak, bandwidth * intensity)`.
    pub fn ceiling(&self, peak_flops_per_ns: f64, bytes_per_ns: f64) -> f64 {
        peak_flops_per_ns.min(bytes_per_ns * self.intensity())
    }
}

/// The work model of one share evaluation over `n` candidates, `m` user types, `k` draws.
pub fn share_work(n: usize, m: usize, k: u32) -> ShareWork {
    let (n, m, k) = (n as f64, m as f64, k as f64);
    ShareWork {
        flops: m * n * (3.0 * k + 4.0),
        bytes: m * (2.0 * n + 4.0),
    }
}

/// Median of `xs` (0 when empty).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `probe(part)` for `part in 0..threads` on that many threads at once and returns the
/// results in part order.
fn on_threads<F>(threads: usize, probe: F) -> Result<Vec<f64>, String>
where
    F: Fn(usize) -> f64 + Sync,
{
    if threads <= 1 {
        return Ok(vec![probe(0)]);
    }
    thread::scope(|s| {
        let probe = &probe;
        let mut handles = Vec::with_capacity(threads);
        for part in 0..threads {
            let h = thread::Builder::new()
                .spawn_scoped(s, move || probe(part))
                .map_err(|e| format!("cannot start a probe thread: {e}"))?;
            handles.push(h);
        }
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a probe thread panicked".to_string()))
            .collect()
    })
}

/// Benchmarks the share oracle and optimistic Hedge on a seeded impartial-culture population of
/// `m` user types over `n` candidates with `k` draws, on `threads` threads (0: automatic), and
/// returns one JSON object: `n, m, k, seed, route, vector, threads, solve_route,
/// share_ns_median, stream_bytes_per_ns, peak_flops_per_ns,
/// share_flops_per_ns, roofline_fraction, solve_ns, solve_iterations, solve_exploitability`
/// (plus the work model and whether the solve converged). `solves` cold-start solves of the same
/// population are timed: `solve_ns` is their median, `solve_ns_min` and `solve_ns_max` their
/// spread, and `solve_share_ratio` the median over the time of its own share evaluations
/// (`solve_iterations x share_ns_median`).
///
/// Errors: a message for `n` outside `1..=1024`, `m == 0`, `k` outside `1..=MAX_K`, `solves`
/// outside `1..=MAX_SOLVES`, more than [`MAX_CELLS`] entries `n m`, memory that cannot be had,
/// or a failure of core.
pub fn run(
    n: usize,
    m: usize,
    k: u32,
    seed: u64,
    threads: usize,
    solves: usize,
) -> Result<serde_json::Value, String> {
    if n == 0 || n > CAPACITY {
        return Err(format!("--n must be in 1..={CAPACITY}, got {n}"));
    }
    if m == 0 {
        return Err("--m must be at least 1".into());
    }
    check_k_and_solves(k, solves)?;
    let cells = m.checked_mul(n).filter(|&c| c <= MAX_CELLS).ok_or_else(|| {
        format!(
            "--m {m} with --n {n}: more than {MAX_CELLS} entries (user types x candidates), the \
             most the bench draws (2^26: up to 1.1 GB of tables and minutes of work)"
        )
    })?;
    let mut weights = filled(0.0f32, m, "--m")?;
    let mut order = filled(0u16, cells, "--m")?;
    let pop = impartial_culture(n, m, seed, &mut weights, &mut order).map_err(|e| e.to_string())?;
    let mut report = run_population(pop, k, threads, solves)?;
    report["seed"] = seed.into();
    Ok(report)
}

/// [`run`] on a given population (a preference file).
///
/// Errors: a message for `k` outside `1..=MAX_K`, `solves` outside `1..=MAX_SOLVES`, memory
/// that cannot be had, or a failure of core.
pub fn run_population(
    pop: Population<'_, CAPACITY>,
    k: u32,
    threads: usize,
    solves: usize,
) -> Result<serde_json::Value, String> {
    check_k_and_solves(k, solves)?;
    // The probes read a table of the population's size and layout: its orders, rebuilt (one
    // u16 per position, `TIE_NEXT` on a tie with the next position, as core stores them).
    let n = pop.n();
    let mut order = Vec::new();
    order
        .try_reserve_exact(pop.m().saturating_mul(n))
        .map_err(|e| format!("cannot allocate the probes' copy of the population: {e}"))?;
    for j in 0..pop.m() {
        let row = pop.order(j).ok_or("a user type without an order")?;
        order.extend(row.map(|(c, tie)| c as u16 | if tie { TIE_NEXT } else { 0 }));
    }
    measure(pop, &order, pop.weights(), k, threads, solves)
}

/// The errors of `k` outside `1..=MAX_K` and `solves` outside `1..=MAX_SOLVES`.
fn check_k_and_solves(k: u32, solves: usize) -> Result<(), String> {
    if k == 0 || k > ualign::MAX_K {
        return Err(format!("--k must be in 1..={}, got {k}", ualign::MAX_K));
    }
    if solves == 0 || solves > MAX_SOLVES {
        return Err(format!(
            "--solves must be in 1..={MAX_SOLVES}, got {solves}"
        ));
    }
    Ok(())
}

/// `len` copies of `x`, or an error naming `flag` (the size it comes from) when the memory
/// cannot be had.
fn filled<T: Clone>(x: T, len: usize, flag: &str) -> Result<Vec<T>, String> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|e| {
        format!("{flag}: cannot allocate {len} entries for the population's tables: {e}")
    })?;
    v.resize(len, x);
    Ok(v)
}

/// The measurements of [`run`] on `pop`, whose order table and weights `order` and `weights`
/// (or tables of the same size and layout) the probes read.
fn measure(
    pop: Population<'_, CAPACITY>,
    order: &[u16],
    weights: &[f32],
    k: u32,
    threads: usize,
    solves: usize,
) -> Result<serde_json::Value, String> {
    let (n, m) = (pop.n(), pop.m());
    // The tool's oracle (the wide layout when the CPU has the vectors for it) and the
    // population's own, which the firmware runs.
    let route = route::choose(&Query::new(Task::Bench, k, &pop, false, threads));
    let mut store = WideStore::default();
    let oracle = ThreadedOracle::with_vector(pop, route.threads, route.vector, &mut store)
        .ok_or("the wide layout cannot hold this population")?;
    let portable = ThreadedOracle::new(pop, route.threads);
    let simd = oracle.simd();

    let pi = vec![1.0 / n as f32; n];
    let share_ns = oracle.serve(|o| time_shares(o, &pi, k));
    let population_ns = if simd.is_some() {
        portable.serve(|o| time_shares(o, &pi, k))
    } else {
        share_ns
    };

    let mut policy = vec![0.0f32; n];
    let opts = SolveOptions::new(k).epsilon(SOLVE_EPSILON);
    // Each solve from a cold start on the same population: the same iterations, so the spread
    // is the machine's.
    let mut solve_times = Vec::with_capacity(solves);
    let sol = oracle
        .serve(|o| {
            let mut last = None;
            for _ in 0..solves {
                let start = Instant::now();
                last = Some(optimistic_hedge(o, &opts, &mut policy)?);
                solve_times.push(start.elapsed().as_nanos() as f64);
            }
            Ok(last)
        })
        .map_err(|e: ualign::Error| e.to_string())?
        .ok_or("no solve was timed")?;
    let solve_min = solve_times.iter().copied().fold(f64::INFINITY, f64::min);
    let solve_max = solve_times.iter().copied().fold(0.0, f64::max);
    let solve_ns = median(&mut solve_times) as u64;
    let threads = oracle.threads();
    let tally = tally_report(&pop, &pi, k)?;
    // What `ualign solve` takes here: the tally exactly when `tally_report` built one.
    let solve_route = route::choose(&Query {
        tally_refused: tally.is_none(),
        ..Query::new(Task::Optimistic, k, &pop, false, threads)
    });

    // The population is no longer used: stream its tables, each thread its own part of the users.
    let parts: Vec<(usize, usize)> = {
        let (base, extra) = (m / threads, m % threads);
        let mut start = 0;
        (0..threads)
            .map(|i| {
                let len = base + usize::from(i < extra);
                start += len;
                (start - len, start)
            })
            .collect()
    };
    // Rates add up over the threads; a time is the slowest thread's.
    let stream: f64 = on_threads(threads, |part| {
        let (lo, hi) = parts.get(part).copied().unwrap_or((0, 0));
        stream_probe(
            order.get(lo * n..hi * n).unwrap_or(&[]),
            weights.get(lo..hi).unwrap_or(&[]),
            21,
        )
    })?
    .iter()
    .sum();
    let peak: f64 = on_threads(threads, |_| peak_probe(2_000_000, 5))?
        .iter()
        .sum();
    // The wide kernel's probes, at its level and on each thread's part of the users.
    let wide_probes = match simd {
        Some(simd) => {
            let peak: f64 = on_threads(threads, |_| peak_probe_simd(simd, 2_000_000, 5))?
                .iter()
                .sum();
            let gather = on_threads(threads, |part| {
                let (lo, hi) = parts.get(part).copied().unwrap_or((0, 0));
                pop.users(lo..hi)
                    .and_then(|p| GatherProbe::new(&p, &pi))
                    .map_or(f64::NAN, |probe| probe.run(simd, 21))
            })?
            .into_iter()
            .fold(0.0f64, f64::max);
            Some((peak, gather))
        }
        None => None,
    };
    let indirect = on_threads(threads, |part| {
        let (lo, hi) = parts.get(part).copied().unwrap_or((0, 0));
        IndirectProbe::new(&pi).run(
            order.get(lo * n..hi * n).unwrap_or(&[]),
            weights.get(lo..hi).unwrap_or(&[]),
            n,
            21,
        )
    })?
    .into_iter()
    .fold(0.0f64, f64::max);

    let work = share_work(n, m, k);
    // The floor of one evaluation: the slowest of its arithmetic at the multiply-add peak, its
    // streaming at the measured bandwidth, and its indirect accesses at the probe's speed; each
    // kernel against the probes of its own level and access pattern (the wide layout streams
    // as many bytes: one byte each way per entry instead of one u16).
    let floor = |peak: f64, indirect: f64| {
        (work.flops / peak.max(1e-9))
            .max(work.bytes / stream.max(1e-9))
            .max(indirect)
    };
    let (population_peak, population_indirect) = (peak, indirect);
    let population_floor = floor(peak, indirect);
    let (peak, indirect) = wide_probes.unwrap_or((peak, indirect));
    let floor_ns = floor(peak, indirect);
    let achieved = work.flops / share_ns;
    let ceiling = work.ceiling(peak, stream);
    Ok(serde_json::json!({
        "n": n,
        "m": m,
        "k": k,
        "seed": null,
        "route": Sum::Population.name(),
        "vector": route.vector_name(),
        "threads": threads,
        "solve_route": solve_route.sum.name(),
        "simd": simd.map(Simd::name),
        "share_ns_median": share_ns,
        "stream_bytes_per_ns": stream,
        "peak_flops_per_ns": peak,
        "share_flops_per_ns": achieved,
        "share_work_flops": work.flops,
        "share_work_bytes": work.bytes,
        "intensity_flops_per_byte": work.intensity(),
        "compute_fraction": if ceiling > 0.0 { achieved / ceiling } else { 0.0 },
        "indirect_ns": indirect,
        "roofline_floor_ns": floor_ns,
        "roofline_fraction": floor_ns / share_ns,
        "population_share_ns_median": population_ns,
        "population_peak_flops_per_ns": population_peak,
        "population_indirect_ns": population_indirect,
        "population_roofline_fraction": population_floor / population_ns,
        "solve_ns": solve_ns,
        "solves": solves,
        "solve_ns_min": solve_min as u64,
        "solve_ns_max": solve_max as u64,
        "solve_share_ratio": solve_ns as f64 / (f64::from(sol.iterations) * share_ns).max(1.0),
        "solve_iterations": sol.iterations,
        "solve_exploitability": sol.certificate.exploitability,
        "solve_converged": sol.converged,
        "solve_epsilon": SOLVE_EPSILON,
        "tally_pairs": tally.map(|t| t.pairs),
        "tally_build_ns": tally.map(|t| t.build_ns),
        "tally_share_ns_median": tally.map(|t| t.share_ns),
        "tally_solve_ns": tally.map(|t| t.solve_ns),
        "tally_solve_iterations": tally.map(|t| t.solve_iterations),
        "tally_solve_exploitability": tally.map(|t| t.solve_exploitability),
    }))
}

/// The median time of [`SHARE_RUNS`] share evaluations of `oracle` at `pi` (after three to warm
/// up).
fn time_shares(oracle: &impl Oracle<CAPACITY>, pi: &[f32], k: u32) -> f64 {
    let mut g = vec![0.0f32; pi.len()];
    for _ in 0..3 {
        oracle.shares_into(black_box(pi), k, &mut g);
    }
    let mut times = Vec::with_capacity(SHARE_RUNS);
    for _ in 0..SHARE_RUNS {
        let start = Instant::now();
        oracle.shares_into(black_box(pi), k, &mut g);
        black_box(&g);
        times.push(start.elapsed().as_nanos() as f64);
    }
    median(&mut times).max(1.0)
}

/// What [`run`] reports of a tally.
#[derive(Clone, Copy, Debug)]
struct TallyReport {
    pairs: usize,
    build_ns: u64,
    share_ns: f64,
    solve_ns: u64,
    solve_iterations: u32,
    /// Certified by the population (the solver's certificate).
    solve_exploitability: f32,
}

/// Builds the tally of `pop` when it pays, then times a share evaluation and a solve through it.
fn tally_report(
    pop: &Population<'_, CAPACITY>,
    pi: &[f32],
    k: u32,
) -> Result<Option<TallyReport>, String> {
    let mut store = TallyStore::default();
    let start = Instant::now();
    let Some(tally) = store.tally(pop) else {
        return Ok(None);
    };
    let build_ns = start.elapsed().as_nanos() as u64;
    let share_ns = time_shares(&tally, pi, k);
    let mut policy = vec![0.0f32; pop.n()];
    let opts = SolveOptions::new(k).epsilon(SOLVE_EPSILON);
    let start = Instant::now();
    let sol = optimistic_hedge(&tally, &opts, &mut policy).map_err(|e| e.to_string())?;
    let solve_ns = start.elapsed().as_nanos() as u64;
    Ok(Some(TallyReport {
        pairs: tally.len(),
        build_ns,
        share_ns,
        solve_ns,
        solve_iterations: sol.iterations,
        solve_exploitability: sol.certificate.exploitability,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_every_field() -> Result<(), String> {
        for threads in [1usize, 2] {
            // Three blocks of users, so that two threads have a block each at least.
            let v = run(9, 600, 4, 7, threads, 3)?;
            for key in [
                "share_ns_median",
                "stream_bytes_per_ns",
                "peak_flops_per_ns",
                "share_flops_per_ns",
                "roofline_fraction",
                "compute_fraction",
                "indirect_ns",
                "roofline_floor_ns",
                "solve_ns",
                "solve_iterations",
                "solve_exploitability",
                "population_share_ns_median",
                "population_peak_flops_per_ns",
                "population_indirect_ns",
                "population_roofline_fraction",
            ] {
                let x = v.get(key).and_then(|x| x.as_f64());
                assert!(x.is_some_and(|x| x.is_finite() && x >= 0.0), "{key}: {v}");
            }
            assert_eq!(
                v.get("threads").and_then(|x| x.as_u64()),
                Some(threads as u64)
            );
            // Three solves timed: the median lies in their range, and the ratio is the median
            // over its share evaluations.
            let y = |key: &str| v.get(key).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
            assert_eq!(v.get("solves").and_then(|x| x.as_u64()), Some(3));
            assert!(y("solve_ns_min") <= y("solve_ns") && y("solve_ns") <= y("solve_ns_max"));
            let ratio = y("solve_ns") / (y("solve_iterations") * y("share_ns_median")).max(1.0);
            assert!(
                (y("solve_share_ratio") - ratio).abs() <= 1e-9 * ratio,
                "{v}"
            );
            // The floor is the slowest of its three parts, and the fraction is floor / time.
            let x = |key: &str| v.get(key).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
            let work = share_work(9, 600, 4);
            let parts = [
                work.flops / x("peak_flops_per_ns"),
                work.bytes / x("stream_bytes_per_ns"),
                x("indirect_ns"),
            ];
            let floor = parts.iter().copied().fold(0.0f64, f64::max);
            assert!(
                (x("roofline_floor_ns") - floor).abs() <= 1e-9 * floor,
                "{v}"
            );
            let fraction = floor / x("share_ns_median");
            assert!((x("roofline_fraction") - fraction).abs() <= 1e-12, "{v}");
            // The same for the population's kernel against its own probes.
            let floor = [
                work.flops / x("population_peak_flops_per_ns"),
                work.bytes / x("stream_bytes_per_ns"),
                x("population_indirect_ns"),
            ]
            .into_iter()
            .fold(0.0f64, f64::max);
            let fraction = floor / x("population_share_ns_median");
            assert!(
                (x("population_roofline_fraction") - fraction).abs() <= 1e-9 * fraction,
                "{v}"
            );
            // Without a vector level the tool's kernel is the population's.
            if Simd::detect().is_none() {
                assert_eq!(x("share_ns_median"), x("population_share_ns_median"));
            }
            // The vector level is this CPU's (null without AVX2).
            assert_eq!(
                v.get("simd").and_then(|x| x.as_str()),
                Simd::detect().map(Simd::name),
                "{v}"
            );
            // Too small to tally: `solve` takes the population too.
            assert!(v.get("tally_pairs").is_some_and(|t| t.is_null()), "{v}");
            assert_eq!(v["route"], "population", "{v}");
            assert_eq!(v["solve_route"], "population", "{v}");
            assert_eq!(
                v["vector"],
                Simd::detect().map_or("baseline", Simd::name),
                "{v}"
            );
        }
        Ok(())
    }

    #[test]
    fn run_reports_the_tally_when_it_pays() -> Result<(), String> {
        let v = run(9, 4000, 4, 7, 1, 1)?;
        let x = |key: &str| v.get(key).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
        // Strict orders over 9 candidates: at most 9 * 2^8 pairs.
        assert!(x("tally_pairs") >= 9.0 && x("tally_pairs") <= 2304.0, "{v}");
        assert_eq!(v["solve_route"], "tally", "{v}");
        assert_eq!(v["route"], "population", "{v}");
        for key in ["tally_build_ns", "tally_share_ns_median", "tally_solve_ns"] {
            assert!(x(key) > 0.0, "{key}: {v}");
        }
        assert!(x("tally_solve_iterations") >= 1.0, "{v}");
        assert!(
            x("tally_solve_exploitability") <= 2.0 * SOLVE_EPSILON as f64,
            "{v}"
        );
        Ok(())
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(run(0, 10, 4, 1, 1, 1).is_err());
        assert!(run(2000, 10, 4, 1, 1, 1).is_err());
        assert!(run(5, 0, 4, 1, 1, 1).is_err());
        assert!(run(5, 10, 0, 1, 1, 1).is_err());
        assert!(run(5, 10, 4, 1, 1, 0).is_err());
        assert!(run(5, 10, 4, 1, 1, MAX_SOLVES + 1).is_err());
        // Tables past MAX_CELLS entries, or past what a usize holds, are refused before any
        // memory is reserved, naming --m and the bound.
        for (n, m) in [
            (4, 100_000_000_000),
            (1, MAX_CELLS + 1),
            (1024, usize::MAX / 2),
        ] {
            let e = run(n, m, 2, 1, 1, 1).err().unwrap_or_default();
            assert!(e.starts_with(&format!("--m {m} with --n {n}")), "{e}");
            assert!(e.contains(&MAX_CELLS.to_string()), "{e}");
        }
        // Memory that cannot be had is an error too.
        let e = filled(0u16, usize::MAX / 2, "--m")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("--m: cannot allocate"), "{e}");
        // --threads 0 is automatic: one thread at this size.
        let auto = run(5, 10, 4, 1, 0, 1).map_err(|e| e.to_string());
        assert_eq!(auto.map(|v| v["threads"].as_u64()), Ok(Some(1)));
    }

    #[test]
    fn population_is_seeded() -> Result<(), String> {
        let (mut w1, mut o1) = (vec![0.0f32; 50], vec![0u16; 50 * 6]);
        let (mut w2, mut o2) = (vec![0.0f32; 50], vec![0u16; 50 * 6]);
        let a = impartial_culture(6, 50, 3, &mut w1, &mut o1).map_err(|e| e.to_string())?;
        let b = impartial_culture(6, 50, 3, &mut w2, &mut o2).map_err(|e| e.to_string())?;
        for j in 0..50 {
            let ra: Vec<_> = a.order(j).into_iter().flatten().collect();
            let rb: Vec<_> = b.order(j).into_iter().flatten().collect();
            assert_eq!(ra, rb);
        }
        Ok(())
    }

    #[test]
    fn work_model() {
        let w = share_work(10, 100, 4);
        assert_eq!(w.flops, 100.0 * 10.0 * 16.0);
        assert_eq!(w.bytes, 100.0 * 24.0);
        assert_eq!(w.ceiling(1.0, 1e9), 1.0);
    }
}
