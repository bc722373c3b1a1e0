//! Independent references for the tests: a population kept as plain weak orders, the share by a
//! second route in f64, and random instances.
#![allow(dead_code, clippy::needless_range_loop)]

use rand_xoshiro::Xoshiro128PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use ualign::{Error, Population, Storage, float, policy::snap, share::Oracle};

/// A user type as a utility per candidate (higher is better), with a weight.
#[derive(Clone, Debug)]
pub struct User {
    pub weight: f64,
    pub utility: Vec<f64>,
}

/// Owned storage for a population of `m` users over `n` candidates.
pub struct Owned {
    pub weights: Vec<f32>,
    pub order: Vec<u16>,
}

impl Owned {
    pub fn new(n: usize, m: usize) -> Self {
        Owned {
            weights: vec![0.0; m],
            order: vec![0; n * m],
        }
    }
    pub fn storage(&mut self) -> Storage<'_> {
        Storage::new(&mut self.weights, &mut self.order)
    }
}

/// Builds a core population from utilities.
pub fn build<'a, const N: usize>(
    owned: &'a mut Owned,
    n: usize,
    users: &[User],
) -> Result<Population<'a, N>, Error> {
    let mut b = Population::<N>::builder(n, owned.storage())?;
    for u in users {
        b.push_scores(u.weight, &u.utility)?;
    }
    b.finish()
}

/// The share of every candidate by the textbook closed form of docs/maths.md §2, in f64, computing
/// `b` and `c` by direct comparison of utilities (no orders, no tie flags: a second route).
pub fn reference_shares(users: &[User], pi: &[f64], k: u32) -> Vec<f64> {
    let n = pi.len();
    let total: f64 = users.iter().map(|u| u.weight).sum();
    let mut g = vec![0.0; n];
    for u in users {
        for y in 0..n {
            let (mut b, mut c) = (0.0, 0.0);
            for z in 0..n {
                if u.utility[z] < u.utility[y] {
                    b += pi[z];
                } else if u.utility[z] == u.utility[y] {
                    c += pi[z];
                }
            }
            let gj = if c > 1e-12 {
                ((b + c).powi(k as i32 + 1) - b.powi(k as i32 + 1)) / ((k as f64 + 1.0) * c)
            } else {
                // c ~ 0: the limit is b^k; use the sum form to keep precision.
                let s: f64 = (0..=k)
                    .map(|i| (b + c).powi(i as i32) * b.powi((k - i) as i32))
                    .sum();
                s / (k as f64 + 1.0)
            };
            g[y] += u.weight / total * gj;
        }
    }
    g
}

pub fn rng(seed: u64) -> Xoshiro128PlusPlus {
    Xoshiro128PlusPlus::seed_from_u64(seed)
}

pub fn uniform(rng: &mut impl Rng) -> f64 {
    (rng.next_u32() >> 8) as f64 / 16_777_216.0
}

/// `m` users over `n` candidates with utilities in `0..levels` (small levels give many ties) and
/// integer weights in `1..=9`.
pub fn random_users(rng: &mut impl Rng, n: usize, m: usize, levels: u32) -> Vec<User> {
    (0..m)
        .map(|_| User {
            weight: (1 + rng.next_u32() % 9) as f64,
            utility: (0..n).map(|_| (rng.next_u32() % levels) as f64).collect(),
        })
        .collect()
}

/// A random policy; with `sparse`, about a third of the candidates get mass 0.
pub fn random_policy(rng: &mut impl Rng, n: usize, sparse: bool) -> Vec<f32> {
    let mut p: Vec<f64> = (0..n)
        .map(|_| {
            if sparse && rng.next_u32().is_multiple_of(3) {
                0.0
            } else {
                uniform(rng) + 0.01
            }
        })
        .collect();
    if p.iter().all(|&x| x == 0.0) {
        p[0] = 1.0;
    }
    let s: f64 = p.iter().sum();
    p.iter().map(|&x| (x / s) as f32).collect()
}

/// Strict rankings as utilities: `ranking[0]` best.
pub fn ranking(weight: f64, ranking: &[usize]) -> User {
    let n = ranking.len();
    let mut utility = vec![0.0; n];
    for (pos, &c) in ranking.iter().enumerate() {
        utility[c] = (n - pos) as f64;
    }
    User { weight, utility }
}

/// The cyclic profile on `n` candidates: user `i` ranks `i, i+1, ..., i+n-1 (mod n)`.
pub fn cyclic(n: usize) -> Vec<User> {
    (0..n)
        .map(|i| ranking(1.0, &(0..n).map(|p| (i + p) % n).collect::<Vec<_>>()))
        .collect()
}

/// docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
pub fn majority_minority() -> Vec<User> {
    vec![ranking(0.6, &[0, 2, 1]), ranking(0.4, &[1, 2, 0])]
}

pub fn to_f64(p: &[f32]) -> Vec<f64> {
    p.iter().map(|&x| x as f64).collect()
}

/// Optimistic Hedge written out a second time, as `ualign::solver` runs it without the polish:
/// from `logits` (zeros: the uniform policy), the best iterate (lowest `f32` estimate, the
/// first on ties) after `rounds` share evaluations, or fewer if an estimate reaches 0, snapped
/// to the grid. The first step is `k + 1` from a warm start (`warm`), else
/// `min(k + 1, 2.25 ln n)` (`2.25 ln n` at `k = 1`) or `1 / e` when larger. At `k >= 2` a round
/// estimated above six times the best goes back to the best iterate (its log-weights, its shares
/// as both the last and the one before) with half the step.
pub fn dynamics<const N: usize>(
    pop: &Population<'_, N>,
    k: u32,
    rounds: u32,
    mut logits: Vec<f32>,
    warm: bool,
) -> (Vec<f32>, u32) {
    let n = pop.n();
    let estimate = |g: &[f32]| {
        let max = g.iter().fold(g[0], |m, &x| if x > m { x } else { m });
        let e = max - 1.0 / (k + 1) as f32;
        if e > 0.0 { e } else { 0.0 }
    };
    let mut pi = vec![0.0f32; n];
    let mut g = vec![0.0f32; n];
    softmax(&mut logits, &mut pi);
    pop.shares_into(&pi, k, &mut g);
    let mut g_prev = g.clone();
    let (mut best_e, mut best) = (estimate(&g), pi.clone());
    let (mut best_logits, mut best_g) = (logits.clone(), g.clone());
    // The first step: `min(k + 1, 2.25 ln n)` (`2.25 ln n` at `k = 1`), or `1 / e` (`e` the
    // start's estimate) when that is larger.
    let largest = 2.25 * float::ln(n.max(2) as f32);
    let eta0 = if k == 1 {
        largest
    } else {
        ((k + 1) as f32).min(largest)
    };
    let eta0 = if warm {
        (k + 1) as f32
    } else if best_e * eta0 < 1.0 {
        1.0 / best_e
    } else {
        eta0
    };
    let eta0 = eta0.min(1e6 * (k + 1) as f32);
    let (mut eta, mut last_e, mut iterations) = (eta0, best_e, 1u32);
    while best_e > 0.0 && iterations < rounds {
        for y in 0..n {
            logits[y] += eta * (2.0 * g[y] - g_prev[y]);
        }
        softmax(&mut logits, &mut pi);
        g_prev.copy_from_slice(&g);
        pop.shares_into(&pi, k, &mut g);
        iterations += 1;
        let e = estimate(&g);
        if e < best_e {
            best_e = e;
            best.copy_from_slice(&pi);
            best_logits.copy_from_slice(&logits);
            best_g.copy_from_slice(&g);
        }
        if k > 1 && e > 6.0 * best_e {
            logits.copy_from_slice(&best_logits);
            pi.copy_from_slice(&best);
            g.copy_from_slice(&best_g);
            g_prev.copy_from_slice(&best_g);
            eta *= 0.5;
            last_e = best_e;
            continue;
        }
        eta *= if e <= last_e {
            1.05
        } else if e > 2.0 * last_e {
            0.5
        } else {
            1.0
        };
        eta = eta.min(1e6 * (k + 1) as f32);
        last_e = e;
    }
    snap::<N>(&mut best).unwrap();
    (best, iterations)
}

/// `pi = softmax(logits)`, the logits shifted so their maximum is 0.
pub fn softmax(logits: &mut [f32], pi: &mut [f32]) {
    let max = logits
        .iter()
        .fold(f32::NEG_INFINITY, |m, &l| if l > m { l } else { m });
    let mut z = 0.0f32;
    for (l, p) in logits.iter_mut().zip(pi.iter_mut()) {
        *l -= max;
        *p = float::exp(*l);
        z += *p;
    }
    for p in pi.iter_mut() {
        *p /= z;
    }
}
