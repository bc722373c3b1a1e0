//! Every limit of the crate, defined once (docs/maths.md §8.5).
//!
//! The modules that apply a limit re-export it where callers have always found it
//! ([`crate::MAX_K`], [`crate::solver::EPSILON_FLOOR`], [`crate::population::COUNT_MAX`],
//! [`crate::opponents::MAX_K`]); the error type prints them from here, so no module has to reach
//! into a module that depends on it. The layouts' own capacities stay with their layouts
//! ([`crate::share::SUPPORT_MAX`], [`crate::share::tally::TALLY_MAX_CANDIDATES`],
//! [`crate::share::wide::WIDE_MAX_CANDIDATES`]).

/// The largest number of candidates any population may have (candidate indices are 15-bit).
pub const MAX_CANDIDATES: usize = 1 << 15;

/// The capacity (candidates) up to which the crate compiles its small profile, the Cortex-M0's:
/// paths that only save time are left out where they cost flash ([`crate::share`]'s written-out
/// Jacobian, the certificate's `u64` sums). Results are the same bits either way.
pub(crate) const SMALL_PROFILE: usize = 16;

/// The largest `k` (number of shown responses) the crate accepts.
///
/// The share costs `O(k)` per user and candidate and stays accurate far beyond this; the bound
/// keeps the cost of one call predictable on a microcontroller.
pub const MAX_K: u32 = 1024;

/// The largest `k` the opponent computation ([`crate::opponents`]) accepts: its cost grows as
/// `k^2` per user.
pub const OPPONENT_MAX_K: u32 = 64;

/// Weights that are whole numbers below this are kept exactly as counts: `round(w_j * total)`
/// of the normalised `f32` weight `w_j` recovers count `c_j`, because `f32` rounding moves
/// `c_j / total` by at most `2^-24 c_j / total`, under `1/4` once multiplied back.
pub const COUNT_MAX: u32 = 1 << 22;

/// The smallest positive `epsilon` the solvers accept: certificates resolve exploitability to
/// about `(3k + 2) 2^-32` (docs/certificates.md), and deployed masses lie on a grid of `2^-24`.
/// `epsilon = 0` is accepted and asks for an exact equilibrium (certified exploitability 0).
pub const EPSILON_FLOOR: f32 = 1e-7;
