//! A share oracle that splits the user types across threads, with the single-threaded bits.
//!
//! The share `g(y) = sum_j w_j g_j(y)` is a sum over user types, and core sums them in blocks of
//! [`BLOCK`]: each block's sums from zero, then the blocks added into the total in order, then the
//! total divided by `k + 1` ([`ualign::share::block_sums_into`]). This oracle cuts the population
//! into contiguous runs of whole blocks, one per thread ([`Population::users`] views keep the
//! weights of the whole); each thread computes the sums of its blocks, one row per block, and the
//! calling thread adds all the rows in block order and divides, exactly as core does. Every
//! floating-point operation, and its order, is the single-threaded kernel's: the shares are the
//! population's bits for any number of threads. Each run is the population's own kernel, or its
//! [`Wide`] layout run at a [`Simd`] level (the same rows, bit for bit).
//!
//! The Jacobian is summed by core in blocks of [`BLOCK`] users *of non-zero weight*, each block
//! stored into the output, then added, when the support has at most
//! [`ualign::solver::POLISH_MAX`] members (every support the solver asks for). Here each such
//! block is a view of its own, computed on one of the threads, and the calling thread stores and
//! adds the blocks in order: again the single-threaded bits. A larger support is computed on the
//! calling thread over the whole population.
//!
//! [`ThreadedOracle::serve`] starts one thread per run but the last (which the calling thread
//! evaluates) for as long as its closure runs, a solve for example, and hands each evaluation to
//! them over channels. Threads spawned per evaluation cost some tens of microseconds each, and
//! a scheduler may start them on the calling thread's core, where they wait for it: two threads
//! then take as long as one. A thread that cannot be spawned (or a run that panics) is evaluated
//! on the calling thread instead, with the same result, so the oracle never panics on its own
//! account.
//!
//! Which vector level and how many threads is decided by [`crate::route::choose`].
//!
//! Only `ualign`, `std` and (on Linux, to place the threads) `nix` are used.

use std::ops::Range;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use ualign::{
    Population,
    share::{BLOCK, Oracle, block_sums_into, blocks, wide::Wide},
    solver::POLISH_MAX,
};

use crate::route;
use crate::simd::{Simd, WideBlockSums, WideShares, WideStore};

/// Splits `items` into `parts` contiguous ranges whose lengths differ by at most one (none
/// empty when `parts <= items`).
fn split(items: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, items.max(1));
    let (base, extra) = (items / parts, items % parts);
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for i in 0..parts {
        let len = base + usize::from(i < extra);
        out.push(start..start + len);
        start += len;
    }
    out
}

/// The user ranges of the Jacobian's blocks: each holds [`BLOCK`] users of non-zero weight (the
/// last one 1 to [`BLOCK`]), as core's Jacobian counts them; none when no weight is non-zero.
fn jacobian_blocks(weights: &[f32]) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(blocks(weights.len()));
    let (mut start, mut count) = (0usize, 0usize);
    for (j, &w) in weights.iter().enumerate() {
        // Core's Jacobian skips the users of zero weight: they count in no block.
        if w == 0.0 {
            continue;
        }
        if count == BLOCK {
            out.push(start..j);
            (start, count) = (j, 0);
        }
        count += 1;
    }
    if count > 0 {
        out.push(start..weights.len());
    }
    out
}

/// The kernel of one run of blocks: the population's own, or its [`Wide`] layout run at a
/// [`Simd`] level (the same bits).
#[derive(Clone, Copy, Debug)]
enum Kernel<'a, const N: usize> {
    /// The population's oracle, as compiled for the baseline.
    Population(Population<'a, N>),
    /// The wide layout, compiled for the level.
    Wide(Wide<'a, N>, Simd),
}

impl<const N: usize> Kernel<'_, N> {
    /// The shares of the run (the whole population's when the run is the whole).
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        match self {
            Kernel::Population(p) => p.shares_into(pi, k, out),
            Kernel::Wide(wide, simd) => simd.run(WideShares { wide, pi, k, out }),
        }
    }

    /// The block rows of the run.
    fn block_sums_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        match self {
            Kernel::Population(p) => block_sums_into(p, pi, k, out),
            Kernel::Wide(wide, simd) => simd.run(WideBlockSums { wide, pi, k, out }),
        }
    }
}

/// One thread's share of the work: a run of whole share blocks, and a run of Jacobian blocks.
#[derive(Clone, Debug)]
struct Part<'a, const N: usize> {
    kernel: Kernel<'a, N>,
    /// Share blocks in the run.
    blocks: usize,
    /// The Jacobian's blocks of this part, each a view of its own.
    jacobian: Vec<Population<'a, N>>,
}

/// [`Oracle`] over a population whose user types are split across threads (see the module).
#[derive(Clone, Debug)]
pub struct ThreadedOracle<'a, const N: usize> {
    whole: Population<'a, N>,
    parts: Vec<Part<'a, N>>,
}

impl<'a, const N: usize> ThreadedOracle<'a, N> {
    /// Splits `pop` into `threads` runs of whole blocks of user types (at least 1, at most the
    /// number of blocks), each evaluated by the population's oracle.
    pub fn new(pop: Population<'a, N>, threads: usize) -> Self {
        let runs = Self::runs(&pop, threads);
        let kernels = runs.iter().map(|&p| Kernel::Population(p)).collect();
        Self::assemble(pop, runs, kernels)
    }

    /// [`ThreadedOracle::new`], with each run laid out in `store` for the CPU's widest vectors
    /// where [`crate::route::choose`] takes them (AVX2 or AVX-512, strict orders, at most 256
    /// candidates, at least [`route::wide_min_users`] user types), else the population's oracle:
    /// the same bits either way. [`Self::simd`] says which.
    pub fn wide(pop: Population<'a, N>, threads: usize, store: &'a mut WideStore) -> Self {
        let vector = route::vector_level(Simd::detect(), pop.all_strict(), pop.n(), pop.m());
        match vector {
            Some(_) => Self::with_vector(pop, threads, vector, store),
            None => None,
        }
        .unwrap_or_else(|| Self::new(pop, threads))
    }

    /// [`ThreadedOracle::new`] at vector level `vector` (`None`: the population's oracle, at
    /// the baseline), as a route asks. `None` when the wide layout cannot hold the population
    /// (an order with a tie, more than 256 candidates).
    pub fn with_vector(
        pop: Population<'a, N>,
        threads: usize,
        vector: Option<Simd>,
        store: &'a mut WideStore,
    ) -> Option<Self> {
        let runs = Self::runs(&pop, threads);
        let kernels = match vector {
            Some(simd) => store
                .layout(&runs)?
                .into_iter()
                .map(|w| Kernel::Wide(w, simd))
                .collect(),
            None => runs.iter().map(|&p| Kernel::Population(p)).collect(),
        };
        Some(Self::assemble(pop, runs, kernels))
    }

    /// The runs of whole share blocks of `threads` threads.
    fn runs(pop: &Population<'a, N>, threads: usize) -> Vec<Population<'a, N>> {
        let m = pop.m();
        split(blocks(m), threads)
            .into_iter()
            .filter_map(|b| pop.users(b.start * BLOCK..(b.end * BLOCK).min(m)))
            .collect()
    }

    /// The parts: each run with its kernel and a contiguous share of the Jacobian's blocks.
    fn assemble(
        whole: Population<'a, N>,
        runs: Vec<Population<'a, N>>,
        kernels: Vec<Kernel<'a, N>>,
    ) -> Self {
        let jacobian = jacobian_blocks(whole.weights());
        let shares = split(jacobian.len(), runs.len());
        let parts = runs
            .iter()
            .zip(kernels)
            .enumerate()
            .map(|(i, (run, kernel))| Part {
                kernel,
                blocks: blocks(run.m()),
                jacobian: shares
                    .get(i)
                    .and_then(|r| jacobian.get(r.clone()))
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|r| whole.users(r.clone()))
                    .collect(),
            })
            .collect();
        ThreadedOracle { whole, parts }
    }

    /// The number of threads an evaluation uses (1: no thread spawned).
    pub fn threads(&self) -> usize {
        self.parts.len().max(1)
    }

    /// The population split.
    pub fn population(&self) -> &Population<'a, N> {
        &self.whole
    }

    /// The vector level the runs are evaluated at (`None`: the population's oracle).
    pub fn simd(&self) -> Option<Simd> {
        match self.parts.first().map(|p| &p.kernel) {
            Some(Kernel::Wide(_, simd)) => Some(*simd),
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

/// Where the threads of [`ThreadedOracle::serve`] run. Left to itself, a scheduler may keep a
/// part's thread on the calling thread's CPU for whole solves (another CPU idle), so that two
/// threads take as long as one. During a serve the calling thread is pinned to the CPU it is on
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
/// result. Waking a sleeping thread on an idle virtual CPU can take from a few hundred
/// microseconds to milliseconds, longer than a whole evaluation at (64, 1000, 4).
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

/// One evaluation for a part.
#[derive(Clone, Debug)]
enum Job {
    /// The rows of the part's share blocks, `n` each.
    Shares { pi: Arc<[f32]>, k: u32, n: usize },
    /// The part's Jacobian blocks, `s * s` each (row stride `s`).
    Jacobian {
        pi: Arc<[f32]>,
        k: u32,
        support: Arc<[u16]>,
        s: usize,
    },
}

impl Job {
    /// The job's result on `part`: its blocks, one after the other.
    fn run<const N: usize>(&self, part: &Part<'_, N>) -> Vec<f32> {
        match self {
            Job::Shares { pi, k, n } => {
                let mut rows = vec![0.0; part.blocks.saturating_mul(*n)];
                part.kernel.block_sums_into(pi, *k, &mut rows);
                rows
            }
            Job::Jacobian { pi, k, support, s } => {
                let size = s.saturating_mul(*s).max(1);
                let mut blocks = vec![0.0; part.jacobian.len().saturating_mul(size)];
                for (view, out) in part.jacobian.iter().zip(blocks.chunks_exact_mut(size)) {
                    view.jacobian_into(pi, *k, support, *s, out);
                }
                blocks
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
    /// hands each part's result to `fold`, in part order.
    fn run(&self, job: Job, mut fold: impl FnMut(&[f32])) {
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
            fold(&buf);
        }
        if let Some(tail) = tail {
            fold(&tail);
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
            [one] => return one.kernel.shares_into(pi, k, out),
            _ => {}
        }
        // Core's order: the total from zero, each block's row added in block order, then the
        // division by k + 1.
        for o in out.iter_mut() {
            *o = 0.0;
        }
        let n = self.n();
        self.run(
            Job::Shares {
                pi: pi.into(),
                k,
                n,
            },
            |rows| {
                for row in rows.chunks_exact(n) {
                    for (o, &x) in out.iter_mut().zip(row) {
                        *o += x;
                    }
                }
            },
        );
        let scale = (k + 1) as f32;
        for o in out.iter_mut() {
            *o /= scale;
        }
    }

    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        let s = support.len().min(N);
        if self.oracle.parts.len() <= 1 || s > POLISH_MAX {
            return self.oracle.whole.jacobian_into(pi, k, support, stride, out);
        }
        if s == 0 || stride == 0 {
            return;
        }
        // Core's order: the first block stored, each later one added, in block order.
        let mut first = true;
        self.run(
            Job::Jacobian {
                pi: pi.into(),
                k,
                support: support.into(),
                s,
            },
            |blocks| {
                for block in blocks.chunks_exact(s * s) {
                    for (a_row, o_row) in block.chunks_exact(s).zip(out.chunks_mut(stride)) {
                        for (&a, o) in a_row.iter().zip(o_row.iter_mut()) {
                            *o = if first { a } else { *o + a };
                        }
                    }
                    first = false;
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ualign::{Error, Storage, share::shares};

    /// A deterministic population of `m` rankings over `n` candidates, unequal weights; with
    /// `ties`, every third order has tie groups, and with `zeros` every fifth weight is zero.
    fn build<'a>(
        n: usize,
        m: usize,
        (ties, zeros): (bool, bool),
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
            let w = if zeros && j % 5 == 3 {
                0.0
            } else {
                1.0 + (j % 7) as f64
            };
            if ties && j % 3 == 0 {
                // Groups of three, best first.
                b.push_ranking(w, perm.chunks(3))?;
            } else {
                b.push_ranking(w, perm.iter().map(|&c| [c]))?;
            }
        }
        b.finish()
    }

    fn policy(n: usize) -> Vec<f32> {
        let raw: Vec<f32> = (0..n).map(|i| 1.0 + (i % 5) as f32).collect();
        let total: f32 = raw.iter().sum();
        raw.iter().map(|r| r / total).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn split_is_contiguous_and_balanced() {
        assert_eq!(split(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(split(2, 5), vec![0..1, 1..2]);
        assert_eq!(split(7, 0), vec![0..7]);
    }

    #[test]
    fn runs_are_whole_blocks() -> Result<(), Error> {
        let (n, m) = (4, 5 * BLOCK + 10);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, (false, false), &mut w, &mut o)?;
        let runs = ThreadedOracle::runs(&pop, 4);
        let lens: Vec<usize> = runs.iter().map(|r| r.m()).collect();
        // Six blocks (the last of 10 users) over four threads: 2, 2, 1, 1 blocks.
        assert_eq!(lens, vec![2 * BLOCK, 2 * BLOCK, BLOCK, 10]);
        assert_eq!(ThreadedOracle::runs(&pop, 100).len(), 6);
        assert_eq!(ThreadedOracle::new(pop, 100).threads(), 6);
        Ok(())
    }

    #[test]
    fn jacobian_blocks_count_users_of_non_zero_weight() {
        let mut w = vec![1.0f32; 2 * BLOCK + 5];
        assert_eq!(
            jacobian_blocks(&w),
            vec![0..BLOCK, BLOCK..2 * BLOCK, 2 * BLOCK..w.len()]
        );
        // A zero weight in the first block moves its end one user on.
        w[7] = 0.0;
        assert_eq!(
            jacobian_blocks(&w),
            vec![
                0..BLOCK + 1,
                BLOCK + 1..2 * BLOCK + 1,
                2 * BLOCK + 1..w.len()
            ]
        );
        // Exactly two blocks of non-zero weights, then zeros: two blocks.
        let mut w = vec![1.0f32; 2 * BLOCK];
        w.extend([0.0; 9]);
        assert_eq!(jacobian_blocks(&w), vec![0..BLOCK, BLOCK..w.len()]);
        assert!(jacobian_blocks(&[0.0, 0.0]).is_empty());
    }

    /// Every thread count gives the population's bits: strict orders, ties, zero weights.
    #[test]
    fn every_thread_count_gives_the_population_bits() -> Result<(), Error> {
        for (n, m, shape) in [
            (13, 12 * BLOCK + 77, (false, false)),
            (9, 7 * BLOCK, (true, true)),
            (40, 3 * BLOCK + 1, (true, false)),
        ] {
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let pop = build(n, m, shape, &mut w, &mut o)?;
            let pi = policy(n);
            for k in [1, 2, 4, 7] {
                let mut want = vec![0.0f32; n];
                shares(&pop, &pi, k, &mut want)?;
                for threads in [1, 2, 3, 7, 8] {
                    let oracle = ThreadedOracle::new(pop, threads);
                    assert_eq!(oracle.threads(), threads.min(blocks(m)));
                    let (mut got, mut again) = (vec![0.0f32; n], vec![0.0f32; n]);
                    oracle.serve(|o| {
                        assert_eq!(o.threads(), threads.min(blocks(m)));
                        o.shares_into(&pi, k, &mut got);
                        o.shares_into(&pi, k, &mut again);
                    });
                    assert_eq!(
                        bits(&want),
                        bits(&got),
                        "n {n}, m {m}, k {k}, {threads} threads"
                    );
                    assert_eq!(bits(&want), bits(&again));
                }
            }
        }
        Ok(())
    }

    /// The wide layout of each run gives that run's rows, so the wide oracle is the
    /// population's oracle bit for bit at every thread count (the layout where the CPU has the
    /// vectors for it, the population otherwise).
    #[test]
    fn wide_parts_give_the_same_bits() -> Result<(), Error> {
        let (n, m, k) = (21, 5 * BLOCK + 3, 4);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, (false, true), &mut w, &mut o)?;
        let pi = policy(n);
        if Simd::detect().is_none() {
            eprintln!("the wide layout is not used here: this CPU has neither AVX2 nor AVX-512");
        }
        let mut want = vec![0.0f32; n];
        shares(&pop, &pi, k, &mut want)?;
        for threads in [1, 2, 3, 8] {
            let mut store = WideStore::default();
            let wide = ThreadedOracle::wide(pop, threads, &mut store);
            assert_eq!(wide.simd(), Simd::detect());
            let mut a = vec![0.0f32; n];
            wide.serve(|o| o.shares_into(&pi, k, &mut a));
            assert_eq!(bits(&want), bits(&a), "{threads} threads");
        }
        // A population with ties is not laid out: `wide` takes the population's oracle, and
        // `with_vector` refuses.
        let (mut w, mut o) = (vec![0.0f32; 40], vec![0u16; 40 * 6]);
        let tied = build(6, 40, (true, false), &mut w, &mut o)?;
        let mut store = WideStore::default();
        assert_eq!(ThreadedOracle::wide(tied, 2, &mut store).simd(), None);
        let mut store = WideStore::default();
        assert!(ThreadedOracle::with_vector(tied, 2, Some(Simd::Avx2), &mut store).is_none());
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
        let (n, m) = (5, 2 * BLOCK);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, (false, false), &mut w, &mut o)?;
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

    /// The Jacobian is the population's bit for bit at every thread count: supports of the
    /// polish's sizes (split across threads) and a larger one (on the calling thread), with
    /// ties and zero weights that move the Jacobian's blocks off the share blocks.
    #[test]
    fn jacobian_gives_the_population_bits() -> Result<(), Error> {
        for (n, m, shape) in [
            (6, 3 * BLOCK + 45, (true, true)),
            (60, 4 * BLOCK + 9, (false, true)),
        ] {
            let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
            let pop = build(n, m, shape, &mut w, &mut o)?;
            let pi = policy(n);
            for s in [1, 5, n.min(33), n.min(POLISH_MAX), n] {
                // A support in a shuffled order, with a stride wider than it.
                let support: Vec<u16> = (0..s as u16).map(|i| (i * 7 + 3) % n as u16).collect();
                let stride = s + 2;
                let len = s * stride;
                for k in [1, 3] {
                    let mut want = vec![0.0f32; len];
                    pop.jacobian_into(&pi, k, &support, stride, &mut want);
                    for threads in [1, 2, 3, 8] {
                        let mut got = vec![0.0f32; len];
                        ThreadedOracle::new(pop, threads)
                            .serve(|o| o.jacobian_into(&pi, k, &support, stride, &mut got));
                        assert_eq!(
                            bits(&want),
                            bits(&got),
                            "n {n}, s {s}, k {k}, {threads} threads"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn solver_runs_on_threads_with_the_single_threaded_answer() -> Result<(), Error> {
        let (n, m) = (9, 6 * BLOCK);
        let (mut w, mut o) = (vec![0.0f32; m], vec![0u16; m * n]);
        let pop = build(n, m, (true, false), &mut w, &mut o)?;
        let opts = ualign::solver::SolveOptions::new(4).epsilon(1e-4);
        let mut want = vec![0.0f32; n];
        let single = ualign::solver::optimistic_hedge(&pop, &opts, &mut want)?;
        assert!(single.certificate.exploitability <= 1e-3, "{single:?}");
        for threads in [2, 3] {
            let mut pi = vec![0.0f32; n];
            let oracle = ThreadedOracle::new(pop, threads);
            let sol = oracle.serve(|o| ualign::solver::optimistic_hedge(o, &opts, &mut pi))?;
            assert_eq!(bits(&want), bits(&pi), "{threads} threads");
            assert_eq!(sol.iterations, single.iterations);
        }
        Ok(())
    }
}
