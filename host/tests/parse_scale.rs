//! Files of 200,000 user types parse in every format, and the population builds (no timing
//! here: the criterion benchmark `benches/benches/parse.rs` measures speed). Before the
//! parsers were made linear, the JSON case alone took minutes.

use std::fmt::Write;

use ualign_host::formats::{Format, Options, Values, parse_with};
use ualign_host::{Instance, Prefs, Store};

const M: usize = 200_000;
const N: usize = 9;

/// The `j`-th permutation of `0..N` in lexicographic order (`j < 9!`): all distinct.
fn perm(mut j: usize) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..N).collect();
    let mut out = Vec::with_capacity(N);
    for i in (0..N).rev() {
        let f: usize = (1..=i).product();
        out.push(pool.remove(j / f));
        j %= f;
    }
    out
}

/// A score for candidate `c` of user `j` that orders like `perm(j)` (best first) and is not
/// rank-like (it has decimals).
fn score(p: &[usize], c: usize) -> f64 {
    let pos = p.iter().position(|&x| x == c).unwrap_or(0);
    (N - pos) as f64 + 0.5
}

fn check(inst: &Instance, format: &str) {
    assert_eq!((inst.n(), inst.m()), (N, M), "{format}");
    for j in [0, 1, M / 2, M - 1] {
        let p = perm(j);
        let u = &inst.users[j];
        match (&u.prefs, u.prefs.groups()) {
            (Prefs::Scores(s), _) => {
                let want: Vec<f64> = (0..N).map(|c| score(&p, c)).collect();
                assert_eq!(s, &want, "{format} user {j}");
            }
            (_, Some(g)) => {
                let flat: Vec<usize> = g.iter().flatten().map(|&c| c as usize).collect();
                assert_eq!(flat, p, "{format} user {j}");
                assert!(g.iter().all(|g| g.len() == 1), "{format} user {j}");
            }
            (_, None) => panic!("{format} user {j}: no groups"),
        }
        assert_eq!(u.weight, (1 + j % 7) as f64, "{format} user {j}");
    }
    let mut store = Store::default();
    let pop = inst.population(&mut store).expect("population");
    assert_eq!(pop.m(), M);
    // The last user's order, read back from the population, best first.
    let order: Vec<usize> = pop.order(M - 1).expect("order").map(|(c, _)| c).collect();
    assert_eq!(order, perm(M - 1), "{format}");
}

#[test]
fn two_hundred_thousand_user_types_parse_in_every_format() {
    let names: Vec<String> = (0..N).map(|c| format!("cand{c}")).collect();
    let mut preflib = format!("# NUMBER ALTERNATIVES: {N}\n");
    for (c, name) in names.iter().enumerate() {
        let _ = writeln!(preflib, "# ALTERNATIVE NAME {}: {name}", c + 1);
    }
    let quoted: Vec<String> = names.iter().map(|s| format!("\"{s}\"")).collect();
    let mut json_rank = format!("{{\"candidates\": [{}],\n\"users\": [\n", quoted.join(", "));
    let mut json_score = json_rank.clone();
    let mut csv = format!("label,{},weight\n", names.join(","));
    let mut table = format!("label {} weight\n", names.join(" "));
    let mut ranks = format!("{},#\n", names.join(","));
    for j in 0..M {
        let p = perm(j);
        let w = 1 + j % 7;
        let sep = if j + 1 < M { "," } else { "" };
        let order: Vec<String> = p.iter().map(|c| (c + 1).to_string()).collect();
        let _ = writeln!(preflib, "{w}: {}", order.join(","));
        let groups: Vec<String> = p.iter().map(|&c| format!("[\"{}\"]", names[c])).collect();
        let _ = writeln!(
            json_rank,
            "{{\"weight\": {w}, \"ranking\": [{}]}}{sep}",
            groups.join(", ")
        );
        let scores: Vec<String> = (0..N).map(|c| score(&p, c).to_string()).collect();
        let _ = writeln!(
            json_score,
            "{{\"weight\": {w}, \"scores\": [{}]}}{sep}",
            scores.join(", ")
        );
        let _ = writeln!(csv, "u{j},{},{w}", scores.join(","));
        let _ = writeln!(table, "u{j} {} {w}", scores.join(" "));
        let rank: Vec<String> = (0..N)
            .map(|c| (1 + p.iter().position(|&x| x == c).unwrap_or(0)).to_string())
            .collect();
        let _ = writeln!(ranks, "{},{w}", rank.join(","));
    }
    json_rank.push_str("]}\n");
    json_score.push_str("]}\n");
    let scores = Options::default();
    let as_ranks = Options {
        values: Some(Values::Ranks),
        header: None,
    };
    for (name, text, format, opts) in [
        ("preflib", &preflib, Format::Preflib, scores),
        ("json rankings", &json_rank, Format::Json, scores),
        ("json scores", &json_score, Format::Json, scores),
        ("csv", &csv, Format::Csv, scores),
        ("table", &table, Format::Table, scores),
        ("csv ranks", &ranks, Format::Csv, as_ranks),
    ] {
        let parsed = parse_with(text, name, format, &opts).expect(name);
        check(&parsed.instance, name);
    }
}

/// The population's orders, for numbers of candidates on both sides of every scratch size of
/// the builder (16, 64, 256, the capacity 1024), against an independent stable sort: best first,
/// equal scores in index order and flagged as tied with the next.
#[test]
fn population_orders_across_scratch_sizes() {
    for n in [1usize, 2, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 1024] {
        let mut users = Vec::new();
        for j in 0..3usize {
            // Few distinct values: many ties. User 2 ranks the even candidates in index order
            // and leaves the odd ones out.
            let s: Vec<f64> = (0..n).map(|c| ((c * 7 + j * 3) % 11) as f64).collect();
            let prefs = if j == 2 {
                let listed: Vec<u16> = (0..n as u16).filter(|c| c % 2 == 0).collect();
                Prefs::Order(listed)
            } else {
                Prefs::Scores(s)
            };
            users.push(ualign_host::UserType {
                weight: 1.0 + j as f64,
                prefs,
                line: j + 1,
            });
        }
        let inst = Instance {
            source: "t".into(),
            candidates: (0..n).map(|c| format!("c{c}")).collect(),
            users,
        };
        let mut store = Store::default();
        let pop = inst.population(&mut store).expect("population");
        for j in 0..3usize {
            // Utility per candidate, higher is better.
            let u: Vec<f64> = match &inst.users[j].prefs {
                Prefs::Scores(s) => s.clone(),
                // Listed in increasing index (strict), unlisted tied below.
                _ => (0..n)
                    .map(|c| if c % 2 == 0 { (n - c) as f64 } else { 0.0 })
                    .collect(),
            };
            let mut want: Vec<usize> = (0..n).collect();
            want.sort_by(|&a, &b| u[b].partial_cmp(&u[a]).unwrap().then(a.cmp(&b)));
            let got: Vec<(usize, bool)> = pop.order(j).expect("order").collect();
            let idx: Vec<usize> = got.iter().map(|x| x.0).collect();
            assert_eq!(idx, want, "n = {n}, user {j}");
            for p in 0..n {
                let tie = p + 1 < n && u[want[p]] == u[want[p + 1]];
                assert_eq!(got[p].1, tie, "n = {n}, user {j}, position {p}");
            }
        }
    }
}
