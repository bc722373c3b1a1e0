//! `batch --warm`: chains of fixed blocks of lines, each line starting from the equilibrium of
//! the line before (same candidate count); the output is the same for every thread count,
//! every certificate is `eval`'s of the policy printed, and the stream takes fewer share
//! evaluations than cold.

mod common;
use common::*;

use serde_json::Value;

/// One JSON line: `m` users scoring `n` candidates at `quality + taste`, re-scored by request
/// `r` (a random walk of steps below 0.02), from a small xorshift.
fn request(n: usize, m: usize, r: u32) -> String {
    let mut state = 0x2545_f491u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let quality: Vec<f64> = (0..n).map(|_| next()).collect();
    let mut scores: Vec<f64> = (0..m * n).map(|i| quality[i % n] + next()).collect();
    for _ in 0..r {
        for s in scores.iter_mut() {
            *s += 0.02 * (2.0 * next() - 1.0);
        }
    }
    let candidates: Vec<String> = (0..n).map(|c| format!("\"c{c}\"")).collect();
    let users: Vec<String> = scores
        .chunks(n)
        .map(|row| {
            let row: Vec<String> = row.iter().map(|s| format!("{s}")).collect();
            format!("{{\"scores\": [{}]}}", row.join(", "))
        })
        .collect();
    format!(
        "{{\"candidates\": [{}], \"users\": [{}]}}",
        candidates.join(", "),
        users.join(", ")
    )
}

/// The output lines parsed, without the `threads` field (the only one that may differ).
fn lines(args: &[&str]) -> Vec<Value> {
    let o = run(args);
    assert_eq!(o.code, 0, "ualign {args:?}: {}", o.stderr);
    o.stdout
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("JSON line");
            if let Value::Object(o) = &mut v {
                o.remove("threads");
            }
            v
        })
        .collect()
}

#[test]
fn warm_chains_do_not_depend_on_the_threads_and_save_evaluations() {
    let dir = tempdir();
    let small = r#"{"candidates": ["a", "b", "c"], "users": [{"weight": 0.6, "ranking": [["a"], ["c"], ["b"]]}, {"weight": 0.4, "ranking": [["b"], ["c"], ["a"]]}]}"#;
    // Blocks of 4: lines 1-4 | 5 (bad), 6-8 (8 has 3 candidates) | 9-11.
    let stream: Vec<String> = (0..9).map(|r| request(10, 14, r)).collect();
    let text = [
        &stream[0], &stream[1], &stream[2], &stream[3], "not json", &stream[4], &stream[5], small,
        &stream[6], &stream[7], &stream[8],
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let file = write(&dir, "stream.jsonl", &text);
    let base = [
        "batch",
        file.as_str(),
        "--k",
        "3",
        "--warm",
        "--warm-block",
        "4",
    ];

    let mut outputs = Vec::new();
    for t in ["1", "2", "3", "0"] {
        let mut args = base.to_vec();
        args.extend(["--threads", t]);
        outputs.push(lines(&args));
    }
    for out in &outputs {
        assert_eq!(out, &outputs[0], "batch --warm depends on --threads");
    }
    let warm = &outputs[0];
    assert_eq!(warm.len(), 11);

    // Which lines started warm: not a block's first, not after a bad line, not across a change
    // of the candidate count.
    let want = [
        false, true, true, true, false, false, true, false, false, true, true,
    ];
    for (i, (line, &w)) in warm.iter().zip(&want).enumerate() {
        if i == 4 {
            assert!(line.get("error").is_some(), "line 5 is bad: {line}");
            continue;
        }
        assert_eq!(line["warm"], Value::Bool(w), "line {}", i + 1);
        assert_eq!(line["line"], Value::from(i + 1));
        assert_eq!(line["converged"], Value::Bool(true), "line {}", i + 1);
    }

    // The certificate printed is `eval`'s of the policy printed.
    for (i, line) in warm
        .iter()
        .enumerate()
        .filter(|(i, _)| [1, 6, 10].contains(i))
    {
        let one = write(&dir, &format!("line{i}.json"), text.lines().nth(i).unwrap());
        let policy = serde_json::to_string(&line["policy"]).unwrap();
        let eval = json(&["eval", &one, "--k", "3", "--policy", &policy]);
        assert_eq!(eval["certificate"], line["certificate"], "line {}", i + 1);
    }

    // Cold: no `warm` field, and more share evaluations over the warm lines.
    let cold = lines(&["batch", file.as_str(), "--k", "3", "--threads", "2"]);
    let (mut w, mut c) = (0, 0);
    for (i, (a, b)) in warm.iter().zip(&cold).enumerate() {
        if i == 4 {
            continue;
        }
        assert!(b.get("warm").is_none());
        if want[i] {
            w += a["iterations"].as_u64().unwrap();
            c += b["iterations"].as_u64().unwrap();
        } else {
            // A cold line is the cold solve, bit for bit.
            let mut a = a.clone();
            a.as_object_mut().unwrap().remove("warm");
            assert_eq!(&a, b, "line {}", i + 1);
        }
    }
    assert!(w < c, "warm {w} vs cold {c} share evaluations");

    // A block of one line is the cold solve.
    let mut single = base.to_vec();
    single[6] = "1";
    for (a, b) in lines(&single).iter().zip(&cold) {
        let mut a = a.clone();
        if let Value::Object(o) = &mut a {
            assert_eq!(o.remove("warm").unwrap_or(Value::Bool(false)), false);
        }
        assert_eq!(&a, b);
    }
}

#[test]
fn warm_options_are_checked() {
    let dir = tempdir();
    let file = write(
        &dir,
        "two.jsonl",
        &[request(4, 3, 0), request(4, 3, 1)].join("\n"),
    );
    for (args, what) in [
        (vec!["--warm", "--method", "hedge"], "--method optimistic"),
        (vec!["--warm-block", "3"], "--warm-block applies to --warm"),
        (vec!["--warm", "--warm-block", "0"], "--warm-block"),
    ] {
        let mut a = vec!["batch", file.as_str(), "--k", "2"];
        a.extend(args);
        let o = run(&a);
        assert_eq!(o.code, 2, "{a:?}");
        assert!(o.stderr.contains(what), "{a:?}: {}", o.stderr);
        assert!(o.stdout.is_empty());
    }
    // At k = 1 through the margin matrix the simplex takes no start; with --reference the
    // dynamics do.
    let margins = lines(&["batch", file.as_str(), "--k", "1", "--warm"]);
    assert_eq!(margins[1]["route"], "margins");
    assert_eq!(margins[1]["warm"], false);
    let reference = lines(&["batch", file.as_str(), "--k", "1", "--warm", "--reference"]);
    assert_eq!(reference[1]["warm"], true);
}
