//! The time mixture of Hedge (docs/maths.md §4.2): the object [`crate::solver::hedge`] deploys
//! and [`crate::sampling::mixture_picks`] draws from.

/// The time mixture of Hedge: draw a round `t` uniformly, then `k` draws from `pi_t`.
#[derive(Clone, Copy, Debug)]
pub struct TimeMixture<'b> {
    iterates: &'b [f32],
    n: usize,
}

impl<'b> TimeMixture<'b> {
    /// The mixture of the rounds in `iterates`, `n` masses each (row `t` is round `t`).
    pub(crate) fn new(iterates: &'b [f32], n: usize) -> Self {
        TimeMixture { iterates, n }
    }

    /// Number of rounds kept.
    pub fn rounds(&self) -> usize {
        self.iterates.len().checked_div(self.n).unwrap_or(0)
    }

    /// The policy of round `t` (0-based), `None` past the end.
    pub fn iterate(&self, t: usize) -> Option<&'b [f32]> {
        self.iterates.get(t * self.n..(t + 1) * self.n)
    }

    /// Number of candidates.
    pub fn n(&self) -> usize {
        self.n
    }
}
