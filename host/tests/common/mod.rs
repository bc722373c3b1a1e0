//! Shared helpers: run the built binary, write temp files, an independent share formula.
#![allow(dead_code, clippy::needless_range_loop)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(args: &[&str]) -> Out {
    run_in(args, None)
}

pub fn run_in(args: &[&str], dir: Option<&Path>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ualign"));
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let o = cmd.output().expect("run ualign");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs the binary with `input` on its stdin.
pub fn run_stdin(args: &[&str], input: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ualign"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ualign");
    // A refused command exits without reading: a broken pipe here is not an error.
    let _ = std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes());
    let o = child.wait_with_output().expect("wait");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Exit code 2, nothing on stdout, one `ualign: ` line on stderr holding every needle.
pub fn expect_refused(o: &Out, needles: &[&str]) {
    assert_eq!(o.code, 2, "expected exit 2: {}", o.stderr);
    assert!(o.stdout.is_empty(), "stdout not empty: {}", o.stdout);
    let line = o.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "one message expected: {line}");
    assert!(line.starts_with("ualign: "), "{line}");
    for n in needles {
        assert!(line.contains(n), "{line:?} lacks {n:?}");
    }
}

/// Runs and expects success; returns stdout parsed as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert_eq!(o.code, 0, "ualign {args:?} failed: {}", o.stderr);
    serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", o.stdout))
}

/// A fresh empty directory under the system temp dir.
pub fn tempdir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "ualign-host-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p.to_string_lossy().into_owned()
}

pub fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(f).collect()
}

pub fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tol {tol})");
}

/// A user type for the independent formula: weight and utility per candidate (ties = equal).
pub struct User {
    pub w: f64,
    pub u: Vec<f64>,
}

/// docs/maths.md §2, written independently of core: g(y) = sum_j w_j/W g_j(y),
/// g_j(y) = ((b+c)^(k+1) - b^(k+1)) / ((k+1) c), or b^k when c = 0.
pub fn shares(users: &[User], pi: &[f64], k: u32) -> Vec<f64> {
    let n = pi.len();
    let total: f64 = users.iter().map(|u| u.w).sum();
    let mut g = vec![0.0; n];
    for user in users {
        for y in 0..n {
            let (mut b, mut c) = (0.0, 0.0);
            for z in 0..n {
                if user.u[z] < user.u[y] {
                    b += pi[z];
                } else if user.u[z] == user.u[y] {
                    c += pi[z];
                }
            }
            let gy = if c > 1e-12 {
                ((b + c).powi(k as i32 + 1) - b.powi(k as i32 + 1)) / ((k as f64 + 1.0) * c)
            } else {
                b.powi(k as i32)
            };
            g[y] += user.w / total * gy;
        }
    }
    g
}

/// Worst-case win rate 1 - max g.
pub fn worst_case(users: &[User], pi: &[f64], k: u32) -> f64 {
    1.0 - shares(users, pi, k).into_iter().fold(f64::MIN, f64::max)
}

/// The most rows [`Profile::write_all`] writes a whitespace table of.
pub const TXT_ROWS: u64 = 100_000;

/// Strict rankings (0-based, best first) with integer counts.
pub struct Profile {
    pub names: Vec<&'static str>,
    pub orders: Vec<(u64, Vec<usize>)>,
}

impl Profile {
    pub fn users(&self) -> Vec<User> {
        let n = self.names.len();
        self.orders
            .iter()
            .map(|(w, o)| {
                let mut u = vec![0.0; n];
                for (p, &c) in o.iter().enumerate() {
                    u[c] = (n - 1 - p) as f64;
                }
                User { w: *w as f64, u }
            })
            .collect()
    }

    /// Writes the profile in every input format (the whitespace table, one row per user, only
    /// for at most [`TXT_ROWS`] users); returns the paths.
    pub fn write_all(&self, dir: &Path, stem: &str) -> Vec<String> {
        let n = self.names.len();
        let mut out = Vec::new();
        // PrefLib soc (strict complete orders) and soi (the last candidate left out).
        let mut soc = format!("# NUMBER ALTERNATIVES: {n}\n");
        for (i, name) in self.names.iter().enumerate() {
            soc.push_str(&format!("# ALTERNATIVE NAME {}: {name}\n", i + 1));
        }
        let mut soi = soc.clone();
        for (w, o) in &self.orders {
            let s: Vec<String> = o.iter().map(|c| (c + 1).to_string()).collect();
            soc.push_str(&format!("{w}: {}\n", s.join(",")));
            soi.push_str(&format!("{w}: {}\n", s[..n - 1].join(",")));
        }
        out.push(write(dir, &format!("{stem}.soc"), &soc));
        out.push(write(dir, &format!("{stem}.soi"), &soi));
        // JSON rankings (last two tied as a group: same order when n = 2 is not the case, so
        // only singleton groups) and JSON scores.
        let cands: Vec<String> = self.names.iter().map(|s| format!("\"{s}\"")).collect();
        let mut rank_users = Vec::new();
        let mut score_users = Vec::new();
        let mut csv = format!("weight,{}\n", self.names.join(","));
        let mut txt = format!("# user {}\n", self.names.join(" "));
        for (j, (w, o)) in self.orders.iter().enumerate() {
            let groups: Vec<String> = o
                .iter()
                .map(|&c| format!("[\"{}\"]", self.names[c]))
                .collect();
            rank_users.push(format!(
                "{{\"weight\": {w}, \"ranking\": [{}]}}",
                groups.join(", ")
            ));
            let mut u = vec![0usize; n];
            for (p, &c) in o.iter().enumerate() {
                u[c] = n - 1 - p;
            }
            let us: Vec<String> = u.iter().map(|x| x.to_string()).collect();
            score_users.push(format!(
                "{{\"weight\": {w}, \"scores\": [{}]}}",
                us.join(", ")
            ));
            csv.push_str(&format!("{w},{}\n", us.join(",")));
            // Whitespace table without weights: the row repeated `w` times (written only when
            // the counts are small, below).
            for r in 0..*w.min(&TXT_ROWS) {
                txt.push_str(&format!("u{j}_{r} {}\n", us.join(" ")));
            }
        }
        out.push(write(
            dir,
            &format!("{stem}-ranking.json"),
            &format!(
                "{{\"candidates\": [{}],\n \"users\": [\n  {}\n]}}\n",
                cands.join(", "),
                rank_users.join(",\n  ")
            ),
        ));
        out.push(write(
            dir,
            &format!("{stem}-scores.json"),
            &format!(
                "{{\"candidates\": [{}], \"users\": [{}]}}",
                cands.join(", "),
                score_users.join(", ")
            ),
        ));
        out.push(write(dir, &format!("{stem}.csv"), &csv));
        if self.orders.iter().map(|(w, _)| w).sum::<u64>() <= TXT_ROWS {
            out.push(write(dir, &format!("{stem}.txt"), &txt));
        }
        out
    }
}

/// docs/maths.md §7 majority/minority: 60% a > c > b, 40% b > c > a.
pub fn majority_minority() -> Profile {
    Profile {
        names: vec!["a", "b", "c"],
        orders: vec![(3, vec![0, 2, 1]), (2, vec![1, 2, 0])],
    }
}
