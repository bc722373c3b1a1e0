//! One capability switch: `softfloat_narrow_multiply` on targets without a 32 x 32 -> 64-bit
//! multiply instruction (ARMv6-M and ARMv8-M Baseline, RISC-V without the M extension), where a
//! 64-bit product is a library call. There the significands are multiplied in 16 x 16-bit
//! partial products; elsewhere in one 64-bit product. Both give the same bits (a unit test
//! compares them); this only picks the faster.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(softfloat_narrow_multiply)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has_m = features.split(',').any(|f| f == "m");
    let narrow = target.starts_with("thumbv6m")
        || target.starts_with("thumbv8m.base")
        || (arch.starts_with("riscv") && !has_m);
    if narrow {
        println!("cargo::rustc-cfg=softfloat_narrow_multiply");
    }
}
