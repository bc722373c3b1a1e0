//! Single-precision IEEE 754 arithmetic in 32-bit integer operations.
//!
//! A core without an FPU does every `f32` addition and multiplication in a library routine. The
//! generic routines of compiler-builtins work on 64-bit integers. A Cortex-M0 (ARMv6-M) has no
//! 32 x 32 -> 64-bit multiply and no count-leading-zeros instruction, so there each `f32`
//! multiplication costs about 120 instructions and each addition about 90. The functions here
//! compute the same correctly rounded results without a 64 x 64-bit multiply or a 64-bit shift:
//! the product of two 24-bit significands in one 32 x 32 -> 64-bit product, or from 16 x 16-bit
//! partial products on a core without that multiply (the build script's
//! `softfloat_narrow_multiply`: ARMv6-M, ARMv8-M Baseline, RISC-V without M), the sum with guard
//! bits below the significand (the last one sticky), and one rounding.
//!
//! Every function takes and returns `f32` and uses no float operation itself (no recursion into
//! the routine it replaces). Results are those of IEEE 754 binary32 with round-to-nearest-even,
//! subnormals included; a NaN operand gives a quiet NaN.
//!
//! ```
//! use ualign_softfloat::{add, mul, sub};
//! assert_eq!(add(0.1, 0.2), 0.1f32 + 0.2f32);
//! assert_eq!(sub(1.0, 1e-8), 1.0f32 - 1e-8f32);
//! assert_eq!(mul(3.0, 1.0 / 3.0), 3.0f32 * (1.0f32 / 3.0));
//! ```
//!
//! The firmware (firmware/src/softfloat.rs) exports them under the ABI's names on the cores
//! without an FPU (Cortex-M0, M3 and RV32IMAC). On the Cortex-M0 their fast paths are also
//! written in Thumb-1 assembly (firmware/src/softfloat_m0.s), which falls back to these
//! functions and is checked against them on the core.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod add;
mod bits;
mod mul;

pub use add::{add, sub};
pub use mul::mul;
