//! Seeded, deterministic generators of instances and policies for the soundness tests.
//!
//! Populations: strict orders, weak orders with ties, truncated ballots (unlisted candidates tie
//! at the bottom), pushed as rankings or as scores; weights that are units, small integer counts
//! (some zero), heavy counts up to 1e6 mixed with small ones, dyadic values over twenty orders of
//! magnitude, or decimals that `f32` cannot hold. Policies: point masses, uniform, random
//! (Dirichlet-like), sparse, extreme (masses down to the subnormals), masses on the `2^-24` grid
//! that sum to exactly 1, and random ones whose `f32` sum is off 1 by up to `5e-4`.

use rand_xoshiro::Xoshiro128PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use super::{Ballot, Instance};

/// A seeded generator.
pub struct Gen(Xoshiro128PlusPlus);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen(Xoshiro128PlusPlus::seed_from_u64(seed))
    }

    pub fn u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        let x = (u64::from(self.u32()) << 32) | u64::from(self.u32());
        (x % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `(0, 1]`.
    pub fn unit(&mut self) -> f64 {
        ((self.u32() >> 8) as f64 + 1.0) / 16_777_216.0
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() <= p
    }

    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// `k` in `1..=16`, `k = 1` (the case of the `1/2` bound) a quarter of the time.
    pub fn k(&mut self) -> u32 {
        if self.chance(0.25) {
            1
        } else {
            self.range(1, 16) as u32
        }
    }
}

/// How the weights are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weights {
    /// All 1.
    Unit,
    /// Integers in `0..=20` (zero now and then).
    Counts,
    /// Integers up to 1e6, of every magnitude, mixed with small counts.
    Heavy,
    /// `mantissa * 2^e` with a 24-bit mantissa and `e` in `-40..=16`: exact in `f32`, over twenty
    /// orders of magnitude.
    Dyadic,
    /// Three-decimal values in `0.001..=10`, which `f32` rounds (the population uses the `f32`).
    Decimal,
}

pub const ALL_WEIGHTS: [Weights; 5] = [
    Weights::Unit,
    Weights::Counts,
    Weights::Heavy,
    Weights::Dyadic,
    Weights::Decimal,
];

/// The shape of the ballots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Strict,
    Ties,
    Truncated,
    /// Each ballot one of the above.
    Mixed,
}

pub const ALL_SHAPES: [Shape; 4] = [Shape::Strict, Shape::Ties, Shape::Truncated, Shape::Mixed];

pub fn weight(g: &mut Gen, kind: Weights) -> f64 {
    match kind {
        Weights::Unit => 1.0,
        Weights::Counts => {
            if g.chance(0.1) {
                0.0
            } else {
                g.range(1, 20) as f64
            }
        }
        Weights::Heavy => {
            if g.chance(0.3) {
                g.range(1, 3) as f64
            } else {
                let scale = 10usize.pow(g.range(0, 6) as u32);
                g.range(1, scale).min(1_000_000) as f64
            }
        }
        Weights::Dyadic => {
            let mantissa = g.range(1, (1 << 24) - 1) as f64;
            let e = g.range(0, 56) as i32 - 40;
            mantissa * 2f64.powi(e)
        }
        Weights::Decimal => g.range(1, 10_000) as f64 / 1000.0,
    }
}

/// The tie groups of one ballot over `n` candidates.
pub fn groups(g: &mut Gen, n: usize, shape: Shape) -> Vec<Vec<usize>> {
    let shape = match shape {
        Shape::Mixed => g.pick(&[Shape::Strict, Shape::Ties, Shape::Truncated]),
        s => s,
    };
    let mut perm: Vec<usize> = (0..n).collect();
    g.shuffle(&mut perm);
    let mut out: Vec<Vec<usize>> = match shape {
        Shape::Strict => perm.iter().map(|&c| vec![c]).collect(),
        Shape::Ties => {
            // Utilities in 0..levels; few levels give many ties.
            let levels = g.range(1, n);
            let utility: Vec<usize> = (0..n).map(|_| g.below(levels)).collect();
            (0..levels)
                .rev()
                .map(|u| (0..n).filter(|&c| utility[c] == u).collect::<Vec<_>>())
                .filter(|grp| !grp.is_empty())
                .collect()
        }
        Shape::Truncated => {
            let listed = g.range(0, n);
            let mut out = Vec::new();
            let mut i = 0;
            while i < listed {
                let size = if g.chance(0.6) { 1 } else { g.range(1, 3) };
                let end = (i + size).min(listed);
                out.push(perm[i..end].to_vec());
                i = end;
            }
            out
        }
        Shape::Mixed => unreachable!(),
    };
    if !out.is_empty() && g.chance(0.05) {
        // An empty group means nothing.
        let at = g.below(out.len() + 1);
        out.insert(at, Vec::new());
    }
    out
}

/// Scores (higher is better) that order the candidates exactly as `groups` does, unlisted
/// candidates tied at the bottom: decimals of both signs, huge and tiny values, `0.0` and `-0.0`
/// in one tie.
pub fn scores(g: &mut Gen, n: usize, groups: &[Vec<usize>]) -> Vec<f64> {
    let ballot = Ballot::ranking(1.0, groups.to_vec());
    let levels = ballot.levels(n);
    let count = groups.len() + 1;
    // `count` strictly decreasing values.
    let style = g.below(3);
    let mut values = Vec::with_capacity(count);
    let mut x = match style {
        0 => g.range(0, 200) as f64 / 10.0 - 10.0,
        1 => 1e300,
        _ => 1e-300 * g.range(1, 9) as f64,
    };
    for _ in 0..count {
        values.push(x);
        x = match style {
            0 => x - g.range(1, 30) as f64 / 10.0,
            1 => x / 3.0 - 1.0,
            _ => x - 1e-300,
        };
    }
    let s: Vec<f64> = (0..n)
        .map(|c| {
            let v = values[levels[c]];
            if v == 0.0 && g.chance(0.5) { -0.0 } else { v }
        })
        .collect();
    for a in 0..n {
        for b in 0..n {
            assert_eq!(
                s[a].partial_cmp(&s[b]),
                levels[b].partial_cmp(&levels[a]),
                "scores {s:?} do not follow the groups {groups:?}"
            );
        }
    }
    s
}

/// `m` ballots over `n` candidates; a third of them pushed as scores when `scores_too`.
pub fn instance(
    g: &mut Gen,
    n: usize,
    m: usize,
    weights: Weights,
    shape: Shape,
    scores_too: bool,
) -> Instance {
    let mut ballots: Vec<Ballot> = (0..m)
        .map(|_| {
            let grp = groups(g, n, shape);
            let s = if scores_too && g.chance(1.0 / 3.0) {
                Some(scores(g, n, &grp))
            } else {
                None
            };
            Ballot {
                weight: weight(g, weights),
                groups: grp,
                scores: s,
            }
        })
        .collect();
    if ballots.iter().all(|b| b.weight == 0.0) {
        ballots[0].weight = 1.0;
    }
    Instance { n, ballots }
}

/// How a policy is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    Point,
    Uniform,
    Dirichlet,
    Sparse,
    Extreme,
    /// Integers summing to `2^24`, times `2^-24`: the solvers' output format.
    Grid,
    /// Dirichlet-like, then scaled so the `f32` sum is off 1 by up to `5e-4`.
    Scaled,
}

/// The kinds whose `f32` sum is 1 up to the rounding of the entries.
pub const POLICIES: [Policy; 6] = [
    Policy::Point,
    Policy::Uniform,
    Policy::Dirichlet,
    Policy::Sparse,
    Policy::Extreme,
    Policy::Grid,
];

pub const ALL_POLICIES: [Policy; 7] = [
    Policy::Point,
    Policy::Uniform,
    Policy::Dirichlet,
    Policy::Sparse,
    Policy::Extreme,
    Policy::Grid,
    Policy::Scaled,
];

fn normalised(x: &[f64]) -> Vec<f32> {
    let s: f64 = x.iter().sum();
    x.iter().map(|&v| (v / s) as f32).collect()
}

pub fn policy(g: &mut Gen, n: usize, kind: Policy) -> Vec<f32> {
    let mut p = match kind {
        Policy::Point => {
            let mut p = vec![0.0f32; n];
            p[g.below(n)] = 1.0;
            p
        }
        Policy::Uniform => vec![1.0 / n as f32; n],
        Policy::Dirichlet | Policy::Scaled => {
            let x: Vec<f64> = (0..n).map(|_| -g.unit().ln() + 1e-3).collect();
            normalised(&x)
        }
        Policy::Sparse => {
            let mut x: Vec<f64> = (0..n)
                .map(|_| {
                    if g.chance(0.5) {
                        0.0
                    } else {
                        -g.unit().ln() + 1e-3
                    }
                })
                .collect();
            if x.iter().all(|&v| v == 0.0) {
                x[g.below(n)] = 1.0;
            }
            normalised(&x)
        }
        Policy::Extreme => {
            let main = g.below(n);
            let mut p: Vec<f32> = (0..n)
                .map(|_| {
                    if g.chance(0.3) {
                        0.0
                    } else {
                        // 10^-3 .. 10^-44 (subnormal at the end)
                        let e = g.range(3, 44) as i32;
                        (10f64.powi(-e) * (1.0 + g.unit())) as f32
                    }
                })
                .collect();
            p[main] = 0.0;
            let rest: f64 = p.iter().map(|&x| x as f64).sum();
            p[main] = (1.0 - rest).max(0.5) as f32;
            p
        }
        Policy::Grid => {
            let total = 1usize << 24;
            let mut cuts: Vec<usize> = (0..n - 1).map(|_| g.range(0, total)).collect();
            cuts.push(0);
            cuts.push(total);
            cuts.sort_unstable();
            cuts.windows(2)
                .map(|w| (w[1] - w[0]) as f32 / total as f32)
                .collect()
        }
    };
    if kind == Policy::Scaled {
        let scale = 1.0 + (g.unit() - 0.5) * 1e-3;
        for x in p.iter_mut() {
            *x = (*x as f64 * scale) as f32;
        }
    }
    let sum: f64 = p.iter().map(|&x| x as f64).sum();
    assert!(
        (sum - 1.0).abs() < 9e-4,
        "{kind:?} policy sums to {sum}: {p:?}"
    );
    p
}
