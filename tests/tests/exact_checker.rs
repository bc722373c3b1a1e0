//! The exact checker of `exact/` checked on its own, without core: `f32` values converted
//! exactly; shares and opponent chances equal to enumeration of every draw with the choice rule
//! (and to the closed form); the identity `sum_y pi(y) g(y) = 1/(k+1)`; the exact cases of
//! docs/maths.md §7. Everything is compared with `==` on rationals.

mod exact;

use exact::generate::{self, ALL_POLICIES, ALL_SHAPES, Gen, Shape};
use exact::{
    Ballot, Game, Instance, Q, f32_at_most, masses, multisets, q_f32, q_f64, q_frac, q_int,
};
use num_bigint::BigInt;
use num_traits::{One, Zero};

/// A random small game: levels from the generators' ballot shapes, weights `a/b` with small
/// integers (some zero).
fn small_game(g: &mut Gen, n: usize, m: usize) -> Game {
    let shape = g.pick(&ALL_SHAPES);
    let mut weights: Vec<Q> = (0..m)
        .map(|_| {
            if g.chance(0.15) {
                Q::zero()
            } else {
                q_frac(g.range(1, 12) as i64, g.range(1, 7) as i64)
            }
        })
        .collect();
    if weights.iter().all(|w| w.is_zero()) {
        weights[0] = Q::one();
    }
    let levels = (0..m)
        .map(|_| Ballot::ranking(1.0, generate::groups(g, n, shape)).levels(n))
        .collect();
    Game { n, weights, levels }
}

/// Random exact masses: small integers (unnormalised, some zero) or a generated `f32` policy.
fn small_policy(g: &mut Gen, n: usize) -> Vec<Q> {
    if g.chance(0.5) {
        let mut p: Vec<Q> = (0..n).map(|_| q_int(g.range(0, 5) as i64)).collect();
        if p.iter().all(|x| x.is_zero()) {
            p[g.below(n)] = q_int(3);
        }
        p
    } else {
        let kind = g.pick(&ALL_POLICIES);
        masses(&generate::policy(g, n, kind))
    }
}

fn normalise(p: &[Q]) -> Vec<Q> {
    let s: Q = p.iter().fold(Q::zero(), |a, x| a + x);
    p.iter().map(|x| x / &s).collect()
}

fn fair(k: u32) -> Q {
    q_frac(1, k as i64 + 1)
}

#[test]
fn f32_values_convert_exactly() {
    assert_eq!(q_f32(0.1), q_frac(13_421_773, 134_217_728));
    assert_eq!(q_f32(1.0), Q::one());
    assert_eq!(q_f32(-2.5), q_frac(-5, 2));
    assert_eq!(q_f32(0.0), Q::zero());
    assert_eq!(q_f32(-0.0), Q::zero());
    let tiny = Q::new(BigInt::one(), BigInt::one() << 149);
    assert_eq!(q_f32(f32::from_bits(1)), tiny);
    assert_eq!(
        q_f32(f32::MIN_POSITIVE),
        Q::new(BigInt::one(), BigInt::one() << 126)
    );
    assert_eq!(
        q_f32(f32::MAX),
        Q::from_integer(BigInt::from((1u32 << 24) - 1) << 104)
    );
    // A second route: num-rational's own exact conversion of the (exact) f64 widening.
    let mut g = Gen::new(1);
    for _ in 0..20_000 {
        let x = f32::from_bits(g.u32());
        if x.is_finite() {
            assert_eq!(q_f32(x), q_f64(x as f64), "{x:e} ({:#x})", x.to_bits());
        }
    }
}

#[test]
fn f32_at_most_is_the_largest_f32_not_above() {
    assert_eq!(f32_at_most(&q_frac(1, 2)), 0.5);
    assert_eq!(f32_at_most(&Q::one()), 1.0);
    for k in 1..=1024i64 {
        let q = q_frac(k, k + 1);
        let x = f32_at_most(&q);
        assert!(q_f32(x) <= q && q_f32(x.next_up()) > q, "k = {k}: {x}");
    }
    let mut g = Gen::new(2);
    for _ in 0..2000 {
        let q = q_frac(g.range(0, 1 << 40) as i64, g.range(1, 1 << 40) as i64);
        let x = f32_at_most(&q);
        assert!(q_f32(x) <= q && q_f32(x.next_up()) > q, "{q}: {x}");
    }
}

/// The integer route equals the closed form and the enumeration of all `n^k` draws, exactly,
/// and `sum_y pi(y) g(y) = 1/(k+1)`.
#[test]
fn shares_equal_enumeration_of_every_draw() {
    let mut g = Gen::new(3);
    let mut cases = 0;
    for _ in 0..600 {
        let n = g.range(1, 4);
        let k = g.range(1, 6) as u32;
        if n.pow(k) > 1024 {
            continue;
        }
        let m = g.range(1, 4);
        let game = small_game(&mut g, n, m);
        let pi = small_policy(&mut g, n);
        let shares = game.shares(&pi, k);
        let brute = game.shares_brute(&pi, k);
        let closed = game.shares_closed_form(&pi, k);
        assert_eq!(shares, brute, "{game:?} pi={pi:?} k={k}");
        assert_eq!(shares, closed, "{game:?} pi={pi:?} k={k}");
        let p = normalise(&pi);
        let v = p.iter().zip(&shares).fold(Q::zero(), |a, (x, y)| a + x * y);
        assert_eq!(v, fair(k), "{game:?} pi={pi:?} k={k}");
        cases += 1;
    }
    assert!(cases > 300, "{cases}");
}

/// On instances of the soundness tests' size: the identity, and the closed form.
#[test]
fn shares_identity_and_closed_form_on_large_instances() {
    let mut g = Gen::new(4);
    for i in 0..150 {
        let n = g.range(1, 8);
        let m = g.range(1, 40);
        let w = generate::ALL_WEIGHTS[i % 5];
        let shape = g_shape(&mut g);
        let inst = generate::instance(&mut g, n, m, w, shape, false);
        let game = Game::from_instance(&inst);
        let kind = g.pick(&ALL_POLICIES);
        let pi = masses(&generate::policy(&mut g, n, kind));
        let k = g.k();
        let shares = game.shares(&pi, k);
        let p = normalise(&pi);
        let v = p.iter().zip(&shares).fold(Q::zero(), |a, (x, y)| a + x * y);
        assert_eq!(v, fair(k), "{inst} k={k}");
        if i % 5 == 0 {
            assert_eq!(shares, game.shares_closed_form(&pi, k), "{inst} k={k}");
        }
    }
}

fn g_shape(g: &mut Gen) -> Shape {
    g.pick(&ALL_SHAPES)
}

/// Scaling the masses or the weights changes nothing: both are normalised exactly.
#[test]
fn masses_and_weights_are_normalised_exactly() {
    let mut g = Gen::new(5);
    for _ in 0..100 {
        let n = g.range(1, 6);
        let m = g.range(1, 6);
        let game = small_game(&mut g, n, m);
        let pi = small_policy(&mut g, n);
        let k = g.range(1, 9) as u32;
        let scaled: Vec<Q> = pi.iter().map(|x| x * q_frac(7, 3)).collect();
        let mut heavier = game.clone();
        for w in heavier.weights.iter_mut() {
            *w *= q_int(1_000_003);
        }
        let g0 = game.shares(&pi, k);
        assert_eq!(g0, game.shares(&scaled, k));
        assert_eq!(g0, game.shares(&normalise(&pi), k));
        assert_eq!(g0, heavier.shares(&pi, k));
    }
}

/// The opponent's chance of docs/maths.md §5 equals enumeration of every draw with the choice rule
/// over the `k + l` slots; with `l = 1` it is the share.
#[test]
fn opponent_chance_equals_enumeration() {
    let mut g = Gen::new(6);
    let mut cases = 0;
    for _ in 0..300 {
        let n = g.range(1, 4);
        let k = g.range(1, 5) as u32;
        if n.pow(k) > 256 {
            continue;
        }
        let l = g.range(1, 3);
        let m = g.range(1, 4);
        let game = small_game(&mut g, n, m);
        let pi = small_policy(&mut g, n);
        for z in multisets(n, l) {
            let x = game.opponent_chance(&pi, k, &z);
            assert_eq!(
                x,
                game.opponent_chance_brute(&pi, k, &z),
                "{game:?} {pi:?} k={k} z={z:?}"
            );
            cases += 1;
        }
        let shares = game.shares(&pi, k);
        for (y, share) in shares.iter().enumerate() {
            assert_eq!(game.opponent_chance(&pi, k, &[y]), *share);
        }
        let (_, worst) = game.worst_opponent(&pi, k, 1);
        assert_eq!(worst, game.certificate(&pi, k).max_share);
    }
    assert!(cases > 300, "{cases}");
}

fn game_of(n: usize, ballots: Vec<Ballot>) -> Game {
    Game::from_instance(&Instance { n, ballots })
}

/// docs/maths.md §7, exactly.
#[test]
fn exact_cases_of_the_spec() {
    for k in 1..=12u32 {
        // The cyclic profile: uniform is an equilibrium, every share 1/(k+1).
        for n in [2usize, 3, 4, 5, 8] {
            let game = game_of(
                n,
                (0..n)
                    .map(|i| Ballot::strict(1.0, &(0..n).map(|p| (i + p) % n).collect::<Vec<_>>()))
                    .collect(),
            );
            let shares = game.shares(&vec![Q::one(); n], k);
            assert!(shares.iter().all(|x| *x == fair(k)), "n={n} k={k}");
        }
        // Unanimous top choice: its point mass is an equilibrium.
        let game = game_of(
            4,
            vec![
                Ballot::strict(3.0, &[2, 0, 1, 3]),
                Ballot::ranking(1.0, vec![vec![2], vec![1, 3]]),
                Ballot::ranking(5.0, vec![vec![2]]),
            ],
        );
        let point = [0, 0, 1, 0].map(q_int);
        let c = game.certificate(&point, k);
        assert_eq!(c.exploitability, Q::zero());
        assert_eq!(c.worst_case_win_rate, q_frac(k as i64, k as i64 + 1));
        // Two candidates, 1/2 + d prefer a: the point mass on a wins 1/2 + d against b.
        let game = game_of(
            2,
            vec![
                Ballot::strict(0.625, &[0, 1]),
                Ballot::strict(0.375, &[1, 0]),
            ],
        );
        let g = game.shares(&[Q::one(), Q::zero()], k);
        assert_eq!(Q::one() - &g[1], q_frac(5, 8));
        assert_eq!(g[0], fair(k));
    }
    // Majority and minority at k = 2: (0.8, 0.2, 0) is an equilibrium with f = 2/3.
    let game = game_of(
        3,
        vec![
            Ballot::strict(0.6, &[0, 2, 1]),
            Ballot::strict(0.4, &[1, 2, 0]),
        ],
    );
    // The f32 weights 0.6 and 0.4 are not 3/5 and 2/5; the exact game uses them as they are.
    let exact_weights = Game {
        weights: vec![q_frac(3, 5), q_frac(2, 5)],
        ..game.clone()
    };
    let pi = [q_frac(4, 5), q_frac(1, 5), Q::zero()];
    let c = exact_weights.certificate(&pi, 2);
    assert_eq!(c.exploitability, Q::zero());
    assert_eq!(c.worst_case_win_rate, q_frac(2, 3));
    assert_ne!(game.certificate(&pi, 2).exploitability, Q::zero());
    // NLHF at k = 1: the Condorcet winner's point mass has f = 1/2 exactly.
    let pi = [Q::one(), Q::zero(), Q::zero()];
    let c = game.certificate(&pi, 1);
    assert_eq!(c.exploitability, Q::zero());
    assert_eq!(c.worst_case_win_rate, q_frac(1, 2));
}

/// At `k = 1` the point mass on `x` has exploitability 0 exactly when `x` is a weak Condorcet
/// winner, and every other share is below 1/2 when it is a strict one.
#[test]
fn condorcet_winners_and_point_masses_at_k1() {
    let mut g = Gen::new(7);
    let (mut strict, mut weak) = (0, 0);
    for i in 0..400 {
        let n = g.range(1, 6);
        let m = g.range(1, 9);
        let shape = g_shape(&mut g);
        let inst = generate::instance(&mut g, n, m, generate::ALL_WEIGHTS[i % 5], shape, false);
        let game = Game::from_instance(&inst);
        for x in 0..n {
            let mut point = vec![Q::zero(); n];
            point[x] = Q::one();
            let c = game.certificate(&point, 1);
            let weakly = (0..n).all(|y| {
                let mut margin = Q::zero();
                for (w, lv) in game.weights.iter().zip(&game.levels) {
                    if lv[x] < lv[y] {
                        margin += w;
                    } else if lv[x] > lv[y] {
                        margin -= w;
                    }
                }
                margin >= Q::zero()
            });
            assert_eq!(c.exploitability == Q::zero(), weakly, "{inst} x={x}");
            if exact::is_condorcet_winner(&game, x) {
                strict += 1;
                assert_eq!(c.argmax, vec![x], "{inst} x={x}");
            } else if weakly {
                weak += 1;
            }
        }
    }
    assert!(strict > 50 && weak > 20, "{strict} {weak}");
}
