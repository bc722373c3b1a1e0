//! On the Arm cores without an FPU (Cortex-M0, Cortex-M3): the soft-float ABI's `f32` addition,
//! subtraction and multiplication, from `ualign-softfloat` instead of compiler-builtins.
//!
//! compiler-builtins' generic routines work on 64-bit integers, which the Cortex-M0 multiplies in
//! a library call of its own. `ualign-softfloat` uses 32-bit operations only and returns the same
//! correctly rounded results (its tests check them against hardware arithmetic), so replies stay
//! bit-identical to the host's. The linker takes these definitions before it looks into
//! compiler-builtins' archive. On RV32IMAC, whose multiply has a high half, compiler-builtins'
//! routines are the faster ones and stay.
//!
//! On the Cortex-M0, `__aeabi_fadd`, `__aeabi_fsub` and `__aeabi_fmul` are `softfloat_m0.s`:
//! ualign-softfloat's fast paths written in Thumb-1, which fall back to the complete routines
//! below for every other case. The `softfloat-check` build compares the two on the core
//! ([`crate::softfloat_check`]).

#[cfg(ualign_core = "m0")]
core::arch::global_asm!(include_str!("softfloat_m0.s"), options(raw));

/// `a + b`, every case: what the Cortex-M0's assembly falls back to.
#[cfg(ualign_core = "m0")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn ualign_fadd_slow(a: f32, b: f32) -> f32 {
    ualign_softfloat::add(a, b)
}

/// `a * b`, every case: what the Cortex-M0's assembly falls back to.
#[cfg(ualign_core = "m0")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn ualign_fmul_slow(a: f32, b: f32) -> f32 {
    ualign_softfloat::mul(a, b)
}

/// `a + b`.
#[cfg(not(ualign_core = "m0"))]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fadd(a: f32, b: f32) -> f32 {
    ualign_softfloat::add(a, b)
}

/// `a - b`.
#[cfg(not(ualign_core = "m0"))]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fsub(a: f32, b: f32) -> f32 {
    ualign_softfloat::sub(a, b)
}

/// `b - a` (the ABI's reverse subtraction).
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_frsub(a: f32, b: f32) -> f32 {
    ualign_softfloat::sub(b, a)
}

/// `a * b`.
#[cfg(not(ualign_core = "m0"))]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fmul(a: f32, b: f32) -> f32 {
    ualign_softfloat::mul(a, b)
}
