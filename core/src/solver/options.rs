//! The options of the solvers.

use crate::{Error, check_k, limits::EPSILON_FLOOR};

/// Options for the solvers.
///
/// Built with [`SolveOptions::new`] and the setters; fields may be added, so other crates
/// cannot write the struct out.
///
/// ```
/// use ualign::solver::SolveOptions;
/// let opts = SolveOptions::new(4).epsilon(1e-5).max_iter(500).polish(false);
/// assert_eq!((opts.k, opts.max_iter, opts.polish), (4, 500, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct SolveOptions {
    /// Number of responses shown (`k >= 1`; `k = 1` is NLHF).
    pub k: u32,
    /// Stop once the certified exploitability is at most this.
    pub epsilon: f32,
    /// Stop after this many share evaluations at the latest.
    pub max_iter: u32,
    /// Whether optimistic Hedge may try the Newton polish on a guessed support (see the
    /// [module docs](super)). Off, what it deploys comes from the dynamics alone: the best
    /// iterate (or, at `k = 1`, the running mean of the iterates), snapped and certified.
    pub polish: bool,
}

impl SolveOptions {
    /// Defaults: `epsilon = 1e-4`, `max_iter = 10_000`, the polish on.
    pub fn new(k: u32) -> Self {
        SolveOptions {
            k,
            epsilon: 1e-4,
            max_iter: 10_000,
            polish: true,
        }
    }

    /// Sets the number of responses shown.
    pub fn k(mut self, k: u32) -> Self {
        self.k = k;
        self
    }

    /// Sets the target exploitability.
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, max_iter: u32) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Turns the Newton polish of optimistic Hedge on (the default) or off.
    pub fn polish(mut self, polish: bool) -> Self {
        self.polish = polish;
        self
    }

    /// Checks `k` and `epsilon` (the rule [`check_epsilon`] states).
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_k(self.k)?;
        let e = self.epsilon;
        if !e.is_finite() || e < 0.0 || (e > 0.0 && e < EPSILON_FLOOR) {
            return Err(Error::InvalidEpsilon);
        }
        Ok(())
    }
}

/// Checks a target exploitability as the solvers do: `0` (an exact equilibrium) or finite and
/// at least [`EPSILON_FLOOR`]. Callers that name the setting in their own words (a command-line
/// flag, a keyword argument) check with this before they solve.
///
/// Errors: [`Error::InvalidEpsilon`].
///
/// ```
/// use ualign::{Error, solver::{EPSILON_FLOOR, check_epsilon}};
/// assert!(check_epsilon(0.0).is_ok() && check_epsilon(1e-4).is_ok());
/// assert!(check_epsilon(EPSILON_FLOOR).is_ok());
/// assert_eq!(check_epsilon(EPSILON_FLOOR / 2.0), Err(Error::InvalidEpsilon));
/// assert_eq!(check_epsilon(-1e-4), Err(Error::InvalidEpsilon));
/// assert_eq!(check_epsilon(f32::NAN), Err(Error::InvalidEpsilon));
/// ```
pub fn check_epsilon(epsilon: f32) -> Result<(), Error> {
    // The solvers' own check (`k = 1` always passes), written once there: the Cortex-M0's
    // image, whose flash is nearly full, keeps that check's code as it was.
    SolveOptions::new(1).epsilon(epsilon).check()
}
