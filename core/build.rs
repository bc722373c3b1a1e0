//! Two capability switches, each only picking how a result is computed, never what it is:
//! - `ualign_scalar` on targets whose FPU is scalar (Cortex-M, RISC-V), where the share kernels
//!   run one lane at a time instead of in SIMD lanes. Both paths are compiled on every target and
//!   give the same bits; this picks the default.
//! - `ualign_soft_float` on targets without a hardware `f32` division (Arm `eabi` targets such as
//!   the Cortex-M0 and M3, RISC-V without the F extension), where `fixed::div_rem` skips its `f32`
//!   estimate: the emulation would cost flash for no gain. The division is exact either way.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(ualign_scalar)");
    println!("cargo:rustc-check-cfg=cfg(ualign_soft_float)");
    println!("cargo:rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if matches!(arch.as_str(), "arm" | "riscv32" | "riscv64") {
        println!("cargo:rustc-cfg=ualign_scalar");
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let first = target.split('-').next().unwrap_or_default();
    let soft = match arch.as_str() {
        "arm" => !target.ends_with("eabihf"),
        // The ISA letters after `riscv32`/`riscv64` (`imac`, `imafc`, `gc`): F, D or G means a
        // hardware FPU.
        "riscv32" | "riscv64" => !first
            .get("riscv32".len()..)
            .is_some_and(|ext| ext.contains(['f', 'd', 'g'])),
        _ => false,
    };
    if soft {
        println!("cargo:rustc-cfg=ualign_soft_float");
    }
}
