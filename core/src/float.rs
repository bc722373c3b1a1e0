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

/// `out[i] = exp(xs[i])` for each `i` of the shorter slice: [`exp`]'s bits, on a host (not
/// `target_os = "none"`; a microcontroller's softmax calls [`exp`] in its own loop).
///
/// With libm, most entries take libm's `expf` written without branches (`expf_reduced`) so
/// that the compiler vectorises the loop (a scalar call per entry is about 6% of a (16, 8, 4)
/// solve). The entries that function does not cover (`|x| >= 87.3365`, NaN) then take
/// [`exp`].
#[cfg(not(target_os = "none"))]
#[inline]
pub fn exp_into(xs: &[f32], out: &mut [f32]) {
    #[cfg(feature = "libm")]
    {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = if x < EXP_ZERO { 0.0 } else { expf_reduced(x) };
        }
        for (o, &x) in out.iter_mut().zip(xs) {
            if !reduced_covers(x) && (x >= EXP_ZERO || x.is_nan()) {
                *o = libm::expf(x);
            }
        }
    }
    #[cfg(not(feature = "libm"))]
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = exp(x);
    }
}

/// Whether [`expf_reduced`] gives libm's `expf` of `x`: `|x| < 87.3365` (below libm's
/// special-case threshold `0x42aeac50`, where its reduction's `k` stays within `[-126, 126]`
/// and its `scalbnf` is one exact multiplication). NaN and infinities are not covered.
#[cfg(all(feature = "libm", not(target_os = "none")))]
#[inline(always)]
fn reduced_covers(x: f32) -> bool {
    x.to_bits() & 0x7fff_ffff < 0x42ae_ac50
}

/// libm's `expf` (FreeBSD's `e_expf.c`) for `|x| < 87.3365` ([`reduced_covers`]; other inputs
/// give some value, without a panic), the same operations in the same order, with its branches
/// as selections:
/// - the reduction's `k`: `(x / ln 2 + ±0.5) as i32` above `1.5 ln 2`, `±1` above `0.5 ln 2`,
///   `0` below (where `x - 0 * ln2_hi` and `0 * ln2_lo` are `x` and `0`, libm's `hi` and `lo`);
/// - `scalbnf(y, k)`: `y * 2^k`, one exact multiplication for `k` in `[-126, 127]` (and
///   `y * 1` is `y`, libm's return for `k = 0`);
/// - `1 + x` for `|x| <= 2^-14`.
///
/// A test compares it with libm on every `f32` it covers, strided, and around each threshold.
#[cfg(all(feature = "libm", not(target_os = "none")))]
#[inline(always)]
fn expf_reduced(x: f32) -> f32 {
    // libm's constants, by their bits.
    const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
    const P1: f32 = f32::from_bits(0x3e2a_aa8f);
    const P2: f32 = f32::from_bits(0xbb35_5215);
    let bits = x.to_bits();
    let hx = bits & 0x7fff_ffff;
    let negative = (bits >> 31) as i32;
    // libm's `HALF[sign]`: 0.5 with the sign of `x`.
    let half = f32::from_bits(0x3f00_0000 | (bits & 0x8000_0000));
    let k = if hx > 0x3f85_1592 {
        (INV_LN2 * x + half) as i32
    } else if hx > 0x3eb1_7218 {
        1 - negative - negative
    } else {
        0
    };
    let kf = k as f32;
    let hi = x - kf * LN2_HI;
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * P2);
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // 2^k from its bits (`k` of a covered input is within [-126, 126]; the wrapping add and
    // the shift keep any other input from panicking).
    let scale = f32::from_bits((0x7f_i32.wrapping_add(k) as u32) << 23);
    if hx > 0x3900_0000 { y * scale } else { 1.0 + x }
}

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

/// The largest of `start` and `xs`, from four running maxima, then theirs: a chain of
/// comparisons a quarter as long as one running maximum's. Each takes `x` only when
/// `x > max`, as one running maximum does, so the result is the same value (a NaN in `xs` is
/// passed over; a NaN `start` stays; of equal values, a zero's sign may differ).
#[inline(always)]
pub(crate) fn max_from(start: f32, xs: &[f32]) -> f32 {
    let mut lanes = [start; 4];
    let mut quads = xs.chunks_exact(4);
    for quad in &mut quads {
        for (m, &x) in lanes.iter_mut().zip(quad) {
            if x > *m {
                *m = x;
            }
        }
    }
    let mut max = start;
    for &x in quads.remainder() {
        if x > max {
            max = x;
        }
    }
    for &x in &lanes {
        if x > max {
            max = x;
        }
    }
    max
}

#[cfg(test)]
mod tests {
    extern crate std;
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

    /// `exp_into(xs, out)` gives libm's `expf` of every entry of `xs`, bit for bit.
    #[cfg(feature = "libm")]
    fn assert_exp_into_is_expf(xs: &[f32], out: &mut [f32]) {
        super::exp_into(xs, out);
        for (&x, &e) in xs.iter().zip(out.iter()) {
            let want = libm::expf(x);
            assert_eq!(
                e.to_bits(),
                want.to_bits(),
                "exp_into({x:e}) = {e:e}, expf = {want:e}"
            );
        }
    }

    /// `exp_into` is libm's `expf`, bit for bit: on every `f32` whose bits are a multiple of
    /// `STRIDE` (a prime, so every exponent and many mantissas are met), on every `f32` within
    /// 2^16 representable steps of each threshold of the branchless form (the `k`s, the tiny
    /// inputs, the range it covers, the shortcut to zero), on each `x = (j + 1/2) ln 2` where
    /// the reduction's `k` changes, and at the ends. `exhaustive_exp_into` (ignored, slow)
    /// checks every `f32`.
    #[test]
    #[cfg(feature = "libm")]
    fn exp_into_is_expf() {
        const STRIDE: usize = if cfg!(miri) { 9_999_991 } else { 257 };
        let check = |bits: &mut dyn Iterator<Item = u32>| {
            let xs: std::vec::Vec<f32> = bits.map(f32::from_bits).collect();
            let mut out = std::vec![0.0f32; xs.len()];
            assert_exp_into_is_expf(&xs, &mut out);
        };
        check(&mut (0..=u32::MAX).step_by(STRIDE));
        let near = if cfg!(miri) { 4 } else { 1 << 16 };
        for t in [
            0x3900_0000u32,
            0x3eb1_7218,
            0x3f85_1592,
            0x42ae_ac50,
            (-104.0f32).to_bits(),
        ] {
            let t = t & 0x7fff_ffff;
            for sign in [0, 0x8000_0000] {
                check(&mut (t.saturating_sub(near)..=t + near).map(|b| b | sign));
            }
        }
        let ln2 = core::f32::consts::LN_2;
        let around = if cfg!(miri) { 1 } else { 64 };
        for j in -127..127 {
            let x = (j as f32 + 0.5) * ln2;
            let b = x.to_bits();
            check(&mut (b.saturating_sub(around)..=b.saturating_add(around)));
        }
        check(
            &mut [
                f32::NEG_INFINITY,
                f32::INFINITY,
                f32::NAN,
                f32::MIN,
                f32::MAX,
                0.0,
                -0.0,
            ]
            .into_iter()
            .map(f32::to_bits),
        );
    }

    /// [`exp_into_is_expf`] on every `f32`, in blocks over the available threads: `cargo test
    /// --release -p ualign --lib exhaustive_exp_into -- --ignored`.
    #[test]
    #[ignore = "every f32, 2^32 calls of libm's expf: run it on its own, in release"]
    #[cfg(feature = "libm")]
    fn exhaustive_exp_into() {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let per = (1u64 << 32).div_ceil(threads);
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    let mut xs = std::vec![0.0f32; 1 << 16];
                    let mut out = xs.clone();
                    let (from, to) = (t * per, ((t + 1) * per).min(1 << 32));
                    for block in (from..to).step_by(1 << 16) {
                        for (i, x) in xs.iter_mut().enumerate() {
                            *x = f32::from_bits((block + i as u64).min(u64::from(u32::MAX)) as u32);
                        }
                        assert_exp_into_is_expf(&xs, &mut out);
                    }
                });
            }
        });
    }

    #[test]
    #[cfg(not(feature = "libm"))]
    fn micromath_only_when_alone() {
        assert_eq!(super::BACKEND, "micromath");
    }
}
