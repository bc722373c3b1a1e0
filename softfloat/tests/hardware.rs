//! Every routine against the host's hardware arithmetic (IEEE 754 binary32, round to nearest):
//! all pairs of the edge values, every significand of one operand in a normal and in the
//! subnormal binade against a spread of the other, and millions of seeded random pairs chosen to
//! hit cancellation, carries, overflow and underflow.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use ualign_softfloat::{add, mul, sub};

type Op = (&'static str, fn(f32, f32) -> f32, fn(f32, f32) -> f32);

const OPS: [Op; 3] = [
    ("add", add, |a, b| a + b),
    ("sub", sub, |a, b| a - b),
    ("mul", mul, |a, b| a * b),
];

/// Same bits, or both NaN (the NaN's payload and sign are not specified by IEEE 754).
fn check(name: &str, f: fn(f32, f32) -> f32, hw: fn(f32, f32) -> f32, a: u32, b: u32) {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    let (got, want) = (f(x, y), hw(x, y));
    assert!(
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
        "{name}({a:#010x}, {b:#010x}) = {:#010x}, hardware {:#010x}",
        got.to_bits(),
        want.to_bits()
    );
    if got.is_nan() {
        assert!(
            got.to_bits() & 0x0040_0000 != 0,
            "{name} gave a signalling NaN"
        );
    }
}

/// Zeros, subnormals, the normal range's ends, ones, infinities and NaNs, both signs.
fn edges() -> Vec<u32> {
    let positive = [
        0x0000_0000,
        0x0000_0001,
        0x0000_0002,
        0x0000_0003,
        0x0040_0000,
        0x007f_fffe,
        0x007f_ffff,
        0x0080_0000,
        0x0080_0001,
        0x00ff_ffff,
        0x0100_0000,
        0x0c80_0000,
        0x1f80_0000,
        0x2000_0001,
        0x3400_0000,
        0x3f7f_ffff,
        0x3f80_0000,
        0x3f80_0001,
        0x3fc0_0000,
        0x3fff_ffff,
        0x4000_0000,
        0x4b80_0000,
        0x5f80_0000,
        0x5fff_ffff,
        0x7eff_ffff,
        0x7f00_0000,
        0x7f7f_fffe,
        0x7f7f_ffff,
        0x7f80_0000,
        0x7f80_0001,
        0x7fc0_0000,
        0x7fff_ffff,
    ];
    positive
        .iter()
        .flat_map(|&p| [p, p | 0x8000_0000])
        .collect()
}

#[test]
fn every_pair_of_edge_values() {
    let edges = edges();
    for (name, f, hw) in OPS {
        for &a in &edges {
            for &b in &edges {
                check(name, f, hw, a, b);
            }
        }
    }
}

#[test]
fn every_significand_against_a_spread_of_operands() {
    // The neighbours of 1.0 (the one above, and the one below negated) and 3 of either sign:
    // sums that cancel or carry, products that do or do not carry into the next binade; and one
    // seeded operand.
    let mut s = Xoshiro256PlusPlus::seed_from_u64(17);
    let few = [
        0x3f80_0001,
        0xbf7f_ffff,
        0x4040_0000,
        0xc040_0000,
        s.next_u32(),
    ];
    // A sample of the significands also meets every edge value and more seeded operands.
    let mut all = edges();
    all.extend(few);
    all.extend((0..8).map(|_| s.next_u32()));
    for (name, f, hw) in OPS {
        // The subnormal binade, the lowest normal one and the one of 1.0.
        for &exp in &[0u32, 1, 127] {
            for frac in (0..1u32 << 23).step_by(if cfg!(miri) { 1 << 20 } else { 1 }) {
                let a = (exp << 23) | frac;
                let others: &[u32] = if frac % 97 == 0 { &all } else { &few };
                for &b in others {
                    check(name, f, hw, a, b);
                    check(name, f, hw, b, a);
                }
            }
        }
    }
}

#[test]
fn seeded_random_pairs() {
    let mut s = Xoshiro256PlusPlus::seed_from_u64(0x5eed);
    let count = if cfg!(miri) { 1_000 } else { 8_000_000 };
    for i in 0..count {
        let r = s.next_u64();
        let a = r as u32;
        let b = match i % 4 {
            // Anything.
            0 => (r >> 32) as u32,
            // A nearby exponent, either sign: cancellation and carries.
            1 => {
                let shift = ((r >> 32) % 5) as i32 - 2;
                let e = ((a >> 23) & 0xff) as i32 + shift;
                (((r >> 40) as u32) & 0x807f_ffff) | ((e.clamp(0, 255) as u32) << 23)
            }
            // Exponents summing near the overflow and underflow thresholds of a product.
            2 => {
                let e = ((a >> 23) & 0xff) as i32;
                let target = if (r >> 63) != 0 { 254 + 127 } else { 127 - 24 };
                let eb = (target - e + ((r >> 32) % 7) as i32 - 3).clamp(0, 255) as u32;
                (((r >> 40) as u32) & 0x807f_ffff) | (eb << 23)
            }
            // The same operand, negated: exact cancellation.
            _ => a ^ 0x8000_0000,
        };
        for (name, f, hw) in OPS {
            check(name, f, hw, a, b);
        }
    }
}
