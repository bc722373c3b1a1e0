//! The shared PrefLib elections (Debian `.toc`, Irish `.soi`) and the Atari score tables.

mod common;
use common::*;
use std::path::PathBuf;

fn data(sub: &str) -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(sub);
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("SKIPPED: {} not found", d.display());
        None
    }
}

/// An independent reader of a PrefLib file: (names, users with Borda-free utilities where
/// unlisted candidates tie at the bottom).
fn read_preflib(text: &str) -> (Vec<String>, Vec<User>) {
    let mut names = Vec::new();
    let mut users = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ALTERNATIVE NAME ") {
            names.push(rest.split_once(": ").expect("name").1.to_string());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (count, order) = line.split_once(':').expect("data line");
        let n = names.len();
        let mut u = vec![0.0f64; n];
        let mut level = n as f64;
        let mut in_group = false;
        for tok in order.trim().split(',') {
            let t = tok.trim();
            let opens = t.starts_with('{');
            let closes = t.ends_with('}');
            let c: usize = t
                .trim_matches(|ch| ch == '{' || ch == '}')
                .parse()
                .expect("index");
            if !in_group || opens {
                level -= 1.0;
            }
            u[c - 1] = level + 100.0;
            in_group = (in_group || opens) && !closes;
        }
        users.push(User {
            w: count.trim().parse().expect("count"),
            u,
        });
    }
    (names, users)
}

#[test]
fn debian_elections_parse_and_certify() {
    let Some(dir) = data("preflib") else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toc"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let file = path.to_str().expect("utf-8 path");
        let text = std::fs::read_to_string(&path).expect("read");
        let (names, users) = read_preflib(&text);
        let unique: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("# NUMBER UNIQUE ORDERS: "))
            .and_then(|s| s.trim().parse().ok())
            .expect("header");
        let n = names.len();
        let uniform = vec![1.0 / n as f64; n];
        let arg = format!(
            "[{}]",
            uniform
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        for k in [1u32, 3] {
            let v = json(&["eval", file, "--k", &k.to_string(), "--policy", &arg]);
            assert_eq!(v["candidates"], serde_json::json!(names), "{file}");
            assert!(f(&v["m"]) as usize <= unique, "{file}");
            close(
                f(&v["certificate"]["worst_case_win_rate"]),
                worst_case(&users, &uniform, k),
                2e-5,
                &format!("{file} uniform k={k}"),
            );
        }
        let v = json(&["solve", file, "--k", "3", "--eps", "1e-5"]);
        assert_eq!(v["converged"], true, "{file}");
        close(
            f(&v["certificate"]["worst_case_win_rate"]),
            0.75,
            2e-5,
            file,
        );
        // The printed policy, checked with the independent formula.
        let pi = floats(&v["policy"]);
        close(worst_case(&users, &pi, 3), 0.75, 1e-4, file);
    }
}

#[test]
fn debian_2002_counts_and_merging() {
    let Some(dir) = data("preflib") else { return };
    let path = dir.join("00002-00000001.toc");
    let file = path.to_str().expect("path");
    let v = json(&["eval", file, "--k", "1", "--policy", "[1,0,0,0]"]);
    assert_eq!(v["n"], 4);
    assert_eq!(v["m"], 31);
    assert_eq!(v["candidates"][2], "Bdale Garbee");
}

#[test]
fn irish_elections_parse_fast_and_solve() {
    let Some(dir) = data("preflib") else { return };
    for name in [
        "00001-00000001.soi",
        "00001-00000002.soi",
        "00001-00000003.soi",
    ] {
        let path = dir.join(name);
        let file = path.to_str().expect("path");
        let text = std::fs::read_to_string(&path).expect("read");
        let (names, users) = read_preflib(&text);
        let n = names.len();
        let mut point = vec![0.0; n];
        point[0] = 1.0;
        let arg = format!(
            "[{}]",
            point
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let v = json(&["eval", file, "--k", "2", "--policy", &arg]);
        assert_eq!(f(&v["n"]) as usize, n);
        close(
            f(&v["certificate"]["worst_case_win_rate"]),
            worst_case(&users, &point, 2),
            2e-5,
            name,
        );
    }
    // Dublin West: 9 candidates, 10,335 ballot types, solved through a tally by default and
    // through the population with --threads 1. Each deployed policy is certified against an
    // independent evaluation of the ballots.
    let path = dir.join("00001-00000002.soi");
    let text = std::fs::read_to_string(&path).expect("read");
    let (_, users) = read_preflib(&text);
    for threads in ["0", "1"] {
        let v = json(&[
            "solve",
            path.to_str().expect("path"),
            "--k",
            "2",
            "--eps",
            "1e-4",
            "--threads",
            threads,
        ]);
        assert_eq!(v["converged"], serde_json::Value::Bool(true), "{v}");
        let f_star = f(&v["certificate"]["worst_case_win_rate"]);
        assert!(f_star >= 2.0 / 3.0 - 1e-4, "threads {threads}: {v}");
        close(
            f_star,
            worst_case(&users, &floats(&v["policy"]), 2),
            2e-5,
            threads,
        );
    }
}

#[test]
fn atari_tables_load_with_labels_and_comment_headers() {
    let Some(dir) = data("atari") else { return };
    let path = dir.join("atari_rainbow_table5.txt");
    let file = path.to_str().expect("path");
    let v = json(&["solve", file, "--k", "2"]);
    assert_eq!(v["n"], 8);
    assert_eq!(v["m"], 54);
    assert_eq!(v["candidates"][0], "dqn");
    assert_eq!(v["candidates"][7], "rainbow");
    close(
        f(&v["certificate"]["worst_case_win_rate"]),
        2.0 / 3.0,
        1e-4,
        "atari",
    );
    let path = dir.join("atari_agent57_table.txt");
    let v = json(&["solve", path.to_str().expect("path"), "--k", "1"]);
    assert_eq!(v["candidates"][0], "human");
    assert_eq!(v["candidates"][2], "agent57");
    assert_eq!(v["m"], 57);
}
