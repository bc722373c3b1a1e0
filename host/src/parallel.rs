//! A share oracle that splits the user types across threads.
//!
//! The share `g(y) = sum_j w_j g_j(y)` is a sum over user types, so the types can be cut into
//! contiguous parts ([`Population::users`] keeps the weights of the whole, so the parts' shares
//! add up to the whole's), each part evaluated on its own thread, and the parts added in a fixed
//! order. For a given thread count the result is therefore deterministic; it differs from the
//! single-threaded sum only by rounding (the parts are added after each has been divided by
//! `k + 1`). With one thread the oracle *is* the population: bit-identical to core. Each part is
//! the population's oracle, or its [`Wide`] layout run at the CPU's vector level (the same bits).
//!
//! [`ThreadedOracle::serve`] starts one thread per part but the last (which the calling thread
//! evaluates) for as long as its closure runs, a solve for example, and hands each evaluation to
//! them over channels. Threads spawned per evaluation cost some tens of microseconds each, and
//! this machine's scheduler often started them on the calling thread's core, where they waited
//! for it: two threads then took as long as one. A thread that cannot be spawned (or a part that
//! panics) is evaluated on the calling thread instead, so the oracle never panics on its own
//! account.
//!
//! Only `ualign`, `std` and (on Linux, to place the threads) `nix` are used.

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

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

    /// The part's own users (a part certifies only itself; solvers are given the whole).
    fn population(&self) -> Population<'_, N> {
        match self {
            Part::Population(p) => *p,
            Part::Wide(w, _) => Oracle::population(w),
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

    /// Runs `f` with the oracle served by one thread per part but the last, started now and
    /// stopped when `f` returns. With one part, no thread is started.
    pub fn serve<R>(&self, f: impl FnOnce(&Served<'_, 'a, N>) -> R) -> R {
        let workers = self.parts.len().saturating_sub(1);
        if workers == 0 {
            return f(&Served {
                oracle: self,
                workers: Vec::new(),
                pinned: false,
            });
        }
        // Restores the calling thread's CPUs when dropped, after the scope's threads are done.
        let placement = placement::Placement::new(workers);
        thread::scope(|s| {
            let mut handles = Vec::with_capacity(workers);
            let mut served = Served {
                oracle: self,
                workers: Vec::with_capacity(workers),
                pinned: placement.pinned(),
            };
            for (i, part) in self.parts.iter().take(workers).enumerate() {
                let (jobs, inbox) = mpsc::channel::<Job>();
                let (outbox, results) = mpsc::channel::<Vec<f32>>();
                let cpu = placement.cpu(i);
                let spawned = thread::Builder::new().spawn_scoped(s, move || {
                    placement::pin(cpu);
                    while let Some(job) = receive(&inbox, cpu.is_some()) {
                        if outbox.send(job.run(part)).is_err() {
                            break;
                        }
                    }
                });
                let jobs = match spawned {
                    Ok(handle) => {
                        handles.push(handle);
                        Some(jobs)
                    }
                    // Not spawned: the calling thread evaluates this part.
                    Err(_) => None,
                };
                served.workers.push(Worker { jobs, results });
            }
            let out = f(&served);
            // Closing the job channels ends the threads' loops; a thread that panicked is
            // joined here, so its panic does not reach the caller.
            drop(served);
            for handle in handles {
                let _ = handle.join();
            }
            out
        })
    }
}

/// Where the threads of [`ThreadedOracle::serve`] run. Left to itself, this machine's scheduler
/// kept a part's thread on the calling thread's CPU for whole solves (the other CPU idle), so two
/// threads took as long as one. During a serve the calling thread is pinned to the CPU it is on
/// and each part's thread to another CPU it may run on; the calling thread's CPUs are restored
/// afterwards. Nothing is pinned when there are fewer CPUs than threads or a call fails.
#[cfg(target_os = "linux")]
mod placement {
    use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
    use nix::unistd::Pid;

    /// The calling thread's CPUs before the serve, and a CPU for each part's thread.
    pub struct Placement {
        saved: Option<CpuSet>,
        cpus: Vec<usize>,
    }

    impl Placement {
        /// Pins the calling thread and picks CPUs for `workers` threads (see the module).
        pub fn new(workers: usize) -> Self {
            let unpinned = Placement {
                saved: None,
                cpus: Vec::new(),
            };
            let me = Pid::from_raw(0);
            let (Ok(saved), Ok(here)) = (sched_getaffinity(me), sched_getcpu()) else {
                return unpinned;
            };
            let others: Vec<usize> = (0..CpuSet::count())
                .filter(|&c| c != here && saved.is_set(c).unwrap_or(false))
                .take(workers)
                .collect();
            let mut only = CpuSet::new();
            if others.len() < workers
                || only.set(here).is_err()
                || sched_setaffinity(me, &only).is_err()
            {
                return unpinned;
            }
            Placement {
                saved: Some(saved),
                cpus: others,
            }
        }

        /// The CPU of part `i`'s thread, if pinned.
        pub fn cpu(&self, i: usize) -> Option<usize> {
            self.cpus.get(i).copied()
        }

        /// Whether the threads are pinned.
        pub fn pinned(&self) -> bool {
            self.saved.is_some()
        }
    }

    impl Drop for Placement {
        fn drop(&mut self) {
            if let Some(saved) = &self.saved {
                let _ = sched_setaffinity(Pid::from_raw(0), saved);
            }
        }
    }

    /// Pins the calling thread to `cpu` (nothing for `None` or when the call fails).
    pub fn pin(cpu: Option<usize>) {
        let mut only = CpuSet::new();
        if let Some(cpu) = cpu
            && only.set(cpu).is_ok()
        {
            let _ = sched_setaffinity(Pid::from_raw(0), &only);
        }
    }
}

/// Elsewhere threads are left where the system puts them.
#[cfg(not(target_os = "linux"))]
mod placement {
    pub struct Placement;

    impl Placement {
        pub fn new(_workers: usize) -> Self {
            Placement
        }
        pub fn cpu(&self, _i: usize) -> Option<usize> {
            None
        }
        pub fn pinned(&self) -> bool {
            false
        }
    }

    pub fn pin(_cpu: Option<usize>) {}
}

/// How long a thread waits awake for a message before it sleeps: a part's thread for its next
/// job (a solve sends the next evaluation within microseconds), the calling thread for a part's
/// result. Waking a sleeping thread on an idle virtual CPU took from a few hundred microseconds
/// to milliseconds here, longer than a whole evaluation at (64, 1000, 4).
const SPIN: Duration = Duration::from_micros(500);

/// The next message: polled for [`SPIN`], then waited for; `None` once the channel is closed.
/// A thread alone on its CPU (`pinned`) polls in a tight loop; otherwise it yields between
/// polls, so that it does not hold up a thread that shares its CPU.
fn receive<T>(inbox: &mpsc::Receiver<T>, pinned: bool) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < SPIN {
        match inbox.try_recv() {
            Ok(x) => return Some(x),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) if pinned => std::hint::spin_loop(),
            Err(mpsc::TryRecvError::Empty) => thread::yield_now(),
        }
    }
    inbox.recv().ok()
}

/// The oracle of [`ThreadedOracle::serve`]: evaluations go to the parts' threads.
#[derive(Debug)]
pub struct Served<'o, 'a, const N: usize> {
    oracle: &'o ThreadedOracle<'a, N>,
    /// One per part but the last, in part order.
    workers: Vec<Worker>,
    /// The threads are pinned, each to its own CPU.
    pinned: bool,
}

/// A part's thread: its job channel (`None` when it could not be spawned) and its results.
#[derive(Debug)]
struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    results: mpsc::Receiver<Vec<f32>>,
}

/// One evaluation for a part, with the length of its result.
#[derive(Clone, Debug)]
enum Job {
    Shares {
        pi: Arc<[f32]>,
        k: u32,
        len: usize,
    },
    Jacobian {
        pi: Arc<[f32]>,
        k: u32,
        support: Arc<[u16]>,
        stride: usize,
        len: usize,
    },
}

impl Job {
    /// The job's result on `part` (a zeroed buffer, filled or added into).
    fn run<const N: usize>(&self, part: &Part<'_, N>) -> Vec<f32> {
        match self {
            Job::Shares { pi, k, len } => {
                let mut buf = vec![0.0; *len];
                part.shares_into(pi, *k, &mut buf);
                buf
            }
            Job::Jacobian {
                pi,
                k,
                support,
                stride,
                len,
            } => {
                let mut buf = vec![0.0; *len];
                part.jacobian_into(pi, *k, support, *stride, &mut buf);
                buf
            }
        }
    }
}

impl<const N: usize> Served<'_, '_, N> {
    /// The number of threads an evaluation uses (1: no thread started).
    pub fn threads(&self) -> usize {
        self.oracle.threads()
    }

    /// Runs `job` on every part (the threads' parts on their threads, the last part here) and
    /// adds the results into `out` in part order.
    fn run(&self, job: Job, out: &mut [f32]) {
        let parts = &self.oracle.parts;
        let sent: Vec<bool> = self
            .workers
            .iter()
            .map(|w| {
                w.jobs
                    .as_ref()
                    .is_some_and(|tx| tx.send(job.clone()).is_ok())
            })
            .collect();
        let tail = parts.last().map(|part| job.run(part));
        for ((worker, part), sent) in self.workers.iter().zip(parts).zip(sent) {
            let buf = match sent {
                true => receive(&worker.results, self.pinned).unwrap_or_else(|| job.run(part)),
                false => job.run(part),
            };
            for (o, &x) in out.iter_mut().zip(&buf) {
                *o += x;
            }
        }
        for (o, &x) in out.iter_mut().zip(tail.iter().flatten()) {
            *o += x;
        }
    }
}

impl<const N: usize> Oracle<N> for Served<'_, '_, N> {
    fn n(&self) -> usize {
        self.oracle.whole.n()
    }

    fn population(&self) -> Population<'_, N> {
        self.oracle.whole
    }

    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        match self.oracle.parts.as_slice() {
            [] => return self.oracle.whole.shares_into(pi, k, out),
            [one] => return one.shares_into(pi, k, out),
            _ => {}
        }
        for o in out.iter_mut() {
            *o = 0.0;
        }
        let len = out.len();
        self.run(
            Job::Shares {
                pi: pi.into(),
                k,
                len,
            },
            out,
        );
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        if self.oracle.parts.len() <= 1 {
            return self.oracle.whole.jacobian_into(pi, k, support, stride, out);
        }
        let len = out.len();
        self.run(
            Job::Jacobian {
                pi: pi.into(),
                k,
                support: support.into(),
                stride,
                len,
            },
            out,
        );
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
        ThreadedOracle::new(pop, 1).serve(|o| o.shares_into(&pi, k, &mut got));
        assert_eq!(
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        for threads in [2, 3, 7] {
            let oracle = ThreadedOracle::new(pop, threads);
            assert_eq!(oracle.threads(), threads);
            let mut again = vec![0.0f32; n];
            oracle.serve(|o| {
                assert_eq!(o.threads(), threads);
                o.shares_into(&pi, k, &mut got);
                // Deterministic for a given thread count, on the same threads or new ones.
                o.shares_into(&pi, k, &mut again);
            });
            assert_eq!(got, again);
            oracle.serve(|o| o.shares_into(&pi, k, &mut again));
            assert_eq!(got, again);
            for (a, b) in want.iter().zip(&got) {
                assert!((a - b).abs() <= 1e-6, "{threads} threads: {a} vs {b}");
            }
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
            wide.serve(|o| o.shares_into(&pi, k, &mut a));
            ThreadedOracle::new(pop, threads).serve(|o| o.shares_into(&pi, k, &mut b));
            assert_eq!(
                a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{threads} threads"
            );
        }
        Ok(())
    }

    /// During a serve with two threads the calling thread runs on one CPU (when it may run on
    /// two or more); afterwards it may run where it could before.
    #[cfg(target_os = "linux")]
    #[test]
    fn serve_pins_the_calling_thread_and_restores_it() -> Result<(), Error> {
        use nix::sched::{CpuSet, sched_getaffinity};
        use nix::unistd::Pid;
        let cpus = |set: &CpuSet| {
            (0..CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .count()
        };
        let me = Pid::from_raw(0);
        let Ok(before) = sched_getaffinity(me) else {
            eprintln!("skipped: sched_getaffinity is not available here");
            return Ok(());
        };
        let (n, m) = (5, 40);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, &mut w, &mut o)?;
        let oracle = ThreadedOracle::new(pop, 2);
        let during = oracle.serve(|o| {
            let mut g = vec![0.0f32; n];
            o.shares_into(&policy(n), 3, &mut g);
            sched_getaffinity(me).map(|s| cpus(&s))
        });
        if cpus(&before) >= 2 {
            assert_eq!(during, Ok(1));
        } else {
            eprintln!("one CPU: nothing is pinned");
        }
        assert_eq!(sched_getaffinity(me), Ok(before));
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
        ThreadedOracle::new(pop, 1).serve(|o| o.jacobian_into(&pi, k, &support, n, &mut one));
        assert_eq!(want, one);
        let mut two = vec![0.0f32; n * n];
        ThreadedOracle::new(pop, 2).serve(|o| o.jacobian_into(&pi, k, &support, n, &mut two));
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
        let sol = oracle.serve(|o| ualign::solver::optimistic_hedge(o, &opts, &mut pi))?;
        assert!(sol.certificate.exploitability <= 1e-3, "{sol:?}");
        Ok(())
    }
}
