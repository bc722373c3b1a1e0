//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong in `ualign`, one variant per cause.
///
/// `user` is the index of the user type in push order, `candidate` a candidate index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A population needs at least one candidate.
    NoCandidates,
    /// More candidates than the capacity `N` (or [`crate::MAX_CANDIDATES`], or a layout's
    /// limit).
    TooManyCandidates {
        /// Candidates asked for.
        n: usize,
        /// The most candidates the capacity or layout takes.
        max: usize,
    },
    /// `finish` was called before any user type was pushed.
    NoUsers,
    /// The caller's storage holds no more user types.
    TooManyUsers {
        /// How many user types the storage holds.
        capacity: usize,
    },
    /// A score row, policy or output buffer has the wrong length.
    LengthMismatch {
        /// The length required (usually `n`).
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A score is NaN or infinite.
    NonFiniteScore {
        /// The user type.
        user: usize,
        /// The candidate.
        candidate: usize,
    },
    /// A weight is NaN or infinite, or too large for `f32`.
    NonFiniteWeight {
        /// The user type.
        user: usize,
    },
    /// A weight is negative.
    NegativeWeight {
        /// The user type.
        user: usize,
    },
    /// All weights are zero.
    ZeroTotalWeight,
    /// A ranking names a candidate index `>= n`.
    UnknownCandidate {
        /// The user type.
        user: usize,
        /// The index named.
        candidate: usize,
    },
    /// A ranking names a candidate twice.
    DuplicateCandidate {
        /// The user type.
        user: usize,
        /// The candidate named twice.
        candidate: usize,
    },
    /// `k` is 0 or larger than the limit of the call: [`crate::MAX_K`],
    /// [`crate::opponents::MAX_K`], or a fixed output capacity.
    InvalidK {
        /// The `k` given.
        k: u32,
        /// The largest `k` the call accepts.
        max: u32,
    },
    /// A policy entry is negative or not finite, or the entries do not sum to 1 (within `1e-3`).
    InvalidPolicy,
    /// `epsilon` is negative, not finite, or positive but below
    /// [`crate::limits::EPSILON_FLOOR`] (0 asks for an exact equilibrium).
    InvalidEpsilon,
    /// An opponent must show at least one response (`l >= 1`), and at most the output capacity.
    InvalidOpponentSize {
        /// The `l` given.
        l: usize,
    },
    /// Enumerating the opponent's `l`-multisets would take more than the allowed count.
    TooManyMultisets {
        /// The limit.
        limit: u64,
    },
    /// A caller buffer is too small (for example the iterate buffer of Hedge).
    BufferTooSmall {
        /// Elements needed at least.
        needed: usize,
        /// Elements given.
        found: usize,
    },
    /// A layout that needs strict orders (see [`crate::share::wide::Wide`]) was given an order with
    /// a tie.
    TiedOrders,
    /// A sampling model parameter is out of range (Mallows dispersion outside `[0, 1]`,
    /// a Plackett-Luce weight not positive and finite).
    InvalidModelParameter,
    /// A positive weight is so small beside the total (at most about `2^-150` of it) that its
    /// normalised `f32` value rounds to zero: the user type would drop out of the game
    /// certified.
    NegligibleWeight {
        /// The user type.
        user: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NoCandidates => write!(f, "a population needs at least one candidate"),
            Error::TooManyCandidates { n, max } => {
                write!(f, "{n} candidates exceed the capacity of {max}")
            }
            Error::NoUsers => write!(f, "the population has no user types"),
            Error::TooManyUsers { capacity } => {
                write!(f, "more user types than the storage holds ({capacity})")
            }
            Error::LengthMismatch { expected, found } => {
                write!(f, "expected {expected} values, found {found}")
            }
            Error::NonFiniteScore { user, candidate } => write!(
                f,
                "user type {user}: the score of candidate {candidate} is not finite"
            ),
            Error::NonFiniteWeight { user } => {
                write!(f, "user type {user}: the weight is not finite or too large")
            }
            Error::NegativeWeight { user } => write!(f, "user type {user}: the weight is negative"),
            Error::ZeroTotalWeight => write!(f, "the weights add up to zero"),
            Error::NegligibleWeight { user } => write!(
                f,
                "user type {user}: the weight is below 2^-149 of the total, zero once normalised"
            ),
            Error::UnknownCandidate { user, candidate } => {
                write!(f, "user type {user}: unknown candidate {candidate}")
            }
            Error::DuplicateCandidate { user, candidate } => {
                write!(f, "user type {user}: candidate {candidate} is ranked twice")
            }
            Error::InvalidK { k, max } => write!(f, "k = {k} is out of range (1..={max})"),
            Error::InvalidPolicy => write!(
                f,
                "a policy needs finite, non-negative entries that sum to 1"
            ),
            // The floor as text: formatting an f32 would link float formatting, whose panic
            // paths the probe refuses (a test checks the text against the constant).
            Error::InvalidEpsilon => write!(
                f,
                "epsilon must be 0 (an exact equilibrium) or finite and at least 1e-7, the \
                 smallest exploitability certificates resolve"
            ),
            Error::InvalidOpponentSize { l } => {
                write!(f, "an opponent showing l = {l} responses is out of range")
            }
            Error::TooManyMultisets { limit } => write!(
                f,
                "more than {limit} opponent multisets to enumerate; use a smaller l or n"
            ),
            Error::BufferTooSmall { needed, found } => {
                write!(f, "buffer too small: {found} elements, {needed} needed")
            }
            Error::TiedOrders => write!(f, "an order has a tie; this layout needs strict orders"),
            Error::InvalidModelParameter => write!(f, "a sampling model parameter is out of range"),
        }
    }
}

impl core::error::Error for Error {}
