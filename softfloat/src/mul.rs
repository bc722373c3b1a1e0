//! Multiplication.

use crate::bits::{
    DEFAULT_NAN, EXP_MAX, FRAC, IMPLICIT, INF, SIGN, exponent, is_nan, propagate_nan, round_pack,
};

/// `a * b`, correctly rounded (round to nearest, ties to even).
///
/// ```
/// assert_eq!(ualign_softfloat::mul(1.5, -2.5), -3.75);
/// assert_eq!(ualign_softfloat::mul(1e-30, 1e-30), 0.0);
/// ```
pub fn mul(a: f32, b: f32) -> f32 {
    mul_bits(a.to_bits(), b.to_bits())
}

/// Multiplication on the bits: the common case of two normal operands with a normal product, in
/// few registers; everything else in [`general`].
#[inline(always)]
fn mul_bits(a: u32, b: u32) -> f32 {
    // Normal operands (fields 1..=254), and a product whose field, e - 127 or e - 126, is 1..=254.
    // One test after another: ARMv6-M has no conditional select, so each is a compare and a branch.
    let ea = (a << 1) >> 24;
    if ea.wrapping_sub(1) > 253 {
        return general_float(a, b);
    }
    let eb = (b << 1) >> 24;
    if eb.wrapping_sub(1) > 253 {
        return general_float(a, b);
    }
    let e = ea + eb;
    if e.wrapping_sub(128) > 252 {
        return general_float(a, b);
    }
    // The significands with their implicit bits, 24 bits each.
    let ma = ((a << 8) | SIGN) >> 8;
    let mb = ((b << 8) | SIGN) >> 8;
    let (t, sticky) = if cfg!(softfloat_narrow_multiply) {
        product_narrow(ma, mb)
    } else {
        product_wide(ma, mb)
    };
    // The significand to bits 30..7, seven bits below it for rounding (the last one sticky).
    let (e, t) = if t >= SIGN {
        (e - 126, (t >> 1) | (t & 1) | sticky)
    } else {
        (e - 127, t | sticky)
    };
    // Round to nearest, ties to even, in one addition (see `add`).
    let q = (t + 0x3f + ((t >> 7) & 1)) >> 7;
    f32::from_bits(((a ^ b) & SIGN) | (((e - 1) << 23) + q))
}

/// The 48-bit product of two 24-bit significands over 2^16 (below 2^32), and 1 if the 16 bits
/// dropped were not all zero (a sticky bit): in one 64-bit product, for cores with a 32 x 32 ->
/// 64-bit multiply.
#[inline(always)]
fn product_wide(ma: u32, mb: u32) -> (u32, u32) {
    // With both significands shifted up by 8, the product over 2^16 is the high word, and the
    // bits dropped are the low one: no 64-bit shift on a 32-bit core.
    let p = u64::from(ma << 8) * u64::from(mb << 8);
    ((p >> 32) as u32, (p as u32 != 0) as u32)
}

/// [`product_wide`] from four 16 x 16-bit partial products, for cores whose multiply gives only
/// the low 32 bits (ARMv6-M): the low 16 bits of the whole product only decide the sticky bit,
/// so the product over 2^16 is summed directly.
#[inline(always)]
fn product_narrow(ma: u32, mb: u32) -> (u32, u32) {
    let (al, ah) = (ma & 0xffff, ma >> 16);
    let (bl, bh) = (mb & 0xffff, mb >> 16);
    let lo = al * bl;
    let t = ((ah * bh) << 16) + (al * bh + ah * bl) + (lo >> 16);
    (t, (lo & 0xffff != 0) as u32)
}

/// [`general`] out of line, returning the `f32` itself: the fast path then falls back with a
/// tail call, and on RISC-V needs no stack frame of its own.
#[inline(never)]
fn general_float(a: u32, b: u32) -> f32 {
    f32::from_bits(general(a, b))
}

/// Multiplication of any two operands.
///
/// The 48-bit product of the two 24-bit significands comes from four 16 x 16-bit partial
/// products, each of which fits a 32-bit register. Its top 24 bits are the significand, and the
/// rest round it, once, after a shift into the subnormal range if the result needs one.
#[inline(always)]
fn general(a: u32, b: u32) -> u32 {
    let sign = (a ^ b) & SIGN;
    let (ea, eb) = (exponent(a), exponent(b));
    if ea == EXP_MAX || eb == EXP_MAX {
        return special(a, b, sign);
    }
    let Some((ma, ea)) = significand(a, ea) else {
        return sign;
    };
    let Some((mb, eb)) = significand(b, eb) else {
        return sign;
    };
    let (al, ah) = (ma & 0xffff, ma >> 16);
    let (bl, bh) = (mb & 0xffff, mb >> 16);
    let lo = al * bl;
    // Each cross product is below 2^24, so their sum fits.
    let mid = al * bh + ah * bl;
    let low = lo.wrapping_add(mid << 16);
    // The product is high * 2^32 + low, in [2^46, 2^48): high is below 2^16.
    let high = ah * bh + (mid >> 16) + (low < lo) as u32;
    // The biased exponent, with the significand's point after the product's bit 46.
    let mut e = ea + eb - 127;
    let (mut m, mut rest) = if high >= 1 << 15 {
        e += 1;
        ((high << 8) | (low >> 24), low << 8)
    } else {
        ((high << 9) | (low >> 23), low << 9)
    };
    if e >= EXP_MAX as i32 {
        return sign | INF;
    }
    if e < 1 {
        // Subnormal: shift right to the smallest exponent, the shifted-out bits above the old
        // rest (which stays as a sticky bit).
        let s = (1 - e) as u32;
        if s > 25 {
            // Below half the smallest subnormal: rounds to zero.
            (m, rest) = (0, 1);
        } else {
            rest = (m << (32 - s)) | (rest != 0) as u32;
            m >>= s;
        }
        e = 1;
    }
    round_pack(sign, e as u32, m, rest)
}

/// The significand of a finite `x` (biased exponent field `e`) with its implicit bit, and its
/// exponent, a subnormal's normalised so that bit 23 is set; `None` for a zero.
fn significand(x: u32, e: u32) -> Option<(u32, i32)> {
    let m = x & FRAC;
    if e != 0 {
        Some((m | IMPLICIT, e as i32))
    } else if m == 0 {
        None
    } else {
        let s = m.leading_zeros() - 8;
        Some((m << s, 1 - s as i32))
    }
}

/// An infinite or NaN operand.
fn special(a: u32, b: u32, sign: u32) -> u32 {
    if is_nan(a) || is_nan(b) {
        propagate_nan(a, b)
    } else if a << 1 == 0 || b << 1 == 0 {
        // Zero times infinity.
        DEFAULT_NAN
    } else {
        sign | INF
    }
}

#[cfg(test)]
mod tests {
    use super::{product_narrow, product_wide};
    use rand_xoshiro::Xoshiro256PlusPlus;
    use rand_xoshiro::rand_core::{Rng, SeedableRng};

    /// The two ways to multiply significands agree: every pair of a spread of significands (the
    /// binade's ends, one bit above its bottom, patterns with long carries) and a million seeded
    /// pairs.
    #[test]
    fn narrow_and_wide_products_agree() {
        let low = 1u32 << 23;
        let mut spread = [0u32; 33];
        spread[..10].copy_from_slice(&[
            low,
            low + 1,
            (1 << 24) - 1,
            (1 << 24) - 2,
            0x00c0_0000,
            0x00aa_aaaa,
            0x00d5_5555,
            0x00ff_0000,
            0x0080_ffff,
            0x00ff_ff00,
        ]);
        for (i, x) in spread[10..].iter_mut().enumerate() {
            *x = low | (1 << i);
        }
        for &a in &spread {
            for &b in &spread {
                assert_eq!(product_narrow(a, b), product_wide(a, b), "{a:#x} {b:#x}");
            }
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(24);
        for _ in 0..if cfg!(miri) { 1_000 } else { 1_000_000 } {
            let (a, b) = (low | (rng.next_u32() >> 9), low | (rng.next_u32() >> 9));
            assert_eq!(product_narrow(a, b), product_wide(a, b), "{a:#x} {b:#x}");
        }
    }
}
