//! Criterion benchmarks of the host's input parsers and of building a core population from a
//! parsed instance, each at two sizes 10x apart (`M_SMALL` and `M_LARGE` user types over 9
//! candidates, as in the Dublin West election). Throughput is in bytes of input, so criterion
//! prints MB/s.
//!
//! `cargo bench -p ualign-benches --bench parse -- --warm-up-time 1 --measurement-time 2`
//!
//! The inputs are generated here from a fixed seed: PrefLib incomplete orders with tie groups,
//! JSON rankings (candidate names) and JSON scores, CSV and whitespace score tables with
//! decimals, and pref_voting's CSV (ranks, `#` count column, read with `--values ranks`).

use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use ualign_host::formats::{Format, Options, Values, parse_with};
use ualign_host::instance::Store;

const N: usize = 9;
const M_SMALL: usize = 10_000;
const M_LARGE: usize = 100_000;

/// splitmix64: a fixed, dependency-free stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A random permutation of `0..n`.
    fn perm(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            p.swap(i, self.below(i + 1));
        }
        p
    }

    /// A random weak order over a prefix of a random permutation: tie groups, best first.
    fn groups(&mut self) -> Vec<Vec<usize>> {
        let p = self.perm(N);
        let len = 1 + self.below(N);
        let mut out: Vec<Vec<usize>> = Vec::new();
        for (i, &c) in p.iter().take(len).enumerate() {
            match out.last_mut() {
                Some(g) if i > 0 && self.below(4) == 0 => g.push(c),
                _ => out.push(vec![c]),
            }
        }
        out
    }
}

fn name(c: usize) -> String {
    format!("Candidate {}", c + 1)
}

fn preflib(m: usize, rng: &mut Rng) -> String {
    let mut s = format!("# FILE NAME: bench.toi\n# NUMBER ALTERNATIVES: {N}\n");
    for c in 0..N {
        let _ = writeln!(s, "# ALTERNATIVE NAME {}: {}", c + 1, name(c));
    }
    for _ in 0..m {
        let _ = write!(s, "{}: ", 1 + rng.below(20));
        let groups = rng.groups();
        for (i, g) in groups.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            if g.len() == 1 {
                let _ = write!(s, "{}", g[0] + 1);
            } else {
                let inner: Vec<String> = g.iter().map(|c| (c + 1).to_string()).collect();
                let _ = write!(s, "{{{}}}", inner.join(","));
            }
        }
        s.push('\n');
    }
    s
}

/// A JSON instance of `m` users with weights 1..=20; `prefs` writes one user's preference field
/// (`"ranking": [...]` or `"scores": [...]`).
fn json_users(m: usize, rng: &mut Rng, prefs: impl Fn(&mut Rng) -> String) -> String {
    let names: Vec<String> = (0..N).map(|c| format!("\"{}\"", name(c))).collect();
    let mut s = format!("{{\"candidates\": [{}],\n \"users\": [\n", names.join(", "));
    for j in 0..m {
        // The preferences are drawn before the weight (the order the benchmark's data was
        // drawn in).
        let prefs = prefs(rng);
        let weight = 1 + rng.below(20);
        let sep = if j + 1 < m { "," } else { "" };
        let _ = writeln!(s, "  {{\"weight\": {weight}, {prefs}}}{sep}");
    }
    s.push_str("]}\n");
    s
}

fn json_rankings(m: usize, rng: &mut Rng) -> String {
    json_users(m, rng, |rng| {
        let groups: Vec<String> = rng
            .groups()
            .iter()
            .map(|g| {
                let v: Vec<String> = g.iter().map(|&c| format!("\"{}\"", name(c))).collect();
                format!("[{}]", v.join(", "))
            })
            .collect();
        format!("\"ranking\": [{}]", groups.join(", "))
    })
}

fn score(rng: &mut Rng) -> String {
    format!("{:.4}", rng.below(2_000_000) as f64 / 1e4 - 100.0)
}

fn json_scores(m: usize, rng: &mut Rng) -> String {
    json_users(m, rng, |rng| {
        let v: Vec<String> = (0..N).map(|_| score(rng)).collect();
        format!("\"scores\": [{}]", v.join(", "))
    })
}

fn table(m: usize, rng: &mut Rng, sep: &str) -> String {
    let mut s = String::from("persona");
    for c in 0..N {
        let _ = write!(s, "{sep}model_{}", c + 1);
    }
    s.push('\n');
    for j in 0..m {
        let _ = write!(s, "persona_{j}");
        for _ in 0..N {
            let _ = write!(s, "{sep}{}", score(rng));
        }
        s.push('\n');
    }
    s
}

/// pref_voting's CSV (`write_csv`, "candidate_columns"): ranks 1 = best, empty = unranked, the
/// count in a last `#` column.
fn pref_voting_csv(m: usize, rng: &mut Rng) -> String {
    let names: Vec<String> = (0..N).map(name).collect();
    let mut s = format!("{},#\n", names.join(","));
    for _ in 0..m {
        let mut rank = [0usize; N];
        for (r, g) in rng.groups().iter().enumerate() {
            for &c in g {
                rank[c] = r + 1;
            }
        }
        for r in rank {
            if r > 0 {
                let _ = write!(s, "{r}");
            }
            s.push(',');
        }
        let _ = writeln!(s, "{}", 1 + rng.below(20));
    }
    s
}

/// `(name, format, options, text)` for every input of `m` user types.
fn inputs(m: usize) -> Vec<(&'static str, Format, Options, String)> {
    let mut rng = Rng(2026 + m as u64);
    let scores = Options::default();
    let ranks = Options {
        values: Some(Values::Ranks),
        header: None,
    };
    vec![
        ("preflib", Format::Preflib, scores, preflib(m, &mut rng)),
        (
            "json-rankings",
            Format::Json,
            scores,
            json_rankings(m, &mut rng),
        ),
        (
            "json-scores",
            Format::Json,
            scores,
            json_scores(m, &mut rng),
        ),
        ("csv", Format::Csv, scores, table(m, &mut rng, ",")),
        ("table", Format::Table, scores, table(m, &mut rng, "\t")),
        (
            "csv-pref-voting",
            Format::Csv,
            ranks,
            pref_voting_csv(m, &mut rng),
        ),
    ]
}

/// A group of 10 samples over 2 s after 0.5 s of warm-up: enough at these sizes.
fn short_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

fn parse(c: &mut Criterion) {
    let mut group = short_group(c, "parse");
    for m in [M_SMALL, M_LARGE] {
        for (name, format, opts, text) in inputs(m) {
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function(BenchmarkId::new(name, m), |b| {
                b.iter(|| parse_with(black_box(&text), "bench", format, &opts).unwrap())
            });
        }
    }
    group.finish();
}

/// Building the core population (capacity 1024 candidates) from a parsed instance.
fn population(c: &mut Criterion) {
    let mut group = short_group(c, "population");
    for m in [M_SMALL, M_LARGE] {
        for (name, format, opts, text) in inputs(m) {
            if !matches!(name, "preflib" | "csv") {
                continue;
            }
            let inst = parse_with(&text, "bench", format, &opts).unwrap().instance;
            let mut store = Store::default();
            group.throughput(Throughput::Elements((inst.m() * inst.n()) as u64));
            group.bench_function(BenchmarkId::new(name, m), |b| {
                b.iter(|| inst.population(&mut store).map(|p| p.m()).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, parse, population);
criterion_main!(benches);
