//! Files other tools write, read without misreads: pref_voting's CSV (ranks, `#` counts, and its
//! `rank_columns` CSV), PrefLib files numbered from 0 (pref_voting, preflibtools), `--values`,
//! and standard input (`-`).
//!
//! The pref_voting files in `tests/data/pref_voting/` were written by pref_voting's own writers
//! (`make.py` there says how); `expected.json` holds pref_voting's own margins and maximal
//! lotteries for them. The checks: the instance ualign reads has exactly pref_voting's margins
//! in ualign's convention (unranked candidates tied at the bottom, pref_voting's
//! `use_extended_strict_preference`), and `solve --k 1` returns a maximal lottery of those
//! margins (pref_voting's own when it is unique).

mod common;
use common::*;

use std::path::{Path, PathBuf};

use ualign_host::formats::{Options, Values, load_with};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pref_voting")
        .join(name)
}

fn expected() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(data("expected.json")).expect("expected.json");
    match serde_json::from_str(&text).expect("JSON") {
        serde_json::Value::Object(m) => m,
        _ => panic!("expected.json is not an object"),
    }
}

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array().expect("matrix").iter().map(floats).collect()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("names")
        .iter()
        .map(|s| s.as_str().expect("name").to_string())
        .collect()
}

/// Margins with unlisted candidates tied at the bottom, from the instance ualign read, in the
/// order of `order` (candidate names).
fn margins_read(file: &Path, values: Option<Values>, order: &[String]) -> Vec<Vec<f64>> {
    let parsed = load_with(
        file,
        None,
        &Options {
            values,
            header: None,
        },
    )
    .expect("reads");
    let inst = parsed.instance;
    let idx: Vec<usize> = order
        .iter()
        .map(|s| {
            inst.candidates
                .iter()
                .position(|c| c == s)
                .unwrap_or_else(|| panic!("{s} not in {:?}", inst.candidates))
        })
        .collect();
    let n = order.len();
    assert_eq!(inst.n(), n);
    let mut m = vec![vec![0.0; n]; n];
    for u in &inst.users {
        let Some(groups) = u.prefs.groups() else {
            panic!("{}: not read as rankings", file.display())
        };
        // Level of each candidate: its group, unlisted below all.
        let mut level = vec![groups.len(); inst.n()];
        for (g, group) in groups.iter().enumerate() {
            for &c in group {
                level[c as usize] = g;
            }
        }
        for a in 0..n {
            for b in 0..n {
                let (la, lb) = (level[idx[a]], level[idx[b]]);
                if la < lb {
                    m[a][b] += u.weight;
                } else if lb < la {
                    m[a][b] -= u.weight;
                }
            }
        }
    }
    m
}

#[test]
fn pref_voting_files_are_read_with_its_margins() {
    for (file, e) in expected() {
        let values = e["values"].as_str().map(|_| Values::Ranks);
        let order = names(&e["candidates"]);
        let got = margins_read(&data(&file), values, &order);
        assert_eq!(got, matrix(&e["margins_extended"]), "{file}");
    }
}

#[test]
fn pref_voting_files_solve_to_its_maximal_lottery() {
    for (file, e) in expected() {
        let path = data(&file);
        let path = path.to_str().expect("path");
        let mut args = vec!["solve", path, "--k", "1", "--eps", "1e-6", "--threads", "1"];
        if e["values"].is_string() {
            args.extend(["--values", "ranks"]);
            // Without the flag the CSV is refused, naming it.
            let o = run(&args[..args.len() - 2]);
            assert_eq!(o.code, 2, "{file}: {}", o.stderr);
            assert!(o.stderr.contains("--values"), "{file}: {}", o.stderr);
        }
        let o = run(&args);
        assert_eq!(o.code, 0, "{file}: {}", o.stderr);
        if file.ends_with(".csv") {
            assert!(o.stderr.is_empty(), "{file}: {}", o.stderr);
        } else {
            // pref_voting's PrefLib files number alternatives from 0, and ualign says so.
            assert_eq!(o.stderr.lines().count(), 1, "{file}: {}", o.stderr);
            assert!(o.stderr.contains("numbered from 0"), "{file}: {}", o.stderr);
        }
        let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
        let order = names(&e["candidates"]);
        let cands = names(&v["candidates"]);
        let pi = floats(&v["policy"]);
        let p: Vec<f64> = order
            .iter()
            .map(|s| pi[cands.iter().position(|c| c == s).expect("candidate")])
            .collect();
        // A maximal lottery of pref_voting's margins: no candidate beats it on average.
        let m = matrix(&e["margins_extended"]);
        let voters = f(&e["voters"]);
        for y in 0..p.len() {
            let margin: f64 = (0..p.len()).map(|x| p[x] * m[x][y]).sum::<f64>() / voters;
            assert!(
                margin >= -1e-5,
                "{file}: {} beats {p:?} by {margin}",
                order[y]
            );
        }
        if e["unique"].as_bool() == Some(true) {
            let ml = floats(&e["maximal_lottery_extended"]);
            let l1: f64 = p.iter().zip(&ml).map(|(a, b)| (a - b).abs()).sum();
            assert!(l1 <= 1e-3, "{file}: {p:?} vs pref_voting's {ml:?}");
        }
    }
}

/// The truncated ballots on which the conventions disagree (docs/conventions.md): pref_voting's
/// default counts only pairs both ranked and elects c; unranked candidates tied at the bottom
/// (ualign, and pref_voting with `use_extended_strict_preference`) elect a.
#[test]
fn truncated_ballots_follow_the_bottom_tie_convention() {
    let e = expected();
    for file in ["truncated.csv", "truncated.soi"] {
        let e = &e[file];
        assert_eq!(names(&e["candidates"]), ["a", "b", "c"]);
        assert_eq!(floats(&e["maximal_lottery_default"]), [0.0, 0.0, 1.0]);
        assert_eq!(floats(&e["maximal_lottery_extended"]), [1.0, 0.0, 0.0]);
        let path = data(file);
        let mut args = vec!["solve", path.to_str().expect("path"), "--k", "1"];
        if file.ends_with(".csv") {
            args.extend(["--values", "ranks"]);
        }
        let v = json(&args);
        let pi = floats(&v["policy"]);
        assert!(pi[0] > 0.999, "{file}: {pi:?}");
    }
}

/// A rank table and the PrefLib file of the same ballots are the same instance: the same
/// answer, bit for bit. Unranked candidates and equal ranks tie.
#[test]
fn a_rank_table_solves_like_its_preflib_file() {
    let dir = tempdir();
    let csv = write(
        &dir,
        "r.csv",
        "voter,w,x,y,z,count\nv1,1,2,2,,3\nv2,,1,3,2,2\nv3,2,1,,,1\nv4,1,3,2,4,2\n",
    );
    let toi = write(
        &dir,
        "r.toi",
        "# ALTERNATIVE NAME 1: w\n# ALTERNATIVE NAME 2: x\n# ALTERNATIVE NAME 3: y\n\
         # ALTERNATIVE NAME 4: z\n3: 1,{2,3}\n2: 2,4,3\n1: 2,1\n2: 1,3,2,4\n",
    );
    for k in ["1", "2", "3"] {
        let a = json(&[
            "solve",
            &csv,
            "--k",
            k,
            "--values",
            "ranks",
            "--threads",
            "1",
        ]);
        let b = json(&["solve", &toi, "--k", k, "--threads", "1"]);
        assert_eq!(a, b, "k = {k}");
    }
    // The same numbers as scores are another instance: b is the Condorcet winner of the
    // scores (higher is better), a the unanimous first choice of the ranks.
    let file = write(&dir, "s.csv", "a,b,c\n1,2,3\n1,3,2\n1,3,2\n");
    let s = json(&["solve", &file, "--k", "1", "--values", "scores"]);
    let r = json(&["solve", &file, "--k", "1", "--values", "ranks"]);
    assert!(floats(&s["policy"])[1] > 0.999, "{s}");
    assert!(floats(&r["policy"])[0] > 0.999, "{r}");
}

fn expect_refused(args: &[&str], needles: &[&str]) {
    let o = run(args);
    assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
    assert!(o.stdout.is_empty());
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    for n in needles {
        assert!(o.stderr.contains(n), "{args:?}: {:?} lacks {n:?}", o.stderr);
    }
}

#[test]
fn tables_that_look_like_ranks_are_refused_naming_values() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        ("hash.csv", "a,b,#\n1,2,3\n2,1,1\n", &["hash.csv:1:", "`#`"]),
        (
            "rank.csv",
            "model,Rank\nm1,0.5\nm2,3\n",
            &["rank.csv:1:", "`Rank`"],
        ),
        (
            "cols.csv",
            "Rank1,Rank2\nx,y\n",
            &["cols.csv:1:", "`Rank1`"],
        ),
        (
            "empty.csv",
            "a,b,c\n0.5,0.25,1\n0.5,,2\n",
            &["empty.csv:3:", "empty cell"],
        ),
        (
            "perm.csv",
            "a,b,c\n1,2,3\n3,1,2\n",
            &["perm.csv:", "whole numbers from 1 to 3"],
        ),
        (
            "ties.txt",
            "x 1 1 3\ny 2 1 1\n",
            &["ties.txt:", "whole numbers from 1 to 3"],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, body);
        let mut all = needles.to_vec();
        all.extend(["--values ranks", "--values scores"]);
        for cmd in [
            vec!["solve", &file, "--k", "1"],
            vec!["eval", &file, "--k", "1", "--policy", "[1,0,0]"],
            vec!["curve", &file, "--k-max", "2"],
            vec!["pick", &file, "--k", "1"],
            vec!["opponents", &file, "--k", "1", "--l", "1"],
            vec!["bench", "--input", &file, "--k", "1"],
        ] {
            expect_refused(&cmd, &all);
        }
    }
    // Unambiguous tables are read as scores without the flag.
    for body in [
        "a,b,c\n2,1,0\n0,2,1\n",
        "a,b,c\n0.9,0.1,0.5\n",
        "a,b,c\n1,2,4\n3,1,2\n",
        "a,b,c\n2,2,2\n",
    ] {
        let file = write(&dir, "ok.csv", body);
        let o = run(&["solve", &file, "--k", "1"]);
        assert_eq!(o.code, 0, "{body:?}: {}", o.stderr);
    }
    // --values is for tables only.
    let json_file = write(
        &dir,
        "i.json",
        "{\"candidates\": [\"a\"], \"users\": [{\"scores\": [1]}]}",
    );
    let soc = write(&dir, "i.soc", "1: 1,2\n");
    for file in [&json_file, &soc] {
        expect_refused(
            &["solve", file, "--k", "1", "--values", "ranks"],
            &["--values applies to score tables"],
        );
    }
}

#[test]
fn preflib_numbering_from_zero_only_when_it_is_the_one_reading() {
    let dir = tempdir();
    let head0 = "# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 0: a\n# ALTERNATIVE NAME 1: b\n\
                 # ALTERNATIVE NAME 2: c\n";
    // Named from 0; used from 0 without a header (n = largest + 1).
    for (name, body, n) in [
        ("named.soc", format!("{head0}2: 2,1,0\n1: 0,1,2\n"), 3),
        ("bare.soi", "2: 3,0\n1: 1\n".to_string(), 4),
    ] {
        let file = write(&dir, name, &body);
        let o = run(&["solve", &file, "--k", "1"]);
        assert_eq!(o.code, 0, "{name}: {}", o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
        assert!(
            o.stderr.contains("numbered from 0") && o.stderr.contains(name),
            "{}",
            o.stderr
        );
        let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
        assert_eq!(f(&v["n"]) as usize, n, "{name}");
    }
    let v = json(&[
        "solve",
        &write(&dir, "n.soc", &format!("{head0}2: 2,1,0\n1: 0,1,2\n")),
        "--k",
        "1",
    ]);
    assert_eq!(v["candidates"], serde_json::json!(["a", "b", "c"]));
    assert!(floats(&v["policy"])[2] > 0.999, "{v}");
    // Numbered from 1: no note.
    let o = run(&[
        "solve",
        &write(&dir, "one.soc", "# NUMBER ALTERNATIVES: 2\n1: 1,2\n"),
        "--k",
        "1",
    ]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    // 0 and n both appear: neither numbering fits. pref_voting writes such a file when a
    // candidate is never ranked (its NUMBER ALTERNATIVES counts the ranked ones only).
    let writer_bug = "# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 0: 0\n# ALTERNATIVE NAME 1: 1\n\
                      # ALTERNATIVE NAME 2: 2\n# ALTERNATIVE NAME 3: 3\n4: 2\n2: {0, 1}, 2\n";
    expect_refused(
        &["solve", &write(&dir, "bug.toi", writer_bug), "--k", "1"],
        &[
            "bug.toi:2:",
            "alternative 0",
            "alternative 3 (line 5)",
            "neither numbering",
        ],
    );
    expect_refused(
        &[
            "solve",
            &write(
                &dir,
                "mixed.soi",
                "# NUMBER ALTERNATIVES: 3\n1: 3,1\n1: 0,2\n",
            ),
            "--k",
            "1",
        ],
        &[
            "mixed.soi:3:",
            "unknown candidate 0",
            "alternative 3 (line 2)",
        ],
    );
    // From 0 with a number past the last alternative.
    expect_refused(
        &[
            "solve",
            &write(&dir, "past.soi", "# NUMBER ALTERNATIVES: 3\n1: 0,4\n"),
            "--k",
            "1",
        ],
        &["past.soi:2:", "unknown candidate 4", "numbered from 0"],
    );
}

#[test]
fn a_file_of_dash_reads_standard_input() {
    let dir = tempdir();
    let inputs = [
        (
            "json",
            "{\"candidates\": [\"a\", \"b\", \"c\"], \"users\": [{\"weight\": 2, \"ranking\": \
             [[\"a\"], [\"c\"]]}, {\"scores\": [0, 3, 1]}]}",
        ),
        (
            "preflib",
            "# NUMBER ALTERNATIVES: 3\n3: 1,3,2\n2: 2,{1,3}\n",
        ),
        ("csv", "a,b,c\n0.5,0.25,0\n0,1,0.5\n"),
        ("table", "a b c\n0.5 0.25 0\n0 1 0.5\n"),
    ];
    for (format, text) in inputs {
        let ext = if format == "preflib" { "toc" } else { format };
        let file = write(&dir, &format!("in.{ext}"), text);
        let file = file.as_str();
        for cmd in [
            vec!["solve", "-", "--k", "2"],
            vec!["eval", "-", "--k", "2", "--policy", "[0.5,0.25,0.25]"],
            vec!["curve", "-", "--k-max", "2"],
            vec!["pick", "-", "--k", "2", "--seed", "7"],
            vec!["opponents", "-", "--k", "2", "--l", "1"],
        ] {
            let mut from_file = cmd.clone();
            from_file[1] = file;
            let want = run(&from_file);
            assert_eq!(want.code, 0, "{from_file:?}: {}", want.stderr);
            let mut args = cmd.clone();
            args.extend(["--format", format]);
            let got = run_stdin(&args, text);
            assert_eq!(got.code, 0, "{args:?}: {}", got.stderr);
            assert_eq!(got.stdout, want.stdout, "{args:?}");
            // Without --format: refused, naming it.
            let o = run_stdin(&cmd, text);
            assert_eq!((o.code, o.stdout.as_str()), (2, ""), "{cmd:?}");
            assert!(o.stderr.contains("--format"), "{cmd:?}: {}", o.stderr);
        }
        let o = run_stdin(
            &["bench", "--input", "-", "--k", "2", "--format", format],
            text,
        );
        assert_eq!(o.code, 0, "bench {format}: {}", o.stderr);
        let o = run_stdin(&["bench", "--input", "-", "--k", "2"], text);
        assert!(o.code == 2 && o.stderr.contains("--format"), "{}", o.stderr);
    }
    // Errors name standard input and the line.
    let o = run_stdin(
        &["solve", "-", "--k", "1", "--format", "preflib"],
        "1: 1,2\n1: 2,2\n",
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("<stdin>:2:"), "{}", o.stderr);
    // device reads its input before it starts QEMU.
    let o = run_stdin(&["device", "-", "--qemu", "--k", "2"], "1: 1,2\n");
    assert!(o.code == 2 && o.stderr.contains("--format"), "{}", o.stderr);
    // batch: JSON lines is its one format, so `-` needs no --format.
    let lines = "{\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [1, 0]}]}\n\
                 {\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [0, 1]}]}\n";
    let file = write(&dir, "b.jsonl", lines);
    let want = run(&["batch", &file, "--k", "1", "--threads", "1"]);
    let got = run_stdin(&["batch", "-", "--k", "1", "--threads", "1"], lines);
    assert_eq!((got.code, want.code), (0, 0), "{}", got.stderr);
    assert_eq!(got.stdout, want.stdout);
}
