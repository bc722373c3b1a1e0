//! The number types a user type's scores and weight may be given in: `f64` or `f32`.
//!
//! A population keeps only the order of the scores and the weight as an `f32`, so the two give
//! the same population: an `f32` converts to `f64` exactly and in order. An `f32` is read with
//! integer operations only, so a core without a double-precision FPU (the Cortex-M4F, M33 and
//! RISC-V's F extension have single precision only; the Cortex-M0 and M3 have none) takes no
//! software `f64` for `f32` input.

use crate::Error;

/// A score or weight type of
/// [`push_scores`](crate::population::PopulationBuilder::push_scores) and
/// [`push_ranking`](crate::population::PopulationBuilder::push_ranking): `f64` or `f32`
/// (sealed).
///
/// ```
/// # use ualign::{Population, Storage};
/// # let (mut w, mut o) = ([0.0f32; 2], [0u16; 6]);
/// let mut b = Population::<3>::builder(3, Storage::new(&mut w, &mut o))?;
/// b.push_scores(1.0f32, &[0.5f32, 0.25, 0.75])?;
/// b.push_scores(1.0f64, &[0.5f64, 0.25, 0.75])?; // the same user type
/// let pop = b.finish()?;
/// assert!(pop.order(0).unwrap().eq(pop.order(1).unwrap()));
/// # Ok::<(), ualign::Error>(())
/// ```
pub trait Score: Copy + sealed::Sealed {
    /// Neither infinite nor NaN.
    #[doc(hidden)]
    fn finite(self) -> bool;
    /// An integer that orders like the value: equal keys exactly when the values are equal
    /// (`-0.0` and `0.0` included), a larger key exactly when the value is larger.
    #[doc(hidden)]
    fn order_key(self) -> u64;
    /// The weight of user type `user` as an `f32`, or why it cannot be one: NaN and `+inf`
    /// (and an `f64` above `f32::MAX`) are not finite, a value below zero (`-inf` included) is
    /// negative.
    #[doc(hidden)]
    fn weight(self, user: usize) -> Result<f32, Error>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f64 {}
    impl Sealed for f32 {}
}

/// The low bits of an `f64` [`Score::order_key`]: all zero when the score has at most 24
/// significant bits (an integer below `2^24`, an `f32`), and for every `f32` key.
pub(crate) const NARROW_LOW: u64 = (1 << 29) - 1;

impl Score for f64 {
    fn finite(self) -> bool {
        self.is_finite()
    }

    /// Integer operations only: a test `x == 0.0` would become a software `f64` comparison on
    /// a Cortex-M4F.
    fn order_key(self) -> u64 {
        let bits = self.to_bits();
        if bits >> 63 == 1 {
            // Negative: reversed magnitudes below 2^63; the `+ 1` puts `-0.0` on `0.0`'s key.
            (!bits).wrapping_add(1)
        } else {
            bits | 1 << 63
        }
    }

    fn weight(self, user: usize) -> Result<f32, Error> {
        if self.is_nan() || self > f32::MAX as f64 {
            return Err(Error::NonFiniteWeight { user });
        }
        if self < 0.0 {
            return Err(Error::NegativeWeight { user });
        }
        Ok(self as f32)
    }
}

impl Score for f32 {
    fn finite(self) -> bool {
        self.is_finite()
    }

    /// The `f32` key in the high half: its low [`NARROW_LOW`] bits are zero.
    fn order_key(self) -> u64 {
        let bits = self.to_bits();
        let key = if bits >> 31 == 1 {
            (!bits).wrapping_add(1)
        } else {
            bits | 1 << 31
        };
        u64::from(key) << 32
    }

    /// Read off the bits: a Cortex-M0 has no `f32` comparison instruction.
    fn weight(self, user: usize) -> Result<f32, Error> {
        let bits = self.to_bits();
        let magnitude = bits & 0x7FFF_FFFF;
        let negative = bits >> 31 == 1 && magnitude != 0;
        if magnitude > 0x7F80_0000 || (magnitude == 0x7F80_0000 && !negative) {
            return Err(Error::NonFiniteWeight { user });
        }
        if negative {
            return Err(Error::NegativeWeight { user });
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::{NARROW_LOW, Score};
    use crate::Error;
    extern crate std;
    use std::vec::Vec;

    /// A spread of `f32` values: signed zeros, subnormals, the edges and seeded bit patterns.
    fn f32_values() -> Vec<f32> {
        let mut values = std::vec![
            0.0f32,
            -0.0,
            1e-45,
            -1e-45,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1.0,
            -1.0,
            1.0 + f32::EPSILON,
            0.1,
            -0.1,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
        ];
        let mut next = crate::xorshift32(0x2545_f491);
        values.extend((0..if cfg!(miri) { 20 } else { 200 }).map(|_| f32::from_bits(next())));
        values
    }

    /// Both keys order every pair of a spread of values exactly as comparison does, and an
    /// `f32`'s key orders like its `f64` value's.
    #[test]
    fn order_keys_order_like_the_values() {
        let mut values: Vec<f64> = std::vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1.0 + f64::EPSILON,
            -1.0 - f64::EPSILON,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e-300,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..if cfg!(miri) { 8 } else { 40 } {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            values.push(f64::from_bits(state));
        }
        let singles: Vec<f32> = f32_values().into_iter().filter(|x| !x.is_nan()).collect();
        values.extend(singles.iter().map(|&x| f64::from(x)));
        values.retain(|x| !x.is_nan());
        for &a in &values {
            for &b in &values {
                let by_value = a.partial_cmp(&b).unwrap();
                assert_eq!(
                    a.order_key().cmp(&b.order_key()),
                    by_value,
                    "{a:e} vs {b:e}"
                );
            }
        }
        for &a in &singles {
            assert_eq!(a.order_key() & NARROW_LOW, 0, "{a:e}");
            assert_eq!(f64::from(a).order_key() & NARROW_LOW, 0, "{a:e}");
            for &b in &singles {
                assert_eq!(
                    a.order_key().cmp(&b.order_key()),
                    f64::from(a).order_key().cmp(&f64::from(b).order_key()),
                    "{a:e} vs {b:e}"
                );
            }
        }
    }

    /// An `f32` weight is accepted or refused exactly as its `f64` value is, with the same
    /// error and the same weight.
    #[test]
    fn f32_weights_are_checked_as_their_f64_values() {
        for x in f32_values() {
            let wide = f64::from(x).weight(3);
            let narrow = x.weight(3);
            match (narrow, wide) {
                (Ok(a), Ok(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{x:e}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{x:e}"),
                (a, b) => panic!("{x:e}: f32 {a:?}, f64 {b:?}"),
            }
        }
        assert_eq!(f32::NAN.weight(0), Err(Error::NonFiniteWeight { user: 0 }));
        assert_eq!(
            f32::NEG_INFINITY.weight(1),
            Err(Error::NegativeWeight { user: 1 })
        );
        assert_eq!(
            (-0.0f32).weight(2).map(f32::to_bits),
            Ok((-0.0f32).to_bits())
        );
    }
}
