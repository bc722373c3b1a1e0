//! A share oracle that splits the user types across threads.
//!
//! The share `g(y) = sum_j w_j g_j(y)` is a sum over user types, so the types can be cut into
//! contiguous parts ([`Population::users`] keeps the weights of the whole, so the parts' shares
//! add up to the whole's), each part evaluated on its own scoped thread, and the parts added in a
//! fixed order. For a given thread count the result is therefore deterministic; it differs from
//! the single-threaded sum only by rounding (the parts are added after each has been divided by
//! `k + 1`). With one thread the oracle *is* the population: bit-identical to core.
//!
//! Threads are spawned per evaluation (`std::thread::scope`), which costs some tens of
//! microseconds: worth it for populations with many user types, not for tiny ones. A thread that
//! cannot be spawned (or a part that panics) is evaluated on the calling thread instead, so the
//! oracle never panics on its own account.
//!
//! Only `ualign` and `std` are used.

use std::thread;

use ualign::{Population, share::Oracle, wide::Wide};

use crate::simd::{Simd, WideShares, WideStore};

/// Splits `m` items into `parts` contiguous ranges whose lengths differ by at most one (none
/// empty when `parts <= m`).
fn split(m: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, m.max(1));
    let (base, extra) = (m / parts, m % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let len = base + usize::from(i < extra);
        out.push(start..start + len);
        start += len;
    }
    out
}

/// One part of the users: the population's own oracle, or its [`Wide`] layout run at a
/// [`Simd`] level (the same bits).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a, const N: usize> {
    /// The population's oracle, as compiled for the baseline.
    Population(Population<'a, N>),
    /// The wide layout, compiled for the level.
    Wide(Wide<'a, N>, Simd),
}

impl<const N: usize> Oracle<N> for Part<'_, N> {
    fn n(&self) -> usize {
        match self {
            Part::Population(p) => p.n(),
            Part::Wide(w, _) => w.population().n(),
        }
    }

    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        match self {
            Part::Population(p) => p.shares_into(pi, k, out),
            Part::Wide(wide, simd) => simd.run(WideShares { wide, pi, k, out }),
        }
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        match self {
            Part::Population(p) => p.jacobian_into(pi, k, support, stride, out),
            Part::Wide(w, _) => w.jacobian_into(pi, k, support, stride, out),
        }
    }
}

/// [`Oracle`] over a population whose user types are split across `threads` threads.
#[derive(Clone, Debug)]
pub struct ThreadedOracle<'a, const N: usize> {
    whole: Population<'a, N>,
    parts: Vec<Part<'a, N>>,
}

impl<'a, const N: usize> ThreadedOracle<'a, N> {
    /// Splits `pop` into `threads` contiguous parts of user types (at least 1, at most `m`),
    /// each evaluated by the population's oracle.
    pub fn new(pop: Population<'a, N>, threads: usize) -> Self {
        let parts = Self::split(&pop, threads)
            .into_iter()
            .map(Part::Population)
            .collect();
        ThreadedOracle { whole: pop, parts }
    }

    /// [`ThreadedOracle::new`], with each part laid out in `store` for the CPU's widest vectors
    /// when it has AVX2 or AVX-512 and the population allows it (strict orders, at most 256
    /// candidates): the same bits, faster.
    pub fn wide(pop: Population<'a, N>, threads: usize, store: &'a mut WideStore) -> Self {
        let split = Self::split(&pop, threads);
        let parts = match Simd::detect().and_then(|simd| Some((simd, store.layout(&split)?))) {
            Some((simd, wides)) => wides.into_iter().map(|w| Part::Wide(w, simd)).collect(),
            None => split.into_iter().map(Part::Population).collect(),
        };
        ThreadedOracle { whole: pop, parts }
    }

    fn split(pop: &Population<'a, N>, threads: usize) -> Vec<Population<'a, N>> {
        split(pop.m(), threads)
            .into_iter()
            .filter_map(|r| pop.users(r))
            .collect()
    }

    /// The number of threads an evaluation uses (1: no thread spawned).
    pub fn threads(&self) -> usize {
        self.parts.len().max(1)
    }

    /// The population split.
    pub fn population(&self) -> &Population<'a, N> {
        &self.whole
    }

    /// The vector level the parts run at (`None`: the population's oracle).
    pub fn simd(&self) -> Option<Simd> {
        match self.parts.first() {
            Some(Part::Wide(_, simd)) => Some(*simd),
            _ => None,
        }
    }

    /// Runs `eval(part, scratch)` for every part, one scoped thread each (the last part on the
    /// calling thread), and returns the scratch buffers (each `len` long, zeroed first) in part
    /// order.
    fn map_parts<T, F>(&self, len: usize, eval: F) -> Vec<Vec<T>>
    where
        T: Copy + Default + Send,
        F: Fn(&Part<'a, N>, &mut [T]) + Sync,
    {
        let run = |part: &Part<'a, N>| {
            let mut buf = vec![T::default(); len];
            eval(part, &mut buf);
            buf
        };
        let Some((last, rest)) = self.parts.split_last() else {
            return Vec::new();
        };
        thread::scope(|s| {
            let run = &run;
            let handles: Vec<_> = rest
                .iter()
                .map(|part| {
                    thread::Builder::new()
                        .spawn_scoped(s, move || run(part))
                        .ok()
                })
                .collect();
            // The calling thread takes the last part instead of idling.
            let tail = run(last);
            let mut out: Vec<Vec<T>> = handles
                .into_iter()
                .zip(rest)
                .map(|(handle, part)| match handle {
                    Some(h) => h.join().unwrap_or_else(|_| run(part)),
                    // The thread could not be spawned: evaluate the part here.
                    None => run(part),
                })
                .collect();
            out.push(tail);
            out
        })
    }
}

impl<const N: usize> Oracle<N> for ThreadedOracle<'_, N> {
    fn n(&self) -> usize {
        self.whole.n()
    }

    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        match self.parts.as_slice() {
            [] => return self.whole.shares_into(pi, k, out),
            [one] => return one.shares_into(pi, k, out),
            _ => {}
        }
        let parts = self.map_parts(out.len(), |part, buf| part.shares_into(pi, k, buf));
        for o in out.iter_mut() {
            *o = 0.0;
        }
        // Fixed order: part 0, 1, ... so the result depends only on the thread count.
        for buf in &parts {
            for (o, &x) in out.iter_mut().zip(buf) {
                *o += x;
            }
        }
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        if self.parts.len() <= 1 {
            return self.whole.jacobian_into(pi, k, support, stride, out);
        }
        let parts = self.map_parts(out.len(), |part, buf| {
            part.jacobian_into(pi, k, support, stride, buf)
        });
        for buf in &parts {
            for (o, &x) in out.iter_mut().zip(buf) {
                *o += x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ualign::{Error, Storage, share::shares};

    /// A deterministic population of `m` strict rankings over `n` candidates, unequal weights.
    fn build<'a>(
        n: usize,
        m: usize,
        weights: &'a mut [f32],
        order: &'a mut [u16],
    ) -> Result<Population<'a, 64>, Error> {
        let mut b = Population::<64>::builder(n, Storage::new(weights, order))?;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut perm: Vec<usize> = (0..n).collect();
        for j in 0..m {
            for i in (1..n).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let w = 1.0 + (j % 7) as f64;
            b.push_ranking(w, perm.iter().map(|&c| [c]))?;
        }
        b.finish()
    }

    fn policy(n: usize) -> Vec<f32> {
        let raw: Vec<f32> = (0..n).map(|i| 1.0 + (i % 5) as f32).collect();
        let total: f32 = raw.iter().sum();
        raw.iter().map(|r| r / total).collect()
    }

    #[test]
    fn split_is_contiguous_and_balanced() {
        assert_eq!(split(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(split(2, 5), vec![0..1, 1..2]);
        assert_eq!(split(7, 0), vec![0..7]);
    }

    #[test]
    fn one_thread_is_bit_identical_and_two_are_close() -> Result<(), Error> {
        let (n, m, k) = (13, 1000, 4);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, &mut w, &mut o)?;
        let pi = policy(n);
        let mut want = vec![0.0f32; n];
        shares(&pop, &pi, k, &mut want)?;
        let mut got = vec![0.0f32; n];
        ThreadedOracle::new(pop, 1).shares_into(&pi, k, &mut got);
        assert_eq!(
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        for threads in [2, 3, 7] {
            let oracle = ThreadedOracle::new(pop, threads);
            assert_eq!(oracle.threads(), threads);
            oracle.shares_into(&pi, k, &mut got);
            for (a, b) in want.iter().zip(&got) {
                assert!((a - b).abs() <= 1e-6, "{threads} threads: {a} vs {b}");
            }
            // Deterministic for a given thread count.
            let mut again = vec![0.0f32; n];
            oracle.shares_into(&pi, k, &mut again);
            assert_eq!(got, again);
        }
        Ok(())
    }

    /// The wide layout of each part gives that part's bits, so the wide oracle is the
    /// population's oracle bit for bit at every thread count (the layout where the CPU has the
    /// vectors for it, the population otherwise).
    #[test]
    fn wide_parts_give_the_same_bits() -> Result<(), Error> {
        let (n, m, k) = (21, 700, 4);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, &mut w, &mut o)?;
        let pi = policy(n);
        if Simd::detect().is_none() {
            eprintln!("the wide layout is not used here: this CPU has neither AVX2 nor AVX-512");
        }
        for threads in [1, 2, 3] {
            let mut store = WideStore::default();
            let wide = ThreadedOracle::wide(pop, threads, &mut store);
            assert_eq!(wide.simd(), Simd::detect());
            let (mut a, mut b) = (vec![0.0f32; n], vec![0.0f32; n]);
            wide.shares_into(&pi, k, &mut a);
            ThreadedOracle::new(pop, threads).shares_into(&pi, k, &mut b);
            assert_eq!(
                a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{threads} threads"
            );
        }
        Ok(())
    }

    #[test]
    fn jacobian_splits_too() -> Result<(), Error> {
        let (n, m, k) = (6, 301, 3);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, &mut w, &mut o)?;
        let pi = policy(n);
        let support: Vec<u16> = (0..n as u16).collect();
        let mut want = vec![0.0f32; n * n];
        pop.jacobian_into(&pi, k, &support, n, &mut want);
        let mut one = vec![0.0f32; n * n];
        ThreadedOracle::new(pop, 1).jacobian_into(&pi, k, &support, n, &mut one);
        assert_eq!(want, one);
        let mut two = vec![0.0f32; n * n];
        ThreadedOracle::new(pop, 2).jacobian_into(&pi, k, &support, n, &mut two);
        for (a, b) in want.iter().zip(&two) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
        Ok(())
    }

    #[test]
    fn solver_runs_on_threads() -> Result<(), Error> {
        let (n, m) = (9, 500);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, &mut w, &mut o)?;
        let oracle = ThreadedOracle::new(pop, 2);
        let mut pi = vec![0.0f32; n];
        let opts = ualign::solver::SolveOptions::new(4).epsilon(1e-4);
        let sol = ualign::solver::optimistic_hedge(&oracle, &opts, &mut pi)?;
        assert!(sol.certificate.exploitability <= 1e-3, "{sol:?}");
        Ok(())
    }
}
