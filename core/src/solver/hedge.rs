//! Plain Hedge with its time-mixture certificate (docs/maths.md §4.1, §4.2).

use super::{Solution, SolveOptions, softmax::softmax};
use crate::{
    Error, certificate::certify_mixture, float, mixture::TimeMixture, scratch::with_scratch,
    share::Oracle,
};

/// Plain Hedge with its time-mixture certificate (docs/maths.md §4).
#[derive(Clone, Copy, Debug)]
pub struct HedgeSolution<'b> {
    /// The iterates, the deployed object.
    pub mixture: TimeMixture<'b>,
    /// Rounds, convergence, and the exact certificate of the mixture:
    /// exploitability `max_y mean_t g_t(y) - 1/(k+1) = Regret_T / T`.
    pub solution: Solution,
    /// The a-priori bound `sqrt(ln n / (2T))` on `Regret_T / T` for the horizon used.
    pub regret_bound: f32,
}

/// Hedge (multiplicative weights) from uniform with `eta = sqrt(8 ln n / T)`, keeping every
/// iterate in `iterates` (row `t` holds `pi_{t+1}`). The horizon `T` is
/// `min(max_iter, iterates.len() / n)`; it stops early once the mixture's exact exploitability
/// is at most `epsilon`.
///
/// Errors: [`Error::InvalidK`], [`Error::InvalidEpsilon`], [`Error::BufferTooSmall`] when
/// `iterates` cannot hold one round.
pub fn hedge<'b, const N: usize, O: Oracle<N> + ?Sized>(
    pop: &O,
    opts: &SolveOptions,
    iterates: &'b mut [f32],
) -> Result<HedgeSolution<'b>, Error> {
    opts.check()?;
    with_scratch!(pop.n(), N, hedge_in::<N, O>(pop, opts, iterates))
}

/// [`hedge`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn hedge_in<'b, const N: usize, O: Oracle<N> + ?Sized, const C: usize>(
    pop: &O,
    opts: &SolveOptions,
    iterates: &'b mut [f32],
) -> Result<HedgeSolution<'b>, Error> {
    let n = pop.n();
    let horizon = (iterates.len() / n).min(opts.max_iter as usize);
    if horizon == 0 {
        return Err(Error::BufferTooSmall {
            needed: n,
            found: iterates.len(),
        });
    }
    let k = opts.k;
    let eta = float::sqrt(8.0 * float::ln(n as f32) / horizon as f32);
    let fair = 1.0 / (k + 1) as f64;
    let mut logits = [0.0f32; C];
    let mut g = [0.0f32; C];
    let mut sum = [0.0f64; C];
    let (logits, g, sum) = (
        logits
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        g.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
        sum.get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?,
    );
    let mut rounds = 0usize;
    let mut best = (f64::INFINITY, 0usize);
    for row in iterates.chunks_exact_mut(n).take(horizon) {
        softmax(logits, row);
        pop.shares_into(row, k, g);
        rounds += 1;
        best = (f64::NEG_INFINITY, 0);
        for (y, (s, &gy)) in sum.iter_mut().zip(g.iter()).enumerate() {
            *s += gy as f64;
            if *s > best.0 {
                best = (*s, y);
            }
        }
        let e = best.0 / rounds as f64 - fair;
        if e <= opts.epsilon as f64 {
            break;
        }
        for (l, &gy) in logits.iter_mut().zip(g.iter()) {
            *l += eta * gy;
        }
    }
    let _ = best;
    let iterates: &'b [f32] = iterates;
    let kept = iterates.get(..rounds * n).unwrap_or(&[]);
    let certificate = certify_mixture(&pop.population(), kept, k)?;
    Ok(HedgeSolution {
        mixture: TimeMixture::new(iterates.get(..rounds * n).unwrap_or(&[]), n),
        solution: Solution {
            iterations: rounds as u32,
            converged: certificate.exploitability <= opts.epsilon,
            certificate,
        },
        regret_bound: float::sqrt(float::ln(n as f32) / (2.0 * horizon as f32)),
    })
}
