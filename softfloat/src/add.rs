//! Addition and subtraction.

use crate::bits::{
    ABS, DEFAULT_NAN, EXP_MAX, FRAC, IMPLICIT, INF, SIGN, exponent, is_nan, propagate_nan,
    round_pack,
};

/// `a + b`, correctly rounded (round to nearest, ties to even).
///
/// ```
/// assert_eq!(ualign_softfloat::add(1.5, 2.25), 3.75);
/// assert_eq!(ualign_softfloat::add(1.0, -1.0).to_bits(), 0.0f32.to_bits());
/// ```
pub fn add(a: f32, b: f32) -> f32 {
    add_bits(a.to_bits(), b.to_bits())
}

/// `a - b`, correctly rounded: `a + (-b)`.
///
/// ```
/// assert_eq!(ualign_softfloat::sub(1.0, 0.25), 0.75);
/// ```
pub fn sub(a: f32, b: f32) -> f32 {
    add_bits(a.to_bits(), b.to_bits() ^ SIGN)
}

/// Addition on the bits: the common case of two normal operands below 2^127, in few registers
/// (most ARMv6-M instructions reach only eight); everything else in [`general`].
///
/// The significands sit at bits 29..6 of a word, with two bits of headroom for the carry and six
/// below for rounding (the last one sticky).
#[inline(always)]
fn add_bits(a: u32, b: u32) -> f32 {
    // x is the operand of larger magnitude (`<< 1` drops the sign).
    let (x, y) = if a << 1 >= b << 1 { (a, b) } else { (b, a) };
    let ex = (x << 1) >> 24;
    let ey = (y << 1) >> 24;
    if ex > 253 || ey == 0 {
        return general_float(a, b);
    }
    let d = ex - ey;
    let mut my = ((y << 8) | SIGN) >> 2;
    if d > 30 {
        my = 1;
    } else if d > 0 {
        my = (my >> d) | ((my << (32 - d) != 0) as u32);
    }
    let mx = ((x << 8) | SIGN) >> 2;
    // The result's sign and biased exponent minus one, in place: the rounded significand, whose
    // implicit bit is bit 23, is added to it, so a carry steps the exponent.
    let mut top = (x & 0xff80_0000) - IMPLICIT;
    let m = if (x ^ y) & SIGN == 0 {
        let m = mx + my;
        if m >= 1 << 30 {
            top += IMPLICIT;
            (m >> 1) | (m & 1)
        } else {
            m
        }
    } else {
        let m = mx - my;
        if m >= 1 << 29 {
            m
        } else if m == 0 {
            // Exact cancellation is +0 when rounding to nearest.
            return 0.0;
        } else {
            // Cancellation (only when d <= 1, so m is exact): normalise, but not below the
            // smallest exponent (the result is then subnormal, and still exact).
            let s = (m.leading_zeros() - 2).min(ex - 1);
            top -= s << 23;
            m << s
        }
    };
    // Round to nearest, ties to even, in one addition: below half (32) never carries, above it
    // always, and exactly half only when the kept lowest bit is odd.
    f32::from_bits(top + ((m + 0x1f + ((m >> 6) & 1)) >> 6))
}

/// [`general`] out of line, returning the `f32` itself: the fast path then falls back with a
/// tail call, and on RISC-V needs no stack frame of its own.
#[inline(never)]
fn general_float(a: u32, b: u32) -> f32 {
    f32::from_bits(general(a, b))
}

/// Addition of any two operands.
///
/// The operands are ordered by magnitude, the smaller significand is shifted right into three
/// guard bits (the last one sticky), added or subtracted, and the sum normalised and rounded once.
/// Subnormals take the same path: their exponent field is read as 1 and they have no implicit bit.
#[inline(always)]
fn general(a: u32, b: u32) -> u32 {
    // A zero operand, common in sums that start from zero: the other one (the sum of two zeros
    // is -0 only if both are).
    if b << 1 == 0 && !is_nan(a) {
        return if a << 1 == 0 { a & b } else { a };
    }
    if a << 1 == 0 && !is_nan(b) {
        return b;
    }
    // x is the operand of larger magnitude. A NaN's bits are above infinity's, so a NaN operand
    // is always x.
    let (x, y) = if a & ABS >= b & ABS { (a, b) } else { (b, a) };
    let ex = exponent(x);
    if ex == EXP_MAX {
        return special(a, b, x, y);
    }
    let (mx, ex) = unpack(x);
    let (my, ey) = unpack(y);
    // Three guard bits: the implicit bit is now bit 26.
    let mx = mx << 3;
    let mut my = my << 3;
    let d = ex - ey;
    if d >= 27 {
        my = (my != 0) as u32;
    } else if d > 0 {
        let lost = my << (32 - d);
        my = (my >> d) | (lost != 0) as u32;
    }
    let mut e = ex;
    let mut m;
    if (x ^ y) & SIGN == 0 {
        m = mx + my;
        if m >= 1 << 27 {
            m = (m >> 1) | (m & 1);
            e += 1;
            if e >= EXP_MAX {
                return (x & SIGN) | INF;
            }
        }
    } else {
        m = mx - my;
        if m == 0 {
            // Exact cancellation is +0 when rounding to nearest.
            return 0;
        }
        if m < 1 << 26 {
            // Cancellation: shift the leading bit back to bit 26, but not below the smallest
            // exponent (the result is then subnormal, and exact).
            let shift = (m.leading_zeros() - 5).min(e - 1);
            m <<= shift;
            e -= shift;
        }
    }
    round_pack(x & SIGN, e, m >> 3, m << 29)
}

/// The significand of a finite `x`, with the implicit bit of a normal number, and its biased
/// exponent, a subnormal's read as 1.
fn unpack(x: u32) -> (u32, u32) {
    match exponent(x) {
        0 => (x & FRAC, 1),
        e => ((x & FRAC) | IMPLICIT, e),
    }
}

/// An infinite or NaN operand (`x`, the one of larger magnitude, is one).
fn special(a: u32, b: u32, x: u32, y: u32) -> u32 {
    if is_nan(x) {
        propagate_nan(a, b)
    } else if exponent(y) == EXP_MAX && (x ^ y) & SIGN != 0 {
        // Infinity minus infinity.
        DEFAULT_NAN
    } else {
        x
    }
}
