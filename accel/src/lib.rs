//! Host acceleration for ualign, as a library: which computation a command runs, and the share
//! oracle run faster than core's portable kernel on one thread, with the same bits.
//!
//! * [`route`]: the route of a computation, decided in one place ([`route::choose`]): how the
//!   shares are summed (margins, tally or population), the vector level and the threads.
//! * [`parallel`]: [`parallel::ThreadedOracle`], the population's share oracle with its user
//!   types split across threads, bit for bit the single-threaded sums.
//! * [`simd`]: the CPU's vector level ([`simd::Simd`]) and core's wide layout run at it.
//! * [`bench`](mod@bench): what `ualign bench` measures: the roofline probes, the work model, and
//!   its seeded impartial-culture populations ([`bench::impartial_culture`], core's generator).
//!
//! Used by the `ualign` tool (`ualign-host`), the criterion benchmarks (`ualign-benches`) and the
//! Python module. Only `ualign`, `std`, `serde_json`, `rand_xoshiro` and (on Linux, to place the
//! threads) `nix` are used.

// Denied, not forbidden: `simd` allows the crate's one `unsafe` call, a call of a
// `#[target_feature]` function on a CPU that has the features (see there). Nothing else may.
#![deny(unsafe_code)]

pub mod bench;
pub mod parallel;
pub mod route;
pub mod simd;
