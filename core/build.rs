//! One capability switch for the kernels: `ualign_scalar` on targets whose FPU is scalar
//! (Cortex-M, RISC-V), where the share kernels run one lane at a time instead of in SIMD lanes.
//! Both paths are compiled on every target and give the same bits; this only picks the default.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(ualign_scalar)");
    println!("cargo:rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if matches!(arch.as_str(), "arm" | "riscv32" | "riscv64") {
        println!("cargo:rustc-cfg=ualign_scalar");
    }
}
