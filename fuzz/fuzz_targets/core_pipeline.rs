//! Core on arbitrary bytes: build a population (scores and rankings, with hostile weights,
//! scores and candidate indices), then shares (through the population, a tally and the wide
//! layout), certificate, both solvers, opponents and picks.
//! Sizes are bounded (n <= 8, m <= 6, k <= 72, a few hundred solver rounds) so one input runs
//! in well under a millisecond. Beyond "no panic", it checks what core promises on any valid
//! input: policies on the simplex, shares in [0, 1], and `sum pi g = 1/(k+1)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_xoshiro::Xoshiro128PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use ualign::{
    Population, Storage,
    certificate::{certify, win_rate_against},
    opponents::{opponent_win_rate, worst_opponent},
    sampling::{by_mass, distinct, mixture_picks, picks},
    policy::self_payoff,
    share::{
        shares,
        tally::{Node, Tally},
        wide::Wide,
    },
    solver::{SolveOptions, hedge, nlhf, optimistic_hedge},
};

const N: usize = 8;
const M: usize = 6;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn f64(&mut self) -> f64 {
        let mut b = [0u8; 8];
        for x in b.iter_mut() {
            *x = self.u8();
        }
        f64::from_le_bytes(b)
    }
    /// A weight: mostly ordinary, sometimes extreme or invalid.
    fn weight(&mut self) -> f64 {
        match self.u8() {
            0..=199 => 0.1 + (self.u8() as f64) / 16.0,
            200..=209 => 0.0,
            210..=219 => 1e-20,
            220..=229 => 1e20,
            230..=239 => f32::MAX as f64,
            240..=244 => -1.0,
            _ => self.f64(),
        }
    }
    fn score(&mut self) -> f64 {
        match self.u8() {
            255 => self.f64(),
            b => (b % 5) as f64,
        }
    }
}

fn check_simplex(pi: &[f32]) {
    let sum: f64 = pi.iter().map(|&p| p as f64).sum();
    assert!(pi.iter().all(|&p| p.is_finite() && p >= 0.0), "{pi:?}");
    assert!((sum - 1.0).abs() <= 1e-4, "sum {sum}: {pi:?}");
}

fn check_shares(g: &[f32], pi: &[f32], k: u32) {
    assert!(
        g.iter()
            .all(|&x| x.is_finite() && (0.0..=1.0 + 1e-4).contains(&x)),
        "{g:?}"
    );
    let v = self_payoff(pi, g);
    let total: f64 = pi.iter().map(|&p| p as f64).sum();
    // The identity holds for the policy as given, scaled by its total mass (within 1e-3 of 1).
    let fair = total.powi(k as i32 + 1) / (k as f64 + 1.0);
    assert!(
        (v - fair).abs() <= 1e-4,
        "sum pi g = {v}, expected {fair}, k = {k}"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let n = 1 + (b.u8() as usize) % N;
    let m = 1 + (b.u8() as usize) % M;
    let k = 1 + (b.u8() as u32) % 72;
    let mut weights = [0.0f32; M];
    let mut order = [0u16; M * N];
    let Ok(mut builder) = Population::<N>::builder(n, Storage::new(&mut weights, &mut order))
    else {
        return;
    };
    for _ in 0..m {
        let w = b.weight();
        if b.u8() % 2 == 0 {
            let len = if b.u8() == 0 { n + 1 } else { n };
            let scores: Vec<f64> = (0..len).map(|_| b.score()).collect();
            let _ = builder.push_scores(w, &scores);
        } else {
            // Groups: candidate bytes, a set top bit closes the group; indices may be unknown
            // or repeated.
            let len = (b.u8() as usize) % (n + 2);
            let mut groups: Vec<Vec<usize>> = vec![Vec::new()];
            for _ in 0..len {
                let x = b.u8();
                groups
                    .last_mut()
                    .unwrap()
                    .push((x & 0x7f) as usize % (n + 1));
                if x & 0x80 != 0 {
                    groups.push(Vec::new());
                }
            }
            let _ = builder.push_ranking(w, &groups);
        }
    }
    let Ok(pop) = builder.finish() else {
        return;
    };
    assert_eq!(pop.n(), n);
    let w_total: f64 = pop.weights().iter().map(|&w| w as f64).sum();
    assert!((w_total - 1.0).abs() <= 1e-5, "weights sum to {w_total}");

    // A policy from the bytes (sometimes left invalid on purpose).
    let raw: Vec<f32> = (0..n).map(|_| (b.u8() % 8) as f32).collect();
    let total: f32 = raw.iter().sum();
    let pi: Vec<f32> = if total > 0.0 && b.u8() != 0 {
        raw.iter().map(|&x| x / total).collect()
    } else {
        raw
    };
    let mut g = vec![0.0f32; n];
    if shares(&pop, &pi, k, &mut g).is_ok() {
        check_shares(&g, &pi, k);
        let c = certify(&pop, &pi, k).unwrap();
        assert!(c.exploitability >= 0.0 && c.worst_opponent < n);
        assert!(win_rate_against(&pop, &pi, k, &pi).unwrap().is_finite());
    }
    // The tally, with buffers of sizes from the bytes: the same shares up to rounding.
    let cells = pop.m() * n;
    let mut nodes = vec![Node::default(); cells.min(b.u8() as usize)];
    let mut table = vec![0u32; 1usize << (b.u8() % 8)];
    let sums = vec![std::cell::Cell::new(0.0f32); cells];
    if let Ok(t) = Tally::new(pop, &mut nodes, &mut table, &sums) {
        let mut h = vec![0.0f32; n];
        if t.shares(&pi, k, &mut h).is_ok() {
            check_shares(&h, &pi, k);
            assert!(g.iter().zip(&h).all(|(x, y)| (x - y).abs() <= 1e-5), "{g:?} {h:?}");
        }
    }

    // The wide layout, with buffers of sizes from the bytes: the population's bits, or an error
    // (a tie, a short buffer) and never a panic.
    let short = usize::from(b.u8() % 2 == 1);
    let mut wtable = vec![0u8; 2 * 16 * n + 16 - short];
    let mut wweights = vec![0.0f32; 16];
    if let Ok(w) = Wide::new(pop, &mut wtable, &mut wweights) {
        let mut h = vec![0.0f32; n];
        if w.shares(&pi, k, &mut h).is_ok() {
            assert_eq!(g, h);
        }
    }

    let iters = 1 + (b.u8() as u32) * 2;
    let mut sol = vec![0.0f32; n];
    if let Ok(s) = optimistic_hedge(
        &pop,
        &SolveOptions::new(k).epsilon(1e-5).max_iter(iters),
        &mut sol,
    ) {
        check_simplex(&sol);
        let mut g = vec![0.0f32; n];
        shares(&pop, &sol, k, &mut g).unwrap();
        check_shares(&g, &sol, k);
        let c = certify(&pop, &sol, k).unwrap();
        assert!((c.exploitability - s.certificate.exploitability).abs() <= 1e-5);
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(b.u8() as u64);
        if let Ok(p) = picks::<_, 72>(&sol, k, &mut rng) {
            assert!(p.iter().all(|&y| (y as usize) < n && sol[y as usize] > 0.0));
            let d = distinct::<8>(&p);
            assert!(!d.is_empty());
        }
        let order = by_mass::<N>(&sol).unwrap();
        assert!(order.iter().all(|&y| (y as usize) < n));
        let l = 1 + (b.u8() as usize) % 3;
        if let Ok(rep) = worst_opponent::<N, 3>(&pop, &sol, k, l, 200) {
            assert!(rep.opponent_win_rate.is_finite());
            let again = opponent_win_rate(&pop, &sol, k, &rep.multiset).unwrap();
            assert!((again - rep.opponent_win_rate).abs() <= 1e-5);
        }
    }
    let _ = nlhf(&pop, 1e-4, iters, &mut sol);
    let mut it = vec![0.0f32; n * 32];
    if let Ok(h) = hedge(&pop, &SolveOptions::new(k).max_iter(iters), &mut it) {
        for t in 0..h.mixture.rounds() {
            check_simplex(h.mixture.iterate(t).unwrap());
        }
        let mut rng = Xoshiro128PlusPlus::seed_from_u64(7);
        let p = mixture_picks::<_, 72>(&h.mixture, k, &mut rng).unwrap();
        assert_eq!(p.len(), k as usize);
    }
});
