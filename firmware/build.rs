//! Picks the board from the target (and the `m7` feature), puts its memory layout where the
//! linker finds it, and tells the crate which board and core it is built for:
//!
//! | target | board (`cfg(board)`) | core (`cfg(ualign_core)`) | memory layout |
//! |---|---|---|---|
//! | `thumbv6m-none-eabi` | `nrf51` | `m0` | `memory/microbit.x` |
//! | `thumbv7m-none-eabi` | `mps2` | `m3` | `memory/mps2.x` |
//! | `thumbv7em-none-eabihf` | `mps2` | `m4f`, or `m7` with the feature `m7` | `memory/mps2.x` |
//! | `thumbv8m.main-none-eabihf` | `mps2` | `m33` | `memory/mps2-an505.x` |
//! | `riscv32imac-unknown-none-elf` | `virt` | `rv32imac` | `memory/virt.x` |
//! | `riscv32imafc-unknown-none-elf` | `virt` | `rv32imafc` | `memory/virt.x` |
//!
//! `cfg(soft_float)` is set on the cores without an FPU (`m0`, `m3`, `rv32imac`): the firmware
//! then exports `ualign-softfloat`'s `f32` routines under the ABI's names.
//!
//! `cfg(defmt_log)` is set where the firmware logs with defmt: Arm boards with room for it (not
//! the Cortex-M0, whose flash the log would crowd).
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let m7 = env::var_os("CARGO_FEATURE_M7").is_some();
    let (board, core, memory) = match target.as_str() {
        "thumbv6m-none-eabi" => ("nrf51", "m0", "memory/microbit.x"),
        "thumbv7m-none-eabi" => ("mps2", "m3", "memory/mps2.x"),
        "thumbv7em-none-eabihf" if m7 => ("mps2", "m7", "memory/mps2.x"),
        "thumbv7em-none-eabihf" => ("mps2", "m4f", "memory/mps2.x"),
        "thumbv8m.main-none-eabihf" => ("mps2", "m33", "memory/mps2-an505.x"),
        "riscv32imac-unknown-none-elf" => ("virt", "rv32imac", "memory/virt.x"),
        "riscv32imafc-unknown-none-elf" => ("virt", "rv32imafc", "memory/virt.x"),
        other => panic!("ualign-firmware has no board for the target {other:?}"),
    };
    if m7 && core != "m7" {
        panic!("the feature m7 is for thumbv7em-none-eabihf");
    }
    println!("cargo::rustc-check-cfg=cfg(board, values(\"mps2\", \"nrf51\", \"virt\"))");
    println!(
        "cargo::rustc-check-cfg=cfg(ualign_core, values(\"m0\", \"m3\", \"m4f\", \"m7\", \"m33\", \"rv32imac\", \"rv32imafc\"))"
    );
    println!("cargo::rustc-check-cfg=cfg(defmt_log)");
    println!("cargo::rustc-check-cfg=cfg(soft_float)");
    println!("cargo::rustc-cfg=board=\"{board}\"");
    println!("cargo::rustc-cfg=ualign_core=\"{core}\"");
    if board == "mps2" {
        println!("cargo::rustc-cfg=defmt_log");
    }
    if matches!(core, "m0" | "m3" | "rv32imac") {
        println!("cargo::rustc-cfg=soft_float");
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::copy(memory, out.join("memory.x")).expect("the memory layout is readable");
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rustc-link-arg-bins=-Tlink.x");
    if board != "virt" {
        println!("cargo::rustc-link-arg-bins=--nmagic");
    }
    if board == "mps2" {
        println!("cargo::rustc-link-arg-bins=-Tdefmt.x");
    }
    println!("cargo::rerun-if-changed=memory");
    println!("cargo::rerun-if-changed=build.rs");
}
