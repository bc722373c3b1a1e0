//! Answers do not depend on the machine: for a given route (`margins`, `tally`, `population`),
//! `solve`, `batch` and `curve` print the same bits for 1, 2, 3 and 8 threads and the automatic
//! count, on generated populations of many blocks of users (with and without ties) and on the
//! real elections of `../shared/data/preflib`; and `--reference` is core's single-threaded
//! population computation (the firmware's), bit for bit.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;
use ualign::solver::{SolveOptions, optimistic_hedge};
use ualign_host::Store;

/// The thread counts compared: given ones and the automatic count.
const THREADS: [&str; 5] = ["1", "2", "3", "8", "0"];

/// A seeded generator for the test populations.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `m` orders over `n` candidates, best first, as groups of tied candidates (0-based), with
/// counts 1 to 5: strict (random permutations), or with `ties` the candidates grouped by a
/// random score from 0 to 3.
fn orders(n: usize, m: usize, ties: bool, seed: u64) -> Vec<(usize, Vec<Vec<usize>>)> {
    let mut rng = XorShift(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    (0..m)
        .map(|j| {
            let groups = if ties {
                let scores: Vec<u64> = (0..n).map(|_| rng.next() % 4).collect();
                (0..4)
                    .rev()
                    .map(|s| (0..n).filter(|&c| scores[c] == s).collect::<Vec<_>>())
                    .filter(|g| !g.is_empty())
                    .collect()
            } else {
                for i in (1..n).rev() {
                    perm.swap(i, (rng.next() % (i as u64 + 1)) as usize);
                }
                perm.iter().map(|&c| vec![c]).collect()
            };
            (1 + j % 5, groups)
        })
        .collect()
}

/// [`orders`] as a PrefLib file (identical orders are merged when read).
fn preflib_text(n: usize, m: usize, ties: bool, seed: u64) -> String {
    let mut out = format!("# NUMBER ALTERNATIVES: {n}\n");
    for c in 1..=n {
        out.push_str(&format!("# ALTERNATIVE NAME {c}: c{c}\n"));
    }
    for (count, groups) in orders(n, m, ties, seed) {
        let groups: Vec<String> = groups
            .iter()
            .map(|g| {
                let names: Vec<String> = g.iter().map(|c| (c + 1).to_string()).collect();
                match names.len() {
                    1 => names.join(","),
                    _ => format!("{{{}}}", names.join(",")),
                }
            })
            .collect();
        out.push_str(&format!("{count}: {}\n", groups.join(",")));
    }
    out
}

/// [`orders`] as one line of the JSON input format.
fn json_line(n: usize, m: usize, ties: bool, seed: u64) -> String {
    let names: Vec<String> = (1..=n).map(|c| format!("\"c{c}\"")).collect();
    let users: Vec<String> = orders(n, m, ties, seed)
        .into_iter()
        .map(|(count, groups)| {
            let groups: Vec<String> = groups
                .iter()
                .map(|g| {
                    let g: Vec<String> = g.iter().map(|c| format!("\"c{}\"", c + 1)).collect();
                    format!("[{}]", g.join(","))
                })
                .collect();
            format!(
                "{{\"weight\": {count}, \"ranking\": [{}]}}",
                groups.join(",")
            )
        })
        .collect();
    format!(
        "{{\"candidates\": [{}], \"users\": [{}]}}",
        names.join(","),
        users.join(",")
    )
}

/// `v` without its `threads` fields (the one thing that may differ), as text: the numbers as
/// printed, so equal text is equal bits.
fn without_threads(mut v: Value) -> String {
    if let Value::Object(o) = &mut v {
        o.remove("threads");
    }
    serde_json::to_string(&v).expect("JSON")
}

/// Runs `args` with each of [`THREADS`]; asserts that every output is the same but for
/// `threads`, and returns the output of one thread with the outputs' `threads` fields.
fn same_on_every_thread_count(args: &[&str]) -> (Value, Vec<u64>) {
    let mut first: Option<(String, Value)> = None;
    let mut threads = Vec::new();
    for t in THREADS {
        let mut a = args.to_vec();
        a.extend(["--threads", t]);
        let v = json(&a);
        threads.push(v.get("threads").and_then(Value::as_u64).unwrap_or(0));
        let text = without_threads(v.clone());
        match &first {
            None => first = Some((text, v)),
            Some((want, _)) => assert_eq!(&text, want, "ualign {a:?} differs from --threads 1"),
        }
    }
    let (_, v) = first.expect("at least one run");
    (v, threads)
}

/// The generated instances: 5,000 strict orders over 40 candidates (20 blocks of users, no
/// tally: too many candidates) and 5,000 orders with ties over 12.
fn generated(dir: &Path) -> (String, String) {
    (
        write(dir, "strict.toc", &preflib_text(40, 5000, false, 7)),
        write(dir, "ties.toc", &preflib_text(12, 5000, true, 11)),
    )
}

#[test]
fn generated_populations_give_the_same_bits_on_every_thread_count() {
    let dir = tempdir();
    let (strict, ties) = generated(&dir);
    // The population route: split into up to 20 blocks' worth of threads.
    let (v, threads) = same_on_every_thread_count(&["solve", &strict, "--k", "3"]);
    assert_eq!(v["route"], "population", "{v}");
    assert_eq!(
        v["m"], 5000,
        "no two of the random strict orders are the same"
    );
    assert_eq!(
        &threads[..4],
        &[1, 2, 3, 8],
        "the threads asked for are used"
    );
    // The same route asked for by --reference: the same answer.
    let (r, _) = same_on_every_thread_count(&["solve", &strict, "--k", "3", "--reference"]);
    assert_eq!(without_threads(r), without_threads(v));
    // Hedge keeps the population's iterates: the same on every thread count too.
    let (h, threads) = same_on_every_thread_count(&[
        "solve",
        &strict,
        "--k",
        "2",
        "--method",
        "hedge",
        "--max-iter",
        "200",
    ]);
    assert_eq!(h["route"], "population", "{h}");
    assert_eq!(&threads[..4], &[1, 2, 3, 8]);
    // With ties: the default route (the tally when the pairs are shared), and the population.
    let (d, threads) = same_on_every_thread_count(&["solve", &ties, "--k", "2"]);
    let route = d["route"].as_str().expect("route");
    assert!(route == "tally" || route == "population", "{d}");
    if route == "tally" {
        assert!(
            threads.iter().all(|&t| t == 1),
            "a tally runs on one thread"
        );
    }
    let (p, threads) = same_on_every_thread_count(&["solve", &ties, "--k", "2", "--reference"]);
    assert_eq!(p["route"], "population", "{p}");
    assert_eq!(
        p["vector"], "baseline",
        "orders with ties are not laid out wide"
    );
    assert_eq!(&threads[..4], &[1, 2, 3, 8]);
    // k = 1: the margin matrix, or with --reference the population.
    let (mg, _) = same_on_every_thread_count(&["solve", &ties, "--k", "1"]);
    assert_eq!(mg["route"], "margins", "{mg}");
    let (mp, _) = same_on_every_thread_count(&["solve", &ties, "--k", "1", "--reference"]);
    assert_eq!(mp["route"], "population", "{mp}");
    // curve and pick solve through the same routes.
    same_on_every_thread_count(&["pick", &strict, "--k", "2", "--seed", "3"]);
    let mut curves = Vec::new();
    for t in ["1", "3", "8"] {
        let o = run(&["curve", &ties, "--k-max", "3", "--threads", t]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        curves.push(o.stdout);
    }
    assert!(curves.windows(2).all(|w| w[0] == w[1]), "{curves:?}");
}

#[test]
fn batch_gives_the_same_bits_on_every_thread_count_and_the_solve_answer() {
    let dir = tempdir();
    let small = r#"{"candidates": ["a", "b", "c"], "users": [{"weight": 0.6, "ranking": [["a"], ["c"], ["b"]]}, {"weight": 0.4, "ranking": [["b"], ["c"], ["a"]]}]}"#;
    // Five and four blocks of users (the JSON reader is slow on long lines: no more).
    let strict = json_line(40, 1200, false, 21);
    let ties = json_line(12, 1000, true, 22);
    let lines = [small, strict.as_str(), "not json", ties.as_str(), small];
    let file = write(&dir, "in.jsonl", &lines.join("\n"));
    for extra in [&[][..], &["--reference"][..]] {
        let mut outputs = Vec::new();
        for t in THREADS {
            let mut args = vec!["batch", file.as_str(), "--k", "2", "--threads", t];
            args.extend(extra);
            let o = run(&args);
            assert_eq!(o.code, 0, "{}", o.stderr);
            let out: Vec<String> = o
                .stdout
                .lines()
                .map(|l| without_threads(serde_json::from_str(l).expect("JSON line")))
                .collect();
            assert_eq!(out.len(), lines.len());
            outputs.push((t, out));
        }
        let (_, want) = &outputs[0];
        for (t, out) in &outputs {
            assert_eq!(out, want, "batch --threads {t} {extra:?}");
        }
        // Each line is what `solve` prints for it.
        for (i, text) in lines.iter().enumerate() {
            let line: Value = serde_json::from_str(&want[i]).expect("JSON line");
            if line.get("error").is_some() {
                assert_eq!(i, 2, "only the bad line fails: {line}");
                continue;
            }
            let one = write(&dir, &format!("line{i}.json"), text);
            let mut args = vec!["solve", one.as_str(), "--k", "2"];
            args.extend(extra);
            let mut line = line;
            if let Value::Object(o) = &mut line {
                o.remove("line");
            }
            assert_eq!(
                without_threads(json(&args)),
                without_threads(line),
                "line {i}"
            );
        }
    }
}

/// The instance's population, built as the tool builds it, solved by core's optimistic Hedge on
/// the population itself, single-threaded: the firmware's computation. `--reference` prints
/// the same bits on every thread count and vector level.
#[test]
fn reference_is_core_single_threaded_population_computation() {
    let dir = tempdir();
    let (strict, ties) = generated(&dir);
    for (file, k) in [(&strict, 3u32), (&ties, 2), (&ties, 1)] {
        let inst = ualign_host::load(Path::new(file), None).expect("load");
        let mut store = Store::default();
        let pop = inst.population(&mut store).expect("population");
        let mut pi = vec![0.0f32; pop.n()];
        let opts = SolveOptions::new(k).epsilon(1e-4).max_iter(10_000);
        let sol = optimistic_hedge(&pop, &opts, &mut pi).expect("core solve");
        let ks = k.to_string();
        let (v, _) = same_on_every_thread_count(&["solve", file, "--k", &ks, "--reference"]);
        assert_eq!(v["route"], "population");
        let printed: Vec<u32> = floats(&v["policy"])
            .iter()
            .map(|&x| (x as f32).to_bits())
            .collect();
        let core: Vec<u32> = pi.iter().map(|x| x.to_bits()).collect();
        assert_eq!(printed, core, "{file}, k = {k}: the policy");
        assert_eq!(v["iterations"], sol.iterations, "{file}, k = {k}");
        assert_eq!(v["converged"], sol.converged, "{file}, k = {k}");
        let c = &v["certificate"];
        assert_eq!(
            (f(&c["worst_case_win_rate"]) as f32).to_bits(),
            sol.certificate.worst_case_win_rate.to_bits(),
            "{file}, k = {k}"
        );
        assert_eq!(
            (f(&c["exploitability"]) as f32).to_bits(),
            sol.certificate.exploitability.to_bits(),
            "{file}, k = {k}"
        );
        assert_eq!(c["worst_opponent_index"], sol.certificate.worst_opponent);
    }
}

fn preflib() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/preflib");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("SKIPPED: {} not found", d.display());
        None
    }
}

/// Every PrefLib election of `../shared`: the default route and the population route give the
/// same bits on every thread count.
#[test]
fn real_elections_give_the_same_bits_on_every_thread_count() {
    let Some(dir) = preflib() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the data directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "soi" || e == "toc"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no elections in {}", dir.display());
    for path in &files {
        let file = path.to_str().expect("path");
        for k in ["1", "2", "4"] {
            same_on_every_thread_count(&["solve", file, "--k", k]);
            let (p, _) = same_on_every_thread_count(&["solve", file, "--k", k, "--reference"]);
            assert_eq!(p["route"], "population", "{file}");
        }
    }
}
