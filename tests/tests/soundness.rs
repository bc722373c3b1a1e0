//! Soundness of every number core certifies, against exact rational arithmetic (issue 13, item 1).
//!
//! Each instance is generated here (seeded), built through the public builder, and checked
//! against the exact checker of `exact/`, which reads the instance's own description (groups and
//! weights), never the population. Semantics (docs/maths.md §2): a policy is the distribution
//! proportional to the exact values of its `f32` masses; a population's weights are the `f32`
//! values of the weights given, normalised by their exact sum.
//!
//! For every certificate printed:
//! - `worst_case_win_rate <=` the exact `f = 1 - max_y g(y)`, and `exploitability >=` the exact
//!   `e = max_y g(y) - 1/(k+1)` (soundness: no rounding may take them across);
//! - both within `1e-6` of exact (tightness); the worst opponent's exact share within `1e-6` of
//!   the largest;
//! - at `k = 1`, `worst_case_win_rate <= 1/2` for every policy;
//! - for the solver: the same for its certificate of the policy as returned, and `converged`
//!   implies the exact `e <= epsilon`;
//! - exact cases certify exactly: a Condorcet winner's point mass at `k = 1` (exploitability
//!   `0.0`, worst-case win rate `0.5`), a unanimous top choice's point mass at every `k`
//!   (exploitability `0.0`, worst-case win rate the largest `f32 <= k/(k+1)`), the cyclic profile
//!   on 2, 4 and 8 candidates under the uniform policy (exploitability `0.0`).
//! - `win_rate_against`, `opponent_win_rate` and `worst_opponent`: our printed win rate is at most
//!   the exact one (the opponent's printed chance at least the exact one), within `1e-6`.
//!
//! The policies of the main tests sum to 1 up to the rounding of their entries; two tests of
//! their own give policies whose `f32` sum is off 1 by up to `5e-4`, which must be normalised
//! exactly.
//!
//! A test gathers all its failures and reports, per kind, how many, the shortest failing case,
//! and per family how many with the worst excess and the case that gave it (`n`, the weights and
//! groups as given, `s` for a ballot pushed as scores, `k`, the policy's `f32` masses), then
//! fails.

mod exact;

use std::collections::BTreeMap;

use exact::generate::{self, ALL_SHAPES, ALL_WEIGHTS, Gen, POLICIES, Policy, Shape, Weights};
use exact::{Ballot, Exact, Game, Instance, Q, f32_at_most, f64_of, masses, q_f32, q_frac};
use num_traits::{One, Zero};
use ualign::{
    Certificate, Population, Storage,
    certificate::{certify, win_rate_against},
    opponents::{opponent_win_rate, worst_opponent},
    solver::{SolveOptions, optimistic_hedge},
};

const N: usize = 8;
/// How close to exact every printed figure must be.
const TIGHT: f64 = 1e-6;

/// Storage for an instance's population.
fn storage(inst: &Instance) -> (Vec<f32>, Vec<u16>) {
    let m = inst.ballots.len();
    (vec![0.0; m], vec![0; m * inst.n])
}

/// The population of an instance, through the public builder.
fn build<'a>(inst: &Instance, w: &'a mut [f32], o: &'a mut [u16]) -> Population<'a, N> {
    let mut b = Population::<N>::builder(inst.n, Storage::new(w, o)).unwrap();
    for ballot in &inst.ballots {
        match &ballot.scores {
            Some(s) => b.push_scores(ballot.weight, s),
            None => b.push_ranking(ballot.weight, &ballot.groups),
        }
        .unwrap_or_else(|e| panic!("{inst}: {e:?}"));
    }
    b.finish().unwrap_or_else(|e| panic!("{inst}: {e:?}"))
}

/// One kind of failure: how many and the worst excess, overall and per family (with the case
/// that gave the family's worst), and the shortest failing case.
#[derive(Default)]
struct Kind {
    count: usize,
    worst: f64,
    smallest: String,
    families: BTreeMap<String, (usize, f64, String)>,
}

/// The failures of one test.
struct Failures {
    test: &'static str,
    cases: usize,
    kinds: BTreeMap<String, Kind>,
}

impl Failures {
    fn new(test: &'static str) -> Self {
        Failures {
            test,
            cases: 0,
            kinds: BTreeMap::new(),
        }
    }

    /// Records a failure of `kind` by `excess` (NaN when there is no number to give).
    fn fail(&mut self, kind: &str, family: &str, excess: f64, case: &dyn Fn() -> String) {
        let k = self.kinds.entry(kind.to_string()).or_default();
        let described = case();
        if k.count == 0 || described.len() < k.smallest.len() {
            k.smallest = described;
        }
        k.count += 1;
        if k.count == 1 || excess > k.worst || excess.is_nan() {
            k.worst = excess;
        }
        let fam = k
            .families
            .entry(family.to_string())
            .or_insert_with(|| (0, excess, case()));
        fam.0 += 1;
        if excess > fam.1 || (excess.is_nan() && !fam.1.is_nan()) {
            fam.1 = excess;
            fam.2 = case();
        }
    }

    /// Prints the summary and fails when anything failed.
    fn finish(self) {
        let mut out = format!("{}: {} cases checked", self.test, self.cases);
        for (name, k) in &self.kinds {
            out += &format!(
                "\n  FAIL {name}: {} cases, worst excess {:.3e}",
                k.count, k.worst
            );
            out += &format!("\n    shortest case: {}", k.smallest);
            for (family, (count, worst, case)) in &k.families {
                out += &format!("\n    {family}: {count}, worst {worst:.2e}: {case}");
            }
        }
        eprintln!("{out}");
        assert!(self.kinds.is_empty(), "{out}");
    }
}

/// Checks a printed certificate of `(pi, k)` against the exact one; `what` names the route.
fn check_certificate(
    f: &mut Failures,
    what: &str,
    family: &str,
    case: &dyn Fn() -> String,
    cert: &Certificate,
    ex: &Exact,
    k: u32,
) {
    if !cert.worst_case_win_rate.is_finite() || !cert.exploitability.is_finite() {
        f.fail(&format!("{what}: not finite"), family, f64::NAN, case);
        return;
    }
    let w = q_f32(cert.worst_case_win_rate);
    let e = q_f32(cert.exploitability);
    let exact_f = &ex.worst_case_win_rate;
    let exact_e = &ex.exploitability;
    if w > *exact_f {
        let d = f64_of(&(&w - exact_f));
        f.fail(
            &format!("{what}: worst_case_win_rate above exact"),
            family,
            d,
            case,
        );
    }
    if e < *exact_e {
        let d = f64_of(&(exact_e - &e));
        f.fail(
            &format!("{what}: exploitability below exact"),
            family,
            d,
            case,
        );
    }
    let dw = f64_of(&(exact_f - &w)).abs();
    if dw > TIGHT {
        f.fail(
            &format!("{what}: worst_case_win_rate not within 1e-6"),
            family,
            dw,
            case,
        );
    }
    let de = f64_of(&(&e - exact_e)).abs();
    if de > TIGHT {
        f.fail(
            &format!("{what}: exploitability not within 1e-6"),
            family,
            de,
            case,
        );
    }
    if k == 1 && cert.worst_case_win_rate > 0.5 {
        let d = cert.worst_case_win_rate as f64 - 0.5;
        f.fail(
            &format!("{what}: k = 1 and worst_case_win_rate above 1/2"),
            family,
            d,
            case,
        );
    }
    if cert.k != k {
        f.fail(&format!("{what}: wrong k"), family, f64::NAN, case);
    }
    match ex.shares.get(cert.worst_opponent) {
        Some(g) => {
            let gap = f64_of(&(&ex.max_share - g));
            if gap > TIGHT {
                f.fail(
                    &format!("{what}: worst_opponent's exact share not within 1e-6 of the max"),
                    family,
                    gap,
                    case,
                );
            }
        }
        None => f.fail(
            &format!("{what}: worst_opponent out of range"),
            family,
            f64::NAN,
            case,
        ),
    }
}

fn describe(inst: &Instance, k: u32, pi: &[f32]) -> String {
    format!("{inst} k={k} pi={pi:?}")
}

/// `certify` and `win_rate_against` on generated instances: weights from `families` in turn,
/// every policy kind of `policies`, random `k`; a mixed opponent from `policies` against the
/// random and grid policies (against every policy when `policies` has one kind).
fn certify_family(
    test: &'static str,
    families: &[Weights],
    policies: &[Policy],
    seed: u64,
    instances: usize,
) {
    let mut f = Failures::new(test);
    let mut g = Gen::new(seed);
    for i in 0..instances {
        let weights = families[i % families.len()];
        let n = g.range(1, N);
        let m = if g.chance(0.3) {
            g.range(1, 5)
        } else {
            g.range(1, 40)
        };
        let shape = g.pick(&ALL_SHAPES);
        let inst = generate::instance(&mut g, n, m, weights, shape, true);
        let game = Game::from_instance(&inst);
        let (mut w, mut o) = storage(&inst);
        let pop = build(&inst, &mut w, &mut o);
        for &kind in policies {
            let pi = generate::policy(&mut g, n, kind);
            let k = g.k();
            let family = format!("{weights:?}/{kind:?}");
            let case = || describe(&inst, k, &pi);
            let ex = game.certificate(&masses(&pi), k);
            f.cases += 1;
            match certify(&pop, &pi, k) {
                Ok(cert) => check_certificate(&mut f, "certify", &family, &case, &cert, &ex, k),
                Err(e) => f.fail(&format!("certify: error {e:?}"), &family, f64::NAN, &case),
            }
            // Against a mixed single-response opponent.
            if kind == Policy::Dirichlet || kind == Policy::Grid || policies.len() == 1 {
                let okind = g.pick(policies);
                let family = format!("{family} vs {okind:?}");
                let s = generate::policy(&mut g, n, okind);
                let total = masses(&s).iter().fold(Q::zero(), |a, x| a + x);
                let against = masses(&s)
                    .iter()
                    .zip(&ex.shares)
                    .fold(Q::zero(), |a, (sy, gy)| a + sy * gy);
                let exact = Q::one() - against / total;
                let case = || format!("{} opponent={s:?}", describe(&inst, k, &pi));
                f.cases += 1;
                match win_rate_against(&pop, &pi, k, &s) {
                    Ok(x) if x.is_finite() => {
                        let x = q_f32(x);
                        if x > exact {
                            let d = f64_of(&(&x - &exact));
                            f.fail("win_rate_against: above exact", &family, d, &case);
                        }
                        let d = f64_of(&(&x - &exact)).abs();
                        if d > TIGHT {
                            f.fail("win_rate_against: not within 1e-6", &family, d, &case);
                        }
                    }
                    r => f.fail(
                        &format!("win_rate_against: {r:?}"),
                        &family,
                        f64::NAN,
                        &case,
                    ),
                }
            }
        }
    }
    f.finish();
}

const INSTANCES: usize = 500;

#[test]
fn certify_is_sound_unit_weights() {
    certify_family(
        "certify, unit weights",
        &[Weights::Unit],
        &POLICIES,
        101,
        INSTANCES,
    );
}

#[test]
fn certify_is_sound_integer_counts() {
    certify_family(
        "certify, integer counts",
        &[Weights::Counts],
        &POLICIES,
        102,
        INSTANCES,
    );
}

#[test]
fn certify_is_sound_heavy_counts() {
    certify_family(
        "certify, heavy counts",
        &[Weights::Heavy],
        &POLICIES,
        103,
        INSTANCES,
    );
}

#[test]
fn certify_is_sound_dyadic_weights_of_every_magnitude() {
    certify_family(
        "certify, dyadic weights",
        &[Weights::Dyadic],
        &POLICIES,
        104,
        INSTANCES,
    );
}

#[test]
fn certify_is_sound_decimal_weights() {
    certify_family(
        "certify, decimal weights",
        &[Weights::Decimal],
        &POLICIES,
        105,
        INSTANCES,
    );
}

/// A policy means the distribution proportional to its masses, normalised by their exact sum:
/// policies whose `f32` sum is off 1 by up to `5e-4` (core accepts up to `1e-3`), for `certify`,
/// `win_rate_against` and the opponents.
#[test]
fn unnormalised_policies_are_normalised_exactly() {
    certify_family(
        "certify, policies off 1 by up to 5e-4",
        &ALL_WEIGHTS,
        &[Policy::Scaled],
        106,
        300,
    );
}

#[test]
fn opponents_of_unnormalised_policies_are_sound() {
    opponents_check(
        "opponents, policies off 1 by up to 5e-4",
        &[Policy::Scaled],
        602,
        60,
    );
}

/// Ballots in the issue's notation: `{1,2,4},6` with candidates numbered from 1.
fn parse_ballots(n: usize, lines: &[&str]) -> Instance {
    let ballots = lines
        .iter()
        .map(|line| {
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut open: Option<Vec<usize>> = None;
            for token in line.split_inclusive([',', '{', '}']) {
                let brace_open = token.starts_with('{');
                let digits: String = token.chars().filter(|c| c.is_ascii_digit()).collect();
                if brace_open {
                    open = Some(Vec::new());
                }
                if !digits.is_empty() {
                    let c = digits.parse::<usize>().unwrap() - 1;
                    match open.as_mut() {
                        Some(grp) => grp.push(c),
                        None => groups.push(vec![c]),
                    }
                }
                if token.contains('}') {
                    groups.push(open.take().unwrap());
                }
            }
            Ballot::ranking(1.0, groups)
        })
        .collect();
    Instance { n, ballots }
}

/// The smallest profile of issue 13 where `eval --k 1 --policy '[1,0,0,0,0,0]'` printed
/// `0.50000024`, and other policies and `k` on it.
#[test]
fn issue_13_profile_is_certified_soundly() {
    let inst = parse_ballots(
        6,
        &[
            "{1,2,4}",
            "1,4",
            "{1,2,4,5}",
            "6",
            "{2,4,5,6}",
            "{1,2,4},6",
            "1,{2,3,5}",
            "6,2,{1,3,4},5",
            "{5,6},{1,2}",
            "{1,4}",
            "{1,4,5}",
            "{2,3},6",
            "{1,6},2,{4,5}",
            "2,{1,5},{3,4,6}",
            "1,3,4,5",
            "5,6",
            "{2,3,5},{1,4},6",
            "5,{1,2,4},6",
            "{2,4},3,5,1",
            "1",
            "{1,2},{3,4,6},5",
            "{1,6}",
            "6,4,1,3,{2,5}",
            "{1,5,6},{2,3,4}",
            "2,{1,4,6}",
            "{5,6},{1,2}",
            "6,5,2",
            "{1,4}",
            "{1,2}",
            "4,{3,6}",
            "4,6",
        ],
    );
    assert_eq!(
        inst.ballots[7].groups,
        vec![vec![5], vec![1], vec![0, 2, 3], vec![4]]
    );
    let game = Game::from_instance(&inst);
    let (mut w, mut o) = storage(&inst);
    let pop = build(&inst, &mut w, &mut o);
    let mut f = Failures::new("issue 13 profile");
    let mut g = Gen::new(13);
    let mut policies = vec![vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0]];
    for kind in POLICIES {
        policies.push(generate::policy(&mut g, 6, kind));
    }
    for pi in &policies {
        for k in 1..=16 {
            let ex = game.certificate(&masses(pi), k);
            let case = || describe(&inst, k, pi);
            f.cases += 1;
            let cert = certify(&pop, pi, k).unwrap();
            check_certificate(&mut f, "certify", "issue 13", &case, &cert, &ex, k);
        }
    }
    f.finish();
}

/// `optimistic_hedge`: its certificate of the policy as returned, `certify` of that policy, and
/// `converged` only when the exact exploitability is at most `epsilon`.
#[test]
fn solver_output_is_certified_soundly() {
    let mut f = Failures::new("optimistic_hedge");
    let mut g = Gen::new(201);
    for i in 0..300 {
        let weights = ALL_WEIGHTS[i % ALL_WEIGHTS.len()];
        let n = g.range(2, N);
        let m = if g.chance(0.3) {
            g.range(1, 5)
        } else {
            g.range(1, 40)
        };
        let shape = g.pick(&ALL_SHAPES);
        let inst = generate::instance(&mut g, n, m, weights, shape, true);
        let k = g.k();
        let eps: f32 = g.pick(&[1e-4, 1e-5]);
        let (mut w, mut o) = storage(&inst);
        let pop = build(&inst, &mut w, &mut o);
        let mut pi = vec![0.0f32; n];
        let family = format!("{weights:?}");
        let opts = SolveOptions::new(k).epsilon(eps).max_iter(2000);
        let sol = optimistic_hedge(&pop, &opts, &mut pi);
        let case = || format!("{} eps={eps:e}", describe(&inst, k, &pi));
        f.cases += 1;
        let sol = match sol {
            Ok(s) => s,
            Err(e) => {
                f.fail(
                    &format!("optimistic_hedge: error {e:?}"),
                    &family,
                    f64::NAN,
                    &case,
                );
                continue;
            }
        };
        if pi.iter().any(|p| !p.is_finite() || *p < 0.0) || pi.iter().all(|&p| p == 0.0) {
            f.fail(
                "optimistic_hedge: policy not a distribution",
                &family,
                f64::NAN,
                &case,
            );
            continue;
        }
        let ex = Game::from_instance(&inst).certificate(&masses(&pi), k);
        check_certificate(
            &mut f,
            "solution.certificate",
            &family,
            &case,
            &sol.certificate,
            &ex,
            k,
        );
        if sol.converged && ex.exploitability > q_f32(eps) {
            let d = f64_of(&(&ex.exploitability - q_f32(eps)));
            f.fail(
                "optimistic_hedge: converged but exact exploitability above eps",
                &family,
                d,
                &case,
            );
        }
        match certify(&pop, &pi, k) {
            Ok(cert) => check_certificate(
                &mut f,
                "certify(solver output)",
                &family,
                &case,
                &cert,
                &ex,
                k,
            ),
            Err(e) => f.fail(
                &format!("certify(solver output): error {e:?}"),
                &family,
                f64::NAN,
                &case,
            ),
        }
    }
    f.finish();
}

/// Moves `x` to a group of its own at the top of `ballot` (its scores, if any, redrawn).
fn put_on_top(g: &mut Gen, n: usize, ballot: &mut Ballot, x: usize) {
    for grp in ballot.groups.iter_mut() {
        grp.retain(|&c| c != x);
    }
    ballot.groups.retain(|grp| !grp.is_empty());
    ballot.groups.insert(0, vec![x]);
    if ballot.scores.is_some() {
        ballot.scores = Some(generate::scores(g, n, &ballot.groups));
    }
}

fn point_mass(n: usize, x: usize) -> Vec<f32> {
    let mut p = vec![0.0f32; n];
    p[x] = 1.0;
    p
}

/// A point mass on a Condorcet winner at `k = 1`: exploitability exactly `0.0`, worst-case win
/// rate exactly `0.5`.
#[test]
fn condorcet_winner_point_mass_certifies_exactly() {
    let mut f = Failures::new("Condorcet winner at k = 1");
    let mut g = Gen::new(301);
    let mut winners = 0;
    for i in 0..800 {
        let weights = ALL_WEIGHTS[i % ALL_WEIGHTS.len()];
        let n = g.range(1, N);
        let m = g.range(1, 40);
        let shape = g.pick(&ALL_SHAPES);
        let mut inst = generate::instance(&mut g, n, m, weights, shape, true);
        let x = g.below(n);
        let bias = g.pick(&[0.4, 0.55, 0.7]);
        for b in inst.ballots.iter_mut() {
            if g.chance(bias) {
                put_on_top(&mut g, n, b, x);
            }
        }
        let game = Game::from_instance(&inst);
        if !exact::is_condorcet_winner(&game, x) {
            continue;
        }
        winners += 1;
        let pi = point_mass(n, x);
        let ex = game.certificate(&masses(&pi), 1);
        assert!(ex.exploitability.is_zero(), "checker: {inst}");
        let (mut w, mut o) = storage(&inst);
        let pop = build(&inst, &mut w, &mut o);
        let case = || describe(&inst, 1, &pi);
        let family = format!("{weights:?}");
        f.cases += 1;
        let cert = certify(&pop, &pi, 1).unwrap();
        check_certificate(&mut f, "certify", &family, &case, &cert, &ex, 1);
        if cert.exploitability != 0.0 {
            let d = cert.exploitability as f64;
            f.fail("exploitability not exactly 0.0", &family, d, &case);
        }
        if cert.worst_case_win_rate != 0.5 {
            let d = (cert.worst_case_win_rate as f64 - 0.5).abs();
            f.fail("worst_case_win_rate not exactly 0.5", &family, d, &case);
        }
    }
    assert!(
        winners >= 400,
        "only {winners} instances with a Condorcet winner"
    );
    f.finish();
}

/// A unanimous top choice's point mass at every `k`: exploitability exactly `0.0`, worst-case
/// win rate the largest `f32` not above `k/(k+1)`.
#[test]
fn unanimous_top_choice_certifies_exactly() {
    let mut f = Failures::new("unanimous top choice");
    let mut g = Gen::new(401);
    for i in 0..200 {
        let weights = ALL_WEIGHTS[i % ALL_WEIGHTS.len()];
        let n = g.range(1, N);
        let m = g.range(1, 40);
        let shape = g.pick(&ALL_SHAPES);
        let mut inst = generate::instance(&mut g, n, m, weights, shape, true);
        let x = g.below(n);
        for b in inst.ballots.iter_mut() {
            put_on_top(&mut g, n, b, x);
        }
        let game = Game::from_instance(&inst);
        let (mut w, mut o) = storage(&inst);
        let pop = build(&inst, &mut w, &mut o);
        let pi = point_mass(n, x);
        let family = format!("{weights:?}");
        for k in 1..=16u32 {
            let ex = game.certificate(&masses(&pi), k);
            assert!(ex.exploitability.is_zero(), "checker: {inst} k={k}");
            let case = || describe(&inst, k, &pi);
            f.cases += 1;
            let cert = certify(&pop, &pi, k).unwrap();
            check_certificate(&mut f, "certify", &family, &case, &cert, &ex, k);
            if cert.exploitability != 0.0 {
                let d = cert.exploitability as f64;
                f.fail("exploitability not exactly 0.0", &family, d, &case);
            }
            let best = f32_at_most(&q_frac(k as i64, k as i64 + 1));
            if cert.worst_case_win_rate != best {
                let d = (cert.worst_case_win_rate as f64 - best as f64).abs();
                f.fail(
                    "worst_case_win_rate not the largest f32 <= k/(k+1)",
                    &family,
                    d,
                    &case,
                );
            }
        }
    }
    f.finish();
}

/// The cyclic profile under the uniform policy: exploitability exactly `0.0` on 2, 4 and 8
/// candidates (uniform is dyadic there); sound on 3, 5, 6 and 7.
#[test]
fn cyclic_profile_uniform_policy_certifies_exactly() {
    let mut f = Failures::new("cyclic profile");
    let mut g = Gen::new(501);
    for n in 2..=N {
        for weight in [1.0, 7.0, 0.1, 1e6, 2f64.powi(-30)] {
            for as_scores in [false, true] {
                let ballots = (0..n)
                    .map(|i| {
                        let order: Vec<usize> = (0..n).map(|p| (i + p) % n).collect();
                        let mut b = Ballot::strict(weight, &order);
                        if as_scores {
                            b.scores = Some(generate::scores(&mut g, n, &b.groups));
                        }
                        b
                    })
                    .collect();
                let inst = Instance { n, ballots };
                let game = Game::from_instance(&inst);
                let (mut w, mut o) = storage(&inst);
                let pop = build(&inst, &mut w, &mut o);
                let pi = vec![1.0 / n as f32; n];
                let family = format!("n={n}");
                for k in 1..=16u32 {
                    let ex = game.certificate(&masses(&pi), k);
                    assert!(ex.exploitability.is_zero(), "checker: {inst} k={k}");
                    let case = || describe(&inst, k, &pi);
                    f.cases += 1;
                    let cert = certify(&pop, &pi, k).unwrap();
                    check_certificate(&mut f, "certify", &family, &case, &cert, &ex, k);
                    // Exact when every product a^i b^(k-i) of multiples of 1/n is a multiple
                    // of the certificate's unit 2^-31 (docs/certificates.md): n = 2^p, p k <= 31.
                    let p = n.trailing_zeros();
                    if n.is_power_of_two() && p * k <= 31 && cert.exploitability != 0.0 {
                        let d = cert.exploitability as f64;
                        f.fail(
                            "exploitability not exactly 0.0 (n = 2, 4, 8, within 2^-31)",
                            &family,
                            d,
                            &case,
                        );
                    }
                }
            }
        }
    }
    f.finish();
}

/// `opponent_win_rate` and `worst_opponent` (docs/maths.md §5): the opponent's printed chance is at
/// least the exact one (so our printed win rate is at most ours), within `1e-6`, and the worst
/// opponent found is within `1e-6` of the exact worst.
#[test]
fn opponents_are_sound() {
    opponents_check("opponents", &POLICIES, 601, 300);
}

fn opponents_check(test: &'static str, policies: &[Policy], seed: u64, instances: usize) {
    let mut f = Failures::new(test);
    let mut g = Gen::new(seed);
    for i in 0..instances {
        let weights = ALL_WEIGHTS[i % ALL_WEIGHTS.len()];
        let n = g.range(1, 6);
        let m = g.range(1, 20);
        let shape = g.pick(&ALL_SHAPES);
        let inst = generate::instance(&mut g, n, m, weights, shape, true);
        let game = Game::from_instance(&inst);
        let (mut w, mut o) = storage(&inst);
        let pop = build(&inst, &mut w, &mut o);
        let kind = g.pick(policies);
        let pi = generate::policy(&mut g, n, kind);
        let exact_pi = masses(&pi);
        let k = g.k();
        let l = g.range(1, 3);
        let family = format!("{weights:?}/{kind:?}");
        for _ in 0..3 {
            let mut z: Vec<usize> = (0..l).map(|_| g.below(n)).collect();
            z.sort_unstable();
            let exact = game.opponent_chance(&exact_pi, k, &z);
            let z16: Vec<u16> = z.iter().map(|&y| y as u16).collect();
            let case = || format!("{} z={z:?}", describe(&inst, k, &pi));
            f.cases += 1;
            match opponent_win_rate(&pop, &pi, k, &z16) {
                Ok(x) if x.is_finite() => {
                    let x = q_f32(x);
                    if x < exact {
                        let d = f64_of(&(&exact - &x));
                        f.fail(
                            "opponent_win_rate: below the exact chance",
                            &family,
                            d,
                            &case,
                        );
                    }
                    let d = f64_of(&(&x - &exact)).abs();
                    if d > TIGHT {
                        f.fail("opponent_win_rate: not within 1e-6", &family, d, &case);
                    }
                }
                r => f.fail(
                    &format!("opponent_win_rate: {r:?}"),
                    &family,
                    f64::NAN,
                    &case,
                ),
            }
        }
        let (worst_z, worst) = game.worst_opponent(&exact_pi, k, l);
        let case = || {
            format!(
                "{} l={l} exact worst z={worst_z:?}",
                describe(&inst, k, &pi)
            )
        };
        f.cases += 1;
        match worst_opponent::<N, 4>(&pop, &pi, k, l, 1_000_000) {
            Ok(r) if r.win_rate.is_finite() && r.opponent_win_rate.is_finite() => {
                let ours = q_f32(r.win_rate);
                let exact_ours = Q::one() - &worst;
                if ours > exact_ours {
                    let d = f64_of(&(&ours - &exact_ours));
                    f.fail("worst_opponent: win_rate above exact", &family, d, &case);
                }
                let d = f64_of(&(&ours - &exact_ours)).abs();
                if d > TIGHT {
                    f.fail(
                        "worst_opponent: win_rate not within 1e-6",
                        &family,
                        d,
                        &case,
                    );
                }
                let theirs = q_f32(r.opponent_win_rate);
                if theirs < worst {
                    let d = f64_of(&(&worst - &theirs));
                    f.fail(
                        "worst_opponent: opponent_win_rate below exact worst",
                        &family,
                        d,
                        &case,
                    );
                }
                let z: Vec<usize> = r.multiset.iter().map(|&y| y as usize).collect();
                let found = if z.len() == l && z.iter().all(|&y| y < n) {
                    f64_of(&(&worst - game.opponent_chance(&exact_pi, k, &z)))
                } else {
                    f64::NAN
                };
                if found.is_nan() || found > TIGHT {
                    f.fail(
                        "worst_opponent: multiset's exact chance not within 1e-6 of the worst",
                        &family,
                        found,
                        &case,
                    );
                }
            }
            r => f.fail(&format!("worst_opponent: {r:?}"), &family, f64::NAN, &case),
        }
    }
    f.finish();
}

/// The generators and the builder agree on the instance: a population built from a ballot
/// pushed as scores orders the candidates like the same ballot pushed as a ranking.
#[test]
fn scores_and_rankings_build_the_same_orders() {
    let mut g = Gen::new(701);
    for _ in 0..300 {
        let n = g.range(1, N);
        let shape: Shape = g.pick(&ALL_SHAPES);
        let grp = generate::groups(&mut g, n, shape);
        let s = generate::scores(&mut g, n, &grp);
        let a = Instance {
            n,
            ballots: vec![Ballot::ranking(1.0, grp.clone())],
        };
        let mut b = a.clone();
        b.ballots[0].scores = Some(s);
        let (mut wa, mut oa) = storage(&a);
        let (mut wb, mut ob) = storage(&b);
        let pa = build(&a, &mut wa, &mut oa);
        let pb = build(&b, &mut wb, &mut ob);
        // Tie classes as sets of candidates, best first.
        let classes = |p: &Population<'_, N>| {
            let mut out: Vec<Vec<usize>> = vec![Vec::new()];
            for (c, tie_next) in p.order(0).unwrap() {
                out.last_mut().unwrap().push(c);
                if !tie_next {
                    out.push(Vec::new());
                }
            }
            out.pop();
            for c in out.iter_mut() {
                c.sort_unstable();
            }
            out
        };
        assert_eq!(classes(&pa), classes(&pb), "{a} vs {b}");
        // ... and like the ballot's own levels.
        let levels = a.ballots[0].levels(n);
        let mut distinct = levels.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let expected: Vec<Vec<usize>> = distinct
            .iter()
            .map(|&l| (0..n).filter(|&c| levels[c] == l).collect())
            .collect();
        assert_eq!(classes(&pa), expected, "{a}");
    }
}
