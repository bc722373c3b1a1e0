//! docs/maths.md §7 exact cases, through every input format, checked against numbers computed here
//! independently (exact fractions and an independent implementation of the share formula).

mod common;
use common::*;

fn unanimous() -> Profile {
    Profile {
        names: vec!["a", "b", "c"],
        orders: vec![(2, vec![0, 1, 2]), (1, vec![0, 2, 1])],
    }
}

fn cycle(n: usize) -> Profile {
    const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
    Profile {
        names: NAMES[..n].to_vec(),
        orders: (0..n)
            .map(|i| (1, (0..n).map(|p| (i + p) % n).collect()))
            .collect(),
    }
}

fn two(d_num: u64, total: u64) -> Profile {
    Profile {
        names: vec!["a", "b"],
        orders: vec![(d_num, vec![0, 1]), (total - d_num, vec![1, 0])],
    }
}

fn certificate(v: &serde_json::Value) -> (f64, f64, f64) {
    let c = &v["certificate"];
    (
        f(&c["worst_case_win_rate"]),
        f(&c["exploitability"]),
        f(&c["bound"]),
    )
}

#[test]
fn unanimous_top_choice_is_a_point_mass_equilibrium_in_every_format() {
    let dir = tempdir();
    for file in unanimous().write_all(&dir, "unanimous") {
        for k in [1u32, 2, 5] {
            let ks = k.to_string();
            let v = json(&["solve", &file, "--k", &ks]);
            assert_eq!(v["n"], 3, "{file}");
            assert_eq!(
                v["candidates"],
                serde_json::json!(["a", "b", "c"]),
                "{file}"
            );
            let pi = floats(&v["policy"]);
            assert!(pi[0] > 0.999, "{file} k={k}: {pi:?}");
            let (wr, e, bound) = certificate(&v);
            let exact = k as f64 / (k as f64 + 1.0);
            close(bound, exact, 1e-6, "bound");
            close(wr, exact, 1e-4, &format!("{file} k={k} win rate"));
            assert!(e <= 1e-4);
            // eval of the exact point mass: exploitability 0, win rate k/(k+1).
            let v = json(&["eval", &file, "--k", &ks, "--policy", "[1,0,0]"]);
            let (wr, e, _) = certificate(&v);
            close(wr, exact, 1e-6, "eval point mass");
            close(e, 0.0, 1e-6, "eval exploitability");
        }
    }
}

#[test]
fn condorcet_cycle_uniform_is_an_equilibrium_in_every_format() {
    let dir = tempdir();
    for n in [3usize, 5] {
        let p = cycle(n);
        let uniform = format!("[{}]", vec![format!("{}", 1.0 / n as f64); n].join(","));
        for file in p.write_all(&dir, &format!("cycle{n}")) {
            for k in [1u32, 2, 4] {
                let ks = k.to_string();
                let exact = k as f64 / (k as f64 + 1.0);
                let v = json(&["eval", &file, "--k", &ks, "--policy", &uniform]);
                let (wr, e, _) = certificate(&v);
                close(wr, exact, 1e-5, &format!("{file} uniform k={k}"));
                close(e, 0.0, 1e-5, "uniform exploitability");
                let v = json(&["solve", &file, "--k", &ks]);
                let (wr, _, _) = certificate(&v);
                close(wr, exact, 2e-4, &format!("{file} solve k={k}"));
            }
        }
    }
}

#[test]
fn majority_minority_k2_equilibrium_is_exactly_08_02_0_in_every_format() {
    let dir = tempdir();
    let p = majority_minority();
    let users = p.users();
    // Independent check of the claimed equilibrium: all shares on the support equal 1/3.
    let g = shares(&users, &[0.8, 0.2, 0.0], 2);
    close(g[0], 1.0 / 3.0, 1e-12, "g(a)");
    close(g[1], 1.0 / 3.0, 1e-12, "g(b)");
    assert!(g[2] <= 1.0 / 3.0);
    for file in p.write_all(&dir, "majmin") {
        let v = json(&["solve", &file, "--k", "2", "--eps", "1e-6"]);
        let pi = floats(&v["policy"]);
        close(pi[0], 0.8, 1e-3, &format!("{file} pi(a)"));
        close(pi[1], 0.2, 1e-3, &format!("{file} pi(b)"));
        close(pi[2], 0.0, 1e-3, &format!("{file} pi(c)"));
        let (wr, _, bound) = certificate(&v);
        close(wr, 2.0 / 3.0, 1e-4, &format!("{file} worst-case win rate"));
        close(bound, 2.0 / 3.0, 1e-6, "bound");
        assert_eq!(v["method"], "optimistic");
        assert_eq!(v["k"], 2);
        // The whitespace table repeats each row `count` times: 5 score rows, 2 merged orders.
        assert_eq!(v["m"], if file.ends_with(".txt") { 5 } else { 2 }, "{file}");
        // NLHF is the point mass on a: 0.6 for every k >= 2 (at k = 1 the copy of a gets 1/2).
        for k in [2u32, 3, 7] {
            let v = json(&["eval", &file, "--k", &k.to_string(), "--policy", "[1,0,0]"]);
            close(certificate(&v).0, 0.6, 1e-6, "NLHF point mass");
        }
    }
}

#[test]
fn majority_minority_curve_and_large_k() {
    let dir = tempdir();
    let p = majority_minority();
    let files = p.write_all(&dir, "majmin");
    let v = json(&["curve", &files[0], "--k-max", "6"]);
    let rows = v.as_array().expect("rows");
    assert_eq!(rows.len(), 6);
    for (i, r) in rows.iter().enumerate() {
        let k = (i + 1) as f64;
        assert_eq!(f(&r["k"]), k);
        let bound = k / (k + 1.0);
        close(f(&r["bound"]), bound, 1e-6, "bound");
        close(f(&r["equilibrium"]), bound, 2e-4, "equilibrium");
        let nlhf = if i == 0 { 0.5 } else { 0.6 };
        close(f(&r["nlhf"]), nlhf, 1e-3, "nlhf");
        // Borda utilities: a = (3*2 + 2*0)/5 = 1.2, b = 0.8, c = 1: the reward model picks a.
        close(f(&r["reward_model"]), nlhf, 1e-6, "reward model");
        let uniform = worst_case(&p.users(), &[1.0 / 3.0; 3], i as u32 + 1);
        close(f(&r["uniform"]), uniform, 1e-5, "uniform");
    }
    // As k grows the equilibrium moves towards (0.6, 0.4, 0).
    let mut prev = 0.8;
    for k in ["4", "16", "64"] {
        let v = json(&["solve", &files[0], "--k", k, "--eps", "1e-6"]);
        let pi = floats(&v["policy"]);
        assert!(pi[0] < prev && pi[0] > 0.6, "k={k}: {pi:?}");
        prev = pi[0];
    }
    assert!(prev < 0.65, "k=64: pi(a) = {prev}");
}

#[test]
fn two_candidates_nlhf_stays_at_half_plus_d() {
    let dir = tempdir();
    // d = 0.05: 11 of 20 prefer a.
    for file in two(11, 20).write_all(&dir, "two") {
        let v = json(&["curve", &file, "--k-max", "5"]);
        for r in v.as_array().expect("rows").iter().skip(1) {
            close(f(&r["nlhf"]), 0.55, 1e-3, &format!("{file} nlhf"));
            let k = f(&r["k"]);
            close(f(&r["equilibrium"]), k / (k + 1.0), 2e-4, "equilibrium");
        }
    }
}

#[test]
fn eval_matches_the_independent_share_formula() {
    let dir = tempdir();
    let p = majority_minority();
    let file = &p.write_all(&dir, "mm")[2];
    for (pi, k) in [
        ([0.5, 0.3, 0.2], 3u32),
        ([0.1, 0.1, 0.8], 1),
        ([0.2, 0.7, 0.1], 9),
    ] {
        let arg = format!("[{},{},{}]", pi[0], pi[1], pi[2]);
        let v = json(&["eval", file, "--k", &k.to_string(), "--policy", &arg]);
        let g = shares(&p.users(), &pi, k);
        let (worst, gmax) = g
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (y, &x)| if x > b.1 { (y, x) } else { b });
        close(
            f(&v["certificate"]["worst_case_win_rate"]),
            1.0 - gmax,
            1e-5,
            "win rate",
        );
        close(
            f(&v["certificate"]["exploitability"]),
            (gmax - 1.0 / (k as f64 + 1.0)).max(0.0),
            1e-5,
            "exploitability",
        );
        assert_eq!(v["certificate"]["worst_opponent"], p.names[worst]);
    }
}

#[test]
fn eval_reads_solve_output_and_hedge_reports_the_mixture() {
    let dir = tempdir();
    let file = &majority_minority().write_all(&dir, "mm")[0];
    let out = run(&["solve", file, "--k", "2"]);
    assert_eq!(out.code, 0);
    let saved = write(&dir, "solved.json", &out.stdout);
    let v = json(&["eval", file, "--k", "2", "--policy", &saved]);
    close(
        f(&v["certificate"]["worst_case_win_rate"]),
        2.0 / 3.0,
        1e-4,
        "eval of solve output",
    );

    let v = json(&[
        "solve",
        file,
        "--k",
        "2",
        "--method",
        "hedge",
        "--max-iter",
        "2000",
    ]);
    assert_eq!(v["method"], "hedge");
    assert_eq!(v["deployed"], "time_mixture");
    let rounds = f(&v["rounds"]);
    assert!((1.0..=2000.0).contains(&rounds));
    let (wr, e, _) = certificate(&v);
    // The mixture certificate: k/(k+1) - Regret/T, with Regret/T <= sqrt(ln n / (2T)).
    close(wr, 2.0 / 3.0 - e, 1e-5, "mixture win rate");
    assert!(e <= f(&v["regret_bound"]) + 1e-6);
    assert!(v["average_policy_certificate"].is_object());
}

/// Counts of `2^22` and more are used exactly, in every format: `a` wins 16,777,217 to
/// 16,777,216, so `b` alone has the exact exploitability `1/(2 * 33,554,433)` and worst-case win
/// rate `16,777,216/33,554,433`, below 1/2; the two counts round to the same `f32`, and a
/// certificate of the rounded counts printed 1/2 and 0. Likewise counts below `2^22` that
/// identical rankings merge past it (4,194,303 + 2 against 4,194,304). Checked against the
/// exact fractions: the printed exploitability at least, the printed win rate at most.
#[test]
fn counts_from_2_pow_22_up_certify_exactly_in_every_format() {
    let dir = tempdir();
    type Counts<'a> = &'a [(u64, Vec<usize>)];
    let cases: [(Counts, u64); 2] = [
        (
            &[(16_777_217, vec![0, 1]), (16_777_216, vec![1, 0])],
            16_777_216,
        ),
        (
            &[
                (4_194_303, vec![0, 1]),
                (2, vec![0, 1]),
                (4_194_304, vec![1, 0]),
            ],
            4_194_304,
        ),
    ];
    for (i, (orders, for_b)) in cases.into_iter().enumerate() {
        let p = Profile {
            names: vec!["a", "b"],
            orders: orders.to_vec(),
        };
        let total: u64 = orders.iter().map(|(w, _)| w).sum();
        let files = p.write_all(&dir, &format!("big{i}"));
        assert_eq!(files.len(), 5, "{files:?}");
        for file in &files {
            let v = json(&["eval", file, "--k", "1", "--policy", "[0,1]"]);
            let (win, e, _) = certificate(&v);
            // e >= 1/(2 total) and win <= for_b / total, in f64 (exact to 1e-16 relative,
            // where the two sides differ by 1e-8).
            assert!(e * (2 * total) as f64 >= 1.0, "{file}: exploitability {e}");
            assert!(win * total as f64 <= for_b as f64, "{file}: win rate {win}");
            let v = json(&["solve", file, "--k", "1"]);
            assert_eq!(floats(&v["policy"]), [1.0, 0.0], "{file}");
            assert_eq!(certificate(&v), (0.5, 0.0, 0.5), "{file}");
        }
    }
}
