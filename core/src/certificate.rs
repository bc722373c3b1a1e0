//! Certificates: what a policy guarantees when `k` of its draws are shown (SPEC §2).

use crate::{Error, Population, check_k, share::shares};

/// The certificate of `(pi, k)`.
///
/// `worst_case_win_rate = 1 - max_y g(y)` is the probability that the user's pick among the `k`
/// draws beats the best single response against `pi`; `exploitability = max_y g(y) - 1/(k+1)`
/// (reported as 0 when rounding takes it below 0); `bound = k/(k+1)`, the best any product policy
/// can guarantee.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Certificate {
    /// Number of shown responses.
    pub k: u32,
    /// `1 - max_y g(y)`.
    pub worst_case_win_rate: f32,
    /// `max_y g(y) - 1/(k+1)`, at least 0.
    pub exploitability: f32,
    /// `argmax_y g(y)`, the lowest index on ties.
    pub worst_opponent: usize,
    /// `k/(k+1)`.
    pub bound: f32,
}

impl Certificate {
    /// The certificate read off the shares `g` of a policy (`g` non-empty; an empty `g` gives
    /// [`Error::LengthMismatch`]).
    pub fn from_shares(g: &[f32], k: u32) -> Result<Certificate, Error> {
        check_k(k)?;
        let mut worst = 0usize;
        let mut max = match g.first() {
            Some(&x) => x,
            None => {
                return Err(Error::LengthMismatch {
                    expected: 1,
                    found: 0,
                });
            }
        };
        for (y, &x) in g.iter().enumerate().skip(1) {
            if x > max {
                max = x;
                worst = y;
            }
        }
        Ok(Self::new(k, max, worst))
    }

    /// The certificate of a policy whose largest share `max_share` is attained at `worst`.
    pub(crate) fn new(k: u32, max_share: f32, worst: usize) -> Certificate {
        let fair = 1.0 / (k + 1) as f32;
        let e = max_share - fair;
        Certificate {
            k,
            worst_case_win_rate: 1.0 - max_share,
            exploitability: if e > 0.0 { e } else { 0.0 },
            worst_opponent: worst,
            bound: k as f32 / (k + 1) as f32,
        }
    }
}

/// Certifies `(pi, k)` on `pop`: computes the shares and reads the certificate off them.
///
/// Errors: those of [`shares`].
pub fn certify<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    with_shares(pop, pi, k, |g| Certificate::from_shares(g, k))
}

/// The certificate of showing `k` draws from `pi` against a mixed single-response opponent `s`:
/// our win rate `1 - sum_y s(y) g(y)`.
pub fn win_rate_against<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    opponent: &[f32],
) -> Result<f32, Error> {
    crate::share::check_policy(opponent, pop.n())?;
    with_shares(pop, pi, k, |g| {
        let mut x = 0.0f32;
        for (&s, &gy) in opponent.iter().zip(g.iter()) {
            x += s * gy;
        }
        Ok(1.0 - x)
    })
}

/// Computes the shares of `pi` into stack scratch and hands them to `f`.
fn with_shares<const N: usize, T>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    f: impl FnOnce(&[f32]) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut g = [0.0f32; N];
    let g = g.get_mut(..pop.n()).ok_or(Error::TooManyCandidates {
        n: pop.n(),
        capacity: N,
    })?;
    shares(pop, pi, k, g)?;
    f(g)
}
