//! `solve --explain`: one row per user type, computed independently here from the printed policy
//! (the closed form of docs/maths.md §2), averaging to the printed certificate.

mod common;
use common::*;

/// A Condorcet cycle plus a unanimous-ish fourth type, so rows differ.
const CYCLE: &str = r#"{"candidates": ["a", "b", "c", "d"], "users": [
    {"weight": 2, "ranking": [["a"], ["b"], ["c"], ["d"]]},
    {"weight": 1, "ranking": [["b"], ["c"], ["a"], ["d"]]},
    {"weight": 1, "ranking": [["c"], ["a"], ["b"]]},
    {"weight": 1, "scores": [0, 3, 3, 1]}]}"#;

#[test]
fn explain_rows_match_an_independent_computation() {
    let dir = tempdir();
    let file = write(&dir, "cycle.json", CYCLE);
    for k in [1u32, 2, 5] {
        let ks = k.to_string();
        let plain = json(&["solve", &file, "--k", &ks]);
        let v = json(&["solve", &file, "--k", &ks, "--explain"]);
        // --explain only adds the rows.
        let mut without = v.clone();
        without.as_object_mut().expect("object").remove("explain");
        assert_eq!(without, plain, "k = {k}");
        // The printed policy is the solver's f32 masses, normalised in f64.
        let pi: Vec<f64> = floats(&v["policy"])
            .iter()
            .map(|&p| p as f32 as f64)
            .collect();
        let sum: f64 = pi.iter().sum();
        let pi: Vec<f64> = pi.iter().map(|p| p / sum).collect();
        let y = f(&v["certificate"]["worst_opponent_index"]) as usize;
        // The users' utilities (unlisted candidates tie at the bottom).
        let utils: [[f64; 4]; 4] = [
            [3.0, 2.0, 1.0, 0.0],
            [1.0, 3.0, 2.0, 0.0],
            [2.0, 1.0, 3.0, -1.0],
            [0.0, 3.0, 3.0, 1.0],
        ];
        let weights = [0.4, 0.2, 0.2, 0.2];
        let favourites: [&[&str]; 4] = [&["a"], &["b"], &["c"], &["b", "c"]];
        let rows = v["explain"].as_array().expect("explain rows");
        assert_eq!(rows.len(), 4);
        let mut avg = 0.0;
        for (j, row) in rows.iter().enumerate() {
            let u = utils[j];
            let top = u.iter().cloned().fold(f64::MIN, f64::max);
            let c_top: f64 = (0..4).filter(|&x| u[x] == top).map(|x| pi[x]).sum();
            let c: f64 = (0..4).filter(|&x| u[x] == u[y]).map(|x| pi[x]).sum();
            let b: f64 = (0..4).filter(|&x| u[x] < u[y]).map(|x| pi[x]).sum();
            let k1 = k as i32 + 1;
            let g = if c > 0.0 {
                ((b + c).powi(k1) - b.powi(k1)) / (k1 as f64 * c)
            } else {
                b.powi(k as i32)
            };
            assert_eq!(f(&row["user"]) as usize, j);
            close(f(&row["weight"]), weights[j], 1e-7, "weight");
            let fav: Vec<&str> = row["favourite"]
                .as_array()
                .expect("names")
                .iter()
                .map(|s| s.as_str().expect("name"))
                .collect();
            assert_eq!(fav, favourites[j]);
            close(
                f(&row["favourite_shown"]),
                1.0 - (1.0 - c_top).powi(k as i32),
                1e-9,
                "favourite_shown",
            );
            close(f(&row["win_rate"]), 1.0 - g, 1e-9, "win_rate");
            avg += f(&row["weight"]) * f(&row["win_rate"]);
        }
        close(
            avg,
            f(&v["certificate"]["worst_case_win_rate"]),
            1e-6,
            "rows average to the certificate",
        );
    }
}

#[test]
fn explain_refuses_hedge() {
    let dir = tempdir();
    let file = write(&dir, "cycle.json", CYCLE);
    let o = run(&["solve", &file, "--k", "2", "--method", "hedge", "--explain"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("--explain needs --method optimistic"),
        "{}",
        o.stderr
    );
    assert!(o.stdout.is_empty());
}
