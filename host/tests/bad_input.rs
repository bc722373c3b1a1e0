//! Every bad input: exit code 2, one `ualign: FILE:LINE: problem` line on stderr, empty stdout,
//! no output file written.

mod common;
use common::*;

fn expect_bad(args: &[&str], needles: &[&str]) {
    let o = run(args);
    assert_eq!(
        o.code, 2,
        "ualign {args:?}: expected exit 2, got {} ({})",
        o.code, o.stderr
    );
    expect_refused(&o, needles);
}

const HEAD: &str = "# NUMBER ALTERNATIVES: 4\n# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\n\
                    # ALTERNATIVE NAME 3: c\n# ALTERNATIVE NAME 4: d\n";

#[test]
fn preflib_errors_name_file_line_and_problem() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "dup.soi",
            "3: 1,2\n2: 4,2,4\n",
            &["dup.soi:7:", "candidate 4 ranked twice"],
        ),
        (
            "dupgroup.toc",
            "3: 1,{2,3},4\n2: 1,{2,2},3,4\n",
            &["dupgroup.toc:7:", "candidate 2 ranked twice"],
        ),
        (
            "unknown.soi",
            "3: 1,2\n2: 5,1\n",
            &["unknown.soi:7:", "unknown candidate 5"],
        ),
        (
            "zero.soi",
            "3: 0,1\n",
            &["zero.soi:6:", "unknown candidate 0"],
        ),
        (
            "nocolon.soc",
            "3 1,2,3,4\n",
            &["nocolon.soc:6:", "count: order"],
        ),
        (
            "badcount.soc",
            "x: 1,2,3,4\n",
            &["badcount.soc:6:", "count"],
        ),
        (
            "negcount.soc",
            "-3: 1,2,3,4\n",
            &["negcount.soc:6:", "negative count"],
        ),
        ("brace.toc", "3: 1,{2,3,4\n", &["brace.toc:6:", "unmatched"]),
        (
            "empty-entry.soi",
            "1: 1,,2\n",
            &["empty-entry.soi:6:", "empty entry"],
        ),
        (
            "word.soi",
            "1: 1,two\n",
            &["word.soi:6:", "not a candidate number"],
        ),
        (
            "bigcount.soi",
            "99999999999999999999999: 1\n",
            &["bigcount.soi:6:", "overflows"],
        ),
        (
            "sumoverflow.soi",
            "18446744073709551615: 1\n5: 2\n",
            &["sumoverflow.soi:7:", "counts overflow"],
        ),
        ("empty.soi", "", &["empty.soi", "empty population"]),
        (
            "allzero.soi",
            "0: 1,2\n0: 2\n",
            &["allzero.soi", "all weights are zero"],
        ),
        (
            // Refused at its header line, before more names are collected.
            "bigname.soi",
            "# ALTERNATIVE NAME 1025: e\n1: 1\n",
            &["bigname.soi:6:", "alternative 1025", "capacity of 1024"],
        ),
        (
            "cut-short.soc",
            "# NUMBER VOTERS: 99\n3: 1,2,3,4\n",
            &["cut-short.soc:6:", "NUMBER VOTERS: 99", "counts sum to 3"],
        ),
        (
            "bare-cr.soc",
            "3: 1,2,3,4\r2: 4,3,2,1\r",
            &["bare-cr.soc:6:", "carriage return without a line feed"],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, &format!("{HEAD}{body}"));
        expect_bad(&["solve", &file, "--k", "2"], needles);
    }
}

#[test]
fn json_errors() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "neg.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [\n {\"weight\": 1, \"scores\": [1, 0]},\n {\"weight\": -2, \"scores\": [0, 1]}]}",
            &["neg.json:4:", "negative"],
        ),
        (
            "twice.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [\n {\"ranking\": [[\"a\"], [\"a\"]]}]}",
            &["twice.json:3:", "\"a\" ranked twice"],
        ),
        (
            "unknown.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [{\"ranking\": [\"z\"]}]}",
            &["unknown.json:2:", "unknown candidate \"z\""],
        ),
        (
            "len.json",
            "{\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [1, 2, 3]}]}",
            &["len.json:1:", "expected 2 scores"],
        ),
        (
            "huge.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [{\"weight\": 1,\n\"scores\": [1e999, 2]}]}",
            &["huge.json:3:", "number `1e999` is too large to be finite"],
        ),
        (
            // A nonzero score that reads as 0 would tie `a` with `b`.
            "tiny.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [{\"scores\": [1e-400, 0]}]}",
            &["tiny.json:2:", "`1e-400`", "would read as 0"],
        ),
        (
            "tinyweight.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [{\"weight\": 2.5E-999, \"scores\": [1, 0]},\n {\"scores\": [0, 1]}]}",
            &["tinyweight.json:2:", "`2.5E-999`", "would read as 0"],
        ),
        (
            "syntax.json",
            "{\"candidates\": [\"a\",\n \"b\"",
            &["syntax.json:2:"],
        ),
        (
            "nousers.json",
            "{\"candidates\": [\"a\"], \"users\": []}",
            &["nousers.json", "empty population"],
        ),
        (
            "zero.json",
            "{\"candidates\": [\"a\"], \"users\": [{\"weight\": 0, \"scores\": [1]}]}",
            &["zero.json", "all weights are zero"],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, body);
        expect_bad(&["solve", &file, "--k", "1"], needles);
    }
}

#[test]
fn table_errors() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "inf.csv",
            "a,b\n1,2\n3,inf\n",
            &["inf.csv:3:", "not finite"],
        ),
        (
            "big-integer.csv",
            "a,b\n9007199254740993,1\n",
            &["big-integer.csv:2:", "not exactly a double"],
        ),
        (
            "huge.txt",
            "x 2 1\ny 3 1e999\n",
            &["huge.txt:2:", "not finite"],
        ),
        (
            "tiny.csv",
            "a,b\n1,2\n-0.1e-330,0\n",
            &["tiny.csv:3:", "`-0.1e-330`", "would read as 0"],
        ),
        (
            "tiny.txt",
            "x 2 1\ny 3 1,000,000e-400\n",
            &["tiny.txt:2:", "`1,000,000e-400`", "would read as 0"],
        ),
        (
            "negw.csv",
            "weight,a,b\n1,0,1\n-1,1,0\n",
            &["negw.csv:3:", "negative"],
        ),
        (
            "ragged.csv",
            "a,b,c\n1,2,3\n1,2\n",
            &["ragged.csv:3:", "expected 3 fields"],
        ),
        (
            "headeronly.csv",
            "a,b,c\n",
            &["headeronly.csv", "empty population"],
        ),
        (
            "twice.csv",
            "a,b,a\n1,2,3\n",
            &["twice.csv:1:", "named twice"],
        ),
        (
            "decimal-comma.txt",
            "a b\n1 2\n0,5 1\n",
            &[
                "decimal-comma.txt:3:",
                "`0,5`",
                "commas are read only as thousands separators",
            ],
        ),
        (
            "error-part.txt",
            "a b\n1 2\n3 1±2±3\n",
            &["error-part.txt:3:", "`1±2±3`", "after `±` is not a number"],
        ),
        (
            "mixed-first.csv",
            "a,b,c\n1.5,2,3\n2x,1,1\n",
            &[
                "mixed-first.csv:3:",
                "line 2 holds a number (`1.5`)",
                "line 3 does not (`2x`)",
                "header field empty",
            ],
        ),
        (
            "nan-first.csv",
            "a,b,c\nNaN,2,3.5\n1,2,3\n",
            &["nan-first.csv:2:", "`NaN`", "not finite"],
        ),
        (
            "after-quote.csv",
            "x,y\n\"1\"5,14\n",
            &[
                "after-quote.csv:2:",
                "`5` after the closing quote of field 1",
            ],
        ),
        // A first column of numbers the reader does not take (decimal commas, digit groups,
        // hexadecimal) is a candidate's, refused at its first cell, not dropped as labels.
        (
            "comma-first.csv",
            "a,b\n\"1,5\",2\n\"2,5\",1\n",
            &[
                "comma-first.csv:2:",
                "`1,5`",
                "of candidate a is not a number",
            ],
        ),
        (
            "groups-first.csv",
            "a,b\n1 000,0.5\n2 000,0.7\n",
            &["groups-first.csv:2:", "`1 000`", "of candidate a"],
        ),
        (
            "hex-first.csv",
            "a,b\n0x10,0\n0x20,1\n",
            &["hex-first.csv:2:", "`0x10`", "of candidate a"],
        ),
        // A numeric first column named as labels are: not a candidate, whose scores would be
        // the ids.
        (
            "ids.csv",
            "id,a,b\n1,0.1,0.2\n2,0.3,0.1\n3,0.3,0.1\n",
            &[
                "ids.csv:1:",
                "`id`, is named like row labels",
                "header such as `,b,c`",
            ],
        ),
        (
            "ids.txt",
            "Index a b\n1 0.1 0.2\n2 0.3 0.1\n",
            &[
                "ids.txt:1:",
                "`Index`, is named like row labels",
                "make every label text",
            ],
        ),
        // A spreadsheet's trailing comma: no unnamed, empty candidate.
        (
            "trailing-comma.csv",
            "a,b,\n0.1,2,\n0.3,1,\n",
            &[
                "trailing-comma.csv:1:",
                "column 3 has an empty header field",
            ],
        ),
        // A PrefLib body under a table's name: its counts would be row labels.
        (
            "body.csv",
            "5: 1,2,3\n4: 3,2,1\n",
            &[
                "body.csv:1:",
                "a PrefLib order `5: 1,2,3`",
                "--format preflib",
            ],
        ),
        // Bare CR line ends would make one long row; a no-break space is no delimiter.
        (
            "bare-cr.txt",
            "0.1 2\r0.3 1\r0.5 0.2\r",
            &["bare-cr.txt:1:", "carriage return without a line feed"],
        ),
        (
            "cr-inside.csv",
            "a,b\n1,2\r3,4\n",
            &["cr-inside.csv:2:", "carriage return without a line feed"],
        ),
        (
            "nbsp.txt",
            "a b\n1\u{a0}500 2\n2\u{a0}100 3\n",
            &[
                "nbsp.txt:2:",
                "`1\u{a0}500`",
                "of candidate a is not a number",
            ],
        ),
        (
            "two-weights.csv",
            "weight,weight,b\n2,1.5,2.5\n",
            &[
                "two-weights.csv:1:",
                "two weight columns",
                "`weight` (column 2)",
            ],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, body);
        expect_bad(&["solve", &file, "--k", "1"], needles);
    }
    // pref_voting's rank CSV with a second weight column.
    let file = write(&dir, "two-counts.csv", "a,b,#,count\n1,2,3,1\n2,1,1,2\n");
    expect_bad(
        &["solve", &file, "--k", "1", "--values", "ranks"],
        &["two-counts.csv:1:", "two weight columns", "`#`", "`count`"],
    );
    // A first row of column numbers (pandas' default columns) could be a header or data: the
    // message names the flag that decides, on every route that reads a table.
    for (name, body) in [
        ("numbers.csv", "0,1,2\n0.5,0.2,0.1\n0.3,0.9,0.4\n"),
        ("index.csv", ",0,1,2\n0,0.5,0.2,0.1\n1,0.3,0.9,0.4\n"),
        ("ones.txt", "# scores\n\n1 2 3\n0.5 0.2 0.1\n"),
    ] {
        let file = write(&dir, name, body);
        let line = if name == "ones.txt" { 3 } else { 1 };
        let needles = [
            format!("{name}:{line}:"),
            "could name the candidates".into(),
            "--header first-row".into(),
            "--header none".into(),
        ];
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        expect_bad(&["solve", &file, "--k", "1"], &needles);
        expect_bad(&["solve", &file, "--k", "1", "--values", "ranks"], &needles);
        expect_bad(&["bench", "--input", &file, "--k", "1"], &needles);
    }
    // A table separated by tabs or semicolons read as CSV: one column of labels.
    for (name, body) in [("tabs.csv", "a\tb\n1\t2\n"), ("semi.csv", "a;b\n1;2\n")] {
        let file = write(&dir, name, body);
        expect_bad(
            &["solve", &file, "--k", "1"],
            &[
                &format!("{name}:1:"),
                "no candidate columns",
                "--format table",
            ],
        );
    }
    let file = write(
        &dir,
        "x.json",
        r#"{"candidates": ["a"], "users": [{"scores": [1]}]}"#,
    );
    expect_bad(
        &["solve", &file, "--k", "1", "--header", "none"],
        &[
            "x.json:",
            "--header applies to score tables",
            "not to json input",
        ],
    );
    expect_refused(
        &run(&[
            "bench", "--n", "4", "--m", "4", "--k", "1", "--header", "none",
        ]),
        &["--header apply to --input"],
    );
}

#[test]
fn files_options_and_k() {
    let dir = tempdir();
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    expect_bad(
        &["solve", "/nonexistent/data.soi", "--k", "2"],
        &["/nonexistent/data.soi", "no such file"],
    );
    // batch reads its input as a stream (`Input::open`), a window at a time.
    expect_bad(
        &["batch", "/nonexistent/lines.jsonl", "--k", "2"],
        &["/nonexistent/lines.jsonl", "no such file"],
    );
    expect_bad(
        &["batch", dir.to_str().unwrap_or("."), "--k", "2"],
        &["is a directory"],
    );
    expect_bad(
        &[
            "solve",
            dir.to_str().unwrap_or("."),
            "--k",
            "2",
            "--format",
            "preflib",
        ],
        &["cannot read"],
    );
    let bin = dir.join("bin.soi");
    std::fs::write(&bin, [0x31u8, 0x3a, 0x20, 0xff, 0xfe, 0x0a]).expect("write");
    expect_bad(
        &["solve", bin.to_str().unwrap_or(""), "--k", "2"],
        &["bin.soi:1:", "UTF-8"],
    );
    expect_bad(
        &["solve", &write(&dir, "x.weird", "1"), "--k", "2"],
        &["x.weird", "--format"],
    );
    expect_bad(&["solve", &good, "--k", "0"], &["k must be at least 1"]);
    expect_bad(
        &["eval", &good, "--k", "0", "--policy", "[1,0,0,0]"],
        &["k must be at least 1"],
    );
    expect_bad(
        &["pick", &good, "--k", "0", "--seed", "1"],
        &["k must be at least 1"],
    );
    expect_bad(&["solve", &good, "--k", "2", "--eps", "-1"], &["--eps"]);
    // Below the floor (was an internal error, exit 1; batch printed it on every line and
    // exited 0), past the largest f32 (was named `--eps inf`) or below the smallest (was 0, an
    // exact equilibrium): usage errors, the last two naming the text given.
    expect_bad(
        &["solve", &good, "--k", "2", "--eps", "9.9e-8"],
        &["--eps", "at least 1e-7"],
    );
    expect_bad(
        &["batch", &good, "--k", "2", "--eps", "1e-8"],
        &["--eps", "at least 1e-7"],
    );
    expect_bad(
        &["solve", &good, "--k", "2", "--eps", "1e-50"],
        &["'1e-50'", "below the smallest f32"],
    );
    expect_bad(
        &["solve", &good, "--k", "2", "--eps", "3.5e38"],
        &["'3.5e38'", "past the largest f32"],
    );
    expect_bad(&["curve", &good, "--k-max", "0"], &["--k-max 0"]);
    expect_bad(&["curve", &good, "--k-max", "2", "--eps", "-1"], &["--eps"]);
    expect_bad(&["batch", &good, "--k", "0"], &["k must be at least 1"]);
    expect_bad(
        &["opponents", &good, "--k", "0", "--l", "1"],
        &["k must be at least 1"],
    );
    expect_bad(&["solve", &good, "--k", "abc"], &["invalid value"]);
    // The extension decides the format unless --format says otherwise.
    let js = write(
        &dir,
        "inst.data",
        "{\"candidates\": [\"a\"], \"users\": [{\"scores\": [1]}]}",
    );
    expect_bad(
        &["solve", &js, "--k", "1"],
        &["inst.data", "unknown file extension"],
    );
    let o = run(&["solve", &js, "--k", "1", "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    expect_bad(
        &["solve", &js, "--k", "1", "--format", "csv"],
        &["inst.data:1:", "after the closing quote"],
    );
    expect_bad(
        &["eval", &good, "--k", "2", "--policy", "[1,0]"],
        &["2 entries", "4 candidates"],
    );
    expect_bad(
        &["eval", &good, "--k", "2", "--policy", "[0.5,0.2,0,0]"],
        &["sums to"],
    );
    expect_bad(
        &["eval", &good, "--k", "2", "--policy", "[2,-1,0,0]"],
        &["non-negative"],
    );
    expect_bad(&["opponents", &good, "--k", "2", "--l", "0"], &["--l 0"]);
}

/// The opponents search's budget counts `k`: a user type's work for one multiset grows with
/// `k^2` (the draw-count recurrence), so 1,716 multisets of 6 over 8 candidates and 5,000 user
/// types are refused at `k = 64` (about 40 s of work, which the budget of `n` units a user type
/// took), before the solve.
#[test]
fn opponent_searches_too_long_for_their_k_are_refused() {
    let dir = tempdir();
    let mut perm: Vec<usize> = (1..=8).collect();
    let mut body = String::new();
    for _ in 0..5000 {
        let line: Vec<String> = perm.iter().map(|c| c.to_string()).collect();
        body.push_str(&format!("1: {}\n", line.join(",")));
        // The next permutation in lexicographic order.
        let i = (0..7)
            .rev()
            .find(|&i| perm[i] < perm[i + 1])
            .expect("more permutations");
        let j = (i + 1..8)
            .rev()
            .find(|&j| perm[j] > perm[i])
            .expect("a larger one");
        perm.swap(i, j);
        perm[i + 1..].reverse();
    }
    let names: String = (1..=8)
        .map(|c| format!("# ALTERNATIVE NAME {c}: c{c}\n"))
        .collect();
    let file = write(
        &dir,
        "many.soc",
        &format!("# NUMBER ALTERNATIVES: 8\n{names}{body}"),
    );
    expect_bad(
        &["opponents", &file, "--k", "64", "--l", "6"],
        &[
            "--l 6",
            "1716 opponent multisets",
            "5000 user types at --k 64",
            "smaller l or k",
        ],
    );
}

#[test]
fn no_half_written_svg_on_bad_input() {
    let dir = tempdir();
    let bad = write(&dir, "bad.soi", &format!("{HEAD}1: 1,1\n"));
    let svg = dir.join("out.svg");
    expect_bad(
        &[
            "curve",
            &bad,
            "--k-max",
            "3",
            "--svg",
            svg.to_str().unwrap_or(""),
        ],
        &["ranked twice"],
    );
    assert!(!svg.exists());
    // An unwritable destination is an error too, and leaves nothing behind.
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    let missing = dir.join("no/such/dir/out.svg");
    expect_bad(
        &[
            "curve",
            &good,
            "--k-max",
            "2",
            "--svg",
            missing.to_str().unwrap_or(""),
        ],
        &["cannot write"],
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

/// The names in `dir`, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A write that fails part way (a file size limit, as a full disk would) exits 2 and leaves
/// neither the SVG nor its temporary file.
#[cfg(unix)]
#[test]
fn svg_cut_short_leaves_nothing() {
    let dir = tempdir();
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    // `ulimit -f 2`: at most 1 KiB (blocks of 512 bytes in dash, 1024 in bash); the SVG is
    // larger. SIGXFSZ ignored, so the write fails with EFBIG instead of killing the process.
    let script = "trap '' XFSZ; ulimit -f 2; exec \"$0\" curve \"$1\" --k-max 3 --svg out.svg";
    let o = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_ualign"), &good])
        .current_dir(&dir)
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("out.svg") && stderr.contains("cannot write"),
        "{stderr}"
    );
    assert_eq!(names_in(&dir), ["good.soc"]);
}

/// `--svg` through a symbolic link writes the file it names and keeps the link; a link to a
/// file not there yet creates it; a named pipe is written in place, not replaced by a file, and
/// so is `/dev/stdout` when it is a pipe (a link to a link to `pipe:[N]`, which is no path); a
/// directory and `-` are refused.
#[cfg(unix)]
#[test]
fn svg_follows_links_and_writes_pipes_in_place() {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let dir = tempdir();
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    let curve = |svg: &str| run_in(&["curve", &good, "--k-max", "2", "--svg", svg], Some(&dir));
    let is_svg = |p: &std::path::Path| {
        std::fs::read_to_string(p).is_ok_and(|t| t.starts_with("<svg") && t.ends_with("</svg>\n"))
    };
    write(&dir, "target.svg", "old");
    symlink("target.svg", dir.join("link.svg")).expect("symlink");
    let o = curve("link.svg");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        dir.join("link.svg")
            .symlink_metadata()
            .expect("link")
            .is_symlink()
    );
    assert!(is_svg(&dir.join("target.svg")));
    std::fs::create_dir(dir.join("sub")).expect("sub");
    symlink("sub/new.svg", dir.join("dangling.svg")).expect("symlink");
    let o = curve("dangling.svg");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        dir.join("dangling.svg")
            .symlink_metadata()
            .expect("link")
            .is_symlink()
    );
    assert!(is_svg(&dir.join("sub/new.svg")));
    assert_eq!(names_in(&dir.join("sub")), ["new.svg"]);
    let fifo = dir.join("pipe.svg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the pipe"))
    };
    let o = curve("pipe.svg");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = reader.join().expect("reader");
    assert!(
        text.starts_with("<svg") && text.ends_with("</svg>\n"),
        "{text}"
    );
    assert!(fifo.symlink_metadata().expect("pipe").file_type().is_fifo());
    let o = curve("sub");
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("is a directory"), "{}", o.stderr);
    let o = curve("-");
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--svg -"), "{}", o.stderr);
    // `run_in` captures standard output through a pipe.
    let o = curve("/dev/stdout");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("<svg"), "{}", o.stdout);
    assert_eq!(
        names_in(&dir),
        [
            "dangling.svg",
            "good.soc",
            "link.svg",
            "pipe.svg",
            "sub",
            "target.svg"
        ]
    );
}

/// Weights that the population could not hold as written are refused, each naming a weight
/// the file holds: a positive weight that is zero as an `f32` (it would drop its user type),
/// identical rankings whose weights add up past the largest `f32` (not merged, so the message
/// is not about their sum), counts too large to keep exact, and a weight that is an `f32` but
/// at most about `2^-150` of the total (normalised, it would round to zero: its user type would
/// drop out of the game certified).
#[test]
fn weights_the_population_cannot_hold_are_refused() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "negligible.json",
            "{\"candidates\": [\"a\", \"b\"], \"users\": [\n\
             {\"weight\": 1e38, \"scores\": [1, 0]},\n{\"weight\": 1e38, \"scores\": [0, 1]},\n\
             {\"weight\": 1e-9, \"scores\": [1, 0]}]}",
            &[
                "negligible.json:4:",
                "weight 1e-9 is negligible",
                "count as zero",
            ],
        ),
        (
            "tiny.json",
            "{\"candidates\": [\"a\", \"b\"],\n \"users\": [{\"ranking\": [\"a\"]},\n \
             {\"weight\": 1e-50, \"ranking\": [\"b\"]}]}",
            &["tiny.json:3:", "weight 1e-50 is too small"],
        ),
        (
            "merged.json",
            "{\"candidates\": [\"a\", \"b\"], \"users\": [\n{\"weight\": 2e38, \"ranking\": [\"a\"]},\n\
             {\"weight\": 2e38, \"ranking\": [\"a\"]}]}",
            &["merged.json:2:", "weight 2e38:", "scale the weights down"],
        ),
        (
            "huge.soc",
            "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\n\
             1: 2,1\n99999999999999: 1,2\n",
            &["huge.soc:5:", "weight 99999999999999:", "counts"],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, body);
        expect_bad(&["solve", &file, "--k", "1"], needles);
    }
}

/// `--policy` files: a repeated key, candidates that are not names, a syntax error, a policy
/// of the wrong length, an entry too large for an `f32` and `solve --method hedge`'s output
/// (whose `policy`, the iterates' average, is not the time mixture it deployed and certified)
/// each name the file (and the line, where there is one); inline text that is also a file's
/// name is refused, and `./NAME` reads the file.
#[test]
fn policy_errors_name_the_file_and_line() {
    let dir = tempdir();
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "dup.json",
            "{\"candidates\": [\"a\", \"b\", \"c\", \"d\"],\n\"policy\": [1, 0, 0, 0],\n\
             \"policy\": [0, 1, 0, 0]}",
            &["dup.json:3:", "duplicate field `policy`"],
        ),
        (
            "names.json",
            "{\"candidates\": \"abcd\", \"policy\": [1, 0, 0, 0]}",
            &["names.json:1:", "invalid type"],
        ),
        (
            "other.json",
            "{\"candidates\": [\"a\", \"b\", \"c\", \"x\"], \"policy\": [1, 0, 0, 0]}",
            &["other.json", "do not match"],
        ),
        (
            "syntax.json",
            "[1,\n0,\n0,\n]",
            &["syntax.json:4:", "trailing comma"],
        ),
        (
            "short.json",
            "[1, 0]",
            &["short.json", "2 entries", "4 candidates"],
        ),
        (
            "huge.json",
            "[1, 0, 0, 1e39]",
            &["huge.json", "entry 3", "1e39", "too large for an f32"],
        ),
        (
            "hedge.json",
            "{\"policy\": [0.5, 0.5, 0, 0], \"method\": \"hedge\", \"deployed\": \"time_mixture\"}",
            &["hedge.json", "`time_mixture`", "`policy` array on its own"],
        ),
    ];
    for (name, body, needles) in cases {
        let file = write(&dir, name, body);
        expect_bad(&["eval", &good, "--k", "2", "--policy", &file], needles);
    }
    write(&dir, "[1,0,0,0]", "[0, 1, 0, 0]");
    let o = run_in(
        &["eval", "good.soc", "--k", "2", "--policy", "[1,0,0,0]"],
        Some(&dir),
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("./[1,0,0,0]"), "{}", o.stderr);
    let o = run_in(
        &["eval", "good.soc", "--k", "2", "--policy", "./[1,0,0,0]"],
        Some(&dir),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("\"policy\":[0.0,1.0,0.0,0.0]"),
        "{}",
        o.stdout
    );
    // A mass of -0 is 0, and prints so.
    let o = run(&["eval", &good, "--k", "2", "--policy", "[1, 0, 0, -0.0]"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("\"policy\":[1.0,0.0,0.0,0.0]"),
        "{}",
        o.stdout
    );
    expect_bad(
        &["eval", &good, "--k", "2", "--policy", "[1,0"],
        &["--policy", "column 4"],
    );
}

/// The one-line JSON lines input of the bound checks.
fn one_line(dir: &std::path::Path) -> String {
    write(
        dir,
        "one.jsonl",
        "{\"candidates\":[\"a\",\"b\"],\"users\":[{\"weight\":1,\"scores\":[1,0]}]}\n",
    )
}

/// A --threads past its bound is refused when the arguments are parsed, naming the flag and
/// the bound, before any thread is started; the bound itself is taken.
#[test]
fn thread_counts_past_the_bound_are_refused() {
    let dir = tempdir();
    let good = write(&dir, "good.soc", &format!("{HEAD}1: 1,2,3,4\n"));
    let one = one_line(&dir);
    let bench = ["bench", "--n", "4", "--m", "8", "--k", "2"];
    for args in [
        vec!["solve", good.as_str(), "--k", "2", "--threads", "1025"],
        vec!["curve", good.as_str(), "--k-max", "2", "--threads", "20000"],
        vec!["batch", one.as_str(), "--k", "2", "--threads", "1025"],
        [bench.as_slice(), &["--threads", "1025"]].concat(),
    ] {
        expect_bad(&args, &["--threads", "1024"]);
    }
    // A one-line batch starts no worker for the largest count.
    let o = run(&["batch", &one, "--k", "2", "--threads", "1024"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
}

/// A --warm-block past its bound is refused when the arguments are parsed, naming the flag and
/// the bound.
#[test]
fn warm_blocks_past_the_bound_are_refused() {
    let dir = tempdir();
    let one = one_line(&dir);
    for block in ["0", "1025", "100000000"] {
        expect_bad(
            &["batch", &one, "--k", "2", "--warm", "--warm-block", block],
            &["--warm-block", "1..=1024"],
        );
    }
}

/// The impartial-culture population of `bench` is bounded; past the bound (or past what a
/// usize holds) it is refused, naming --m and the bound, before anything is allocated.
#[test]
fn bench_sizes_past_the_bound_are_refused() {
    for (n, m) in [
        ("4", "100000000000"),
        ("1", "4000000000000000"),
        ("1024", "65537"),
    ] {
        expect_bad(
            &["bench", "--n", n, "--m", m, "--k", "2"],
            &["--m", "67108864"],
        );
    }
}
