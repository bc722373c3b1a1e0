//! Criterion benchmarks of the share oracle, the certificate, the solvers and the roofline probes.
//!
//! `cargo bench -p ualign-benches` (a few minutes on 2 cores). Sizes: [`ualign_benches::SIZES`].

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ualign::{
    certificate::certify,
    margins::Margins,
    share::{Oracle, shares},
    solver::{POLISH_MAX, SolveOptions, nlhf, nlhf_margins, optimistic_hedge},
};
use ualign_accel::{
    bench::{GatherProbe, IndirectProbe, peak_probe, peak_probe_simd, share_work, stream_probe},
    parallel::ThreadedOracle,
    route::TallyStore,
    simd::{Simd, WideStore},
};
use ualign_benches::{IcStore, SIZES, uniform};

const SEED: u64 = 2026;

fn oracle(c: &mut Criterion) {
    let mut group = c.benchmark_group("oracle");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, n, m, k) in SIZES {
        let mut store = IcStore::new(n, m, SEED);
        let pop = store.population().unwrap();
        let pi = uniform(n);
        let mut g = vec![0.0f32; n];
        let work = share_work(n, m, k);
        let flops = work.flops as u64;
        group.throughput(Throughput::Elements(flops));
        group.bench_function(BenchmarkId::new("shares", name), |b| {
            b.iter(|| shares(&pop, black_box(&pi), k, &mut g).unwrap())
        });
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("certify", name), |b| {
            b.iter(|| certify(&pop, black_box(&pi), k).unwrap())
        });
        // One Newton step of the solver's polish: the Jacobian on a support of up to POLISH_MAX.
        let support: Vec<u16> = (0..n.min(POLISH_MAX) as u16).collect();
        let mut jac = vec![0.0f32; support.len() * support.len()];
        group.bench_function(BenchmarkId::new("jacobian", name), |b| {
            b.iter(|| {
                jac.iter_mut().for_each(|x| *x = 0.0);
                pop.jacobian_into(black_box(&pi), k, &support, support.len(), &mut jac)
            })
        });
        let mut policy = vec![0.0f32; n];
        let opts = SolveOptions::new(k).epsilon(1e-4);
        group.bench_function(BenchmarkId::new("solve-1e-4", name), |b| {
            b.iter(|| optimistic_hedge(&pop, black_box(&opts), &mut policy).unwrap())
        });
        group.bench_function(BenchmarkId::new("nlhf-1e-6", name), |b| {
            b.iter(|| nlhf(&pop, black_box(1e-6), 10_000, &mut policy).unwrap())
        });
        // k = 1 through the margin matrix, building the matrix included (what HiGHS is
        // compared with: margins + LP).
        let mut buf = vec![0.0f64; pop.n() * pop.n()];
        let mut work = vec![0.0f64; (pop.n() + 1) * (pop.n() + 1)];
        group.bench_function(BenchmarkId::new("nlhf-margins-1e-6", name), |b| {
            b.iter(|| {
                let margins = Margins::new(pop, &mut buf).unwrap();
                nlhf_margins(&margins, black_box(1e-6), 10_000, &mut policy, &mut work).unwrap()
            })
        });
        // The tool's single-threaded oracle: the wide layout at the CPU's vector level (the
        // population's bits), when it has AVX2 or AVX-512.
        let mut wide_store = WideStore::default();
        let wide = ThreadedOracle::wide(pop, 1, &mut wide_store);
        if let Some(simd) = wide.simd() {
            wide.serve(|wide| {
                group.throughput(Throughput::Elements(flops));
                group.bench_function(
                    BenchmarkId::new(format!("wide-{}-shares", simd.name()), name),
                    |b| b.iter(|| wide.shares_into(black_box(&pi), k, &mut g)),
                );
                group.throughput(Throughput::Elements(1));
                group.bench_function(
                    BenchmarkId::new(format!("wide-{}-solve-1e-4", simd.name()), name),
                    |b| b.iter(|| optimistic_hedge(wide, black_box(&opts), &mut policy).unwrap()),
                );
            });
        } else {
            eprintln!("no wide benchmarks: this CPU has neither AVX2 nor AVX-512");
        }
        // Through a tally, at the sizes where one pays (what `ualign solve` then takes): its
        // build, a share evaluation, and a solve.
        if TallyStore::default().tally(&pop).is_some() {
            group.bench_function(BenchmarkId::new("tally-build", name), |b| {
                b.iter(|| {
                    let mut t = TallyStore::default();
                    black_box(t.tally(black_box(&pop)).map(|t| t.len()))
                })
            });
            let mut t = TallyStore::default();
            let tally = t.tally(&pop).unwrap();
            group.bench_function(BenchmarkId::new("tally-shares", name), |b| {
                b.iter(|| tally.shares(black_box(&pi), k, &mut g).unwrap())
            });
            group.bench_function(BenchmarkId::new("tally-solve-1e-4", name), |b| {
                b.iter(|| optimistic_hedge(&tally, black_box(&opts), &mut policy).unwrap())
            });
        }
    }
    group.finish();
}

fn roofline(c: &mut Criterion) {
    let mut group = c.benchmark_group("roofline");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, n, m, _) in SIZES {
        let mut store = IcStore::new(n, m, SEED);
        store.population().unwrap();
        let (order, weights) = store.tables();
        group.throughput(Throughput::Bytes(
            (order.len() * 2 + weights.len() * 4) as u64,
        ));
        group.bench_function(BenchmarkId::new("stream", name), |b| {
            b.iter(|| stream_probe(black_box(order), black_box(weights), 1))
        });
        let mut probe = IndirectProbe::new(&uniform(n));
        group.bench_function(BenchmarkId::new("indirect", name), |b| {
            b.iter(|| probe.run(black_box(order), black_box(weights), n, 1))
        });
        // The wide layout's gathers alone, at the CPU's level.
        let pop = store.population().unwrap();
        if let (Some(simd), Some(gather)) = (Simd::detect(), GatherProbe::new(&pop, &uniform(n))) {
            group.bench_function(
                BenchmarkId::new(format!("gather-{}", simd.name()), name),
                |b| b.iter(|| gather.run(simd, 1)),
            );
        }
    }
    let iters = 100_000u64;
    group.throughput(Throughput::Elements(2 * 6 * 8 * iters));
    group.bench_function("multiply-add", |b| {
        b.iter(|| peak_probe(black_box(iters), 1))
    });
    if let Some(simd) = Simd::detect() {
        let lanes = if simd == Simd::Avx512 { 192 } else { 96 };
        group.throughput(Throughput::Elements(2 * lanes * iters));
        group.bench_function(format!("multiply-add-{}", simd.name()), |b| {
            b.iter(|| peak_probe_simd(simd, black_box(iters), 1))
        });
    }
    group.finish();
}

criterion_group!(benches, oracle, roofline);
criterion_main!(benches);
