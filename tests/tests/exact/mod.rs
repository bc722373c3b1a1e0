//! An exact checker for the numbers ualign prints, in rational arithmetic
//! (docs/maths.md §2 and §5).
//!
//! The instance is described here, independently of core: a ballot is a list of tie groups, best
//! first, with the candidates it leaves out tied below every listed one (the convention of
//! `push_ranking`), and a weight. The checker takes
//!
//! - the weights as exact rationals ([`Game::from_instance`]), as docs/certificates.md defines
//!   them: counts (every weight a whole number below `2^22`) exactly; otherwise the population's
//!   normalised `f32` weights ([`normalised_weights`]), each an exact binary fraction, normalised
//!   by their exact sum;
//! - a policy as exact non-negative masses, normalised by their exact sum: an `f32` policy means
//!   the distribution proportional to the exact binary fractions of its entries ([`masses`]).
//!
//! Both are scaled to integers by the least common multiple of their denominators, so the share
//! of docs/maths.md §2 is one integer fraction per candidate:
//!
//! `g(y) = sum_j W_j sum_{i=0..k} (B+C)^i B^(k-i) / ((k+1) S^k sum_j W_j)`,
//!
//! with `W_j` the integer weights, `S` the sum of the integer masses and `B`, `C` the integer
//! masses below and tied with `y` for user `j`. The module checks itself against a second
//! closed-form route and against enumeration of every draw with the choice rule
//! (`exact_checker.rs`).
#![allow(dead_code)]

pub mod generate;

use std::fmt;

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// An exact rational.
pub type Q = BigRational;

/// The exact value of a finite `f32` (its binary fraction).
pub fn q_f32(x: f32) -> Q {
    assert!(x.is_finite(), "not finite: {x}");
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i64;
    let fraction = bits & 0x7f_ffff;
    // value = mantissa * 2^power
    let (mantissa, power) = if exponent == 0 {
        (fraction, -149)
    } else {
        (fraction | 0x80_0000, exponent - 150)
    };
    let m = BigInt::from(mantissa);
    let v = if power >= 0 {
        Q::from_integer(m << power as usize)
    } else {
        Q::new(m, BigInt::one() << (-power) as usize)
    };
    if bits >> 31 == 1 { -v } else { v }
}

/// The population's normalised `f32` weights of the given non-negative `f32` weights, as
/// `PopulationBuilder::finish` defines them: each weight times `2^s` truncated to an integer
/// (`s` puts the largest below `2^63`: `39 - e` for the largest `m 2^e`, `m < 2^24`), the total
/// of those integers rounded to the nearest `f32`, and each integer divided by it in `f32`.
/// Computed here in rationals, apart from core.
pub fn normalised_weights(given: &[f32]) -> Vec<f32> {
    let largest = given.iter().copied().fold(0.0f32, f32::max);
    let exponent = ((largest.to_bits() >> 23) & 0xff) as i64;
    let e = if exponent == 0 { -149 } else { exponent - 150 };
    let s = 39 - e;
    let scale = if s >= 0 {
        Q::from_integer(BigInt::one() << s as usize)
    } else {
        Q::new(BigInt::one(), BigInt::one() << (-s) as usize)
    };
    let scaled: Vec<BigInt> = given
        .iter()
        .map(|&w| (q_f32(w) * &scale).floor().to_integer())
        .collect();
    let total: BigInt = scaled.iter().sum();
    // Integers below 2^128 convert to the nearest f32 (ties to even) with `as`.
    let total = total.to_u128().expect("total below 2^128") as f32;
    scaled
        .iter()
        .map(|x| x.to_u64().expect("scaled weight below 2^63") as f32 / total)
        .collect()
}

/// The exact value of a finite `f64`.
pub fn q_f64(x: f64) -> Q {
    assert!(x.is_finite(), "not finite: {x}");
    Q::from_float(x).expect("finite")
}

/// An integer as a rational.
pub fn q_int(x: i64) -> Q {
    Q::from_integer(BigInt::from(x))
}

/// `a / b` for integers.
pub fn q_frac(a: i64, b: i64) -> Q {
    Q::new(BigInt::from(a), BigInt::from(b))
}

/// A rational as the nearest-ish `f64` (for messages and tolerances only).
pub fn f64_of(q: &Q) -> f64 {
    q.to_f64().unwrap_or(f64::NAN)
}

/// The largest `f32` that is at most `q` (for `|q| <` `f32::MAX`).
pub fn f32_at_most(q: &Q) -> f32 {
    let mut x = f64_of(q) as f32;
    while q_f32(x) > *q {
        x = x.next_down();
    }
    while q_f32(x.next_up()) <= *q {
        x = x.next_up();
    }
    x
}

/// The exact masses of an `f32` policy (not normalised: the checker normalises).
pub fn masses(pi: &[f32]) -> Vec<Q> {
    pi.iter().map(|&p| q_f32(p)).collect()
}

/// A ballot: tie groups best first; unlisted candidates tie below every group.
#[derive(Clone, Debug, PartialEq)]
pub struct Ballot {
    /// The weight passed to the population builder.
    pub weight: f64,
    /// Tie groups, best first (an empty group means nothing).
    pub groups: Vec<Vec<usize>>,
    /// When set, the ballot is pushed as these scores (higher is better) instead of as a ranking;
    /// the generator makes them order the candidates exactly as `groups` does.
    pub scores: Option<Vec<f64>>,
}

impl Ballot {
    /// A ranking pushed with `push_ranking`.
    pub fn ranking(weight: f64, groups: Vec<Vec<usize>>) -> Self {
        Ballot {
            weight,
            groups,
            scores: None,
        }
    }

    /// A strict ranking, best first.
    pub fn strict(weight: f64, order: &[usize]) -> Self {
        Self::ranking(weight, order.iter().map(|&c| vec![c]).collect())
    }

    /// The level of every candidate: its group's index, or the number of groups when unlisted.
    /// Lower is better; equal levels tie.
    pub fn levels(&self, n: usize) -> Vec<usize> {
        let mut level = vec![self.groups.len(); n];
        for (g, group) in self.groups.iter().enumerate() {
            for &c in group {
                assert!(c < n, "candidate {c} out of range");
                assert_eq!(level[c], self.groups.len(), "candidate {c} listed twice");
                level[c] = g;
            }
        }
        level
    }
}

/// A population as the tests describe it.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub n: usize,
    pub ballots: Vec<Ballot>,
}

impl fmt::Display for Ballot {
    /// `3:{0,2}>1` (a ranking) or `3:s{0,2}>1` (pushed as scores).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}:", self.weight)?;
        if self.scores.is_some() {
            write!(f, "s")?;
        }
        let mut first = true;
        for g in &self.groups {
            if !first {
                write!(f, ">")?;
            }
            first = false;
            if g.len() == 1 {
                write!(f, "{}", g[0])?;
            } else {
                let inner: Vec<String> = g.iter().map(|c| c.to_string()).collect();
                write!(f, "{{{}}}", inner.join(","))?;
            }
        }
        if first {
            write!(f, "-")?;
        }
        Ok(())
    }
}

impl fmt::Display for Instance {
    /// `n=4 users=[1.0:0>{1,2} | 2.0:s3]`: weights as given, then the listed groups.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<String> = self.ballots.iter().map(|b| b.to_string()).collect();
        write!(f, "n={} users=[{}]", self.n, users.join(" | "))
    }
}

/// The exact game: weights and weak orders (levels), nothing from core.
#[derive(Clone, Debug)]
pub struct Game {
    pub n: usize,
    pub weights: Vec<Q>,
    pub levels: Vec<Vec<usize>>,
}

/// The exact certificate of `(pi, k)`.
#[derive(Clone, Debug)]
pub struct Exact {
    /// Every candidate's share.
    pub shares: Vec<Q>,
    /// `max_y g(y)`.
    pub max_share: Q,
    /// The candidates attaining it.
    pub argmax: Vec<usize>,
    /// `f = 1 - max_y g(y)`.
    pub worst_case_win_rate: Q,
    /// `e = max_y g(y) - 1/(k+1)`.
    pub exploitability: Q,
}

/// The integers `x * L` for the least common multiple `L` of the denominators.
fn integers(xs: &[Q]) -> Vec<BigInt> {
    let l = xs.iter().fold(BigInt::one(), |l, x| l.lcm(x.denom()));
    xs.iter()
        .map(|x| {
            let v = x * Q::from_integer(l.clone());
            assert!(v.is_integer());
            v.to_integer()
        })
        .collect()
}

fn sum(xs: &[BigInt]) -> BigInt {
    xs.iter().fold(BigInt::zero(), |s, x| s + x)
}

fn check_masses(pi: &[Q], n: usize) {
    assert_eq!(pi.len(), n, "policy length");
    assert!(pi.iter().all(|p| !p.is_negative()), "negative mass");
    assert!(pi.iter().any(|p| p.is_positive()), "policy without mass");
}

/// `C(k, i)` for `i = 0..=k`.
pub fn binomials(k: u32) -> Vec<BigInt> {
    let mut row = vec![BigInt::one()];
    for i in 0..k as usize {
        let next = &row[i] * BigInt::from(k as usize - i) / BigInt::from(i + 1);
        row.push(next);
    }
    row
}

impl Game {
    /// The game of an instance, with the weights of docs/certificates.md: counts exactly,
    /// other weights as the population normalises them to `f32`.
    pub fn from_instance(inst: &Instance) -> Game {
        let given: Vec<f32> = inst.ballots.iter().map(|b| b.weight as f32).collect();
        let counts = given
            .iter()
            .all(|&w| w == w.trunc() && w < (1u32 << 22) as f32);
        let weights = if counts {
            given.iter().map(|&w| q_f32(w)).collect()
        } else {
            normalised_weights(&given).into_iter().map(q_f32).collect()
        };
        Game {
            n: inst.n,
            weights,
            levels: inst.ballots.iter().map(|b| b.levels(inst.n)).collect(),
        }
    }

    fn check(&self) {
        assert!(self.n >= 1);
        assert_eq!(self.weights.len(), self.levels.len());
        assert!(self.weights.iter().all(|w| !w.is_negative()));
        assert!(
            self.weights.iter().any(|w| w.is_positive()),
            "zero total weight"
        );
        assert!(self.levels.iter().all(|l| l.len() == self.n));
    }

    /// The share `g(y)` of every candidate against `k` draws from the policy proportional to
    /// `pi` (docs/maths.md §2), as integer fractions (see the module docs).
    pub fn shares(&self, pi: &[Q], k: u32) -> Vec<Q> {
        self.check();
        check_masses(pi, self.n);
        assert!(k >= 1);
        let n = self.n;
        let k = k as usize;
        let p = integers(pi);
        let s = sum(&p);
        let w = integers(&self.weights);
        let total = sum(&w);
        let mut num = vec![BigInt::zero(); n];
        for (wj, level) in w.iter().zip(&self.levels) {
            if wj.is_zero() {
                continue;
            }
            // One sum per distinct level.
            let mut done: Vec<(usize, BigInt)> = Vec::new();
            for y in 0..n {
                let ly = level[y];
                let t = match done.iter().find(|(l, _)| *l == ly) {
                    Some((_, t)) => t.clone(),
                    None => {
                        let (mut b, mut c) = (BigInt::zero(), BigInt::zero());
                        for z in 0..n {
                            if level[z] > ly {
                                b += &p[z];
                            } else if level[z] == ly {
                                c += &p[z];
                            }
                        }
                        let a = &b + &c;
                        // sum_{i=0..k} a^i b^(k-i)
                        let mut bpow = vec![BigInt::one(); k + 1];
                        for i in 1..=k {
                            bpow[i] = &bpow[i - 1] * &b;
                        }
                        let mut apow = BigInt::one();
                        let mut t = BigInt::zero();
                        for i in 0..=k {
                            t += &apow * &bpow[k - i];
                            apow *= &a;
                        }
                        done.push((ly, t.clone()));
                        t
                    }
                };
                num[y] += wj * t;
            }
        }
        let den = BigInt::from(k + 1) * num_traits::pow(s, k) * total;
        num.into_iter().map(|x| Q::new(x, den.clone())).collect()
    }

    /// The shares by a second route: the closed form `((b+c)^(k+1) - b^(k+1)) / ((k+1) c)`
    /// (`b^k` when `c = 0`) in rationals, with the policy and the weights normalised first.
    pub fn shares_closed_form(&self, pi: &[Q], k: u32) -> Vec<Q> {
        self.check();
        check_masses(pi, self.n);
        let s: Q = pi.iter().fold(Q::zero(), |a, x| a + x);
        let pi: Vec<Q> = pi.iter().map(|x| x / &s).collect();
        let total: Q = self.weights.iter().fold(Q::zero(), |a, x| a + x);
        let k1 = k as i32 + 1;
        let mut g = vec![Q::zero(); self.n];
        for (w, level) in self.weights.iter().zip(&self.levels) {
            for y in 0..self.n {
                let (mut b, mut c) = (Q::zero(), Q::zero());
                for z in 0..self.n {
                    if level[z] > level[y] {
                        b += &pi[z];
                    } else if level[z] == level[y] {
                        c += &pi[z];
                    }
                }
                let gj = if c.is_zero() {
                    num_traits::pow(b, k as usize)
                } else {
                    let a = &b + &c;
                    (num_traits::pow(a, k1 as usize) - num_traits::pow(b, k1 as usize))
                        / (q_int(k1 as i64) * c)
                };
                g[y] += w / &total * gj;
            }
        }
        g
    }

    /// The shares by enumeration of all `n^k` draws with the choice rule of docs/maths.md §1: the
    /// user picks uniformly among the slots holding a candidate of its best level.
    pub fn shares_brute(&self, pi: &[Q], k: u32) -> Vec<Q> {
        let n = self.n;
        let mut g = vec![Q::zero(); n];
        self.for_each_draw(pi, k, |draw, prob| {
            for y in 0..n {
                // The extra slot holds y.
                g[y] += self.user_average(|level| {
                    let best = draw.iter().map(|&d| level[d]).min().unwrap_or(usize::MAX);
                    let best = best.min(level[y]);
                    if level[y] != best {
                        return Q::zero();
                    }
                    let ties = 1 + draw.iter().filter(|&&d| level[d] == best).count();
                    q_frac(1, ties as i64)
                }) * &prob;
            }
        });
        g
    }

    /// `sum_j (w_j / W) f(levels_j)`.
    fn user_average(&self, mut f: impl FnMut(&[usize]) -> Q) -> Q {
        let total: Q = self.weights.iter().fold(Q::zero(), |a, x| a + x);
        let mut acc = Q::zero();
        for (w, level) in self.weights.iter().zip(&self.levels) {
            if !w.is_zero() {
                acc += w * f(level);
            }
        }
        acc / total
    }

    /// Calls `f(draw, probability)` for every one of the `n^k` ordered draws from the
    /// normalised policy.
    fn for_each_draw(&self, pi: &[Q], k: u32, mut f: impl FnMut(&[usize], Q)) {
        self.check();
        check_masses(pi, self.n);
        let s: Q = pi.iter().fold(Q::zero(), |a, x| a + x);
        let pi: Vec<Q> = pi.iter().map(|x| x / &s).collect();
        let n = self.n;
        let k = k as usize;
        let mut draw = vec![0usize; k];
        loop {
            let prob = draw.iter().fold(Q::one(), |a, &d| a * &pi[d]);
            if !prob.is_zero() {
                f(&draw, prob);
            }
            // Next tuple, odometer style.
            let mut i = 0;
            loop {
                if i == k {
                    return;
                }
                draw[i] += 1;
                if draw[i] < n {
                    break;
                }
                draw[i] = 0;
                i += 1;
            }
        }
    }

    /// The exact certificate of `(pi, k)`.
    pub fn certificate(&self, pi: &[Q], k: u32) -> Exact {
        let shares = self.shares(pi, k);
        let max_share = shares.iter().max().expect("n >= 1").clone();
        let argmax = (0..self.n).filter(|&y| shares[y] == max_share).collect();
        let fair = q_frac(1, k as i64 + 1);
        Exact {
            worst_case_win_rate: Q::one() - &max_share,
            exploitability: &max_share - fair,
            shares,
            max_share,
            argmax,
        }
    }

    /// Our win rate against a mixed single-response opponent proportional to `s`:
    /// `1 - sum_y s(y) g(y)`.
    pub fn win_rate_against(&self, pi: &[Q], k: u32, s: &[Q]) -> Q {
        check_masses(s, self.n);
        let g = self.shares(pi, k);
        let total: Q = s.iter().fold(Q::zero(), |a, x| a + x);
        let x = s.iter().zip(&g).fold(Q::zero(), |a, (sy, gy)| a + sy * gy);
        Q::one() - x / total
    }

    /// The winning chance of an opponent showing the multiset `z` (candidate indices, repeats
    /// allowed) against `k` draws from the policy proportional to `pi` (docs/maths.md §5):
    /// `sum_{i=0..k} C(k,i) c^i b^(k-i) t/(t+i)`, averaged over users. In integers: `t/(t+i)`
    /// is `t (L/(t+i)) / L` with `L = lcm(1..=k+l)`.
    pub fn opponent_chance(&self, pi: &[Q], k: u32, z: &[usize]) -> Q {
        self.check();
        check_masses(pi, self.n);
        assert!(!z.is_empty() && z.iter().all(|&y| y < self.n));
        let n = self.n;
        let k = k as usize;
        let p = integers(pi);
        let s = sum(&p);
        let w = integers(&self.weights);
        let total = sum(&w);
        let binom = binomials(k as u32);
        let lcm = (1..=k + z.len()).fold(BigInt::one(), |a, i| a.lcm(&BigInt::from(i)));
        let mut acc = BigInt::zero();
        for (wj, level) in w.iter().zip(&self.levels) {
            if wj.is_zero() {
                continue;
            }
            let best = z.iter().map(|&y| level[y]).min().expect("z non-empty");
            let t = z.iter().filter(|&&y| level[y] == best).count();
            let (mut b, mut c) = (BigInt::zero(), BigInt::zero());
            for y in 0..n {
                if level[y] > best {
                    b += &p[y];
                } else if level[y] == best {
                    c += &p[y];
                }
            }
            let mut bpow = vec![BigInt::one(); k + 1];
            for i in 1..=k {
                bpow[i] = &bpow[i - 1] * &b;
            }
            let mut cpow = BigInt::one();
            let mut x = BigInt::zero();
            for i in 0..=k {
                let share = BigInt::from(t) * (&lcm / BigInt::from(t + i));
                x += &binom[i] * &cpow * &bpow[k - i] * share;
                cpow *= &c;
            }
            acc += x * wj;
        }
        Q::new(acc, lcm * num_traits::pow(s, k) * total)
    }

    /// The opponent's chance by enumeration of every draw: the user picks uniformly among the
    /// `k + l` slots holding a candidate of its best level; the opponent wins on its own slots.
    pub fn opponent_chance_brute(&self, pi: &[Q], k: u32, z: &[usize]) -> Q {
        let mut acc = Q::zero();
        self.for_each_draw(pi, k, |draw, prob| {
            acc += self.user_average(|level| {
                let best = draw
                    .iter()
                    .chain(z)
                    .map(|&d| level[d])
                    .min()
                    .expect("slots");
                let ours = draw.iter().filter(|&&d| level[d] == best).count();
                let theirs = z.iter().filter(|&&d| level[d] == best).count();
                q_frac(theirs as i64, (ours + theirs) as i64)
            }) * prob;
        });
        acc
    }

    /// The worst `l`-multiset opponent: every multiset's exact chance, the best one first found
    /// (in non-decreasing index order) and its chance.
    pub fn worst_opponent(&self, pi: &[Q], k: u32, l: usize) -> (Vec<usize>, Q) {
        let mut best: Option<(Vec<usize>, Q)> = None;
        for z in multisets(self.n, l) {
            let x = self.opponent_chance(pi, k, &z);
            if best.as_ref().is_none_or(|(_, b)| x > *b) {
                best = Some((z, x));
            }
        }
        best.expect("n >= 1, l >= 1")
    }
}

/// Every `l`-multiset of `0..n`, as non-decreasing index lists, in lexicographic order.
pub fn multisets(n: usize, l: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut z = vec![0usize; l];
    loop {
        out.push(z.clone());
        let Some(pos) = (0..l).rev().find(|&i| z[i] + 1 < n) else {
            return out;
        };
        let v = z[pos] + 1;
        for slot in z.iter_mut().skip(pos) {
            *slot = v;
        }
    }
}

/// Whether candidate `x` is a Condorcet winner of the game: for every other `y`, strictly more
/// weight ranks `x` above `y` than `y` above `x`.
pub fn is_condorcet_winner(game: &Game, x: usize) -> bool {
    (0..game.n).filter(|&y| y != x).all(|y| {
        let mut margin = Q::zero();
        for (w, level) in game.weights.iter().zip(&game.levels) {
            if level[x] < level[y] {
                margin += w;
            } else if level[x] > level[y] {
                margin -= w;
            }
        }
        margin.is_positive()
    })
}
