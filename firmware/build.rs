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
//!
//! The layout's `FLASH` and `RAM` lengths must be the core's budgets in
//! `ualign_proto::capacity` (which the host and the tests read): the build stops when they
//! differ, so the linker enforces the budgets the table states.
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
    let layout = fs::read_to_string(memory).expect("the memory layout is readable");
    let entry = ualign_proto::capacity::core(core).expect("every core is in the capacity table");
    for (region, budget) in [("FLASH", entry.flash), ("RAM", entry.ram)] {
        let length = region_length(&layout, region);
        if length != Some(budget) {
            panic!(
                "{memory}: {region} has length {length:?}, but ualign_proto::capacity gives \
                 the {core} {budget} bytes"
            );
        }
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::write(out.join("memory.x"), layout).expect("OUT_DIR is writable");
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

/// The `LENGTH` of `region` in a linker script's `MEMORY` block (`LENGTH = 64K` or a plain
/// number of bytes), if it has one.
fn region_length(layout: &str, region: &str) -> Option<u32> {
    let line = layout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(region))?;
    let value = line
        .split("LENGTH")
        .nth(1)?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    let value = value.trim_end_matches(',');
    match value.strip_suffix('K') {
        Some(kib) => kib.parse::<u32>().ok()?.checked_mul(1024),
        None => value.parse().ok(),
    }
}
