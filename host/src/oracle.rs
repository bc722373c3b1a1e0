//! A share oracle that splits the user types across threads (core's [`Oracle`] is generic so
//! the host can do this without core knowing about threads).

use ualign::share::Oracle;

use crate::instance::{CAPACITY, Pop};

/// Work (user types x candidates x (k+1)) below which one thread is faster than several.
const PARALLEL_WORK: usize = 1 << 21;

/// The population split into contiguous parts of user types, one per thread.
#[derive(Debug, Clone)]
pub struct Parallel<'a> {
    whole: Pop<'a>,
    parts: Vec<Pop<'a>>,
}

impl<'a> Parallel<'a> {
    /// Splits `pop` across up to `threads` threads (1 means no threads at all).
    pub fn new(pop: Pop<'a>, threads: usize) -> Self {
        let m = pop.m();
        let threads = threads.clamp(1, m.max(1));
        let chunk = m.div_ceil(threads).max(1);
        let parts = (0..threads)
            .filter_map(|t| pop.users(t * chunk..((t + 1) * chunk).min(m)))
            .collect();
        Parallel { whole: pop, parts }
    }

    /// Splits across the available cores.
    pub fn auto(pop: Pop<'a>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(pop, cores)
    }
}

impl Oracle<CAPACITY> for Parallel<'_> {
    fn n(&self) -> usize {
        self.whole.n()
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f64]) {
        self.whole.jacobian_into(pi, k, support, stride, out);
    }

    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        let work = self
            .whole
            .m()
            .saturating_mul(self.whole.n())
            .saturating_mul(k as usize + 1);
        if self.parts.len() < 2 || work < PARALLEL_WORK {
            self.whole.shares_into(pi, k, out);
            return;
        }
        let n = out.len();
        let partials: Vec<Vec<f32>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .parts
                .iter()
                .skip(1)
                .map(|p| {
                    s.spawn(move || {
                        let mut g = vec![0.0f32; n];
                        p.shares_into(pi, k, &mut g);
                        g
                    })
                })
                .collect();
            let mut first = vec![0.0f32; n];
            if let Some(p) = self.parts.first() {
                p.shares_into(pi, k, &mut first);
            }
            let mut all = vec![first];
            for h in handles {
                // A worker cannot panic on valid input; fall back to zeros rather than abort.
                all.push(h.join().unwrap_or_else(|_| vec![0.0; n]));
            }
            all
        });
        for o in out.iter_mut() {
            *o = 0.0;
        }
        for g in partials {
            for (o, x) in out.iter_mut().zip(g) {
                *o += x;
            }
        }
    }
}
