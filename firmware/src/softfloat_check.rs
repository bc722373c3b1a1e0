//! The `softfloat-check` build (Cortex-M0 only): instead of serving, the image compares the
//! soft-float ABI's routines it links (the Thumb-1 fast paths of `softfloat_m0.s` with their
//! fallbacks) with `ualign-softfloat`'s functions, bit for bit, on the core itself, prints what
//! it checked over semihosting and ends the run with the verdict. `ualign-softfloat`'s own tests
//! check those functions against the host's hardware arithmetic, so this carries that check to
//! the assembly. It also checks the memory routines of `mem_m0.s` ([`crate::mem::check`]).
//! tests/tests/firmware.rs builds and runs it.
//!
//! The operands: every pair of 108 edge values (exponent fields 0, 1, 2, 126, 127, 128, 253,
//! 254 and 255 with six fractions each, both signs); a stride through the significands of the
//! subnormal binade, the lowest normal one and 1.0's against four operands; and seeded random
//! pairs aimed at cancellation, carries, overflow and underflow.

use core::hint::black_box;

use cortex_m_semihosting::hprintln;
use rand_xoshiro::{
    Xoshiro128PlusPlus,
    rand_core::{Rng, SeedableRng},
};

/// An operation as the image computes it (`f32` arithmetic, so the ABI's routine) and as
/// `ualign-softfloat` does.
type Op = (&'static str, fn(f32, f32) -> f32, fn(f32, f32) -> f32);

const OPS: [Op; 3] = [
    (
        "add",
        |a, b| black_box(a) + black_box(b),
        ualign_softfloat::add,
    ),
    (
        "sub",
        |a, b| black_box(a) - black_box(b),
        ualign_softfloat::sub,
    ),
    (
        "mul",
        |a, b| black_box(a) * black_box(b),
        ualign_softfloat::mul,
    ),
];

/// How many pairs the checks take, and the first that differed.
struct Tally {
    pairs: u32,
    failed: Option<(&'static str, u32, u32, u32, u32)>,
}

impl Tally {
    fn pair(&mut self, a: u32, b: u32) {
        for (name, linked, reference) in OPS {
            let (x, y) = (f32::from_bits(a), f32::from_bits(b));
            let (got, want) = (linked(x, y).to_bits(), reference(x, y).to_bits());
            if got != want && self.failed.is_none() {
                self.failed = Some((name, a, b, got, want));
            }
        }
        self.pairs += 1;
    }
}

/// Runs every check and ends the run: success when every result had the same bits.
pub fn run() -> ! {
    let mut t = Tally {
        pairs: 0,
        failed: None,
    };
    let mut edges = [0u32; 108];
    let mut i = 0;
    for e in [0u32, 1, 2, 126, 127, 128, 253, 254, 255] {
        for f in [0u32, 1, 2, 0x40_0000, 0x7f_fffe, 0x7f_ffff] {
            for s in [0, 0x8000_0000] {
                if let Some(slot) = edges.get_mut(i) {
                    *slot = s | (e << 23) | f;
                }
                i += 1;
            }
        }
    }
    for &a in &edges {
        for &b in &edges {
            t.pair(a, b);
        }
    }
    let mut rng = Xoshiro128PlusPlus::seed_from_u64(0x5eed);
    // The neighbours of 1.0 (the one above, and the one below negated), 3 and a seeded operand.
    let few = [0x3f80_0001, 0xbf7f_ffff, 0x4040_0000, rng.next_u32()];
    for exp in [0u32, 1, 127] {
        for frac in (0..1u32 << 23).step_by(61) {
            let a = (exp << 23) | frac;
            for &b in &few {
                t.pair(a, b);
                t.pair(b, a);
            }
        }
    }
    for i in 0..400_000u32 {
        let a = rng.next_u32();
        let r = rng.next_u32();
        let exp = ((a >> 23) & 0xff) as i32;
        let b = match i % 4 {
            // Anything.
            0 => r,
            // A nearby exponent, either sign: cancellation and carries.
            1 => with_exponent(r, exp + (r % 5) as i32 - 2),
            // Exponents summing near a product's overflow or underflow threshold.
            2 => {
                let target = if r & 1 != 0 { 254 + 127 } else { 127 - 24 };
                with_exponent(r, target - exp + ((r >> 1) % 7) as i32 - 3)
            }
            // The same operand, negated: exact cancellation.
            _ => a ^ 0x8000_0000,
        };
        t.pair(a, b);
    }
    hprintln!("softfloat-check: {} pairs, add, sub and mul each", t.pairs);
    if let Some((name, d, s, n)) = crate::mem::check() {
        hprintln!(
            "softfloat-check: {} differs from a byte loop (destination +{}, source +{}, {} bytes)",
            name,
            d,
            s,
            n
        );
        crate::board::exit(false)
    }
    hprintln!("softfloat-check: memcpy, memset and the ABI's variants agree with byte loops");
    match t.failed {
        None => crate::board::exit(true),
        Some((name, a, b, got, want)) => {
            hprintln!(
                "softfloat-check: {}({:#010x}, {:#010x}) linked {:#010x}, ualign-softfloat {:#010x}",
                name,
                a,
                b,
                got,
                want
            );
            crate::board::exit(false)
        }
    }
}

/// `r`'s sign and fraction with the exponent field `e` (clamped to 0..=255).
fn with_exponent(r: u32, e: i32) -> u32 {
    (r & 0x807f_ffff) | ((e.clamp(0, 255) as u32) << 23)
}
