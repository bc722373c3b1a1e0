//! Integer fixed-point arithmetic with directed rounding: the arithmetic of certificates.
//!
//! A certificate must hold for the exact value, whatever the rounding (docs/certificates.md).
//! Certificates are therefore computed in integers: a probability `p` is held as an upper bound
//! `P >= p * ONE` with `ONE = 2^31`, every product is rounded up ([`mul_up`], [`mul_wide_up`]),
//! and the final ratios are turned into `f32` rounded down ([`ratio_down`]) or up
//! ([`ratio_up`]). Integer operations give the same bits on every target, with or without an
//! FPU, and no operation is rounded when its exact result is representable, so exact cases (a
//! point mass, dyadic masses) certify exactly.

/// The fixed-point unit: `ONE` stands for probability 1.
pub(crate) const ONE: u32 = 1 << SHIFT;
/// `log2(ONE)`.
pub(crate) const SHIFT: u32 = 31;

/// `ceil(a * b / ONE)`: for `a, b <= ONE` the result is at most `ONE`.
pub(crate) fn mul_up(a: u32, b: u32) -> u32 {
    // `p < 2^64 - 2^33`, so adding `ONE - 1` cannot wrap: a ceiling in one add and one shift.
    let p = u64::from(a) * u64::from(b);
    let q = (p + u64::from(ONE - 1)) >> SHIFT;
    // `a, b <= 2^31` gives `q <= 2^31`; a larger input saturates instead of wrapping.
    u32::try_from(q).unwrap_or(u32::MAX)
}

/// `ceil(a * s / ONE)` for `a <= ONE` and `s < 2^53` (at most `u64::MAX` for any input), from
/// two 32 x 32 -> 64 products: `a s = hi 2^32 + lo`, and dividing by `2^31` leaves `hi 2` exact
/// and rounds `lo` up. One multiply instruction each on a 32-bit core with a long multiply. On a
/// 64-bit core the two products are independent, and the chain from `s` to the result is shorter
/// than through one 64 x 64 -> 128 product and its 128-bit add and shift: the certificate's
/// recurrences are chains of these (a (16, 8, 4) solve took 0.95 of the time).
pub(crate) fn mul_wide_up(a: u32, s: u64) -> u64 {
    let lo = u64::from(a) * (s & 0xFFFF_FFFF);
    let hi = u64::from(a) * (s >> 32);
    // `lo < 2^64 - 2^33`: the add cannot wrap.
    let lo_up = (lo + u64::from(ONE - 1)) >> SHIFT;
    hi.saturating_mul(2).saturating_add(lo_up)
}

/// `x * w` exactly, with two 32 x 64 products when `w` fits 32 bits (a count): a 32-bit core
/// then needs no 128-bit multiply routine.
pub(crate) fn mul_u64(x: u64, w: u64) -> u128 {
    match u32::try_from(w) {
        Ok(w) => {
            let w = u64::from(w);
            (u128::from((x >> 32) * w) << 32) + u128::from((x & 0xFFFF_FFFF) * w)
        }
        Err(_) => u128::from(x) * u128::from(w),
    }
}

/// `(m, e)` with `x = m * 2^e` exactly, `m < 2^24`, for a finite non-negative `x`; `m = 0` for
/// zero. Read off the bits, so it is the same on every target; a zero or subnormal `x` (the
/// exponent field 0: no implicit bit, the exponent of the smallest normal) takes no branch of
/// its own, so that the zeros of a policy do not steer one.
pub(crate) fn parts(x: f32) -> (u32, i32) {
    let bits = x.to_bits() & 0x7FFF_FFFF;
    let exp = (bits >> 23) as i32;
    let frac = bits & 0x7F_FFFF;
    let normal = exp != 0;
    (
        frac | (u32::from(normal) << 23),
        exp - 150 + i32::from(!normal),
    )
}

/// `floor(m * 2^(e + shift))` and `ceil(m * 2^(e + shift))` for a non-negative finite `x` with
/// `x = m * 2^e` ([`parts`]), saturating at `u64::MAX`.
pub(crate) fn scaled(x: f32, shift: i32) -> (u64, u64) {
    let (m, e) = parts(x);
    let m = u64::from(m);
    let e = e.saturating_add(shift);
    if m == 0 {
        (0, 0)
    } else if e >= 0 {
        if e >= 40 {
            (u64::MAX, u64::MAX)
        } else {
            (m << e, m << e)
        }
    } else if e <= -64 {
        (0, 1)
    } else {
        let d = (-e) as u32;
        let floor = m >> d;
        let exact = floor << d == m;
        (floor, floor + u64::from(!exact))
    }
}

/// `(x / d, x % d)`, or `(0, x)` for `d = 0`: the one copy of 128-bit division in the crate. A
/// 32-bit core has no 128-bit division routine, so the compiler expands a division where it is
/// written, most of a kilobyte of Cortex-M0 code each time; the remainder comes from the
/// quotient with one product. On a 32-bit core with a hardware `f32` division, a quotient
/// below `2^24` (the snap's) comes from [`small_quotient`] instead; a 64-bit core's routine
/// divides by a 64-bit divisor in hardware, faster than the estimate.
#[inline(never)]
pub(crate) fn div_rem(x: u128, d: u128) -> (u128, u128) {
    if cfg!(all(target_pointer_width = "32", not(ualign_soft_float)))
        && let Some(qr) = small_quotient(x, d)
    {
        return qr;
    }
    match x.checked_div(d) {
        Some(q) => (q, x.wrapping_sub(q.wrapping_mul(d))),
        None => (0, x),
    }
}

/// Euclid's division of `x` by `d > 0` when the quotient is below `2^24`, or `None`: the `f32`
/// quotient of the two rounded to `f32` is within 4 of the exact one (three roundings of
/// relative size `2^-24`), and exact products correct it, so the result is exact whatever the
/// estimate. On a Cortex-M4F the 128-bit division routine takes over a thousand instructions
/// for the snap's quotients. [`div_rem`] takes it only on 32-bit targets with a hardware `f32`
/// division: elsewhere the emulation would cost flash (`ualign_soft_float`, see the build
/// script) or the routine is faster.
fn small_quotient(x: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 {
        return None;
    }
    let estimate = x as f32 / d as f32;
    // Also refuses NaN and infinity (`x` or `d` beyond the `f32` range).
    if estimate.partial_cmp(&((1u32 << 24) as f32)) != Some(core::cmp::Ordering::Less) {
        return None;
    }
    let mut q = estimate as u128;
    let mut p = q.checked_mul(d)?;
    for _ in 0..8 {
        if p <= x {
            break;
        }
        q = q.checked_sub(1)?;
        p = p.checked_sub(d)?;
    }
    let mut r = x.checked_sub(p)?;
    for _ in 0..8 {
        if r < d {
            return Some((q, r));
        }
        q += 1;
        r -= d;
    }
    None
}

/// Number of significant bits of `x` (0 for 0).
#[cfg_attr(target_pointer_width = "32", inline(never))]
fn bits(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// `x as f32` (the nearest `f32`, ties to even; infinity past the largest) through the 64-bit
/// conversion: above `2^64`, the top 64 bits with the bits below them ORed into the lowest as a
/// sticky bit (which lies below the rounding point, 40 bits further down, so it turns an exact
/// half into "above half" exactly when something was dropped) convert with the same rounding,
/// and the power of two that scales them back is exact. A 32-bit core then links one
/// conversion routine, not a second one for 128 bits.
pub(crate) fn to_f32(x: u128) -> f32 {
    let s = 64u32.saturating_sub(x.leading_zeros());
    if s == 0 {
        return x as u64 as f32;
    }
    let top = shr(x, s) as u64;
    let sticky = u64::from(shl(x, 128 - s) != 0);
    // 2^s for 0 < s <= 64: a normal f32.
    ((top | sticky) as f32) * f32::from_bits((127 + s) << 23)
}

/// `x << s`, or 0 for `s >= 128`. A 32-bit core has no 128-bit shift: out of line there, one
/// copy instead of a few dozen instructions at every use.
#[cfg_attr(target_pointer_width = "32", inline(never))]
pub(crate) fn shl(x: u128, s: u32) -> u128 {
    x.checked_shl(s).unwrap_or(0)
}

/// `x >> s`, or 0 for `s >= 128` (see [`shl`]).
#[cfg_attr(target_pointer_width = "32", inline(never))]
pub(crate) fn shr(x: u128, s: u32) -> u128 {
    x.checked_shr(s).unwrap_or(0)
}

/// The `f32` `m * 2^-t` for `m < 2^24` and `-63 <= t`, exactly when it is a normal number (the
/// callers keep `m * 2^-t` within the normal range or round `m` for the subnormals; below the
/// normal range the bits under the subnormal grid are dropped, and past `2^-149` it is 0).
pub(crate) fn compose(m: u32, t: i32) -> f32 {
    if m == 0 {
        return 0.0;
    }
    // Normalise m to exactly 24 bits: m = M * 2^-s with 2^23 <= M < 2^24.
    let s = m.leading_zeros() as i32 - 8;
    let big = m << s;
    let exp = 23 - s - t; // value = big * 2^(exp - 23)
    let biased = exp + 127;
    if biased >= 1 {
        f32::from_bits(((biased as u32) << 23) | (big & 0x7F_FFFF))
    } else {
        // Subnormal: `big` has no bits below the subnormal grid (the callers round first).
        let d = (1 - biased) as u32;
        f32::from_bits(big.checked_shr(d).unwrap_or(0))
    }
}

/// Rounds `q` (the quotient scaled by `2^t`) to 24 significant bits and to the subnormal grid,
/// downward or upward, and composes it.
fn round_compose(q: u128, t: i32, up: bool) -> f32 {
    if q == 0 {
        return 0.0;
    }
    // Keep at most 24 significant bits, and none below 2^-149 (the smallest subnormal).
    let b = bits(q) as i32;
    let mut drop = (b - 24).max(0);
    // value = q * 2^-t; a kept bit 2^(drop - t) must be >= 2^-149.
    drop = drop.max(t - 149);
    let (mut m, mut t) = (q, t);
    if drop > 0 {
        let d = drop as u32;
        let kept = shr(m, d);
        let lost = shl(kept, d) != m;
        m = kept + u128::from(up && lost);
        t -= drop;
        if bits(m) > 24 {
            // Rounding up carried into a 25th bit: m = 2^24.
            m >>= 1;
            t -= 1;
        }
    }
    compose(u32::try_from(m).unwrap_or(0), t)
}

/// `p / q` for `p <= q`, `q > 0`, rounded in the direction `up`.
fn ratio(p: u128, q: u128, up: bool) -> f32 {
    if q == 0 {
        return if up { 1.0 } else { 0.0 };
    }
    if p == 0 {
        return 0.0;
    }
    if p >= q {
        return 1.0;
    }
    if q < 1 << 24 {
        return small_ratio(p as u32, q as u32, up);
    }
    // The quotient below shifts p left until it has 26 more bits than q: bring q below 2^102
    // (p with it), rounding so that the ratio only moves in the safe direction.
    let (mut p, mut q) = (p, q);
    let bq = bits(q);
    if bq > 102 {
        let r = bq - 102;
        let lost_p = shl(shr(p, r), r) != p;
        let lost_q = shl(shr(q, r), r) != q;
        p = shr(p, r);
        q = shr(q, r);
        if up {
            p += u128::from(lost_p);
        } else {
            q += u128::from(lost_q);
        }
        if p == 0 {
            // Below 2^-101 after the shift: the downward ratio may say 0 (a lower bound);
            // the upward one keeps the smallest positive value it can prove.
            p = u128::from(up);
            if p == 0 {
                return 0.0;
            }
        }
    }
    // Scale so the quotient has 26 to 27 significant bits: t = 26 + bits(q) - bits(p).
    let t = 26 + bits(q) as i32 - bits(p) as i32;
    let num = shl(p, t.clamp(0, 127) as u32);
    // q > 0 here (checked above, and the shift keeps it at 2^101 or more).
    let (quot, rest) = div_rem(num, q);
    let exact = rest == 0;
    let quot = quot + u128::from(up && !exact);
    // A non-exact downward quotient is already floored; the sticky bit keeps it from looking
    // exact when `round_compose` drops bits.
    let sticky = u128::from(!up && !exact);
    round_compose((quot << 1) | sticky, t + 1, up)
}

/// [`ratio`] for `0 < p < q < 2^24` (such as `k / (k + 1)`, which every estimate carries),
/// without 128-bit division: both are exact `f32`s, so their quotient is the nearest `f32`
/// `r = m 2^e`, and `r q` against `p` (`m q` against `p 2^-e`, exactly in integers: the quotient
/// is at least `2^-24`, a normal number below 1, so `0 < -e < 48`) says which side of `p / q`
/// it fell on; a step to the neighbour fixes the direction.
fn small_ratio(p: u32, q: u32, up: bool) -> f32 {
    let r = p as f32 / q as f32;
    let (m, e) = parts(r);
    let back = u128::from(m) * u128::from(q);
    let p = u128::from(p)
        .checked_shl(e.unsigned_abs())
        .unwrap_or(u128::MAX);
    if up && back < p {
        f32::from_bits(r.to_bits() + 1)
    } else if !up && back > p {
        f32::from_bits(r.to_bits() - 1)
    } else {
        r
    }
}

/// The `f32` nearest to `p / q`, ties to even, for `0 <= p <= q` and `0 < q < 2^100` (so the
/// quotient is `0` or a normal number): the long division of [`ratio`] rounded to nearest.
pub(crate) fn ratio_nearest(p: u128, q: u128) -> f32 {
    if p == 0 || q == 0 {
        return 0.0;
    }
    if p >= q {
        return 1.0;
    }
    // The quotient scaled by 2^t has 26 or 27 significant bits; `rest` says whether it is exact.
    let t = 26 + bits(q) - bits(p);
    let (quot, rest) = div_rem(shl(p, t), q);
    let drop = bits(quot).saturating_sub(24).max(1);
    let kept = shr(quot, drop);
    let low = quot - shl(kept, drop);
    let half = shl(1, drop - 1);
    let up = low > half || (low == half && (rest != 0 || kept & 1 == 1));
    let (mut m, mut t) = (kept + u128::from(up), t as i32 - drop as i32);
    if m >> 24 != 0 {
        // Rounding up carried into a 25th bit: m = 2^24.
        m >>= 1;
        t -= 1;
    }
    compose(u32::try_from(m).unwrap_or(0), t)
}

/// The largest `f32` at most `p / q` (for `0 <= p <= q`; `1.0` when `p >= q`).
pub(crate) fn ratio_down(p: u128, q: u128) -> f32 {
    ratio(p, q, false)
}

/// The smallest `f32` at least `p / q` (for `0 <= p <= q`; `1.0` when `p >= q`).
pub(crate) fn ratio_up(p: u128, q: u128) -> f32 {
    ratio(p, q, true)
}

#[cfg(test)]
mod tests {
    /// `to_f32` is the language's `u128 as f32`: at every power of two and its neighbours, at
    /// exact halves between two `f32`s with and without a bit below them, and at random values
    /// of every width.
    #[test]
    fn to_f32_rounds_as_the_cast() {
        let mut xs = std::vec![0u128, 1, u128::MAX, u128::MAX - 1];
        for b in 0..128u32 {
            let p = 1u128 << b;
            xs.extend([p, p - 1, p + 1, p.wrapping_mul(3)]);
            // 24 bits kept from bit b, the last odd and even: half an ulp below them (a tie),
            // then with a bit under that half (above the tie: up, whatever the parity).
            if b >= 25 {
                let half = 1u128 << (b - 24);
                for m in [0xAB_CDEFu128, 0xAB_CDEE] {
                    let m = (m | 1 << 23) << (b - 23);
                    xs.extend([m + half, m + half + 1, m + half - 1, m + 3 * half]);
                    xs.extend([m | half | (1 << (b - 25))]);
                }
            }
        }
        let mut next = crate::xorshift32(17);
        for _ in 0..if cfg!(miri) { 200 } else { 200_000 } {
            let words: [u32; 4] = core::array::from_fn(|_| next());
            let x = words.iter().fold(0u128, |x, &w| x << 32 | u128::from(w));
            xs.push(x >> (next() % 128));
        }
        for x in xs {
            assert_eq!(super::to_f32(x).to_bits(), (x as f32).to_bits(), "{x:#x}");
        }
    }

    /// The two 32-bit products give the exact `ceil(a * s / ONE)` of one 128-bit product,
    /// saturated at `u64::MAX`, at the edges and on samples.
    #[test]
    fn wide_products_are_the_exact_ceiling() {
        let mut next = crate::xorshift32(97);
        let edges = [
            0u64,
            1,
            2,
            (1 << 31) - 1,
            1 << 31,
            (1 << 42) - 1,
            (1 << 53) - 1,
            u64::MAX,
        ];
        let mut cases = std::vec::Vec::new();
        for &s in &edges {
            for a in [0u32, 1, ONE - 1, ONE, u32::MAX] {
                cases.push((a, s));
            }
        }
        for _ in 0..if cfg!(miri) { 100 } else { 100_000 } {
            let a = next() % (ONE + 1);
            let s = (u64::from(next()) << 32 | u64::from(next())) >> (next() % 64);
            cases.push((a, s));
        }
        for (a, s) in cases {
            let exact = (u128::from(a) * u128::from(s)).div_ceil(u128::from(ONE));
            let exact = u64::try_from(exact).unwrap_or(u64::MAX);
            assert_eq!(mul_wide_up(a, s), exact, "{a} {s}");
        }
    }

    /// The quotient of small numbers through `f32` division is the exact routine's, both ways,
    /// for every `p < q` with `q` up to 600 and for samples up to `2^24`.
    #[test]
    fn small_ratio_is_the_exact_quotient() {
        let exact = |p: u32, q: u32, up: bool| {
            // The routine for large q, made to run on small ones by scaling both by 2^80.
            ratio(u128::from(p) << 80, u128::from(q) << 80, up)
        };
        let top = if cfg!(miri) { 20 } else { 600 };
        for q in 2..top {
            for p in 1..q {
                for up in [false, true] {
                    assert_eq!(
                        small_ratio(p, q, up).to_bits(),
                        exact(p, q, up).to_bits(),
                        "{p}/{q}"
                    );
                }
            }
        }
        let mut next = crate::xorshift32(3);
        for _ in 0..if cfg!(miri) { 20 } else { 100_000 } {
            let q = 2 + next() % ((1 << 24) - 2);
            let p = 1 + next() % (q - 1);
            for up in [false, true] {
                assert_eq!(
                    small_ratio(p, q, up).to_bits(),
                    exact(p, q, up).to_bits(),
                    "{p}/{q}"
                );
            }
        }
    }

    /// `mul_u64` is the 128-bit product, on both of its paths.
    #[test]
    fn mul_u64_is_exact() {
        let mut next = crate::xorshift32(11);
        let mut wide = || (u64::from(next()) << 32) | u64::from(next());
        for _ in 0..if cfg!(miri) { 50 } else { 10_000 } {
            let (x, w) = (wide(), wide());
            for w in [w, w >> 32, w >> 50, 0, u64::from(u32::MAX)] {
                assert_eq!(mul_u64(x, w), u128::from(x) * u128::from(w), "{x} {w}");
            }
        }
        assert_eq!(
            mul_u64(u64::MAX, u64::MAX),
            u128::from(u64::MAX) * u128::from(u64::MAX)
        );
    }

    /// `div_rem` is Euclid's division (`x = q d + r`, `r < d`), checked in 256-bit arithmetic
    /// by halves, for divisors and dividends of every size; `(0, x)` for `d = 0`.
    #[test]
    fn div_rem_is_euclids_division() {
        let mut next = crate::xorshift32(13);
        let mut wide = || {
            let x = (u128::from(next()) << 96)
                | (u128::from(next()) << 64)
                | (u128::from(next()) << 32)
                | u128::from(next());
            x >> (next() % 128)
        };
        for _ in 0..if cfg!(miri) { 50 } else { 20_000 } {
            let (x, d) = (wide(), wide());
            if d == 0 {
                assert_eq!(div_rem(x, d), (0, x));
                continue;
            }
            let (q, r) = div_rem(x, d);
            assert!(r < d, "{x} {d}");
            // q d + r = x, exactly: q d <= x, so the product of the halves cannot carry out.
            let (q_hi, q_lo) = (q >> 64, q & u128::from(u64::MAX));
            let (d_hi, d_lo) = (d >> 64, d & u128::from(u64::MAX));
            assert!(q_hi == 0 || d_hi == 0, "{x} {d}");
            let low = q_lo * d_lo;
            let cross = (q_hi * d_lo + q_lo * d_hi) << 64;
            assert_eq!(
                low.checked_add(cross).and_then(|p| p.checked_add(r)),
                Some(x)
            );
        }
        assert_eq!(div_rem(7, 0), (0, 7));
        assert_eq!(div_rem(u128::MAX, 1), (u128::MAX, 0));
        assert_eq!(div_rem(u128::MAX, u128::MAX), (1, 0));
        assert_eq!(div_rem(5, 7), (0, 5));
    }

    /// Quotients below `2^24`, the estimated path, built as `q d + r` with `r < d`: every
    /// quotient's and remainder's bit is checked, at the edges of the estimate's range too,
    /// where a refused estimate leaves the division to the routine.
    #[test]
    fn small_quotients_are_exact() {
        let mut next = crate::xorshift32(29);
        for i in 0..if cfg!(miri) { 50 } else { 50_000 } {
            let d = ((u128::from(next()) << 64) | (u128::from(next()) << 32) | u128::from(next()))
                >> (next() % 96);
            let d = d.max(1);
            let q = match i % 4 {
                0 => u128::from(next() % (1 << 24)),
                1 => (1 << 24) - 1 - u128::from(next() % 8),
                2 => u128::from(next() % 8),
                _ => u128::from(next() >> (next() % 32)) % (1 << 24),
            };
            let r = ((u128::from(next()) << 64) | u128::from(next())) % d;
            let x = q * d + r;
            assert_eq!(div_rem(x, d), (q, r), "{x} {d}");
            // Within a few units of 2^24 the estimate may round to 2^24 and be refused.
            match small_quotient(x, d) {
                None => assert!(q >= (1 << 24) - 8, "{x} {d}"),
                got => assert_eq!(got, Some((q, r)), "{x} {d}"),
            }
        }
        // Beyond 2^24 the estimate is not used.
        assert_eq!(small_quotient(1 << 24, 1), None);
        assert_eq!(small_quotient(u128::MAX, 3), None);
        assert_eq!(small_quotient(5, 0), None);
    }

    use super::*;
    extern crate std;

    /// `x` against `p / q` exactly (`q < 2^103`, so `m * q` fits in a `u128`).
    fn cmp(x: f32, p: u128, q: u128) -> core::cmp::Ordering {
        let (m, e) = parts(x);
        let mq = u128::from(m) * q;
        if e >= 0 {
            return (mq << e).cmp(&p);
        }
        let s = (-e) as u32;
        let fl = mq.checked_shr(s).unwrap_or(0);
        let exact = mq == 0 || fl.checked_shl(s).is_some_and(|b| b == mq);
        match fl.cmp(&p) {
            core::cmp::Ordering::Equal if !exact => core::cmp::Ordering::Greater,
            o => o,
        }
    }

    /// `ratio_down <= p/q <= ratio_up`, one ulp apart at most, equal when `p/q` is an `f32`;
    /// checked exactly in integers against the `f32`'s own binary value.
    fn check(p: u128, q: u128) {
        let (lo, hi) = (ratio_down(p, q), ratio_up(p, q));
        assert!(cmp(lo, p, q).is_le(), "down {lo} > {p}/{q}");
        assert!(cmp(hi, p, q).is_ge(), "up {hi} < {p}/{q}");
        if cmp(lo, p, q).is_eq() {
            assert_eq!(lo, hi, "{p}/{q}");
        } else {
            assert_eq!(lo.next_up(), hi, "{p}/{q}: {lo} {hi}");
        }
    }

    #[test]
    fn ratios_bracket_the_exact_quotient() {
        let mut next = crate::xorshift32(0x1234_5678);
        let cases: &[(u128, u128)] = &[
            (1, 2),
            (1, 3),
            (2, 3),
            (0, 5),
            (5, 5),
            (1, 1 << 100),
            (3, (1 << 100) + 7),
            ((1 << 90) - 1, 1 << 91),
            (1, u128::MAX >> 26),
        ];
        for &(p, q) in cases {
            check(p, q);
        }
        // Miri runs these about a million times slower: fewer pairs there.
        for _ in 0..if cfg!(miri) { 300 } else { 20_000 } {
            let q = (u128::from(next()) << 64 | u128::from(next())) << 39 >> (25 + next() % 100);
            let q = q.max(1);
            let p = ((u128::from(next()) << 64 | u128::from(next())) % (q + 1)) >> (next() % 40);
            check(p, q.max(p).max(1));
        }
    }

    /// `ratio_nearest` is `ratio_down` or `ratio_up`, whichever is nearer to `p / q` (the even
    /// one on a tie): checked exactly in integers against the midpoint of the two.
    #[test]
    fn nearest_ratios_are_the_nearer_bracket() {
        // `2 p / q` against `lo + hi` (exact in f64: adjacent f32s), for q < 2^70.
        let side = |lo: f32, hi: f32, p: u128, q: u128| {
            let mid = f64::from(lo) + f64::from(hi);
            let bits = mid.to_bits();
            let (m, e) = (
                (bits & ((1 << 52) - 1)) | 1 << 52,
                (bits >> 52) as i32 - 1075,
            );
            // mid = m 2^e with e < 0 here; compare m q with 2 p 2^-e.
            let lhs = u128::from(m) * q;
            let rhs = (2 * p).checked_shl((-e) as u32);
            rhs.map_or(core::cmp::Ordering::Less, |r| lhs.cmp(&r))
        };
        let mut next = crate::xorshift32(0x0bad_cafe);
        let mut ties = 0;
        for round in 0..if cfg!(miri) { 300 } else { 40_000 } {
            let q = (u128::from(next()) << 64 | u128::from(next())) >> (58 + next() % 70);
            let q = q.max(1);
            let p = match round % 3 {
                // Quotients on midpoints: odd multiples of a power of two over q = 2^j.
                0 => {
                    let j = 25 + next() % 40;
                    let q = 1u128 << j;
                    let p = (u128::from(next()) | 1) << (j - 25) >> 7;
                    let p = p % q;
                    let (lo, hi) = (ratio_down(p, q), ratio_up(p, q));
                    let r = ratio_nearest(p, q);
                    if p > 0 && lo != hi && side(lo, hi, p, q).is_eq() {
                        ties += 1;
                        let even = if lo.to_bits() & 1 == 0 { lo } else { hi };
                        assert_eq!(r, even, "{p}/{q}");
                    }
                    continue;
                }
                1 => u128::from(next()) % (q + 1),
                _ => (u128::from(next()) << 64 | u128::from(next())) % (q + 1),
            };
            let (lo, hi) = (ratio_down(p, q), ratio_up(p, q));
            let r = ratio_nearest(p, q);
            if lo == hi {
                assert_eq!(r, lo, "{p}/{q}");
                continue;
            }
            match side(lo, hi, p, q) {
                core::cmp::Ordering::Greater => assert_eq!(r, lo, "{p}/{q}"),
                core::cmp::Ordering::Less => assert_eq!(r, hi, "{p}/{q}"),
                core::cmp::Ordering::Equal => {
                    assert_eq!(r.to_bits() & 1, 0, "{p}/{q}");
                }
            }
        }
        assert!(cfg!(miri) || ties > 100, "{ties} ties");
        assert_eq!(ratio_nearest(1, 3), (1.0f64 / 3.0) as f32);
        assert_eq!(ratio_nearest(3, 4), 0.75);
        assert_eq!(ratio_nearest(0, 4), 0.0);
        assert_eq!(ratio_nearest(4, 4), 1.0);
    }

    #[test]
    fn exact_ratios_are_exact() {
        assert_eq!(ratio_down(1, 2), 0.5);
        assert_eq!(ratio_up(1, 2), 0.5);
        assert_eq!(ratio_up(0, 7), 0.0);
        assert_eq!(ratio_down(3, 4), 0.75);
        // 2/3 rounds down to the f32 below it, up to the one above.
        assert!(ratio_down(2, 3) < ratio_up(2, 3));
        assert!(f64::from(ratio_down(2, 3)) < 2.0 / 3.0);
        assert!(f64::from(ratio_up(2, 3)) > 2.0 / 3.0);
        // A tiny positive quotient is never rounded up to zero.
        assert!(ratio_up(1, u128::MAX >> 2) > 0.0);
    }

    #[test]
    fn products_round_up_and_are_exact_when_they_can_be() {
        assert_eq!(mul_up(ONE, ONE), ONE);
        assert_eq!(mul_up(ONE / 2, ONE / 2), ONE / 4);
        assert_eq!(mul_up(3, 1), 1);
        assert_eq!(mul_up(0, ONE), 0);
        let mut next = crate::xorshift32(99);
        for _ in 0..if cfg!(miri) { 300 } else { 10_000 } {
            let (a, b) = (next() % (ONE + 1), next() % (ONE + 1));
            let exact = u64::from(a) * u64::from(b);
            let up = u64::from(mul_up(a, b)) << SHIFT;
            assert!(up >= exact && up - exact < 1 << SHIFT);
            let s = (u64::from(next()) << 20 | u64::from(next())) & ((1 << 50) - 1);
            let exact = u128::from(a) * u128::from(s);
            let up = u128::from(mul_wide_up(a, s)) << SHIFT;
            assert!(up >= exact && up - exact < 1 << SHIFT);
        }
    }

    /// `parts` as first written, a branch on the exponent field: the reference the branch-free
    /// one must match on every input.
    fn parts_branching(x: f32) -> (u32, i32) {
        let bits = x.to_bits() & 0x7FFF_FFFF;
        let exp = (bits >> 23) as i32;
        let frac = bits & 0x7F_FFFF;
        if exp == 0 {
            (frac, -149)
        } else {
            (frac | 0x80_0000, exp - 150)
        }
    }

    /// Every exponent field (zero and subnormals included) with mantissas at both ends and
    /// between: `parts` is the branching one's.
    #[test]
    fn parts_match_the_branching_reference() {
        let mut next = crate::xorshift32(0x0dd5_ca1e);
        for exp in 0..255u32 {
            for i in 0..if cfg!(miri) { 3 } else { 40 } {
                let frac = match i {
                    0 => 0,
                    1 => 1,
                    2 => 0x7F_FFFF,
                    _ => next() & 0x7F_FFFF,
                };
                let x = f32::from_bits((exp << 23) | frac);
                assert_eq!(parts(x), parts_branching(x), "{x:e}");
            }
        }
    }

    #[test]
    fn scaled_brackets_the_value() {
        for &(x, s) in &[(0.75f32, 2), (1.0, 31), (1e-30, 62), (0.1, 10), (3.0, -1)] {
            let (lo, hi) = scaled(x, s);
            // 2^s built from its bits: exact, and not an intrinsic miri may perturb.
            let v = f64::from(x) * f64::from_bits(((1023 + s) as u64) << 52);
            assert!((lo as f64) <= v && v <= hi as f64, "{x} {s}");
            assert!(hi - lo <= 1);
        }
    }
}
