//! The float backend: every transcendental function core uses, in one place.
//!
//! `libm` (default) gives correctly rounded or nearly so results; `micromath` is smaller and
//! faster on a Cortex-M but approximate (see the README for its measured cost on the share and the
//! certificate). Both are pure software, so the host and a Cortex-M give bit-identical results for
//! the same backend. No std float method is used anywhere in the crate.

#[cfg(not(any(feature = "libm", feature = "micromath")))]
compile_error!("ualign needs a float backend: enable the `libm` (default) or `micromath` feature");

#[cfg(feature = "micromath")]
use micromath::F32Ext;

/// `e^x`.
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        F32Ext::exp(x)
    }
    #[cfg(all(feature = "libm", not(feature = "micromath")))]
    {
        libm::expf(x)
    }
}

/// Natural logarithm.
#[inline]
pub fn ln(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        F32Ext::ln(x)
    }
    #[cfg(all(feature = "libm", not(feature = "micromath")))]
    {
        libm::logf(x)
    }
}

/// Square root.
#[inline]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        F32Ext::sqrt(x)
    }
    #[cfg(all(feature = "libm", not(feature = "micromath")))]
    {
        libm::sqrtf(x)
    }
}

/// `|x|` by clearing the sign bit (exact on every backend).
#[inline]
pub fn abs(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}
