//! On the cores without an FPU (Cortex-M0, Cortex-M3, RV32IMAC): the soft-float ABI's `f32`
//! addition, subtraction and multiplication, from `ualign-softfloat` instead of compiler-builtins.
//!
//! compiler-builtins' generic routines work on 64-bit integers, which the Cortex-M0 multiplies in
//! a library call of its own, and take a general path more often than these. `ualign-softfloat`
//! returns the same correctly rounded results (its tests check them against hardware
//! arithmetic), so replies stay bit-identical to the host's. The linker takes these definitions
//! before it looks into compiler-builtins' archive.
//!
//! The names are the ABI's: `__aeabi_*` on Arm, libgcc's `__addsf3`, `__subsf3` and `__mulsf3`
//! on RISC-V. On the Cortex-M0, `__aeabi_fadd`, `__aeabi_fsub` and `__aeabi_fmul` are
//! `softfloat_m0.s`: ualign-softfloat's fast paths written in Thumb-1, which fall back to the
//! complete routines below for every other case. The `softfloat-check` build compares the two on
//! the core ([`crate::softfloat_check`]).

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
#[cfg(ualign_core = "m3")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fadd(a: f32, b: f32) -> f32 {
    ualign_softfloat::add(a, b)
}

/// `a - b`.
#[cfg(ualign_core = "m3")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fsub(a: f32, b: f32) -> f32 {
    ualign_softfloat::sub(a, b)
}

/// `b - a` (the ABI's reverse subtraction).
#[cfg(target_arch = "arm")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_frsub(a: f32, b: f32) -> f32 {
    ualign_softfloat::sub(b, a)
}

/// `a * b`.
#[cfg(ualign_core = "m3")]
#[unsafe(no_mangle)]
pub extern "aapcs" fn __aeabi_fmul(a: f32, b: f32) -> f32 {
    ualign_softfloat::mul(a, b)
}

/// `a + b`.
#[cfg(target_arch = "riscv32")]
#[unsafe(no_mangle)]
pub extern "C" fn __addsf3(a: f32, b: f32) -> f32 {
    ualign_softfloat::add(a, b)
}

/// `a - b`.
#[cfg(target_arch = "riscv32")]
#[unsafe(no_mangle)]
pub extern "C" fn __subsf3(a: f32, b: f32) -> f32 {
    ualign_softfloat::sub(a, b)
}

/// `a * b`.
#[cfg(target_arch = "riscv32")]
#[unsafe(no_mangle)]
pub extern "C" fn __mulsf3(a: f32, b: f32) -> f32 {
    ualign_softfloat::mul(a, b)
}
