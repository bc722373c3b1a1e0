//! The share oracle: `g(y)` for every candidate against `k` draws from a policy (docs/maths.md §2).
//!
//! For user type `j`, a candidate `y` with tie-class mass `c` and mass strictly below `b`,
//!
//! ```text
//! g_j(y) = (1/(k+1)) * sum_{i=0..k} (b+c)^i b^(k-i)
//! ```
//!
//! evaluated by the recurrence `s_0 = 1`, `s_i = (b+c) s_{i-1} + b^i`: only multiplications and
//! additions of non-negative numbers, so no cancellation, no division by `c`, and the relative
//! error grows at most linearly in `k`. The recurrence runs over fixed lanes of [`LANES`] `f32`
//! values, and where the target has SIMD eight users with strict orders share one vector pass;
//! LLVM turns the lane loops into SIMD. Targets without SIMD (the build script sets
//! `ualign_scalar` for Cortex-M and RISC-V) take scalar paths instead: the lanes one at a time,
//! and a strict order in one fused pass. Both paths are compiled on every target; every value
//! goes through the same operations in the same order on either (unit tests compare them bit for
//! bit on the host), and no fused multiply-add is used, so results are bit-identical across
//! targets. Masses above 1 that rounding can produce are clamped to 1, so every share stays in
//! `[0, 1]`.
//!
//! Users are summed in blocks of [`BLOCK`] into a block partial, then the partials into the
//! total, which keeps the rounding error of 100,000 users near that of a few hundred.
//!
//! The same shares in other layouts: [`tally`] (over the distinct (set below, tie class) pairs)
//! and [`wide`] (strict orders laid out for wide vectors). The modules, each using only those
//! before it: `recurrence` (one `(b, c)` pair, the dispatch on `k`), `blocks` (block sums),
//! `group` (the eight-lane group), `kernel` (the population's kernels), `jacobian`, then
//! [`tally`], [`wide`] and the entry points here.

mod blocks;
mod group;
mod jacobian;
mod kernel;
mod recurrence;
pub mod tally;
#[cfg(test)]
mod tests;
pub mod wide;

pub use blocks::blocks;
pub use jacobian::SUPPORT_MAX;
pub(crate) use kernel::shares_unchecked;
pub(crate) use recurrence::with_usual_k;

use crate::{Error, Population, policy::check_shares_call};
use blocks::Sink;
use jacobian::jacobian_unchecked;
use kernel::sums_unchecked;

/// Lanes of the polynomial evaluation.
pub const LANES: usize = 8;
/// User types summed per block before the block joins the total.
pub const BLOCK: usize = 256;

/// Anything that computes the shares of a policy over `n <= N` candidates.
///
/// [`Population`] is the single-threaded oracle; the solvers take any oracle, so a host can split
/// the user types across threads (each part a [`Population::users`] view) without core knowing
/// about threads.
pub trait Oracle<const N: usize> {
    /// Number of candidates.
    fn n(&self) -> usize;
    /// Writes `g(y)` for every candidate into `out`. Callers pass a policy of length `n`, an
    /// `out` of length `n` and a valid `k`; other inputs must not panic but may give any result.
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]);
    /// Adds the Jacobian `d g(support[r]) / d pi(support[c])` into `out[r * stride + c]`
    /// (`out` zeroed by the caller). Same input contract as `shares_into`. `f32` like the shares:
    /// the Newton polish recomputes its exact residual every step, so a Jacobian good to a few
    /// `f32` ulps only turns quadratic convergence into a fast linear one, and the system stays
    /// half the size on a device's stack.
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]);
    /// The whole population these shares are of. The solvers certify what they deploy on it
    /// ([`crate::certificate::certify`]), whatever route computed the shares.
    fn population(&self) -> Population<'_, N>;
}

impl<const N: usize> Oracle<N> for Population<'_, N> {
    fn n(&self) -> usize {
        Population::n(self)
    }
    fn shares_into(&self, pi: &[f32], k: u32, out: &mut [f32]) {
        shares_unchecked(self, pi, k, out);
    }
    fn jacobian_into(&self, pi: &[f32], k: u32, support: &[u16], stride: usize, out: &mut [f32]) {
        jacobian_unchecked(self, pi, k, support, stride, out);
    }
    fn population(&self) -> Population<'_, N> {
        *self
    }
}

/// Writes the share `g(y)` of every candidate into `out` (length `n`).
///
/// ```
/// use ualign::{Population, Storage, share::shares};
/// // The Condorcet cycle: every share is exactly 1/(k+1) under the uniform policy.
/// let (mut w, mut o) = ([0.0f32; 3], [0u16; 9]);
/// let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o))?;
/// for r in [[0, 1, 2], [1, 2, 0], [2, 0, 1]] {
///     b.push_ranking(1.0, r.map(|c| [c]))?;
/// }
/// let pop = b.finish()?;
/// let mut g = [0.0f32; 3];
/// shares(&pop, &[1.0 / 3.0; 3], 4, &mut g)?;
/// assert!(g.iter().all(|&x| (x - 0.2).abs() < 1e-6));
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidK`], [`Error::LengthMismatch`], [`Error::InvalidPolicy`].
pub fn shares<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
) -> Result<(), Error> {
    check_shares_call(pi, k, out, pop.n())?;
    shares_unchecked(pop, pi, k, out);
    Ok(())
}

/// The sums behind [`shares`], block by block: for block `b` of [`BLOCK`] user types (in order),
/// `(k+1)` times the block's share of every candidate, `sum_{j in b} w_j (k+1) g_j(y)`, into
/// `out[b n..(b+1) n]`; there are [`blocks`]`(m)` of them. [`shares`] is these rows added in
/// order, starting from zero, then divided by `(k + 1) as f32`, so a caller that computes the
/// blocks of contiguous parts of a population (each a [`Population::users`] view starting at a
/// multiple of [`BLOCK`]), on several threads, and adds them in that order gets [`shares`] bit
/// for bit. The input contract is [`Oracle::shares_into`]'s: other inputs must not panic but may
/// give any result (a short `out` receives the blocks that fit).
pub fn block_sums_into<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    out: &mut [f32],
) {
    sums_unchecked(pop, pi, k, out, Sink::Blocks);
}
