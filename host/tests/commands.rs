//! batch, pick, opponents, demo and the SVG output.

mod common;
use common::*;

const MAJMIN: &str = r#"{"candidates": ["a", "b", "c"], "users": [{"weight": 0.6, "ranking": [["a"], ["c"], ["b"]]}, {"weight": 0.4, "ranking": [["b"], ["c"], ["a"]]}]}"#;
const UNANIMOUS: &str = r#"{"candidates": ["x", "y"], "users": [{"scores": [1, 0]}]}"#;

#[test]
fn batch_keeps_order_and_reports_bad_lines() {
    let dir = tempdir();
    let bad = r#"{"candidates": ["a", "b"], "users": [{"ranking": [["a"], ["a"]]}]}"#;
    let input = [MAJMIN, UNANIMOUS, bad, "not json", MAJMIN, UNANIMOUS].join("\n");
    let file = write(&dir, "in.jsonl", &input);
    let o = run(&["batch", &file, "--k", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        o.stderr
    );
    let lines: Vec<serde_json::Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 6);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(f(&v["line"]) as usize, i + 1);
    }
    for i in [0, 4] {
        let pi = floats(&lines[i]["policy"]);
        close(pi[0], 0.8, 1e-3, "batch majmin");
        close(
            f(&lines[i]["certificate"]["worst_case_win_rate"]),
            2.0 / 3.0,
            1e-4,
            "batch",
        );
        assert_eq!(lines[i]["k"], 2);
    }
    for i in [1, 5] {
        assert_eq!(lines[i]["candidates"], serde_json::json!(["x", "y"]));
        close(f(&lines[i]["policy"][0]), 1.0, 1e-3, "unanimous");
    }
    let e = lines[2]["error"].as_str().expect("error object");
    assert!(e.contains("\"a\" ranked twice"), "{e}");
    assert!(lines[2].get("policy").is_none());
    assert!(lines[3]["error"].is_string());
}

/// A batch is read and written a window of lines at a time (here of 70, 259, then 1029 lines at
/// a time and the last 555: windows of 64 lines growing fourfold to 1024, each ending on a
/// chain's end): the lines keep their numbers and order across windows, `\r\n` ends a line as
/// `\n` does, a line that is not UTF-8 is that line's error (the batch goes on), and warm chains
/// of 7 lines run across the window's end (a window ends on a chain's end) the same on one thread
/// and on two.
#[test]
fn batch_streams_windows_in_order_and_refuses_bad_lines_alone() {
    let dir = tempdir();
    let total = 5000usize;
    let mut bytes = Vec::new();
    for i in 1..=total {
        match i {
            4099 => bytes.extend_from_slice(b"{\"candidates\": [\"\xff\"]}"),
            4100 => bytes.extend_from_slice(b"not json"),
            _ if i % 3 == 0 => bytes.extend_from_slice(MAJMIN.as_bytes()),
            _ => bytes.extend_from_slice(UNANIMOUS.as_bytes()),
        }
        bytes.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n" });
    }
    let p = dir.join("many.jsonl");
    std::fs::write(&p, &bytes).expect("write");
    let file = p.to_string_lossy().into_owned();
    let mut outputs = Vec::new();
    for t in ["1", "2"] {
        let o = run(&[
            "batch",
            &file,
            "--k",
            "2",
            "--warm",
            "--warm-block",
            "7",
            "--threads",
            t,
        ]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        outputs.push(o.stdout.replace(",\"threads\":2", ",\"threads\":1"));
    }
    assert_eq!(outputs[0], outputs[1], "threads");
    let lines: Vec<serde_json::Value> = outputs[0]
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), total);
    for (i, v) in lines.iter().enumerate() {
        let line = i + 1;
        assert_eq!(f(&v["line"]) as usize, line);
        match line {
            4099 => assert_eq!(v["error"], "not valid UTF-8 text"),
            4100 => assert!(v["error"].is_string()),
            _ => {
                assert_eq!(v["k"], 2, "line {line}");
                // Warm after a line of the same candidates (two in a row of the 2-candidate
                // instance) in the same chain of 7.
                let same = line % 3 != 0 && (line - 1) % 3 != 0;
                let first = (line - 1) % 7 == 0;
                let after_bad = line == 4101;
                let want = !first && !after_bad && same;
                assert_eq!(v["warm"], want, "line {line}");
            }
        }
    }
}

#[test]
fn pick_is_seeded_and_samples_the_support() {
    let dir = tempdir();
    let file = write(&dir, "mm.json", MAJMIN);
    let a = json(&["pick", &file, "--k", "5", "--seed", "42"]);
    let b = json(&["pick", &file, "--k", "5", "--seed", "42"]);
    assert_eq!(a["picks"], b["picks"]);
    let picks = a["picks"].as_array().expect("picks");
    assert_eq!(picks.len(), 5);
    // The k = 5 equilibrium puts no mass on c.
    assert!(picks.iter().all(|p| p == "a" || p == "b"), "{picks:?}");
    let distinct = a["distinct"].as_array().expect("distinct");
    assert!(!distinct.is_empty() && distinct.len() <= 2);
    for d in distinct {
        assert!(picks.contains(d));
    }
    close(
        f(&a["certificate"]["worst_case_win_rate"]),
        5.0 / 6.0,
        1e-4,
        "pick certificate",
    );
    let u = json(&[
        "pick",
        &write(&dir, "u.json", UNANIMOUS),
        "--k",
        "3",
        "--seed",
        "7",
    ]);
    assert_eq!(u["picks"], serde_json::json!(["x", "x", "x"]));
    assert_eq!(u["distinct"], serde_json::json!(["x"]));
}

#[test]
fn opponents_report_and_bounds() {
    let dir = tempdir();
    let file = write(&dir, "mm.json", MAJMIN);
    // l = 1 is the single worst response: the certificate, 2/3 at k = 2.
    let v = json(&["opponents", &file, "--k", "2", "--l", "1"]);
    close(f(&v["win_rate"]), 2.0 / 3.0, 1e-4, "l=1");
    // The policy the figures are about is printed: its own certificate is the report's.
    let policy = v["policy"].to_string();
    let e = json(&["eval", &file, "--k", "2", "--policy", &policy]);
    assert_eq!(
        e["certificate"]["exploitability"], v["exploitability"],
        "{v}"
    );
    close(f(&v["lower_bound"]), 2.0 / 3.0, 1e-6, "(k+1-l)/(k+1)");
    close(f(&v["upper_bound"]), 2.0 / 3.0, 1e-6, "k/(k+l)");
    // l = 2 at k = 2: bounds 1/3 and 1/2; the exact worst pair is computed independently.
    let v = json(&["opponents", &file, "--k", "2", "--l", "2"]);
    close(f(&v["lower_bound"]), 1.0 / 3.0, 1e-6, "lower");
    close(f(&v["upper_bound"]), 0.5, 1e-6, "upper");
    let wr = f(&v["win_rate"]);
    assert!(wr >= 1.0 / 3.0 - 1e-4, "{wr}");
    // Against (0.8, 0.2, 0): Z = {a, b}. 60% users: A = {a}, t = 1, c = 0.8, b = 0.2;
    // 40%: A = {b}, t = 1, c = 0.2, b = 0.8. chance = sum_i C(2,i) c^i b^(2-i) / (1+i).
    let chance = |c: f64, b: f64| b * b + 2.0 * c * b / 2.0 + c * c / 3.0;
    let ab = 0.6 * chance(0.8, 0.2) + 0.4 * chance(0.2, 0.8);
    let aa = 0.6 * (0.2f64 * 0.2 + 2.0 * 0.8 * 0.2 * 2.0 / 3.0 + 0.64 * 2.0 / 4.0) + 0.4 * 0.0;
    let bb = 0.4 * (0.64 + 2.0 * 0.2 * 0.8 * 2.0 / 3.0 + 0.04 * 2.0 / 4.0);
    let worst = ab.max(aa).max(bb);
    close(f(&v["opponent_win_rate"]), worst, 2e-3, "worst pair");
    assert_eq!(v["opponent"].as_array().map(|a| a.len()), Some(2));
    // l = k + 1: the union bound is exactly 0, and a probability's bound is never below 0.
    let v = json(&["opponents", &file, "--k", "2", "--l", "3"]);
    assert_eq!(f(&v["lower_bound"]), 0.0, "{v}");
    assert!(f(&v["lower_bound_approximate"]) >= 0.0, "{v}");
}

/// The table's win rates are the JSON's certified figures cut to four decimals, never rounded
/// up past them (counts 3 and 2: the equilibrium at k = 3 certifies 0.74998974, which rounding
/// printed as 0.7500), and its bound is k/(k+1) cut the same way.
#[test]
fn curve_table_cuts_certified_figures_down() {
    let dir = tempdir();
    let text = r#"{"candidates": ["a", "b", "c"], "users": [
        {"weight": 3, "ranking": [["a"], ["c"], ["b"]]},
        {"weight": 2, "ranking": [["b"], ["c"], ["a"]]}]}"#;
    let file = write(&dir, "mm.json", text);
    let json = run(&["curve", &file, "--k-max", "6"]);
    let table = run(&["curve", &file, "--k-max", "6", "--table"]);
    assert_eq!(
        (json.code, table.code),
        (0, 0),
        "{}{}",
        json.stderr,
        table.stderr
    );
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("json");
    let lines: Vec<&str> = table.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), rows.len());
    let mut cut_somewhere = false;
    for (line, row) in lines.iter().zip(&rows) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let k = row["k"].as_u64().expect("k");
        assert_eq!(cells[0], k.to_string());
        for (cell, key) in
            cells[1..5]
                .iter()
                .zip(["equilibrium", "nlhf", "reward_model", "uniform"])
        {
            // The JSON's decimal, its digits after the fourth dropped, in integers.
            let figure = row[key].to_string();
            let (whole, frac) = figure.split_once('.').unwrap_or((&figure, ""));
            let digits = format!("{frac:0<4}");
            let want = format!("{whole}.{}", &digits[..4]);
            assert_eq!(*cell, want, "k = {k}, {key}: {figure}");
            cut_somewhere |= digits[4..].chars().any(|d| d >= '5');
        }
        // k/(k+1) in integers: 10^4 k / (k + 1), floored.
        let bound = 10_000 * k / (k + 1);
        assert_eq!(cells[5], format!("0.{bound:04}"), "k = {k}");
    }
    assert!(
        cut_somewhere,
        "no figure that rounding would have raised: {}",
        table.stdout
    );
}

/// The reward-model pick of scores near the largest `f64` is the candidate of the highest mean,
/// and its row is that point mass's certificate (the weighted sums overflowed to infinity,
/// tied, and the lowest index, `a`, was picked: 0 at k = 2 in the first two cases).
#[test]
fn reward_model_picks_from_scores_near_the_largest_f64() {
    let dir = tempdir();
    // Three users each: both sums overflow (`a`'s on the way, in the second case).
    for (scores, pick) in [
        (["[1e308, 1.7e308]"; 3], "[0, 1]"),
        (
            ["[1.7e308, 1e308]", "[1.7e308, 1e308]", "[-1.7e308, 1e308]"],
            "[0, 1]",
        ),
        (["[1.7e308, 1.6e308]"; 3], "[1, 0]"),
    ] {
        let users: Vec<String> = scores
            .iter()
            .map(|s| format!("{{\"weight\": 0.75, \"scores\": {s}}}"))
            .collect();
        let text = format!(
            "{{\"candidates\": [\"a\", \"b\"], \"users\": [{}]}}",
            users.join(", ")
        );
        let file = write(&dir, "big.json", &text);
        let curve = run(&["curve", &file, "--k-max", "2"]);
        let point = run(&["eval", &file, "--k", "2", "--policy", pick]);
        assert_eq!(
            (curve.code, point.code),
            (0, 0),
            "{}{}",
            curve.stderr,
            point.stderr
        );
        let rows: serde_json::Value = serde_json::from_str(&curve.stdout).expect("json");
        let eval: serde_json::Value = serde_json::from_str(&point.stdout).expect("json");
        assert_eq!(
            rows[1]["reward_model"], eval["certificate"]["worst_case_win_rate"],
            "{scores:?}"
        );
    }
}

#[test]
fn curve_svg_is_well_formed_with_the_series() {
    let dir = tempdir();
    let file = write(&dir, "mm.json", MAJMIN);
    let svg = dir.join("curve.svg");
    let o = run(&[
        "curve",
        &file,
        "--k-max",
        "4",
        "--table",
        "--svg",
        svg.to_str().expect("path"),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("equilibrium") && o.stdout.lines().count() == 5,
        "{}",
        o.stdout
    );
    assert!(o.stderr.contains("curve.svg"));
    let text = std::fs::read_to_string(&svg).expect("svg written");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    for series in [
        "k-aware equilibrium",
        "NLHF sampled k times",
        "reward-model pick",
        "uniform",
        "bound k/(k+1)",
        "k (responses shown)",
        "worst-case win rate",
    ] {
        assert!(
            texts.iter().any(|t| t == series),
            "missing {series:?} in {texts:?}"
        );
    }
}

#[test]
fn demo_writes_its_plot_and_shows_nlhf_stuck() {
    let dir = tempdir();
    let o = run_in(&["demo", "--k-max", "6", "--json"], Some(&dir));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("ualign-demo.svg"), "{}", o.stderr);
    let text = std::fs::read_to_string(dir.join("ualign-demo.svg")).expect("svg");
    roxmltree::Document::parse(&text).expect("well-formed XML");
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
    let panels = v.as_array().expect("panels");
    assert_eq!(panels.len(), 3);
    for p in panels {
        let rows = p["rows"].as_array().expect("rows");
        let last = &rows[rows.len() - 1];
        close(
            f(&last["equilibrium"]),
            6.0 / 7.0,
            2e-4,
            "equilibrium at k=6",
        );
        assert!(f(&last["nlhf"]) < 0.61, "{p}");
    }
    // docs/maths.md §7 majority/minority and the Condorcet instance: NLHF exactly 0.6 and 0.52.
    close(
        f(&panels[0]["rows"][3]["nlhf"]),
        0.6,
        1e-3,
        "majority/minority",
    );
    close(
        f(&panels[1]["rows"][3]["nlhf"]),
        0.52,
        1e-3,
        "Condorcet winner",
    );
    let o = run_in(&["demo", "--k-max", "3"], Some(&dir));
    assert!(o.stdout.contains("majority/minority") && o.stdout.contains("Mallows"));
}

#[test]
fn bench_reports_its_fields_and_refuses_bad_sizes() {
    // Timings are not asserted (they live in benchmarks); the structure and the solve are.
    let v = json(&["bench", "--n", "8", "--m", "64", "--k", "2", "--seed", "3"]);
    for key in [
        "share_ns_median",
        "stream_bytes_per_ns",
        "peak_flops_per_ns",
        "share_flops_per_ns",
        "roofline_fraction",
        "solve_ns",
        "solve_iterations",
    ] {
        assert!(f(&v[key]) > 0.0, "{key}: {v}");
    }
    assert_eq!((f(&v["n"]), f(&v["m"]), f(&v["k"])), (8.0, 64.0, 2.0));
    // The solve reached its target, certified.
    assert!(
        f(&v["solve_exploitability"]) <= f(&v["solve_epsilon"]),
        "{v}"
    );
    for bad in [["--n", "0"], ["--n", "1025"], ["--m", "0"]] {
        let mut args = vec!["bench", "--n", "8", "--m", "64", "--k", "2"];
        let at = args.iter().position(|a| *a == bad[0]).unwrap();
        args[at + 1] = bad[1];
        let out = run(&args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (2, ""),
            "{args:?}: {}",
            out.stderr
        );
    }
    let out = run(&["bench", "--n", "8", "--m", "64", "--k", "0"]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{}", out.stderr);
    // --solves times that many solves; 0 is refused, naming the flag.
    let v = json(&[
        "bench", "--n", "8", "--m", "16", "--k", "2", "--solves", "5",
    ]);
    assert_eq!(f(&v["solves"]), 5.0, "{v}");
    assert!(
        f(&v["solve_ns_min"]) <= f(&v["solve_ns"]) && f(&v["solve_ns"]) <= f(&v["solve_ns_max"])
    );
    let out = run(&[
        "bench", "--n", "8", "--m", "16", "--k", "2", "--solves", "0",
    ]);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{}", out.stderr);
    assert!(out.stderr.contains("--solves"), "{}", out.stderr);
}

#[test]
fn bench_takes_a_preference_file() {
    let dir = tempdir();
    // 3 candidates, 5 user types (3 strict orders, 2 with ties), weights 1..=5.
    let file = write(
        &dir,
        "votes.csv",
        "weight,a,b,c\n1,3,2,1\n2,1,3,2\n3,2,1,3\n4,1,1,2\n5,2,2,2\n",
    );
    // The values 1..3 could be ranks: --values says they are scores.
    let v = json(&["bench", "--input", &file, "--k", "2", "--values", "scores"]);
    assert_eq!((f(&v["n"]), f(&v["m"]), f(&v["k"])), (3.0, 5.0, 2.0));
    assert_eq!(v["input"].as_str(), Some(file.as_str()));
    assert!(v["seed"].is_null() && v["tally_pairs"].is_null(), "{v}");
    assert!(f(&v["share_ns_median"]) > 0.0 && f(&v["roofline_fraction"]) > 0.0);
    assert!(
        f(&v["solve_exploitability"]) <= f(&v["solve_epsilon"]),
        "{v}"
    );
    // Sizes come from the file; a missing file names itself; --format needs a file.
    for args in [
        vec!["bench", "--input", &file, "--n", "3", "--k", "2"],
        vec!["bench", "--input", &file, "--k", "2", "--seed", "1"],
        vec!["bench", "--n", "3", "--k", "2"],
        vec![
            "bench", "--n", "3", "--m", "3", "--k", "2", "--format", "csv",
        ],
    ] {
        let out = run(&args);
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{args:?}");
    }
    let out = run(&["bench", "--input", "no-such-file.soi", "--k", "2"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no-such-file.soi"), "{}", out.stderr);
}

/// A decimal's exact value as `(q, s)`, `q 2^-s` with `q` odd (or 0), when it is a binary
/// fraction `D / 10^n` with `5^n | D`, computed in integers (no float parsing); `None` otherwise.
fn exact_binary(text: &str) -> Option<(u128, u32)> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let n = frac.len() as u32;
    let d: u128 = format!("{int}{frac}").parse().ok()?;
    let five = 5u128.checked_pow(n)?;
    if !d.is_multiple_of(five) {
        return None;
    }
    let (mut q, mut s) = (d / five, n);
    while q != 0 && q.is_multiple_of(2) && s > 0 {
        q /= 2;
        s -= 1;
    }
    Some((q, s))
}

/// The masses' texts of the first `"policy":[...]` in `out`.
fn policy_texts(out: &str) -> Vec<String> {
    let from = out.find("\"policy\":[").expect("a policy") + "\"policy\":[".len();
    let to = from + out[from..].find(']').expect("the array's end");
    out[from..to]
        .split(',')
        .map(|t| t.trim().to_string())
        .collect()
}

/// Every printed mass is an `f32` written exactly: read in integers, each is `q 2^-s` with
/// `q < 2^24`, and a solver's masses sum to exactly 1 (eval echoes the `f32`s it certified, the
/// nearest to `0.1`, `0.2` and `0.7`).
#[test]
fn printed_masses_are_exact_f32_values() {
    let dir = tempdir();
    let cycle = r#"{"candidates": ["a", "b", "c"], "users": [{"ranking": ["a", "b", "c"]}, {"ranking": ["b", "c", "a"]}, {"ranking": ["c", "a", "b"]}]}"#;
    let skew = r#"{"candidates": ["a", "b", "c", "d"], "users": [{"weight": 0.37, "scores": [1, 0.2, 0.5, 0.9]}, {"weight": 0.41, "scores": [0, 1, 0.3, 0.7]}, {"weight": 0.22, "scores": [0.6, 0.1, 1, 0]}]}"#;
    let files = [
        write(&dir, "majmin.json", MAJMIN),
        write(&dir, "cycle.json", cycle),
        write(&dir, "skew.json", skew),
    ];
    let lines = write(&dir, "in.jsonl", &[MAJMIN, cycle, skew].join("\n"));
    let mut outs = Vec::new();
    for file in &files {
        for k in ["1", "2", "3"] {
            outs.push((run(&["solve", file, "--k", k]), true));
            outs.push((run(&["pick", file, "--k", k]), true));
        }
    }
    let batch = run(&["batch", &lines, "--k", "2"]);
    for line in batch.stdout.lines() {
        let o = common::Out {
            code: batch.code,
            stdout: line.to_string(),
            stderr: String::new(),
        };
        outs.push((o, true));
    }
    let eval = run(&["eval", &files[0], "--k", "2", "--policy", "[0.1,0.2,0.7]"]);
    outs.push((eval, false));
    let mut long = 0;
    for (o, sums_to_one) in &outs {
        assert_eq!(o.code, 0, "{}", o.stderr);
        let mut sum = 0u128;
        for text in policy_texts(&o.stdout) {
            let (q, s) = exact_binary(&text).unwrap_or_else(|| panic!("{text}: not binary"));
            assert!(q < 1 << 24 && s <= 149, "{text}: not an f32");
            assert!(s <= 30, "{text}: below the grid");
            sum += q << (30 - s);
            long += usize::from(text.len() > 19);
        }
        if *sums_to_one {
            assert_eq!(sum, 1 << 30, "{}", o.stdout);
        }
    }
    // Masses whose shortest decimal would not be exact were printed.
    assert!(long > 0);
}
