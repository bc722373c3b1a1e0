//! What a solver returns.

use crate::Certificate;

/// What a solver ran and what it certifies.
///
/// Fields may be added, so other crates build one with [`Solution::new`] and the setters.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Solution {
    /// Share evaluations (rounds) performed, certificates not counted.
    pub iterations: u32,
    /// Whether the certified exploitability is at most `epsilon`.
    pub converged: bool,
    /// The certificate of what is deployed ([`certify`](crate::certificate::certify):
    /// guaranteed bounds).
    pub certificate: Certificate,
}

impl Solution {
    /// The solution that deploys what `certificate` certifies after no iterations, not
    /// converged; set the rest with [`Solution::iterations`] and [`Solution::converged`].
    pub fn new(certificate: Certificate) -> Self {
        Solution {
            iterations: 0,
            converged: false,
            certificate,
        }
    }

    /// Sets the number of share evaluations performed.
    pub fn iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations;
        self
    }

    /// Sets whether the certified exploitability met the target.
    pub fn converged(mut self, converged: bool) -> Self {
        self.converged = converged;
        self
    }

    /// Sets the certificate of what is deployed.
    pub fn certificate(mut self, certificate: Certificate) -> Self {
        self.certificate = certificate;
        self
    }
}
