//! Scratch sized to the request, not to the capacity.
//!
//! The solvers, the polish's Jacobian, the certificate and the grid snap keep per-candidate
//! scratch in fixed arrays on the stack (caller-owned storage, no allocation). Sized by the
//! capacity `N`, a 16-candidate request on a 1024-candidate build would zero and scan 1024-wide
//! arrays on every call: most of a small solve's time. [`with_scratch!`] instead calls the
//! computation with scratch of the smallest size class that holds the request's `n`
//! candidates ([`SMALL`], [`MEDIUM`], or the capacity itself).
//!
//! Every class runs the same operations on the first `n` entries, so the bits do not depend on
//! the class. A capacity at or below a class compiles no copy for it: a firmware build with
//! `N = 32` has one copy of each computation.
//!
//! On a hosted target each class's computation stays out of line (`#[inline(never)]`, as do
//! the share kernel's capacities and the Jacobian's accumulators): inlined side by side, the
//! classes' frames become one, as large as the capacity's, and the host's stack probes touch it
//! page by page on every call (at (8, 4, 2) a solve took 3.1 us instead of 2.9 us). A firmware
//! build (`target_os = "none"`) has one class and no stack probes, and leaves the inlining to
//! the optimiser.

/// The smallest scratch class, in candidates: a typical rerank.
pub(crate) const SMALL: usize = 32;
/// The middle scratch class, in candidates.
pub(crate) const MEDIUM: usize = 256;

/// `$f::<$g..., C>($a...)` with `C` the smallest of [`SMALL`], [`MEDIUM`] and the capacity `$cap`
/// that holds `$n` candidates (`$n` is evaluated once; classes at or above `$cap` are skipped).
macro_rules! with_scratch {
    ($n:expr, $cap:ident, $f:ident::<$($g:ident),*>($($a:expr),* $(,)?)) => {{
        let n: usize = $n;
        if $cap > $crate::scratch::SMALL && n <= $crate::scratch::SMALL {
            $f::<$($g,)* { $crate::scratch::SMALL }>($($a),*)
        } else if $cap > $crate::scratch::MEDIUM && n <= $crate::scratch::MEDIUM {
            $f::<$($g,)* { $crate::scratch::MEDIUM }>($($a),*)
        } else {
            $f::<$($g,)* $cap>($($a),*)
        }
    }};
    ($n:expr, $cap:ident, $f:ident($($a:expr),* $(,)?)) => {
        $crate::scratch::with_scratch!($n, $cap, $f::<>($($a),*))
    };
}
pub(crate) use with_scratch;

#[cfg(test)]
mod tests {
    extern crate std;
    use crate::{
        Population, Storage,
        certificate::{certify, win_rate_against},
        policy::snap,
        share::Oracle,
        solver::{SolveOptions, hedge, optimistic_hedge},
        synthetic::mallows,
    };
    use rand_xoshiro::{Xoshiro256PlusPlus, rand_core::SeedableRng};
    use std::vec::Vec;

    /// Everything computed with scratch: solutions, certificates, the snap and a Jacobian, as
    /// bits.
    fn run<const N: usize>(n: usize, m: usize, k: u32, seed: u64) -> Vec<u32> {
        let (mut w, mut o) = (std::vec![0.0f32; m], std::vec![0u16; m * n]);
        let mut b = Population::<N>::builder(n, Storage::new(&mut w, &mut o)).unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        mallows(&mut b, m, 0.8, &mut rng).unwrap();
        let pop = b.finish().unwrap();
        let mut bits = Vec::new();
        let mut pi = std::vec![0.0f32; n];
        // Under miri a looser target: fewer rounds, the same code paths.
        let epsilon = if cfg!(miri) { 1e-3 } else { 1e-5 };
        let sol = optimistic_hedge(&pop, &SolveOptions::new(k).epsilon(epsilon), &mut pi).unwrap();
        bits.extend(pi.iter().map(|x| x.to_bits()));
        bits.push(sol.iterations);
        let c = certify(&pop, &pi, k).unwrap();
        assert_eq!(c, sol.certificate);
        bits.extend([c.worst_case_win_rate.to_bits(), c.exploitability.to_bits()]);
        bits.push(win_rate_against(&pop, &pi, k, &pi).unwrap().to_bits());
        let mut iterates = std::vec![0.0f32; 20 * n];
        let h = hedge(&pop, &SolveOptions::new(k).max_iter(20), &mut iterates).unwrap();
        bits.push(h.solution.certificate.exploitability.to_bits());
        let mut skewed: Vec<f32> = (0..n).map(|y| 1.0 + y as f32).collect();
        snap::<N>(&mut skewed).unwrap();
        bits.extend(skewed.iter().map(|x| x.to_bits()));
        let support: Vec<u16> = (0..n.min(12) as u16).collect();
        let mut jac = std::vec![0.0f32; support.len() * support.len()];
        pop.jacobian_into(&skewed, k, &support, support.len(), &mut jac);
        bits.extend(jac.iter().map(|x| x.to_bits()));
        bits
    }

    /// The scratch class (the capacity itself, [`super::SMALL`] or [`super::MEDIUM`]) changes
    /// no bit of anything computed with it.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "12 s or more under miri; safe arithmetic, run natively"
    )]
    fn every_scratch_class_gives_the_same_bits() {
        let cases = if cfg!(miri) { 1 } else { 3 };
        for seed in 0..cases {
            // n = 20: scratch of 20 (N = 20), 32 (N = 1024), 32 (N = 300).
            let a = run::<20>(20, 9, 3, seed);
            assert_eq!(a, run::<1024>(20, 9, 3, seed));
            if !cfg!(miri) {
                assert_eq!(a, run::<300>(20, 9, 3, seed));
            }
            // n = 100: scratch of 100 (N = 100), 256 (N = 1024); too slow for miri.
            if !cfg!(miri) {
                let b = run::<100>(100, 7, 2, seed);
                assert_eq!(b, run::<1024>(100, 7, 2, seed));
            }
        }
    }
}
