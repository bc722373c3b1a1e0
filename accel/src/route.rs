//! Which computation a command runs, its *route*, decided in one place: [`choose`].
//!
//! A route is three choices:
//!
//! * **the sum** ([`Sum`]): how the shares are computed. `margins`: `k = 1` through the margin
//!   matrix and the exact simplex. `tally`: one recurrence per distinct pair of (set ranked
//!   below, tie class), the weights of the users that share it added first (core's
//!   [`Tally`]). `population`: one recurrence per user type and candidate, as the firmware
//!   computes them.
//! * **the vector level** of the population sum: core's wide layout compiled for AVX2 or AVX-512
//!   when the CPU has them and the orders allow it (strict, at most 256 candidates), else the
//!   population's own kernel compiled for the baseline. Both give the same bits.
//! * **the threads** of the population sum. Its users are summed in blocks of
//!   [`ualign::share::BLOCK`]; each thread computes the block sums of a contiguous run of whole
//!   blocks and the calling thread adds every block in block order, as the single-threaded kernel
//!   does (see [`crate::parallel`]). The bits do not depend on the number of threads.
//!
//! So the sum alone decides the bits: for a given sum the output is the same whatever the vector
//! level, the thread count and the number of cores. The sum never depends on the threads or the
//! cores. `--reference` asks for the population sum, the firmware's computation bit for bit;
//! `--threads` only counts threads (0: automatic, every core when the work pays for them).
//!
//! The rule of the tally (when one pays) lives here too, with the storage it is built in
//! ([`TallyStore`]): whether a population shares enough pairs is only known by building its
//! tally, so [`plan`] builds it when [`choose`] takes the tally and asks again when the build
//! gives up.

use std::cell::Cell;

use ualign::{
    Population,
    share::{
        blocks,
        tally::{Node, Tally},
        wide::{WIDE_LANES, WIDE_MAX_CANDIDATES},
    },
};

use crate::simd::Simd;

/// Largest `n` for which `k = 1` goes through the margin matrix (built by byte counting up to 256
/// candidates, then solved by the simplex in a few `O(n^2)` pivots); above it, the population.
pub const MARGINS_MAX_N: usize = 256;

/// Populations with fewer entries (user types x candidates) are not tallied: building the tally
/// would cost more than the evaluations it saves.
pub const TALLY_MIN_CELLS: usize = 1 << 14;

/// Populations over more candidates are not tallied: sets of candidates below a position are
/// then rarely shared, and a build that fails costs time and memory for nothing (core's limit is
/// 64).
pub const TALLY_MAX_N: usize = 32;

/// A tally is kept only with at most one pair per this many population entries (the build stops
/// at the first pair past that, so a population that shares little costs a bounded attempt). The
/// real elections of `../shared` have 12 (14 candidates) to 37 (Dublin West) entries per pair.
pub const TALLY_MIN_SHARING: usize = 8;

/// Work (user types x candidates x (k+1)) below which one thread beats several: starting the
/// threads for a solve costs some hundred microseconds, and each evaluation handed over a few
/// (at (64, 1000, 4), 320,000, two threads halve a share evaluation but gain a tenth on a whole
/// solve).
pub const PARALLEL_WORK: usize = 1 << 21;

/// The most threads a computation uses, and the largest `--threads` the tool takes. A few times
/// the CPUs of the largest machines a solve runs on (two 192-core processors with two hardware
/// threads per core have 768): more threads than CPUs only share them, and each thread reserves
/// its stack (2 MiB of address space) and a few memory mappings, so tens of thousands of them
/// exhaust the process's mappings and abort it.
pub const MAX_THREADS: usize = 1024;

/// Fewest user types the wide layout is used for at vector level `simd`. It computes
/// [`WIDE_LANES`] users at once, so with fewer most of its lanes are padding, and the
/// population's kernel, one fused pass per order, is faster. The layout is also built for each
/// solve (about 0.45 us at (16, 8, 4)), and a small solve takes about ten evaluations, so the
/// wide layout must save more than a twentieth of a microsecond per evaluation to pay.
/// - AVX-512 runs a group in one pass. At (16, 8, 4) an evaluation takes the same time through
///   either kernel, at (16, 10, 4) about 170 ns through the wide layout and 236 ns through the
///   population (a saving of 0.66 us over ten evaluations, more than the build), and at
///   (16, 16, 4) 0.57 of the time. `batch` on 20,000 unrelated (16, 8, 4) or (16, 9, 4)
///   prompts took 0.92 of the time through the population.
/// - AVX2 runs a group in two halves: at (16, 8, 4) an evaluation takes about 460 ns through
///   the population and 640 ns through the wide layout, at (16, 12, 4) both about 650 ns, and
///   at (16, 16, 4) 710 against 650 ns.
///
/// (`ualign bench`'s `population_share_ns_median` and `share_ns_median`, and `ualign batch` on
/// such prompts; benches/README.md.)
pub fn wide_min_users(simd: Simd) -> usize {
    match simd {
        Simd::Avx512 => WIDE_LANES * 5 / 8,
        Simd::Avx2 => WIDE_LANES * 3 / 4,
    }
}

/// What a command computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Optimistic Hedge, the last iterate certified (`solve`, `pick`, `opponents`, `batch`,
    /// `curve`'s equilibria).
    Optimistic,
    /// Hedge, certified through the time mixture of its iterates.
    Hedge,
    /// NLHF, the `k = 1` equilibrium (`curve`'s baseline).
    Nlhf,
    /// `bench`'s timings of the population's share evaluation and a solve through it.
    Bench,
}

/// How the shares are summed: this alone decides the bits of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sum {
    /// `k = 1` through the margin matrix.
    Margins,
    /// Through a tally of the distinct (set below, tie class) pairs.
    Tally,
    /// Through the population, user type by user type: the firmware's computation.
    Population,
}

impl Sum {
    /// The name in reports: `margins`, `tally` or `population`.
    pub fn name(self) -> &'static str {
        match self {
            Sum::Margins => "margins",
            Sum::Tally => "tally",
            Sum::Population => "population",
        }
    }
}

/// Everything the route depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    /// What is computed.
    pub task: Task,
    /// Responses shown.
    pub k: u32,
    /// Candidates.
    pub n: usize,
    /// User types.
    pub m: usize,
    /// No order has a tie.
    pub strict: bool,
    /// `--reference`: the firmware's computation.
    pub reference: bool,
    /// `--threads` (0: automatic).
    pub threads: usize,
    /// The CPUs an automatic thread count may use.
    pub cores: usize,
    /// The widest vector level of this CPU.
    pub simd: Option<Simd>,
    /// The tally was tried and gave up: too few shared pairs.
    pub tally_refused: bool,
}

impl Query {
    /// The query of `task` at `k` on `pop`, with the cores and vector level of the running machine.
    pub fn new<const N: usize>(
        task: Task,
        k: u32,
        pop: &Population<'_, N>,
        reference: bool,
        threads: usize,
    ) -> Self {
        Query {
            task,
            k,
            n: pop.n(),
            m: pop.m(),
            strict: pop.all_strict(),
            reference,
            threads,
            cores: cores(),
            simd: Simd::detect(),
            tally_refused: false,
        }
    }
}

/// The computation a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// How the shares are summed.
    pub sum: Sum,
    /// The population sum's vector level (`None`: the baseline; always for margins and tally).
    pub vector: Option<Simd>,
    /// Threads of a share evaluation (1 for margins and tally).
    pub threads: usize,
}

impl Route {
    /// The vector level's name in reports: `avx512`, `avx2` or `baseline`.
    pub fn vector_name(&self) -> &'static str {
        self.vector.map_or("baseline", Simd::name)
    }
}

/// The route of `q`:
///
/// 1. the sum: `population` with `--reference`, for Hedge (it keeps the population's iterates)
///    and for `bench`; else `margins` at `k = 1` (Optimistic Hedge or NLHF) with at most
///    [`MARGINS_MAX_N`] candidates; else, for Optimistic Hedge, `tally` when [`tally_may_pay`]
///    and the tally was not refused; else `population`;
/// 2. the vector level of `population`: the CPU's, when the orders are strict, there are at
///    most [`WIDE_MAX_CANDIDATES`] candidates and at least [`wide_min_users`] user types; else
///    the baseline;
/// 3. the threads of `population`: `--threads` when given, else every core when the work
///    `m n (k+1)` reaches [`PARALLEL_WORK`] and one thread below it; never more than the blocks
///    of users (a block is never split) nor [`MAX_THREADS`]. Margins and tally run on one
///    thread.
pub fn choose(q: &Query) -> Route {
    let sum = if q.reference || matches!(q.task, Task::Hedge | Task::Bench) {
        Sum::Population
    } else if q.k == 1 && q.n <= MARGINS_MAX_N {
        Sum::Margins
    } else if q.task == Task::Optimistic && !q.tally_refused && tally_may_pay(q.n, q.m) {
        Sum::Tally
    } else {
        Sum::Population
    };
    match sum {
        Sum::Margins | Sum::Tally => Route {
            sum,
            vector: None,
            threads: 1,
        },
        Sum::Population => Route {
            sum,
            vector: vector_level(q.simd, q.strict, q.n, q.m),
            threads: population_threads(q),
        },
    }
}

/// The vector level of the population sum (rule 2 of [`choose`]): `simd` (the CPU's) when the
/// orders are `strict` and there are at most [`WIDE_MAX_CANDIDATES`] of `n` candidates, so that
/// core's wide layout holds them, and at least [`wide_min_users`] of `m` user types; else
/// `None`, the baseline.
pub fn vector_level(simd: Option<Simd>, strict: bool, n: usize, m: usize) -> Option<Simd> {
    simd.filter(|&s| strict && n <= WIDE_MAX_CANDIDATES && m >= wide_min_users(s))
}

/// The threads of the population sum (rule 3 of [`choose`]).
fn population_threads(q: &Query) -> usize {
    let wanted = match q.threads {
        0 => {
            let work = q.m.saturating_mul(q.n).saturating_mul(q.k as usize + 1);
            if work < PARALLEL_WORK { 1 } else { q.cores }
        }
        t => t,
    };
    wanted.clamp(1, blocks(q.m).clamp(1, MAX_THREADS))
}

/// Whether a tally may pay on `n` candidates and `m` user types: at most [`TALLY_MAX_N`]
/// candidates and at least [`TALLY_MIN_CELLS`] entries. (Whether the population shares enough
/// pairs is known only by building the tally: [`TallyStore::tally`].)
pub fn tally_may_pay(n: usize, m: usize) -> bool {
    n <= TALLY_MAX_N && m.saturating_mul(n) >= TALLY_MIN_CELLS
}

/// [`choose`], building the tally in `store` when the route takes one; when the build gives up
/// (too few shared pairs), the route [`choose`] takes without it.
pub fn plan<'a, const N: usize>(
    q: Query,
    pop: &Population<'a, N>,
    store: &'a mut TallyStore,
) -> (Route, Option<Tally<'a, N>>) {
    let route = choose(&q);
    if route.sum != Sum::Tally {
        return (route, None);
    }
    match store.tally(pop) {
        Some(tally) => (route, Some(tally)),
        None => (
            choose(&Query {
                tally_refused: true,
                ..q
            }),
            None,
        ),
    }
}

/// Number of CPUs this process may use (1 when unknown), asked once: the answer reads the
/// process's cgroup files, a few system calls that cost more than a whole solve of a small
/// prompt, and every route query asks.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Owned storage of a tally.
#[derive(Debug, Default)]
pub struct TallyStore {
    nodes: Vec<Node>,
    table: Vec<u32>,
    sums: Vec<Cell<f32>>,
}

impl TallyStore {
    /// The tally of `pop` when it pays: [`tally_may_pay`], and at most one distinct pair per
    /// [`TALLY_MIN_SHARING`] entries (the build stops as soon as there are more). `None`
    /// otherwise.
    pub fn tally<'a, const N: usize>(
        &'a mut self,
        pop: &Population<'a, N>,
    ) -> Option<Tally<'a, N>> {
        if !tally_may_pay(pop.n(), pop.m()) {
            return None;
        }
        let cells = pop.m().checked_mul(pop.n())?;
        // Room for the pairs a tally may keep, but no more than orders of few tie classes can
        // make (a strict order over n candidates has n * 2^(n-1) possible pairs; twice that
        // leaves room for classes, such as the unranked candidates of a ballot): the buffers
        // are zeroed, and 23,000 nodes where 2,304 can occur cost most of a build.
        let limit = cells / TALLY_MIN_SHARING;
        let capacity = match u32::try_from(pop.n()) {
            Ok(n) if n <= 20 => limit.min((n as usize) << n),
            _ => limit,
        };
        let TallyStore { nodes, table, sums } = self;
        *nodes = vec![Node::default(); capacity];
        *table = vec![0; capacity.checked_mul(2)?.next_power_of_two()];
        *sums = vec![Cell::new(0.0); capacity];
        Tally::new(*pop, nodes, table, sums).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::impartial_culture;

    /// A query that takes every default: Optimistic Hedge at `k`, strict orders, automatic
    /// threads on 4 cores with AVX2.
    fn query(k: u32, n: usize, m: usize) -> Query {
        Query {
            task: Task::Optimistic,
            k,
            n,
            m,
            strict: true,
            reference: false,
            threads: 0,
            cores: 4,
            simd: Some(Simd::Avx2),
            tally_refused: false,
        }
    }

    fn route(sum: Sum, vector: Option<Simd>, threads: usize) -> Route {
        Route {
            sum,
            vector,
            threads,
        }
    }

    #[test]
    fn the_sum() {
        let avx2 = Some(Simd::Avx2);
        // k = 1 through the margins up to 256 candidates, for Optimistic Hedge and NLHF.
        assert_eq!(choose(&query(1, 256, 10)), route(Sum::Margins, None, 1));
        let nlhf = Query {
            task: Task::Nlhf,
            ..query(1, 9, 100_000)
        };
        assert_eq!(choose(&nlhf), route(Sum::Margins, None, 1));
        // Above 256 candidates, the population (the tally is never tried there).
        assert_eq!(choose(&query(1, 257, 10)).sum, Sum::Population);
        assert_eq!(
            choose(&Query {
                task: Task::Nlhf,
                ..query(1, 300, 10)
            })
            .sum,
            Sum::Population
        );
        // The tally: few candidates, many entries, Optimistic Hedge only.
        assert_eq!(choose(&query(2, 9, 10_335)), route(Sum::Tally, None, 1));
        assert_eq!(choose(&query(2, 32, 512)).sum, Sum::Tally);
        assert_eq!(choose(&query(2, 32, 511)).sum, Sum::Population);
        assert_eq!(choose(&query(2, 33, 100_000)).sum, Sum::Population);
        // Refused by its build: the population.
        let refused = Query {
            tally_refused: true,
            ..query(2, 9, 10_335)
        };
        assert_eq!(choose(&refused), route(Sum::Population, avx2, 1));
        // Hedge and bench: always the population.
        for task in [Task::Hedge, Task::Bench] {
            for (k, n, m) in [(1, 9, 10), (2, 9, 10_335)] {
                let q = Query {
                    task,
                    ..query(k, n, m)
                };
                assert_eq!(choose(&q).sum, Sum::Population, "{q:?}");
            }
        }
        // --reference: the population, whatever would have been taken.
        for (k, n, m) in [(1, 9, 10), (2, 9, 10_335), (4, 64, 1000)] {
            let q = Query {
                reference: true,
                ..query(k, n, m)
            };
            assert_eq!(choose(&q).sum, Sum::Population, "{q:?}");
        }
    }

    #[test]
    fn the_vector_level() {
        let q = query(4, 64, 1000);
        assert_eq!(choose(&q).vector, Some(Simd::Avx2));
        let q512 = Query {
            simd: Some(Simd::Avx512),
            ..q
        };
        assert_eq!(choose(&q512).vector, Some(Simd::Avx512));
        assert_eq!(choose(&q512).vector_name(), "avx512");
        // No vectors, a tie, more candidates than a byte holds: the baseline.
        let none = Query { simd: None, ..q };
        assert_eq!(choose(&none).vector, None);
        assert_eq!(choose(&none).vector_name(), "baseline");
        let tied = Query { strict: false, ..q };
        assert_eq!(choose(&tied).vector, None);
        assert_eq!(choose(&query(4, 256, 16)).vector, Some(Simd::Avx2));
        assert_eq!(choose(&query(4, 257, 16)).vector, None);
        // Fewer users than three quarters of a wide group at AVX2, ten at AVX-512: the
        // population's kernel.
        assert_eq!(choose(&query(4, 16, 12)).vector, Some(Simd::Avx2));
        assert_eq!(choose(&query(4, 16, 11)).vector, None);
        let at512 = |m| Query {
            simd: Some(Simd::Avx512),
            ..query(4, 16, m)
        };
        assert_eq!(choose(&at512(10)).vector, Some(Simd::Avx512));
        assert_eq!(choose(&at512(9)).vector, None);
        // Margins and tally run at the baseline.
        assert_eq!(choose(&query(1, 9, 10)).vector_name(), "baseline");
    }

    #[test]
    fn the_threads() {
        // Automatic: one thread below the work threshold, every core above it.
        let small = query(4, 64, 1000);
        assert_eq!(choose(&small).threads, 1);
        let large = query(8, 256, 5000);
        const { assert!(5000 * 256 * 9 >= PARALLEL_WORK) };
        assert_eq!(choose(&large).threads, 4);
        // Never more threads than blocks of users: 5,000 users are 20 blocks.
        assert_eq!(choose(&Query { cores: 64, ..large }).threads, 20);
        // Given: exactly that many, up to the blocks.
        for (t, want) in [(1, 1), (2, 2), (3, 3), (8, 4)] {
            let q = Query {
                threads: t,
                ..query(4, 64, 1000)
            };
            assert_eq!(choose(&q).threads, want, "--threads {t}");
        }
        let one_block = Query {
            threads: 8,
            ..query(4, 64, 256)
        };
        assert_eq!(choose(&one_block).threads, 1);
        // Never more than MAX_THREADS, however many blocks and cores there are.
        let huge = Query {
            m: 1 << 30,
            ..query(4, 64, 1000)
        };
        for (threads, cores) in [(100_000, 4), (0, 100_000)] {
            let q = Query {
                threads,
                cores,
                ..huge
            };
            assert_eq!(choose(&q).threads, MAX_THREADS, "{threads}, {cores}");
        }
        // Margins and tally: one thread, whatever was asked.
        for q in [query(1, 9, 10), query(2, 9, 10_335)] {
            assert_eq!(choose(&Query { threads: 8, ..q }).threads, 1);
        }
    }

    /// The sum depends neither on the threads nor on the cores (nor on the vector level).
    #[test]
    fn the_sum_ignores_threads_cores_and_vectors() {
        for base in [
            query(1, 9, 10),
            query(2, 9, 10_335),
            query(4, 300, 5000),
            Query {
                reference: true,
                ..query(2, 9, 10_335)
            },
            Query {
                task: Task::Hedge,
                ..query(3, 20, 2000)
            },
        ] {
            let sum = choose(&base).sum;
            for threads in [0, 1, 2, 3, 8] {
                for cores in [1, 2, 96] {
                    for simd in [None, Some(Simd::Avx2), Some(Simd::Avx512)] {
                        let q = Query {
                            threads,
                            cores,
                            simd,
                            ..base
                        };
                        assert_eq!(choose(&q).sum, sum, "{q:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn plan_builds_the_tally_or_falls_back() -> Result<(), String> {
        // 9 candidates, 4,000 ballots: shared pairs, the tally.
        let (mut w, mut o) = (vec![0.0f32; 4000], vec![0u16; 4000 * 9]);
        let pop = impartial_culture(9, 4000, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        let mut store = TallyStore::default();
        let (r, tally) = plan(
            Query::new(Task::Optimistic, 2, &pop, false, 0),
            &pop,
            &mut store,
        );
        assert_eq!(r.sum, Sum::Tally);
        assert!(tally.is_some());
        // 24 candidates, 1,000 ballots: the pairs are nearly all distinct; the build gives up
        // and the population is taken.
        let (mut w, mut o) = (vec![0.0f32; 1000], vec![0u16; 1000 * 24]);
        let pop = impartial_culture(24, 1000, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        let mut store = TallyStore::default();
        let (r, tally) = plan(
            Query::new(Task::Optimistic, 2, &pop, false, 0),
            &pop,
            &mut store,
        );
        assert_eq!(r.sum, Sum::Population);
        assert!(tally.is_none());
        Ok(())
    }

    #[test]
    fn tallies_only_when_pairs_are_shared() -> Result<(), String> {
        // 9 candidates, 4,000 ballots: at most 9 * 2^8 = 2,304 pairs for 36,000 entries.
        let (mut w, mut o) = (vec![0.0f32; 4000], vec![0u16; 4000 * 9]);
        let pop = impartial_culture(9, 4000, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        let mut store = TallyStore::default();
        let tally = store.tally(&pop).ok_or("a shared population is tallied")?;
        assert!(tally.len() <= 2304 && tally.len() * TALLY_MIN_SHARING <= 36_000);
        // 24 candidates, 1,000 ballots: the pairs are nearly all distinct.
        let (mut w, mut o) = (vec![0.0f32; 1000], vec![0u16; 1000 * 24]);
        let pop = impartial_culture(24, 1000, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        assert!(TallyStore::default().tally(&pop).is_none());
        // 33 candidates: not tried, however many ballots.
        let (mut w, mut o) = (vec![0.0f32; 1000], vec![0u16; 1000 * 33]);
        let pop = impartial_culture(33, 1000, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        assert!(TallyStore::default().tally(&pop).is_none());
        // Too small to pay for the build.
        let (mut w, mut o) = (vec![0.0f32; 16], vec![0u16; 16 * 16]);
        let pop = impartial_culture(16, 16, 1, &mut w, &mut o).map_err(|e| e.to_string())?;
        assert!(TallyStore::default().tally(&pop).is_none());
        Ok(())
    }
}
