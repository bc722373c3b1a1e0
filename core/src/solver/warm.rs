//! Warm starts: the log-weights optimistic Hedge starts from when it is given a start policy
//! (the previous equilibrium of a stream of related requests) instead of the uniform one.

use crate::{Error, check_len, float};

/// The share of the uniform policy mixed into a warm start: the dynamics start from
/// `(1 - WARM_FLOOR) * start + WARM_FLOOR * uniform`.
///
/// Hedge's multiplicative weights never revive a candidate whose mass is zero, and a previous
/// equilibrium is zero outside its support: without the floor a candidate that enters the
/// support of the new request could never be played. With it every candidate starts at
/// `WARM_FLOOR / n` at least, while a start at the new equilibrium moves by at most
/// `WARM_FLOOR` in total variation, so its shares (and its estimated exploitability) move by
/// about `k * WARM_FLOOR` at most. On the seeded streams of `benches/examples/warm_stream.rs`,
/// `1e-4` took fewer evaluations than `1e-2` and `1e-3` (a point-mass equilibrium that stays
/// one is met at the first evaluation) and as few as `1e-5`, whose smaller masses the dynamics
/// take longer to revive.
pub const WARM_FLOOR: f32 = 1e-4;

/// Checks a start policy over `n` candidates and writes the log-weights of its mixture with the
/// uniform policy ([`WARM_FLOOR`]) into `logits` (length `n`). The start's masses are finite
/// and non-negative with a positive sum, which need not be 1: they are normalised.
///
/// Errors: [`Error::LengthMismatch`] when `start` has not `n` entries, [`Error::InvalidPolicy`]
/// when a mass is negative or not finite or they sum to zero.
pub(super) fn log_weights(start: &[f32], n: usize, logits: &mut [f32]) -> Result<(), Error> {
    check_len(start.len(), n)?;
    check_len(logits.len(), n)?;
    let mut sum = 0.0f64;
    for &p in start {
        if !p.is_finite() || p < 0.0 {
            return Err(Error::InvalidPolicy);
        }
        sum += f64::from(p);
    }
    // n finite f32 values cannot overflow an f64 sum.
    if sum <= 0.0 {
        return Err(Error::InvalidPolicy);
    }
    let floor = f64::from(WARM_FLOOR) / n as f64;
    let keep = 1.0 - f64::from(WARM_FLOOR);
    for (l, &p) in logits.iter_mut().zip(start) {
        // At least `floor > 0`: the logarithm is finite.
        *l = float::ln((keep * (f64::from(p) / sum) + floor) as f32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_checked_and_normalised() {
        let mut l = [0.0f32; 3];
        assert_eq!(
            log_weights(&[0.5, 0.5], 3, &mut l),
            Err(Error::LengthMismatch {
                expected: 3,
                found: 2
            })
        );
        for bad in [
            [0.5, -0.1, 0.6],
            [0.5, f32::NAN, 0.5],
            [f32::INFINITY, 0.0, 0.0],
            [0.0; 3],
        ] {
            assert_eq!(log_weights(&bad, 3, &mut l), Err(Error::InvalidPolicy));
        }
        // A scale does not matter, and a zero mass gets the floor.
        let mut a = [0.0f32; 3];
        log_weights(&[2.0, 6.0, 0.0], 3, &mut a).unwrap();
        log_weights(&[0.25, 0.75, 0.0], 3, &mut l).unwrap();
        assert_eq!(a, l);
        assert!(l.iter().all(|x| x.is_finite()));
        // micromath's `exp` and `ln` are approximations (a few percent here); libm's are not.
        let p2 = float::exp(l[2]);
        let tol = if float::BACKEND == "libm" {
            1e-8
        } else {
            0.05 * WARM_FLOOR / 3.0
        };
        assert!((p2 - WARM_FLOOR / 3.0).abs() < tol, "{p2}");
        // f32::MAX masses sum beyond f32 without overflowing.
        log_weights(&[f32::MAX, f32::MAX, 0.0], 3, &mut a).unwrap();
        assert!(a.iter().all(|x| x.is_finite()));
    }
}
