//! How the text of an input reaches its reader: a byte-order mark is skipped in every format,
//! a file whose text is plainly another format than its extension says is refused (naming
//! `--format`), and a PrefLib header that contradicts itself or comes after the orders is
//! refused, naming both lines.

mod common;
use common::*;
use std::path::PathBuf;

const BOM: &str = "\u{feff}";

/// The candidates a successful `solve` reports.
fn candidates(o: &Out) -> Vec<String> {
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
    v["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c.as_str().expect("name").to_string())
        .collect()
}

/// A byte-order mark at the start of a file or of standard input is skipped in every format:
/// the answer is the one without it, and line numbers are unchanged.
#[test]
fn a_byte_order_mark_is_skipped_in_every_format() {
    let dir = tempdir();
    let inputs = [
        (
            "preflib",
            "in.toc",
            "# FILE NAME: in.toc\n# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 1: a\n\
             # ALTERNATIVE NAME 2: b\n# ALTERNATIVE NAME 3: c\n3: 1,3,2\n2: 2,{1,3}\n",
        ),
        (
            "json",
            "in.json",
            "{\"candidates\": [\"a\", \"b\", \"c\"], \"users\": [{\"weight\": 2, \"ranking\": \
             [[\"a\"], [\"c\"]]}, {\"scores\": [0, 3, 1]}]}",
        ),
        ("csv", "head.csv", "a,b,c\n0.5,0.25,0\n0,1,0.5\n"),
        // Without a header the first field is a number: with the mark in it, it would be a
        // label and the table one column short.
        ("csv", "nohead.csv", "1.5,2,3\n3,2,1\n"),
        ("table", "in.txt", "a b c\n0.5 0.25 0\n0 1 0.5\n"),
    ];
    for (format, name, text) in inputs {
        let plain = write(&dir, name, text);
        let marked = write(&dir, &format!("bom-{name}"), &format!("{BOM}{text}"));
        let want = run(&["solve", &plain, "--k", "2"]);
        let got = run(&["solve", &marked, "--k", "2"]);
        assert_eq!(want.code, 0, "{name}: {}", want.stderr);
        assert_eq!(got.code, 0, "bom-{name}: {}", got.stderr);
        assert_eq!(got.stdout, want.stdout, "bom-{name}");
        assert!(!got.stdout.contains(BOM), "bom-{name}: {}", got.stdout);
        let stdin = run_stdin(
            &["solve", "-", "--k", "2", "--format", format],
            &format!("{BOM}{text}"),
        );
        assert_eq!(stdin.code, 0, "stdin {name}: {}", stdin.stderr);
        assert_eq!(stdin.stdout, want.stdout, "stdin {name}");
    }
    // Line numbers count as without the mark.
    let bad = write(
        &dir,
        "bad.soc",
        &format!("{BOM}# NUMBER ALTERNATIVES: 2\n1: 1,1\n"),
    );
    expect_refused(
        &run(&["solve", &bad, "--k", "1"]),
        &["bad.soc:2:", "ranked twice"],
    );
    let bad = write(&dir, "bad.csv", &format!("{BOM}a,b\n1.5,x\n"));
    expect_refused(&run(&["solve", &bad, "--k", "1"]), &["bad.csv:2:"]);
    // A mark anywhere else is text, as before.
    let inner = write(&dir, "inner.csv", &format!("a,{BOM}b\n1.5,2\n"));
    assert_eq!(
        candidates(&run(&["solve", &inner, "--k", "1"])),
        ["a", "\u{feff}b"]
    );
    // One leading mark is skipped, a second is text: a table's first candidate keeps it.
    let twice = write(&dir, "twice.csv", &format!("{BOM}{BOM}a,b\n1.5,2\n"));
    assert_eq!(
        candidates(&run(&["solve", &twice, "--k", "1"])),
        ["\u{feff}a", "b"]
    );
    // batch reads JSON lines as a stream: the mark is skipped there too.
    let lines = "{\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [1, 0]}]}\n";
    let want = run_stdin(&["batch", "-", "--k", "1", "--threads", "1"], lines);
    let got = run_stdin(
        &["batch", "-", "--k", "1", "--threads", "1"],
        &format!("{BOM}{lines}"),
    );
    assert_eq!((want.code, got.code), (0, 0), "{}", got.stderr);
    assert_eq!(got.stdout, want.stdout);
}

const PL: &str = "# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\n\
                  # ALTERNATIVE NAME 3: c\n3: 1,2,3\n2: 3,2,1\n1: 2,1,3\n";

/// PrefLib text under a table's or JSON's extension, and JSON under another's, is refused with
/// a message naming the file, the line and `--format`; `--format` decides.
#[test]
fn text_plainly_of_another_format_than_its_extension_is_refused() {
    let dir = tempdir();
    for name in ["pl.csv", "pl.txt", "pl.tsv", "pl.json"] {
        let file = write(&dir, name, PL);
        expect_refused(
            &run(&["solve", &file, "--k", "2"]),
            &[&format!("{name}:1:"), "PrefLib", "--format preflib"],
        );
        let o = run(&["solve", &file, "--k", "2", "--format", "preflib"]);
        assert_eq!(candidates(&o), ["a", "b", "c"], "{name}");
    }
    // The flag decides, even against the text: read as a table, the text meets the table
    // reader's own check (PrefLib's `1,2,3` is no number), not the format's.
    let file = write(&dir, "forced.txt", PL);
    let o = run(&["solve", &file, "--k", "1", "--format", "table"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("thousands separators") && !o.stderr.contains("--format preflib"),
        "{}",
        o.stderr
    );
    // A PrefLib header after comments and blank lines is still the first header.
    let file = write(&dir, "late.csv", &format!("\n# exported by hand\n\n{PL}"));
    expect_refused(
        &run(&["solve", &file, "--k", "2"]),
        &["late.csv:4:", "--format preflib"],
    );
    // JSON under PrefLib's and tables' extensions.
    let js = "{\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [1, 0]}]}";
    for name in ["js.soc", "js.txt", "js.csv"] {
        let file = write(&dir, name, &format!("\n  {js}"));
        expect_refused(
            &run(&["solve", &file, "--k", "1"]),
            &[&format!("{name}:2:"), "JSON", "--format json"],
        );
        let o = run(&["solve", &file, "--k", "1", "--format", "json"]);
        assert_eq!(candidates(&o), ["a", "b"], "{name}");
    }
    // Tables whose comments only look like headers are tables.
    let table = write(
        &dir,
        "notes.txt",
        "# title: scores\n# game x y\ng1 0.5 2.5\ng2 1.5 0.5\n",
    );
    assert_eq!(candidates(&run(&["solve", &table, "--k", "1"])), ["x", "y"]);
}

/// The shared Irish election (`.soi`) under a table's extension: refused, not read as one
/// candidate with the counts for labels.
#[test]
fn a_real_preflib_file_named_as_a_table_is_refused() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/preflib/00001-00000001.soi");
    let Ok(text) = std::fs::read_to_string(&src) else {
        eprintln!("SKIPPED: {} not found", src.display());
        return;
    };
    let dir = tempdir();
    let file = write(&dir, "dublin.txt", &text);
    expect_refused(
        &run(&["solve", &file, "--k", "2"]),
        &["dublin.txt:1:", "--format preflib"],
    );
    let o = run(&["solve", &file, "--k", "2", "--format", "preflib"]);
    assert_eq!(candidates(&o).len(), 12);
}

/// A PrefLib header that contradicts itself, or comes after the orders, is refused with a
/// message naming both lines.
#[test]
fn contradictory_or_late_preflib_headers_are_refused() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "twice.soc",
            "# NUMBER ALTERNATIVES: 3\n# NUMBER ALTERNATIVES: 2\n1: 1,2\n",
            &["twice.soc:2:", "NUMBER ALTERNATIVES: 2", "3 on line 1"],
        ),
        (
            "after.soi",
            "# NUMBER ALTERNATIVES: 2\n3: 1,2\n# NUMBER ALTERNATIVES: 3\n",
            &["after.soi:3:", "after the first order (line 2)"],
        ),
        (
            "name-after.soi",
            "# NUMBER ALTERNATIVES: 2\n3: 1,2\n# ALTERNATIVE NAME 1: a\n",
            &["name-after.soi:3:", "after the first order (line 2)"],
        ),
        (
            "samename.soc",
            "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: a\n\
             1: 1,2\n",
            &[
                "samename.soc:3:",
                "candidate \"a\" named twice",
                "alternative 1 (line 2)",
            ],
        ),
        (
            "renamed.soc",
            "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 2: a\n# ALTERNATIVE NAME 2: b\n\
             1: 1,2\n",
            &["renamed.soc:3:", "alternative 2 named twice", "line 2"],
        ),
        (
            "number.soc",
            "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: 2\n1: 1,2\n",
            &["number.soc:2:", "candidate \"2\" named twice"],
        ),
    ];
    for (name, text, needles) in cases {
        let file = write(&dir, name, text);
        expect_refused(&run(&["solve", &file, "--k", "1"]), needles);
    }
    // The same count twice, before the orders, is one count.
    let file = write(
        &dir,
        "same.soc",
        "# NUMBER ALTERNATIVES: 2\n# NUMBER ALTERNATIVES: 2\n1: 1,2\n",
    );
    assert_eq!(candidates(&run(&["solve", &file, "--k", "1"])), ["1", "2"]);
}
