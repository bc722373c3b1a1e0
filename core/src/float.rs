//! The float backend: every transcendental function core uses, in one place.
//!
//! `libm` (default) gives correctly rounded or nearly so results; `micromath` is smaller and
//! faster on a Cortex-M but approximate (see the README for its measured cost on the share and the
//! certificate). Both are pure software, so the host and a Cortex-M give bit-identical results for
//! the same backend. No std float method is used anywhere in the crate.
//!
//! **libm wins.** Cargo unifies features across a build, so one dependency asking for
//! `micromath` would otherwise change the results of every other user of the crate in that build
//! (and break the host's bit identity with the firmware). micromath is therefore used only when
//! it is the one backend enabled (`default-features = false, features = ["micromath"]`); when
//! both are enabled, libm is used. [`BACKEND`] names the backend a build took.

#[cfg(not(any(feature = "libm", feature = "micromath")))]
compile_error!("ualign needs a float backend: enable the `libm` (default) or `micromath` feature");

/// The expression of the backend in use: micromath's only when libm is not enabled.
macro_rules! backend {
    (micromath: $m:expr, libm: $l:expr) => {{
        #[cfg(all(feature = "micromath", not(feature = "libm")))]
        {
            $m
        }
        #[cfg(feature = "libm")]
        {
            $l
        }
    }};
}

#[cfg(all(feature = "micromath", not(feature = "libm")))]
use micromath::F32Ext;

/// The float backend this build uses: `"libm"`, or `"micromath"` when it is the only backend
/// enabled.
pub const BACKEND: &str = backend!(micromath: "micromath", libm: "libm");

/// `e^x`.
///
/// With libm, below `-104` this is `0.0` without calling `expf`, whose underflow path
/// divides to a subnormal (a microcode assist costing about a hundred cycles on many x86 cores,
/// and the softmax of a solve meets it for every candidate outside the support). `expf` returns
/// exactly `0.0` there too, so the bits are libm's.
#[inline]
pub fn exp(x: f32) -> f32 {
    backend!(micromath: F32Ext::exp(x), libm: if x < EXP_ZERO { 0.0 } else { libm::expf(x) })
}

/// Below this, libm's `expf` is `0.0` (it returns 0 from `-103.972084` down).
#[cfg(feature = "libm")]
const EXP_ZERO: f32 = -104.0;

/// Natural logarithm.
#[inline]
pub fn ln(x: f32) -> f32 {
    backend!(micromath: F32Ext::ln(x), libm: libm::logf(x))
}

/// Square root.
#[inline]
pub fn sqrt(x: f32) -> f32 {
    backend!(micromath: F32Ext::sqrt(x), libm: libm::sqrtf(x))
}

/// `|x|` by clearing the sign bit (exact on every backend).
#[inline]
pub fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}

#[cfg(test)]
mod tests {
    /// Enabling micromath next to libm must not change the backend (libm wins).
    #[test]
    #[cfg(feature = "libm")]
    fn libm_wins_when_enabled() {
        assert_eq!(super::BACKEND, "libm");
        assert_eq!(super::exp(1.0).to_bits(), libm::expf(1.0).to_bits());
    }

    /// `exp` is libm's `expf`, bit for bit, on every `f32` from `-112` down to `-96` (around
    /// the shortcut to zero) and at the ends.
    #[test]
    #[cfg(feature = "libm")]
    fn exp_is_expf_around_its_shortcut_to_zero() {
        let (from, to) = ((-96.0f32).to_bits(), (-112.0f32).to_bits());
        let step = if cfg!(miri) { 99_991 } else { 1 };
        for bits in (from..=to).step_by(step) {
            let x = f32::from_bits(bits);
            assert_eq!(super::exp(x).to_bits(), libm::expf(x).to_bits(), "{x}");
        }
        for x in [
            f32::NEG_INFINITY,
            f32::MIN,
            -1e6,
            -104.0,
            f32::NAN,
            0.0,
            88.0,
        ] {
            assert_eq!(super::exp(x).to_bits(), libm::expf(x).to_bits(), "{x}");
        }
        assert_eq!(libm::expf(super::EXP_ZERO), 0.0);
    }

    #[test]
    #[cfg(not(feature = "libm"))]
    fn micromath_only_when_alone() {
        assert_eq!(super::BACKEND, "micromath");
    }
}
