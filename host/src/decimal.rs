//! The decimals of the output contract: a bound is printed as the shortest decimal on its safe
//! side that reads back as its `f32` ([`num_down`], [`num_up`]), so that the printed text is a
//! bound too (docs/certificates.md), and the few other `f32` figures (Hedge's regret bound, the
//! opponents' `upper_bound`) as the shortest decimal that reads back ([`num`]). A policy's
//! masses print as their exact decimal values ([`Masses`], [`exact`]): the text of a mass is
//! the certified `f32` itself, not a decimal within `1e-17` of it, so a reader that takes the
//! text as an exact decimal certifies the same policy.
//!
//! A directed decimal is a cut of the figure's exact decimal expansion to `p` significant
//! digits, for the fewest `p` whose cut reads back as the figure. The cuts are found in 128-bit
//! integers (`integer_search`): the figure is `M 2^E`, a cut is a quotient, and whether it
//! reads back is a comparison with the midpoints between the figure and its neighbours. Figures
//! whose powers would overflow 128 bits (below `1e-22` or from `2^127` up: no certificate's) are
//! cut from their formatted expansion instead (`string_search`), which the tests also compare
//! with.

/// A number as JSON: the shortest decimal that reads back as the same `f32`.
pub fn num(x: f32) -> f64 {
    x.to_string().parse::<f64>().unwrap_or(x as f64)
}

/// A policy's masses, serialised as JSON numbers whose text is each mass's exact value
/// ([`exact`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Masses(pub Vec<f32>);

impl serde::Serialize for Masses {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &x in &self.0 {
            let mut text = Vec::new();
            exact(&mut text, x);
            let text = String::from_utf8(text).map_err(S::Error::custom)?;
            let raw = serde_json::value::RawValue::from_string(text).map_err(S::Error::custom)?;
            seq.serialize_element(&raw)?;
        }
        seq.end()
    }
}

/// Appends `x` as a JSON number whose decimal text is exactly its value: every digit of its
/// binary fraction (`3 * 2^-24` is `0.000000178813934326171875`), a whole number with `.0`
/// after it (`1.0`), zero as `0.0` (`-0.0`), and `null` for what is not finite, as serde_json
/// writes those. A fraction `F 2^-s` (`F` odd) has exactly `s` decimals, the last a 5: a
/// solver's masses (below 1, `s <= 24`) are made eight digits at a time in 64-bit integers
/// (`exact_fraction`), the rest (what `eval` echoes of a policy it was given) by the standard
/// library's formatting to exactly their `s` decimals.
pub fn exact(out: &mut Vec<u8>, x: f32) {
    use std::io::Write;
    if x == 0.0 && x.is_sign_positive() {
        // Most of a policy's masses.
        out.extend_from_slice(b"0.0");
        return;
    }
    if let Some((text, len)) = exact_fraction(x) {
        // The others of a solver's policy: `0.` and at most 36 digits.
        out.extend_from_slice(text.get(..len).unwrap_or_default());
        return;
    }
    if !x.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let v = f64::from(x);
    // The decimals of `M 2^E` (`M` odd): `-E` when `E < 0`, none otherwise.
    let decimals = if x == 0.0 {
        0
    } else {
        let (mant, exp) = binary_parts(x.abs());
        let tz = mant.trailing_zeros() as i32;
        usize::try_from(-(exp + tz)).unwrap_or(0)
    };
    // (Writing to a `Vec` cannot fail.)
    let _ = if decimals == 0 {
        write!(out, "{v:.0}.0")
    } else {
        write!(out, "{v:.decimals$}")
    };
}

/// [`exact`]'s text of a normal `x` in `(0, 1)` whose fraction `F 2^-s` (`F` odd) has
/// `s <= 36` (every positive mass of the `2^-24` grid), and its length: `0.` and `s` digits,
/// made eight at a time in 64-bit integers ([`eight_digits`]). `None` for any other `x`.
#[inline(always)]
fn exact_fraction(x: f32) -> Option<([u8; 42], usize)> {
    let bits = x.to_bits();
    let field = bits >> 23;
    // Positive, normal and below 1: the exponent field from 1 to 126.
    if !(1..127).contains(&field) {
        return None;
    }
    let mant = u64::from(bits & 0x7f_ffff | 1 << 23);
    let tz = mant.trailing_zeros();
    // `x = mant 2^(field - 150)`, so `s = 150 - field - tz`, at least 1.
    let s = (150 - field).checked_sub(tz)?;
    if s > 36 {
        return None;
    }
    let mut text = [0u8; 42];
    text[0] = b'0';
    text[1] = b'.';
    // `F < 2^s <= 2^36`: `10^8` times it fits 64 bits. Each step takes the next eight digits;
    // past the `s`-th they are zeros, cut off by the length.
    let (mut r, mask) = (mant >> tz, (1u64 << s) - 1);
    for chunk in text
        .get_mut(2..)?
        .chunks_exact_mut(8)
        .take(s.div_ceil(8) as usize)
    {
        let t = r * 100_000_000;
        eight_digits(chunk, (t >> s) as u32);
        r = t & mask;
    }
    Some((text, 2 + s as usize))
}

/// The eight decimal digits of `x < 10^8` into `to` (eight bytes), with leading zeros: two
/// at a time from a table of the hundred pairs.
fn eight_digits(to: &mut [u8], x: u32) {
    const PAIRS: [[u8; 2]; 100] = {
        let mut t = [[0; 2]; 100];
        let mut i = 0;
        while i < 100 {
            t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
            i += 1;
        }
        t
    };
    let (hi, lo) = (x / 10_000, x % 10_000);
    let pairs = [hi / 100, hi % 100, lo / 100, lo % 100];
    for (to, p) in to.chunks_exact_mut(2).zip(pairs) {
        to.copy_from_slice(PAIRS.get(p as usize).unwrap_or(&[b'0'; 2]));
    }
}

/// A lower bound as JSON: the shortest decimal that is at most `x` and reads back as `x`, so
/// that the printed text is a lower bound too (docs/certificates.md).
pub fn num_down(x: f32) -> f64 {
    directed(x, false)
}

/// An upper bound as JSON: the shortest decimal that is at least `x` and reads back as `x`.
pub fn num_up(x: f32) -> f64 {
    directed(x, true)
}

/// The shortest decimal on the `up` (or down) side of `x` that reads back as the `f32` `x`.
fn directed(x: f32, up: bool) -> f64 {
    directed_by(x, up, true)
}

/// [`directed`] through [`integer_search`] where it decides (`integers`), otherwise, or when
/// `!integers` (which the tests compare with), through [`string_search`].
fn directed_by(x: f32, up: bool, integers: bool) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return f64::from(x);
    }
    // Away from zero is "up" for a positive number and "down" for a negative one.
    let away = up == (x > 0.0);
    let a = x.abs();
    let signed = |v: f64| if x < 0.0 { -v } else { v };
    if integers
        && let Some((c, u)) = integer_search(a, away)
        && let Some(v) = decimal_value(c, u)
    {
        return signed(v);
    }
    // (Never `None` for a finite `x`; the `f32` itself would be a safe answer.)
    string_search(a, away).map_or(f64::from(x), signed)
}

/// `10^i` for `i` in `0..=38`: the powers of ten below `2^128`.
const POW10: [u128; 39] = {
    let mut p = [1u128; 39];
    let mut i = 1;
    while i < p.len() {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `10^i`, when it is below `2^128`.
fn pow10(i: i32) -> Option<u128> {
    POW10.get(usize::try_from(i).ok()?).copied()
}

/// `x 2^s`, when it is below `2^128`.
fn shl(x: u128, s: i32) -> Option<u128> {
    let s = u32::try_from(s).ok()?;
    if x == 0 {
        Some(0)
    } else if s <= x.leading_zeros() {
        x.checked_shl(s)
    } else {
        None
    }
}

/// A positive finite `f32` as `(M, E)`: its value is `M 2^E` with `M < 2^24`.
fn binary_parts(a: f32) -> (u128, i32) {
    let bits = a.to_bits();
    let field = (bits >> 23) & 0xff;
    let fraction = u128::from(bits & 0x7f_ffff);
    if field == 0 {
        (fraction, -149)
    } else {
        (fraction | 1 << 23, field as i32 - 150)
    }
}

/// `floor(M 2^E / 10^u)` and whether the division is exact, when the operands fit 128 bits.
fn cut(mant: u128, exp: i32, u: i32) -> Option<(u128, bool)> {
    if u <= 0 {
        let num = mant.checked_mul(pow10(-u)?)?;
        if exp >= 0 {
            return Some((shl(num, exp)?, true));
        }
        let s = exp.unsigned_abs();
        if s >= 128 {
            return Some((0, num == 0));
        }
        Some((num >> s, num & ((1u128 << s) - 1) == 0))
    } else {
        let den = pow10(u)?;
        let (num, den) = if exp >= 0 {
            (shl(mant, exp)?, den)
        } else {
            (mant, shl(den, -exp)?)
        };
        Some((num / den, num % den == 0))
    }
}

/// The directed search in integers, for a positive finite `a`: the cut `c 10^u` of `a`'s exact
/// expansion to `p` significant digits toward zero (or `away` from it), for the fewest `p` whose
/// cut reads back as `a`. A cut reads back when it lies strictly between the midpoints of `a`
/// with its neighbours, or on one when `a`'s significand is even (ties go to even). A cut
/// toward zero is at most `a`, so only the midpoint below decides; away from zero, the one
/// above. A longer cut lies between a shorter one and `a`, so once a cut reads back, every
/// longer one does: the search goes down from 9 digits (enough for any `f32`) while the cuts
/// still read back.
///
/// Every cut and the midpoint are compared in units of the 9-digit cut's last digit `10^u9`:
/// the `p`-digit cut toward zero is the 9-digit one with its last `9 - p` digits dropped
/// (exact when they and the rest of the expansion are zeros), and a multiple `X` of `10^u9`
/// lies above a midpoint `(D + f) 10^u9` (`D` an integer, `0 <= f < 1`) when `X > D`, on it
/// when `X = D` and `f = 0`. So two 128-bit cuts (of `a` and of the midpoint) make the search,
/// and each digit dropped is a division by ten. `None` when a power or a product would not fit
/// 128 bits, or (for no `f32`) when not even 9 digits read back.
fn integer_search(a: f32, away: bool) -> Option<(u128, i32)> {
    let (mant, exp) = binary_parts(a);
    // The decimal exponent, `10^e <= a < 10^(e + 1)`: from `2^b <= a < 2^(b + 1)`,
    // `floor(b log10 2)` (Ryu's `(b * 315653) >> 20`, exact for `|b| <= 1650`) or one more.
    let b = exp + 127 - mant.leading_zeros() as i32;
    let mut e = (b * 315_653) >> 20;
    if cut(mant, exp, e + 1)?.0 != 0 {
        e += 1;
    }
    // The 9-digit cut toward zero, below `10^9`, and whether it is exact.
    let u9 = e - 8;
    let (q9, exact9) = cut(mant, exp, u9)?;
    let q9 = u64::try_from(q9).ok()?;
    if !(100_000_000..1_000_000_000).contains(&q9) {
        return None;
    }
    // The midpoint that decides, in units of `2^(E - 2)`: the neighbour below is half as far
    // when `a` is a power of two above the subnormals.
    let mid = match away {
        true => 4 * mant + 2,
        false if mant == 1 << 23 && exp > -149 => 4 * mant - 1,
        false => 4 * mant - 2,
    };
    let (d, on) = cut(mid, exp - 2, u9)?;
    let even = mant % 2 == 0;
    let mut found = None;
    // The `p`-digit cut toward zero, `10^(9 - p)`, and whether the digits dropped are zeros.
    let (mut q, mut scale, mut exact) = (q9, 1u64, exact9);
    for p in (1..=9).rev() {
        let c = q + u64::from(away && !exact);
        let x = u128::from(c) * u128::from(scale);
        let reads_back = if x == d && on {
            even
        } else if away {
            x <= d
        } else {
            x > d
        };
        if !reads_back {
            break;
        }
        found = Some((u128::from(c), u9 + (9 - p)));
        exact = exact && q % 10 == 0;
        q /= 10;
        scale *= 10;
    }
    found
}

/// `c 10^u` as the nearest `f64`, as its text would parse: for `c < 2^53` and `|u| <= 22` one
/// correctly rounded product or quotient of exact operands, otherwise the text parsed.
fn decimal_value(c: u128, u: i32) -> Option<f64> {
    const EXACT: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if let Ok(c) = u64::try_from(c)
        && c < 1 << 53
        && let Some(&p) = EXACT.get(u.unsigned_abs() as usize)
    {
        let c = c as f64;
        return Some(if u >= 0 { c * p } else { c / p });
    }
    format!("{c}e{u}").parse::<f64>().ok()
}

/// The directed search on text, for a positive finite `a`: the exact decimal expansion of `a`,
/// cut to `p` significant digits toward (or `away` from) zero, for the fewest `p` whose cut
/// reads back as `a` (parsed as an `f32`). `None` when none of 1 to 9 digits does (no `f32`).
fn string_search(a: f32, away: bool) -> Option<f64> {
    let a = f64::from(a);
    // The first 17 significant digits, rounded to nearest: when the 10th to 17th are not all
    // zero, no rounding carry reached the first 9 (it would have left zeros behind it) and the
    // exact expansion has non-zero digits after the 9th, so the cuts below are those of the
    // exact expansion. Otherwise the whole expansion (at most 105 significant digits), which
    // is slower to format.
    let mut exact = format!("{a:.16e}");
    let tail_zero = |e: &str| {
        e.split_once('e').is_none_or(|(m, _)| {
            m.bytes()
                .filter(u8::is_ascii_digit)
                .skip(9)
                .all(|d| d == b'0')
        })
    };
    if tail_zero(&exact) {
        exact = format!("{a:.120e}");
    }
    let (digits, exp) = exact.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: Vec<u8> = digits.bytes().filter(u8::is_ascii_digit).collect();
    for p in 1..=9usize {
        let mut mantissa: u64 = 0;
        for &d in digits.iter().take(p) {
            mantissa = mantissa * 10 + u64::from(d - b'0');
        }
        let dropped = digits.iter().skip(p).any(|&d| d != b'0');
        if away && dropped {
            mantissa += 1;
        }
        let text = format!("{mantissa}e{}", exp - (p as i32 - 1));
        if text.parse::<f32>() == Ok(a as f32) {
            return text.parse::<f64>().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Masses, directed, directed_by, exact, integer_search, num_down, num_up};
    use crate::test_rng::XorShift;

    /// The search as first written: every cut of the whole exact expansion from one digit up.
    fn reference(x: f32, up: bool) -> f64 {
        if !x.is_finite() || x == 0.0 {
            return f64::from(x);
        }
        let away = up == (x > 0.0);
        let a = f64::from(x.abs());
        let exact = format!("{a:.120e}");
        let (digits, exp) = exact.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        let digits: Vec<u8> = digits.bytes().filter(u8::is_ascii_digit).collect();
        for p in 1..=9usize {
            let mut mantissa: u64 = 0;
            for &d in digits.iter().take(p) {
                mantissa = mantissa * 10 + u64::from(d - b'0');
            }
            if away && digits.iter().skip(p).any(|&d| d != b'0') {
                mantissa += 1;
            }
            let text = format!("{mantissa}e{}", exp - (p as i32 - 1));
            if text.parse::<f32>() == Ok(x.abs()) {
                let v = text.parse::<f64>().unwrap();
                return if x < 0.0 { -v } else { v };
            }
        }
        f64::from(x)
    }

    /// The exact decimal of `x` by the standard library's formatting to 160 decimals (more than
    /// any `f32` has), its trailing zeros dropped down to `.0`.
    fn exact_reference(x: f32) -> String {
        if !x.is_finite() {
            return "null".into();
        }
        let text = format!("{:.160}", f64::from(x));
        let text = text.trim_end_matches('0');
        if text.ends_with('.') {
            format!("{text}0")
        } else {
            text.to_string()
        }
    }

    fn exact_text(x: f32) -> String {
        let mut out = Vec::new();
        exact(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    /// Every mass of the `2^-24` grid from 0 to 1 (a stride through the middle, every one near
    /// the ends), random `f32`s of every exponent and sign, and the edges print as their exact
    /// decimals, which read back as the same number.
    #[test]
    fn masses_print_as_their_exact_decimals() {
        let grid = (0..=1u32 << 24)
            .filter(|m| *m < 4096 || *m > (1 << 24) - 4096 || m % 251 == 0)
            .map(|m| m as f32 / (1u32 << 24) as f32);
        let mut rng = XorShift(0x5eed_0001);
        let random = (0..50_000).map(|_| f32::from_bits((rng.next() >> 32) as u32));
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            3.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            2f32.powi(-36),
            2f32.powi(-37) * 3.0,
            f32::NAN,
            f32::INFINITY,
        ];
        let mut checked = 0;
        for x in grid.chain(random).chain(edges) {
            let text = exact_text(x);
            assert_eq!(text, exact_reference(x), "{x:e}");
            if x.is_finite() {
                assert_eq!(
                    text.parse::<f64>().unwrap().to_bits(),
                    f64::from(x).to_bits()
                );
            }
            checked += 1;
        }
        assert!(checked > 117_000, "{checked}");
        // Known values: the grid's unit and a third on it, as their digits are.
        assert_eq!(exact_text(2f32.powi(-24)), "0.000000059604644775390625");
        assert_eq!(
            exact_text(5_592_405.0 / 16_777_216.0),
            "0.333333313465118408203125"
        );
        assert_eq!(exact_text(0.25), "0.25");
        assert_eq!(exact_text(1.0), "1.0");
        assert_eq!(exact_text(-0.0), "-0.0");
    }

    /// A policy serialises as the exact decimals of its masses.
    #[test]
    fn masses_serialise_exactly() {
        let m = Masses(vec![0.0, 0.75, 1.0 / 3.0, f32::NAN]);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            "[0.0,0.75,0.3333333432674407958984375,null]"
        );
    }

    /// Both routes give the reference search's answer, for `v` and `-v`, down and up.
    fn check_both_routes(v: f32) {
        for v in [v, -v] {
            for up in [false, true] {
                let want = reference(v, up).to_bits();
                assert_eq!(directed(v, up).to_bits(), want, "{v:e} up={up}");
                assert_eq!(directed_by(v, up, false).to_bits(), want, "{v:e} up={up}");
            }
        }
    }

    /// The integer search (and the string search, on its own) give the answer of the reference
    /// search over random figures.
    #[test]
    fn directed_searches_are_the_reference_search() {
        let mut rng = XorShift(0x1234_5678);
        for i in 0..20_000u32 {
            // The high half: xorshift64's low bits are its weakest.
            let x = (rng.next() >> 32) as u32;
            // Finite values of every exponent, and round decimals (which sit on the boundary).
            let v = match i % 3 {
                0 => f32::from_bits(x & 0x7F7F_FFFF),
                1 => (x % 100_000) as f32 / 1e5,
                _ => f32::from_bits(x % 0x3F80_0001),
            };
            check_both_routes(v);
        }
    }

    /// The integer search's edges: powers of two (whose neighbour below is nearer), the
    /// neighbours of powers of ten (where the decimal exponent changes), the largest `f32`,
    /// the smallest normal and the subnormals, and the figures of `k/(k+1)`.
    #[test]
    fn directed_searches_agree_at_the_edges() {
        let mut edges = vec![f32::MAX, f32::MIN_POSITIVE, f32::from_bits(1), 1.0];
        edges.extend((1..0x7F80_0000u32).step_by(1 << 23).map(f32::from_bits));
        edges.extend((-40..=38).map(|e| format!("1e{e}").parse::<f32>().unwrap()));
        edges.extend((1..=1024u32).map(|k| k as f32 / (k + 1) as f32));
        for v in edges {
            for d in -2i32..=2 {
                let w = v.to_bits().checked_add_signed(d).map(f32::from_bits);
                if let Some(w) = w.filter(|w| w.is_finite() && *w > 0.0) {
                    check_both_routes(w);
                }
            }
        }
    }

    /// The integer search decides (takes no text) for every figure from `1e-22` to below
    /// `2^127`, every certificate's among them.
    #[test]
    fn integer_search_decides_from_1e_minus_22_to_2_to_the_127() {
        let (lo, hi) = (1e-22f32.to_bits(), 2f32.powi(127).to_bits());
        let mut rng = XorShift(0x9e37_79b9);
        let ends = [lo, lo + 1, hi - 1];
        let random = (0..20_000).map(|_| lo + (rng.next() >> 32) as u32 % (hi - lo));
        for bits in ends.into_iter().chain(random) {
            let a = f32::from_bits(bits);
            for away in [false, true] {
                assert!(integer_search(a, away).is_some(), "{a:e} away={away}");
            }
        }
        for away in [false, true] {
            assert!(integer_search(f32::from_bits(lo - 1), away).is_none());
        }
    }

    /// The printed decimal is on the safe side of the f32 and reads back as it.
    #[test]
    fn directed_decimals_bracket_the_value_and_read_back() {
        let mut x = 0x3f2a_aaab_u32;
        for _ in 0..20_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let v = f32::from_bits(x & 0x3fff_ffff);
            if !v.is_finite() {
                continue;
            }
            let (d, u) = (num_down(v), num_up(v));
            assert!(d <= f64::from(v) && u >= f64::from(v), "{v}: {d} {u}");
            assert_eq!(d as f32, v);
            assert_eq!(u as f32, v);
        }
        assert_eq!(num_down(0.5), 0.5);
        // The f32 nearest 2/3 lies above it, the next one down below it.
        let above = 2.0f32 / 3.0;
        let below = f32::from_bits(above.to_bits() - 1);
        assert_eq!(num_down(above), 0.66666668);
        assert_eq!(num_up(above), 0.6666667);
        assert_eq!(num_down(below), 0.6666666);
        assert_eq!(num_down(-0.25), -0.25);
    }
}
