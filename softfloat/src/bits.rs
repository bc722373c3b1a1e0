//! The binary32 layout and the final rounding, shared by addition and multiplication.

/// The sign bit.
pub(crate) const SIGN: u32 = 0x8000_0000;
/// Everything but the sign.
pub(crate) const ABS: u32 = 0x7fff_ffff;
/// The stored fraction.
pub(crate) const FRAC: u32 = 0x007f_ffff;
/// The implicit leading bit of a normal number's significand.
pub(crate) const IMPLICIT: u32 = 0x0080_0000;
/// Positive infinity.
pub(crate) const INF: u32 = 0x7f80_0000;
/// The quiet bit of a NaN.
pub(crate) const QUIET: u32 = 0x0040_0000;
/// The NaN returned for an invalid operation (infinity minus infinity, zero times infinity).
pub(crate) const DEFAULT_NAN: u32 = 0x7fc0_0000;
/// The biased exponent field of infinities and NaNs.
pub(crate) const EXP_MAX: u32 = 0xff;

/// The biased exponent field of `x`.
pub(crate) const fn exponent(x: u32) -> u32 {
    (x >> 23) & EXP_MAX
}

/// `x` is a NaN.
pub(crate) const fn is_nan(x: u32) -> bool {
    x & ABS > INF
}

/// The result for an operation with a NaN operand: the first NaN operand, made quiet.
pub(crate) const fn propagate_nan(a: u32, b: u32) -> u32 {
    if is_nan(a) { a | QUIET } else { b | QUIET }
}

/// Packs a finite result: `sign`, the biased exponent `e` (at least 1; 1 with a significand below
/// [`IMPLICIT`] is a subnormal) and the significand `m` (at most 24 bits), rounded to nearest,
/// ties to even, by the bits below it, `rest`, left-aligned (`0x8000_0000` is exactly half).
///
/// A carry out of the significand steps into the exponent field by the addition itself, up to
/// infinity. The caller has already returned infinity for `e` of 255 or more.
pub(crate) const fn round_pack(sign: u32, e: u32, m: u32, rest: u32) -> u32 {
    let up = rest > 0x8000_0000 || (rest == 0x8000_0000 && m & 1 != 0);
    sign | (((e - 1) << 23) + m + up as u32)
}
