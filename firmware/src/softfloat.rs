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

/// Defines each `$name` as an `extern $abi` routine of two `f32`s that returns `$f(a, b)`.
macro_rules! routines {
    ($abi:literal: $($name:ident => $f:expr),* $(,)?) => {
        $(
            #[unsafe(no_mangle)]
            pub extern $abi fn $name(a: f32, b: f32) -> f32 {
                let f: fn(f32, f32) -> f32 = $f;
                f(a, b)
            }
        )*
    };
}

// What the Cortex-M0's assembly falls back to: the complete routines.
#[cfg(ualign_core = "m0")]
routines!("aapcs":
    ualign_fadd_slow => ualign_softfloat::add,
    ualign_fmul_slow => ualign_softfloat::mul,
);

#[cfg(ualign_core = "m3")]
routines!("aapcs":
    __aeabi_fadd => ualign_softfloat::add,
    __aeabi_fsub => ualign_softfloat::sub,
    __aeabi_fmul => ualign_softfloat::mul,
);

// The ABI's reverse subtraction, `b - a`.
#[cfg(target_arch = "arm")]
routines!("aapcs": __aeabi_frsub => |a, b| ualign_softfloat::sub(b, a));

#[cfg(target_arch = "riscv32")]
routines!("C":
    __addsf3 => ualign_softfloat::add,
    __subsf3 => ualign_softfloat::sub,
    __mulsf3 => ualign_softfloat::mul,
);
