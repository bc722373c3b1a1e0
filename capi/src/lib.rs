//! # ualign-capi: the C ABI of ualign
//!
//! A `staticlib` (`libualign_capi.a`) and a `cdylib` (`libualign_capi.so`) for C and C++ hosts
//! (llama.cpp and friends) that have no Rust toolchain in their build. The hand-written header
//! `capi/include/ualign.h` is the reference for C callers; this file mirrors it.
//!
//! Design:
//!
//! * **Two ways to hold a population.** The caller-owned one ([`ualign_population`], filled by
//!   [`ualign_population_init`]) is a small `#[repr(C)]` struct that records `n`, `m`, the
//!   caller's score matrix and user weights, and the caller's workspace buffers (`m` floats and
//!   `m * n` `uint16_t`); nothing allocates, and every call rebuilds the population (see below).
//!   The prepared one ([`ualign_prepared`], module `prepared`) is an opaque handle that owns a
//!   population built once by [`ualign_prepared_new`] (the only allocating call) and is
//!   reused by [`ualign_solve_prepared`] and [`ualign_certify_prepared`] until
//!   [`ualign_prepared_free`]. Both give the same bits.
//! * **Warm starts.** [`ualign_solve_warm`] and [`ualign_solve_prepared_warm`] start optimistic
//!   Hedge from a caller's policy (the previous equilibrium of a stream of related requests)
//!   instead of the uniform one; the certificate is still that of the policy written.
//! * **Candidate capacity 1024.** Populations are `ualign::Population<'_, 1024>`: `n <= 1024`,
//!   `k <= 1024` ([`ualign::MAX_K`]). The solver and the certificate keep their scratch arrays
//!   on the stack, sized by the smallest size class that holds `n` (32, 256 or 1024 candidates):
//!   a call needs up to [`STACK_BUDGET`] bytes of stack (`capi/tests/stack.rs` runs the largest
//!   solve and certify in that much).
//! * **Status codes, never panics.** Every entry point returns an `int` (0 = OK, a distinct
//!   negative code per cause, see [`UALIGN_OK`] and below). Each body runs inside
//!   [`std::panic::catch_unwind`]; a panic (there should be none) becomes
//!   [`UALIGN_ERR_INTERNAL`]. Every pointer is checked (non-null, aligned, byte size at most
//!   `isize::MAX`, no overlap between a written buffer and any other buffer of the call) before a
//!   slice is built from it, so the checks do not depend on the build profile (module
//!   `boundary`).
//!
//! ## Why the caller-owned population is rebuilt on every call
//!
//! `ualign::Population` has private fields and no constructor from already validated parts, so a
//! population cannot be rebuilt from the workspace buffers alone. Every call with a
//! [`ualign_population`] therefore re-runs `PopulationBuilder::push_scores` / `finish` from the
//! caller's score matrix and weights into the workspace (`O(m n log n)`, small next to one solver
//! round's `O(m n k)` times the rounds). The result is bit-for-bit the population the Rust API
//! builds from the same inputs, which is what makes the C results identical to the Rust ones.
//! Consequences the header documents: the score matrix and the weights must stay alive and
//! unchanged while the population is used, and one population must not be used by two threads
//! at once (the workspace is rewritten). A [`ualign_prepared`] keeps the built population
//! itself, so it has none of these constraints.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

mod boundary;
mod prepared;

use core::ffi::{c_char, c_int};

use boundary::{Region, disjoint, disjoint_both, given, guard, write_out};
pub use prepared::{
    ualign_certify_prepared, ualign_prepared, ualign_prepared_free, ualign_prepared_new,
    ualign_solve_prepared, ualign_solve_prepared_warm,
};

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use ualign::{
    Certificate, Error, Population, Storage,
    certificate::certify,
    sampling,
    solver::{SolveOptions, optimistic_hedge, optimistic_hedge_warm},
};

/// The candidate capacity of every population of the C ABI (`n <= 1024`).
pub const MAX_CANDIDATES: usize = 1024;
/// The largest `k` the C ABI accepts (`UALIGN_MAX_K`).
pub const MAX_K: u32 = ualign::MAX_K;
/// The stack a thread needs for any call of the C ABI, at any `n`, `m` and `k`, in bytes
/// (`UALIGN_STACK_BUDGET`), with optimised code: the largest solve and certify measure about
/// 167 KiB, and `capi/tests/stack.rs` runs them on a thread with exactly this much.
pub const STACK_BUDGET: usize = 256 * 1024;

/// Success.
pub const UALIGN_OK: c_int = 0;
/// A pointer is null or misaligned, or a buffer written by the call overlaps another buffer.
pub const UALIGN_ERR_NULL_POINTER: c_int = -1;
/// A size is wrong: `n == 0`, `n > 1024`, `m == 0`, `m * n` overflows, or an input policy's
/// length is not `n`.
pub const UALIGN_ERR_BAD_SIZE: c_int = -2;
/// A score is NaN or infinite.
pub const UALIGN_ERR_NON_FINITE_SCORE: c_int = -3;
/// A user weight is negative (`-inf` included).
pub const UALIGN_ERR_NEGATIVE_WEIGHT: c_int = -4;
/// A user weight is NaN or `+inf`.
pub const UALIGN_ERR_NON_FINITE_WEIGHT: c_int = -5;
/// All user weights are zero.
pub const UALIGN_ERR_ZERO_TOTAL_WEIGHT: c_int = -6;
/// `k` is 0 or larger than 1024.
pub const UALIGN_ERR_INVALID_K: c_int = -7;
/// `epsilon` is negative, not finite, or positive but below `1e-7`
/// ([`ualign::solver::EPSILON_FLOOR`]; 0 asks for an exact equilibrium).
pub const UALIGN_ERR_INVALID_EPSILON: c_int = -8;
/// A policy has a negative or non-finite entry, or does not sum to 1 (within 1e-3); a warm
/// start has a negative or non-finite entry, or its entries sum to zero.
pub const UALIGN_ERR_INVALID_POLICY: c_int = -9;
/// A caller buffer (workspace, policy or picks) is too small.
pub const UALIGN_ERR_BUFFER_TOO_SMALL: c_int = -10;
/// A bug: a panic was caught, or `ualign` reported an error the C ABI cannot cause.
pub const UALIGN_ERR_INTERNAL: c_int = -11;
/// An allocation failed: only [`ualign_prepared_new`] allocates (the handle and its
/// population's `m` weights and `m * n` order entries).
pub const UALIGN_ERR_OUT_OF_MEMORY: c_int = -12;
/// A positive weight is at most about `2^-150` of the total weight: normalised, it rounds to
/// zero, and its user type would drop out of the game certified.
pub const UALIGN_ERR_NEGLIGIBLE_WEIGHT: c_int = -13;

/// A population of `m` weighted user types over `n` candidates (`ualign_population` in C).
///
/// Filled by [`ualign_population_init`]; the caller owns the struct and every buffer it points
/// to. The fields are public so C can allocate the struct, but must be treated as read-only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ualign_population {
    /// Number of candidates, `1..=1024`.
    pub n: usize,
    /// Number of user types, `>= 1`.
    pub m: usize,
    /// The `m x n` row-major score matrix (read on every call).
    pub scores: *const f32,
    /// The `m` user weights (read on every call).
    pub user_weights: *const f32,
    /// Workspace: at least `m` floats (normalised weights).
    pub weights_buf: *mut f32,
    /// Length of `weights_buf` in elements.
    pub weights_buf_len: usize,
    /// Workspace: at least `m * n` entries (orders and tie classes).
    pub order_buf: *mut u16,
    /// Length of `order_buf` in elements.
    pub order_buf_len: usize,
}

impl ualign_population {
    /// The state `ualign_population_init` leaves on failure: every later call returns
    /// [`UALIGN_ERR_NULL_POINTER`].
    pub const EMPTY: ualign_population = ualign_population {
        n: 0,
        m: 0,
        scores: core::ptr::null(),
        user_weights: core::ptr::null(),
        weights_buf: core::ptr::null_mut(),
        weights_buf_len: 0,
        order_buf: core::ptr::null_mut(),
        order_buf_len: 0,
    };
}

/// The certificate of `(pi, k)` (`ualign_certificate` in C), see docs/maths.md §2.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ualign_certificate {
    /// Number of shown responses.
    pub k: u32,
    /// `1 - max_y g(y)`: the chance the user's pick beats the best single rival response.
    pub worst_case_win_rate: f32,
    /// `max_y g(y) - 1/(k+1)`, at least 0.
    pub exploitability: f32,
    /// `argmax_y g(y)`, the lowest index on ties.
    pub worst_opponent: u32,
    /// `k/(k+1)`, the best any product policy can guarantee.
    pub bound: f32,
}

impl From<Certificate> for ualign_certificate {
    fn from(c: Certificate) -> Self {
        ualign_certificate {
            k: c.k,
            worst_case_win_rate: c.worst_case_win_rate,
            exploitability: c.exploitability,
            // n <= 1024, so the index always fits.
            worst_opponent: u32::try_from(c.worst_opponent).unwrap_or(u32::MAX),
            bound: c.bound,
        }
    }
}

/// The status code of a `ualign` error.
pub fn status_of(e: Error) -> c_int {
    match e {
        Error::NoCandidates
        | Error::TooManyCandidates { .. }
        | Error::NoUsers
        | Error::LengthMismatch { .. } => UALIGN_ERR_BAD_SIZE,
        Error::NonFiniteScore { .. } => UALIGN_ERR_NON_FINITE_SCORE,
        Error::NegativeWeight { .. } => UALIGN_ERR_NEGATIVE_WEIGHT,
        Error::NonFiniteWeight { .. } => UALIGN_ERR_NON_FINITE_WEIGHT,
        Error::ZeroTotalWeight => UALIGN_ERR_ZERO_TOTAL_WEIGHT,
        Error::NegligibleWeight { .. } => UALIGN_ERR_NEGLIGIBLE_WEIGHT,
        Error::InvalidK { .. } => UALIGN_ERR_INVALID_K,
        Error::InvalidEpsilon => UALIGN_ERR_INVALID_EPSILON,
        Error::InvalidPolicy => UALIGN_ERR_INVALID_POLICY,
        Error::BufferTooSmall { .. } | Error::TooManyUsers { .. } => UALIGN_ERR_BUFFER_TOO_SMALL,
        // Rankings, opponents and sampling models are not part of the C ABI.
        _ => UALIGN_ERR_INTERNAL,
    }
}

/// The static, NUL-terminated description of a status code ("unknown status" for any other int).
/// The string must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn ualign_status_str(status: c_int) -> *const c_char {
    let s: &'static core::ffi::CStr = match status {
        UALIGN_OK => c"ok",
        UALIGN_ERR_NULL_POINTER => c"null, misaligned or overlapping pointer",
        UALIGN_ERR_BAD_SIZE => c"bad size (n must be 1..=1024, m >= 1, policy length n)",
        UALIGN_ERR_NON_FINITE_SCORE => c"a score is NaN or infinite",
        UALIGN_ERR_NEGATIVE_WEIGHT => c"a user weight is negative (-inf included)",
        UALIGN_ERR_NON_FINITE_WEIGHT => c"a user weight is NaN or +inf",
        UALIGN_ERR_ZERO_TOTAL_WEIGHT => c"the user weights add up to zero",
        UALIGN_ERR_INVALID_K => c"k must be in 1..=1024",
        UALIGN_ERR_INVALID_EPSILON => c"epsilon must be 0 or finite and at least 1e-7",
        UALIGN_ERR_INVALID_POLICY => {
            c"a policy needs finite, non-negative entries that sum to 1 (a warm start: above 0)"
        }
        UALIGN_ERR_BUFFER_TOO_SMALL => c"a caller buffer is too small",
        UALIGN_ERR_INTERNAL => c"internal error (a bug in ualign; please report it)",
        UALIGN_ERR_OUT_OF_MEMORY => c"out of memory (allocating a prepared population)",
        UALIGN_ERR_NEGLIGIBLE_WEIGHT => {
            c"a positive user weight is at most about 2^-150 of the total: it would normalise to zero"
        }
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// Elements `weights_buf` needs for `m` user types: `m`.
#[unsafe(no_mangle)]
pub extern "C" fn ualign_weights_buf_len(m: usize) -> usize {
    m
}

/// Elements `order_buf` needs for `m` user types over `n` candidates: `m * n`, or 0 when the
/// product overflows `size_t` (no such population can be built).
#[unsafe(no_mangle)]
pub extern "C" fn ualign_order_buf_len(n: usize, m: usize) -> usize {
    n.checked_mul(m).unwrap_or(0)
}

/// Checks `n` against the capacity and `m >= 1`; returns `m * n`.
pub(crate) fn check_sizes(n: usize, m: usize) -> Result<usize, c_int> {
    if n == 0 || n > MAX_CANDIDATES || m == 0 {
        return Err(UALIGN_ERR_BAD_SIZE);
    }
    n.checked_mul(m).ok_or(UALIGN_ERR_BAD_SIZE)
}

/// The regions of a population's buffers, validated: scores and weights read, workspace written.
fn population_regions(pop: &ualign_population) -> Result<[Region; 4], c_int> {
    // Pointers first, so an emptied population reports a null pointer rather than a size.
    if pop.scores.is_null()
        || pop.user_weights.is_null()
        || pop.weights_buf.is_null()
        || pop.order_buf.is_null()
    {
        return Err(UALIGN_ERR_NULL_POINTER);
    }
    let nm = check_sizes(pop.n, pop.m)?;
    let regions = [
        Region::of(pop.scores, nm, false)?,
        Region::of(pop.user_weights, pop.m, false)?,
        Region::of(pop.weights_buf, pop.weights_buf_len, true)?,
        Region::of(pop.order_buf, pop.order_buf_len, true)?,
    ];
    if pop.weights_buf_len < pop.m || pop.order_buf_len < nm {
        return Err(UALIGN_ERR_BUFFER_TOO_SMALL);
    }
    Ok(regions)
}

/// The population's regions and the `ualign_population` struct's own (read): an output of the
/// call written over the struct is refused as any overlap is.
fn with_struct(r: [Region; 4], pop: *const ualign_population) -> Result<[Region; 5], c_int> {
    Ok([r[0], r[1], r[2], r[3], Region::of(pop, 1, false)?])
}

/// Builds the population of `n` candidates from `scores` (`m x n` row-major) and `weights`
/// (`m`) into `wbuf` (`m` floats) and `obuf` (`m * n` entries), exactly as the Rust API does from
/// the same inputs: `push_scores(weights[j], scores row j)` for every `j` (as `f32`s, or as
/// their `f64` values: the same population), then
/// `finish`. The one-shot calls and [`ualign_prepared_new`] both build through this function,
/// which is what makes their results identical.
pub(crate) fn build_from<'a>(
    n: usize,
    scores: &[f32],
    weights: &[f32],
    wbuf: &'a mut [f32],
    obuf: &'a mut [u16],
) -> Result<Population<'a, MAX_CANDIDATES>, c_int> {
    let mut b =
        Population::<MAX_CANDIDATES>::builder(n, Storage::new(wbuf, obuf)).map_err(status_of)?;
    // The f32s as given: they build the population their f64 values would (`score::Score`),
    // without a row of f64s (the capacity's, 256 KiB) zeroed on every call.
    for (row, &w) in scores.chunks_exact(n).zip(weights) {
        b.push_scores(w, row).map_err(status_of)?;
    }
    b.finish().map_err(status_of)
}

/// Builds the population from the caller's buffers recorded in `pop` (see [`build_from`]).
///
/// # Safety
///
/// `population_regions(pop)` succeeded, the regions (and any other regions of the call that are
/// alive while the population is) were checked with [`disjoint`], and the pointers are valid for
/// the lengths recorded in `pop` (the caller's contract in the header) for the lifetime `'a`.
unsafe fn build<'a>(pop: &ualign_population) -> Result<Population<'a, MAX_CANDIDATES>, c_int> {
    let (n, m) = (pop.n, pop.m);
    let nm = n * m; // checked by population_regions
    // SAFETY: non-null, aligned, sizes <= isize::MAX bytes (population_regions); valid for reads
    // of `nm` and `m` floats (caller contract); not written during 'a (disjoint from every
    // written region of the call).
    let (scores, weights) = unsafe {
        (
            core::slice::from_raw_parts(pop.scores, nm),
            core::slice::from_raw_parts(pop.user_weights, m),
        )
    };
    // SAFETY: as above, valid for writes (caller contract), and disjoint from every other region
    // of the call, so these are the only references to this memory during 'a.
    let (wbuf, obuf) = unsafe {
        (
            core::slice::from_raw_parts_mut(pop.weights_buf, m),
            core::slice::from_raw_parts_mut(pop.order_buf, nm),
        )
    };
    build_from(n, scores, weights, wbuf, obuf)
}

/// Where a solve writes: the policy and its length, the share evaluations, the certificate.
pub(crate) type SolveOut = (*mut f32, usize, *mut u32, *mut ualign_certificate);

/// Where a solve starts: the uniform policy (`None`, [`ualign_solve`]) or a warm start of
/// `start_len` floats ([`ualign_solve_warm`]).
pub(crate) type Start = Option<(*const f32, usize)>;

/// What [`ualign_solve`], [`ualign_solve_warm`] and their prepared forms do once they know the
/// population's memory (`inputs`) and size `n`: check the start and the outputs against it,
/// solve by optimistic Hedge (from `start` when given) on the population that `population`
/// gives, and write the policy, the share evaluations and the certificate.
///
/// # Safety
///
/// `policy` is null or valid for writes of `policy_len` floats, `iterations` and `cert` are null
/// or valid for writes of one value each, a start is null or valid for reads of `start_len`
/// floats, and the population that `population` returns lies in `inputs`.
pub(crate) unsafe fn solve_into<'p>(
    inputs: &[Region],
    n: usize,
    population: impl FnOnce() -> Result<Population<'p, MAX_CANDIDATES>, c_int>,
    (k, epsilon, max_iter): (u32, f32, u32),
    start: Start,
    (policy, policy_len, iterations, cert): SolveOut,
) -> Result<(), c_int> {
    let rp = Region::of(policy, policy_len, true)?;
    let ri = Region::of(iterations, 1, true)?;
    let rc = Region::of(cert, 1, true)?;
    // The start is read: the outputs must not overlap it (an empty region when cold).
    let rs = match start {
        Some((p, len)) => Region::of(p, len, false)?,
        None => Region::of(core::ptr::NonNull::<f32>::dangling().as_ptr(), 0, false)?,
    };
    disjoint_both(inputs, &[rp, ri, rc, rs])?;
    if start.is_some_and(|(_, len)| len != n) {
        return Err(UALIGN_ERR_BAD_SIZE);
    }
    if policy_len < n {
        return Err(UALIGN_ERR_BUFFER_TOO_SMALL);
    }
    let (its, c) = {
        let population = population()?;
        // SAFETY: `policy` passed Region::of for `policy_len >= n` floats, is disjoint from every
        // other region of the call, and is valid for writes (caller contract).
        let policy = unsafe { core::slice::from_raw_parts_mut(policy, n) };
        let opts = SolveOptions::new(k).epsilon(epsilon).max_iter(max_iter);
        let sol = match start {
            Some((p, len)) => {
                // SAFETY: `p` passed Region::of for `len == n` floats, is not written by this
                // call (disjoint from every written region), and is valid for reads (caller
                // contract).
                let start = unsafe { core::slice::from_raw_parts(p, len) };
                optimistic_hedge_warm(&population, &opts, start, policy)
            }
            None => optimistic_hedge(&population, &opts, policy),
        }
        .map_err(status_of)?;
        (sol.iterations, ualign_certificate::from(sol.certificate))
    };
    // SAFETY: validated, disjoint, and the slices above are gone.
    unsafe {
        write_out(iterations, its);
        write_out(cert, c);
    }
    Ok(())
}

/// What [`ualign_certify`] and [`ualign_certify_prepared`] do once they know the population's
/// memory (`inputs`) and size `n`: check the policy and the output against it, and write the
/// exact certificate of `policy` on the population that `population` gives.
///
/// # Safety
///
/// `policy` is null or valid for reads of `policy_len` floats, `cert` is null or valid for
/// writes of one certificate, and the population that `population` returns lies in `inputs`.
pub(crate) unsafe fn certify_into<'p>(
    inputs: &[Region],
    n: usize,
    population: impl FnOnce() -> Result<Population<'p, MAX_CANDIDATES>, c_int>,
    policy: *const f32,
    policy_len: usize,
    k: u32,
    cert: *mut ualign_certificate,
) -> Result<(), c_int> {
    let rp = Region::of(policy, policy_len, false)?;
    let rc = Region::of(cert, 1, true)?;
    disjoint_both(inputs, &[rp, rc])?;
    if policy_len != n {
        return Err(UALIGN_ERR_BAD_SIZE);
    }
    let c = {
        let population = population()?;
        // SAFETY: `policy` passed Region::of for `policy_len` floats, is not written by this call
        // (disjoint from every written region), and is valid for reads (caller contract).
        let policy = unsafe { core::slice::from_raw_parts(policy, policy_len) };
        certify(&population, policy, k)
            .map(ualign_certificate::from)
            .map_err(status_of)?
    };
    // SAFETY: validated, disjoint, and the slices above are gone.
    unsafe { write_out(cert, c) };
    Ok(())
}

/// Reads a `ualign_population` struct the caller passed by pointer.
///
/// # Safety
///
/// `pop` is null or valid for reads of one `ualign_population`.
unsafe fn read_population(pop: *const ualign_population) -> Result<ualign_population, c_int> {
    if pop.is_null() || !pop.is_aligned() {
        return Err(UALIGN_ERR_NULL_POINTER);
    }
    // SAFETY: non-null and aligned (checked), valid for reads (caller contract); the struct is
    // plain data, copied out.
    Ok(unsafe { pop.read() })
}

// ---------------------------------------------------------------------------------------------
// Entry points.

/// Validates a population and records it in `*pop`.
///
/// Reads the `m x n` row-major `scores` (higher is better, equal scores tie) and the `m`
/// `weights` (`>= 0`, not all zero), builds the population into the workspace (`weights_buf`:
/// at least `m` floats; `order_buf`: at least `m * n` entries), and records `n`, `m` and every
/// pointer in `*pop`. On failure `*pop` is set to an empty population (later calls then return
/// [`UALIGN_ERR_NULL_POINTER`]) when `pop` itself is usable and overlaps no buffer of the call.
///
/// # Safety
///
/// `pop` is null or valid for writes of one `ualign_population`; `scores` (`m * n` floats),
/// `weights` (`m` floats), `weights_buf` (`weights_buf_len` floats) and `order_buf`
/// (`order_buf_len` entries) are null or valid for those lengths. The buffers must stay alive,
/// and `scores` and `weights` unchanged, as long as `*pop` is used.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_population_init(
    pop: *mut ualign_population,
    n: usize,
    m: usize,
    scores: *const f32,
    weights: *const f32,
    weights_buf: *mut f32,
    weights_buf_len: usize,
    order_buf: *mut u16,
    order_buf_len: usize,
) -> c_int {
    guard(|| {
        let out = Region::of(pop, 1, true)?;
        let candidate = ualign_population {
            n,
            m,
            scores,
            user_weights: weights,
            weights_buf,
            weights_buf_len,
            order_buf,
            order_buf_len,
        };
        let regions = population_regions(&candidate);
        // `*pop` overlapping a buffer of the call is refused before it is written: emptying it
        // would write into that buffer. Buffers that failed their checks are taken at the
        // lengths given (when those are lengths a buffer can have), and on such a failure an
        // overlapping `*pop` is left as it was.
        match &regions {
            Ok(r) => disjoint(&[r[0], r[1], r[2], r[3], out])?,
            Err(e) => {
                let given = [
                    given(scores, n.saturating_mul(m)),
                    given(weights, m),
                    given(weights_buf, weights_buf_len),
                    given(order_buf, order_buf_len),
                ];
                if out.overlaps_given(&given, check_sizes(n, m).is_ok()) {
                    return Err(*e);
                }
            }
        }
        // SAFETY: `pop` passed Region::of and is valid for writes (caller contract), and it
        // overlaps no other buffer whose region is known; no slice exists yet.
        unsafe { write_out(pop, ualign_population::EMPTY) };
        regions?;
        {
            // SAFETY: population_regions and disjoint succeeded above; validity is the
            // caller's contract. The population is dropped at the end of this block.
            let _pop = unsafe { build(&candidate) }?;
        }
        // SAFETY: as the first write; the slices of `build` are gone.
        unsafe { write_out(pop, candidate) };
        Ok(())
    })
}

/// Solves for the symmetric equilibrium of the `(k+1)`-player game with optimistic Hedge
/// (`ualign::solver::optimistic_hedge`), stopping once the exact exploitability is at most
/// `epsilon` or after `max_iter` share evaluations. Writes the deployed policy into
/// `policy[0..n]` (`policy_len >= n`), the share evaluations performed into `*iterations`, and
/// the certificate of the policy into `*cert`.
///
/// # Safety
///
/// `pop` was filled by [`ualign_population_init`] (or is null) and its buffers are still valid;
/// `policy` is null or valid for writes of `policy_len` floats; `iterations` and `cert` are null
/// or valid for writes of one value.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_solve(
    pop: *mut ualign_population,
    k: u32,
    epsilon: f32,
    max_iter: u32,
    policy: *mut f32,
    policy_len: usize,
    iterations: *mut u32,
    cert: *mut ualign_certificate,
) -> c_int {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        solve_population(
            pop,
            (k, epsilon, max_iter),
            None,
            (policy, policy_len, iterations, cert),
        )
    }
}

/// [`ualign_solve`] from a warm start: optimistic Hedge starts from `start` (`start_len == n`
/// floats, finite and non-negative with a positive sum; typically the policy a previous solve
/// of a related request wrote) mixed with the uniform policy (`ualign::solver::WARM_FLOOR`)
/// instead of from uniform (`ualign::solver::optimistic_hedge_warm`). Only the path changes: the
/// certificate is still the exact one of the policy written. `start` is read, so it must not
/// overlap `policy` (keep two buffers and swap them to chain requests).
///
/// # Safety
///
/// As [`ualign_solve`], and `start` is null or valid for reads of `start_len` floats.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_solve_warm(
    pop: *mut ualign_population,
    k: u32,
    epsilon: f32,
    max_iter: u32,
    start: *const f32,
    start_len: usize,
    policy: *mut f32,
    policy_len: usize,
    iterations: *mut u32,
    cert: *mut ualign_certificate,
) -> c_int {
    // SAFETY: the caller's contract, as this function's.
    unsafe {
        solve_population(
            pop,
            (k, epsilon, max_iter),
            Some((start, start_len)),
            (policy, policy_len, iterations, cert),
        )
    }
}

/// [`ualign_solve`] (`start` `None`) and [`ualign_solve_warm`]: the population read and its
/// regions found, then [`solve_into`].
///
/// # Safety
///
/// As [`ualign_solve_warm`] (`pop`, a start, the outputs).
unsafe fn solve_population(
    pop: *mut ualign_population,
    params: (u32, f32, u32),
    start: Start,
    out: SolveOut,
) -> c_int {
    guard(|| {
        // SAFETY: caller contract on `pop`.
        let p = unsafe { read_population(pop) }?;
        let inputs = with_struct(population_regions(&p)?, pop)?;
        // SAFETY: caller contract on the start and the outputs; `build` runs after `solve_into`
        // checked them disjoint from the population's regions, whose validity is the caller's
        // contract.
        unsafe { solve_into(&inputs, p.n, || build(&p), params, start, out) }
    })
}

/// The exact certificate of showing `k` draws from `policy` (`policy_len == n` entries, a
/// probability vector: non-negative, finite, summing to 1 within 1e-3), normalised by its exact
/// sum, to the population.
///
/// # Safety
///
/// `pop` was filled by [`ualign_population_init`] (or is null) and its buffers are still valid;
/// `policy` is null or valid for reads of `policy_len` floats; `cert` is null or valid for writes
/// of one `ualign_certificate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ualign_certify(
    pop: *mut ualign_population,
    policy: *const f32,
    policy_len: usize,
    k: u32,
    cert: *mut ualign_certificate,
) -> c_int {
    guard(|| {
        // SAFETY: caller contract on `pop`.
        let p = unsafe { read_population(pop) }?;
        let inputs = with_struct(population_regions(&p)?, pop)?;
        // SAFETY: caller contract on `policy` and `cert`; `build` runs after `certify_into`
        // checked them disjoint from the population's regions (validity: caller contract).
        unsafe { certify_into(&inputs, p.n, || build(&p), policy, policy_len, k, cert) }
    })
}

/// `k` independent draws from `policy` (`n` entries, `1 <= n <= 1024`) normalised by its sum (the
/// distribution [`ualign_certify`] certifies), in draw order, into
/// `picks[0..k]` (`picks_len >= k`), with a Xoshiro128++ generator seeded by `seed_from_u64(seed)`
/// (`ualign::sampling::picks`): the same seed gives the same picks on every target. Writes the
/// number of distinct picks into `*distinct` (showing only the distinct ones keeps the win rate,
/// docs/maths.md §6).
///
/// # Safety
///
/// `policy` is null or valid for reads of `n` floats; `picks` is null or valid for writes of
/// `picks_len` entries; `distinct` is null or valid for writes of one `size_t`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ualign_picks(
    policy: *const f32,
    n: usize,
    k: u32,
    seed: u64,
    picks: *mut u16,
    picks_len: usize,
    distinct: *mut usize,
) -> c_int {
    guard(|| {
        let rp = Region::of(policy, n, false)?;
        let rk = Region::of(picks, picks_len, true)?;
        let rd = Region::of(distinct, 1, true)?;
        disjoint(&[rp, rk, rd])?;
        if n == 0 || n > MAX_CANDIDATES {
            return Err(UALIGN_ERR_BAD_SIZE);
        }
        if k == 0 || k > MAX_K {
            return Err(UALIGN_ERR_INVALID_K);
        }
        if picks_len < k as usize {
            return Err(UALIGN_ERR_BUFFER_TOO_SMALL);
        }
        let count = {
            // SAFETY: `policy` passed Region::of for `n` floats, is not written by this call,
            // and is valid for reads (caller contract).
            let policy = unsafe { core::slice::from_raw_parts(policy, n) };
            let mut rng = Xoshiro128PlusPlus::seed_from_u64(seed);
            let drawn =
                sampling::picks::<_, { MAX_K as usize }>(policy, k, &mut rng).map_err(status_of)?;
            // SAFETY: `picks` passed Region::of for `picks_len >= k` entries, is disjoint from
            // the other regions, and is valid for writes (caller contract).
            let out = unsafe { core::slice::from_raw_parts_mut(picks, drawn.len()) };
            out.copy_from_slice(&drawn);
            sampling::distinct::<{ MAX_K as usize }>(&drawn).len()
        };
        // SAFETY: validated, disjoint, and the slices above are gone.
        unsafe { write_out(distinct, count) };
        Ok(())
    })
}
