//! Core's [`Wide`] layout, run with the widest vectors the CPU has.
//!
//! Core is compiled for the target's baseline (SSE2 on x86-64), where the wide layout gains
//! nothing: its gathers become scalar loads. Most CPUs the tool runs on gather 8 lanes (AVX2) or
//! 16 (AVX-512) in one instruction, and numpy's own kernels use them when they find them.
//! [`Simd::detect`] asks the CPU; [`Simd::run`] calls a [`Kernel`] inside a function compiled
//! for that level, where the kernel's `call` and [`Wide::evaluate`] (both always inlined) are
//! compiled for it too. (A closure would not do: the compiler left one out of line, compiled for
//! the baseline, and the kernel ran 7 times slower.) The operations are the same, so the bits
//! are the same (no fused multiply-add is ever formed from separate operations): the population
//! route is still the firmware's computation, bit for bit, at every level (`--reference`).
//!
//! This module holds the crate's only `unsafe`: calling a `#[target_feature]` function is unsafe
//! because it must not run on a CPU that lacks the features, and [`Simd::run`] calls one only at
//! a level [`Simd::detect`] found on this CPU.
#![allow(unsafe_code)]

use ualign::{Population, share::wide::Wide};

/// A vector level the CPU has, wider than the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// AVX2 (8 lanes, gathers).
    Avx2,
    /// AVX-512 F, BW and VL (16 lanes, gathers).
    Avx512,
}

impl Simd {
    /// The widest level this CPU has, `None` without AVX2 (or off x86-64).
    pub fn detect() -> Option<Simd> {
        if has(Simd::Avx512) {
            Some(Simd::Avx512)
        } else if has(Simd::Avx2) {
            Some(Simd::Avx2)
        } else {
            None
        }
    }

    /// The level's name in reports: `avx512` or `avx2`.
    pub fn name(self) -> &'static str {
        match self {
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    /// Calls `kernel` compiled for this level. The CPU is asked again (the answer is cached:
    /// one load), so a level made by hand that the CPU lacks calls it as compiled for the
    /// baseline.
    #[inline(always)]
    pub fn run<K: Kernel>(self, kernel: K) -> K::Output {
        #[cfg(target_arch = "x86_64")]
        if has(self) {
            return match self {
                // SAFETY: the CPU has every feature `avx512` is compiled for (`has` above).
                Simd::Avx512 => unsafe { avx512(kernel) },
                // SAFETY: the CPU has AVX2 (`has` above).
                Simd::Avx2 => unsafe { avx2(kernel) },
            };
        }
        kernel.call()
    }
}

/// Work to compile for a [`Simd`] level: `call` must be `#[inline(always)]`, and everything it
/// calls in the hot loop too, so that all of it is compiled inside the level's function.
pub trait Kernel {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn call(self) -> Self::Output;
}

/// [`Wide::evaluate`] as a [`Kernel`].
pub struct WideShares<'s, 'a, const N: usize> {
    /// The layout.
    pub wide: &'s Wide<'a, N>,
    /// The policy.
    pub pi: &'s [f32],
    /// Draws.
    pub k: u32,
    /// The shares.
    pub out: &'s mut [f32],
}

impl<const N: usize> Kernel for WideShares<'_, '_, N> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        self.wide.evaluate(self.pi, self.k, self.out);
    }
}

/// [`Wide::block_sums_into`] as a [`Kernel`].
pub struct WideBlockSums<'s, 'a, const N: usize> {
    /// The layout.
    pub wide: &'s Wide<'a, N>,
    /// The policy.
    pub pi: &'s [f32],
    /// Draws.
    pub k: u32,
    /// The rows of the blocks.
    pub out: &'s mut [f32],
}

impl<const N: usize> Kernel for WideBlockSums<'_, '_, N> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        self.wide.block_sums_into(self.pi, self.k, self.out);
    }
}

/// Whether this CPU has `level`.
fn has(level: Simd) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match level {
            Simd::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            Simd::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = level;
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn avx512<K: Kernel>(kernel: K) -> K::Output {
    kernel.call()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.call()
}

/// Makes `v` `len` zeros, reusing its storage; `None` when the memory cannot be had.
fn zeroed<T: Clone + Default>(v: &mut Vec<T>, len: usize) -> Option<()> {
    v.clear();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, T::default());
    Some(())
}

/// Owned storage of [`Wide`] layouts (the byte table and the padded weights).
#[derive(Debug, Default)]
pub struct WideStore {
    table: Vec<u8>,
    weights: Vec<f32>,
}

impl WideStore {
    /// Lays out each of `parts` (parts of one population) in this store: `None` when one of
    /// them cannot be (an order with a tie, more than 256 candidates) or the memory for the
    /// layout cannot be had.
    pub fn layout<'a, const N: usize>(
        &'a mut self,
        parts: &[Population<'a, N>],
    ) -> Option<Vec<Wide<'a, N>>> {
        let mut table_len = 0usize;
        let mut weights_len = 0usize;
        for part in parts {
            table_len = table_len.checked_add(Wide::<N>::table_len(part.n(), part.m())?)?;
            weights_len = weights_len.checked_add(Wide::<N>::weights_len(part.m()))?;
        }
        zeroed(&mut self.table, table_len)?;
        zeroed(&mut self.weights, weights_len)?;
        let (mut table, mut weights) = (&mut self.table[..], &mut self.weights[..]);
        let mut out = Vec::with_capacity(parts.len());
        for part in parts {
            let t = Wide::<N>::table_len(part.n(), part.m())?;
            let (this_t, rest_t) = table.split_at_mut_checked(t)?;
            let (this_w, rest_w) =
                weights.split_at_mut_checked(Wide::<N>::weights_len(part.m()))?;
            out.push(Wide::new(*part, this_t, this_w).ok()?);
            (table, weights) = (rest_t, rest_w);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::impartial_culture;
    use ualign::share::{Oracle, shares};

    /// Every level this CPU has, and the baseline, give the population's bits: the operations
    /// are the same whatever vectors they run on.
    #[test]
    fn every_level_gives_the_population_bits() -> Result<(), String> {
        let levels: Vec<Simd> = [Simd::Avx2, Simd::Avx512]
            .into_iter()
            .filter(|&l| has(l))
            .collect();
        if levels.is_empty() {
            eprintln!("skipped the vector levels: this CPU has neither AVX2 nor AVX-512");
        }
        for (n, m, k) in [
            (3, 5, 1),
            (9, 700, 4),
            (16, 33, 8),
            (40, 300, 3),
            (130, 20, 13),
        ] {
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let pop = impartial_culture(n, m, 11, &mut w, &mut o).map_err(|e| e.to_string())?;
            let mut store = WideStore::default();
            let wides = store.layout(&[pop]).ok_or("strict orders are laid out")?;
            let wide = wides.first().ok_or("one part")?;
            // A policy with unequal masses, summing to 1 up to rounding.
            let raw: Vec<f32> = (0..n).map(|i| 1.0 + (i * 7 % 5) as f32).collect();
            let total: f32 = raw.iter().sum();
            let pi: Vec<f32> = raw.iter().map(|r| r / total).collect();
            let mut want = vec![0.0f32; n];
            shares(&pop, &pi, k, &mut want).map_err(|e| e.to_string())?;
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut got = vec![0.0f32; n];
            wide.shares_into(&pi, k, &mut got);
            assert_eq!(bits(&want), bits(&got), "baseline, n = {n}");
            for &simd in &levels {
                let mut got = vec![0.0f32; n];
                simd.run(WideShares {
                    wide,
                    pi: &pi,
                    k,
                    out: &mut got,
                });
                assert_eq!(bits(&want), bits(&got), "{}, n = {n}", simd.name());
            }
        }
        Ok(())
    }

    #[test]
    fn parts_are_laid_out_side_by_side_and_ties_refused() -> Result<(), String> {
        let (n, m) = (7, 50);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = impartial_culture(n, m, 2, &mut w, &mut o).map_err(|e| e.to_string())?;
        let parts: Vec<_> = [0..20, 20..50]
            .into_iter()
            .filter_map(|r| pop.users(r))
            .collect();
        let mut store = WideStore::default();
        let wides = store.layout(&parts).ok_or("two parts")?;
        assert_eq!(wides.len(), 2);
        assert_eq!(wides[1].population().m(), 30);
        // An order with a tie cannot be laid out.
        let (mut w, mut o) = (vec![0.0f32; 1], vec![0u16; 3]);
        let mut b = ualign::Population::<8>::builder(3, ualign::Storage::new(&mut w, &mut o))
            .map_err(|e| e.to_string())?;
        b.push_ranking(1.0, [&[0usize, 1][..], &[2]])
            .map_err(|e| e.to_string())?;
        let tied = b.finish().map_err(|e| e.to_string())?;
        assert!(WideStore::default().layout(&[tied]).is_none());
        Ok(())
    }
}
