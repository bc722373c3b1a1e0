//! The cores the firmware runs on (`ualign_proto::capacity::CORES`), as commands: the cargo
//! command that builds a core's image, where the image lands, and the QEMU command line that
//! boots it. `ualign cores` prints them; [`crate::device`] runs them. Platform-independent (the
//! QEMU link itself needs Unix sockets).

use std::path::{Path, PathBuf};

use ualign_proto::capacity::{CORES, Core};

/// The QEMU command line that boots `elf` on `core` with its UART on the Unix socket `serial`
/// (program, then arguments): the core's machine and CPU, no display, no monitor, semihosting on
/// Arm (the firmware's log and its exit status), `-bios none` on RISC-V (the image starts in
/// machine mode and ends the run through the `virt` machine's test device), and with `icount`
/// one instruction per virtual nanosecond.
pub fn qemu_command(core: &Core, elf: &Path, serial: &str, icount: bool) -> (String, Vec<String>) {
    let mut args: Vec<String> = vec!["-M".into(), core.machine.into()];
    if let Some(cpu) = core.cpu {
        args.extend(["-cpu".into(), cpu.into()]);
    }
    args.extend(["-nographic".into(), "-monitor".into(), "none".into()]);
    if core.qemu == "qemu-system-riscv32" {
        args.extend(["-bios".into(), "none".into()]);
    } else {
        args.extend([
            "-semihosting-config".into(),
            "enable=on,target=native".into(),
        ]);
    }
    args.extend(["-serial".into(), serial.into()]);
    if icount {
        args.extend(["-icount".into(), "shift=0,align=off,sleep=off".into()]);
    }
    args.extend(["-kernel".into(), elf.display().to_string()]);
    (core.qemu.into(), args)
}

/// The target folder `core`'s image is built in, under `firmware_dir`: `target/`, shared by every
/// core (each target triple has its own folder there), except a core tuned for a CPU other than
/// the first core of its triple (the Cortex-M7 shares the Cortex-M4F's triple): `target/<name>/`,
/// so the two never rebuild each other's dependencies.
pub fn target_dir(firmware_dir: &Path, core: &Core) -> PathBuf {
    let first = ualign_proto::capacity::CORES
        .iter()
        .find(|c| c.target == core.target)
        .map_or(core.name, |c| c.name);
    if first == core.name {
        firmware_dir.join("target")
    } else {
        firmware_dir.join("target").join(core.name)
    }
}

/// Where `device::build_firmware` puts `core`'s image.
pub fn elf_path(firmware_dir: &Path, core: &Core) -> PathBuf {
    target_dir(firmware_dir, core)
        .join(core.target)
        .join("release/ualign-firmware")
}

/// The cargo arguments and `RUSTFLAGS` that build `core`'s image in the firmware folder (release,
/// the core's target, its features, `-C target-cpu` and LLVM's inlining threshold when the
/// table names them).
pub fn build_command(core: &Core) -> (Vec<String>, String) {
    let mut args: Vec<String> = vec![
        "build".into(),
        "--release".into(),
        "--target".into(),
        core.target.into(),
    ];
    if !core.features.is_empty() {
        args.extend(["--features".into(), core.features.into()]);
    }
    let mut flags: Vec<String> = Vec::new();
    if let Some(cpu) = core.target_cpu {
        flags.push(format!("-C target-cpu={cpu}"));
    }
    if let Some(t) = core.inline_threshold {
        flags.push(format!("-C llvm-args=-inline-threshold={t}"));
    }
    (args, flags.join(" "))
}

/// `ualign cores`: one tab-separated line per core (see the command's help), after a header
/// line starting with `#`.
pub fn table() -> String {
    let mut out = String::from(
        "# name\tprocessor\ttarget\ttarget_cpu\tfeatures\tn\tm\tk\tflash\tram\ttick_hz\tbuild\tqemu\n",
    );
    for c in &CORES {
        let (args, rustflags) = build_command(c);
        let mut build = String::new();
        let dir = target_dir(Path::new(""), c);
        if dir != Path::new("target") {
            build.push_str(&format!("CARGO_TARGET_DIR={} ", dir.display()));
        }
        if !rustflags.is_empty() {
            build.push_str(&format!("RUSTFLAGS='{rustflags}' "));
        }
        build.push_str(&format!("cargo {}", args.join(" ")));
        let (qemu, qargs) = qemu_command(c, Path::new("ELF"), "unix:SOCKET", false);
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{build}\t{qemu} {}\n",
            c.name,
            c.cpu_name,
            c.target,
            c.target_cpu.unwrap_or("-"),
            if c.features.is_empty() {
                "-"
            } else {
                c.features
            },
            c.capacity.n,
            c.capacity.m,
            c.capacity.k,
            c.flash,
            c.ram,
            c.tick_hz,
            qargs.join(" "),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ualign_proto::capacity::{M4F, M7};

    #[test]
    fn the_m4f_runs_as_it_always_has() {
        let (qemu, args) = qemu_command(&M4F, Path::new("fw.elf"), "unix:s", true);
        assert_eq!(qemu, "qemu-system-arm");
        assert_eq!(
            args.join(" "),
            "-M mps2-an386 -cpu cortex-m4 -nographic -monitor none -semihosting-config \
             enable=on,target=native -serial unix:s -icount shift=0,align=off,sleep=off -kernel fw.elf"
        );
        let dir = Path::new("fw");
        assert_eq!(
            elf_path(dir, &M4F),
            Path::new("fw/target/thumbv7em-none-eabihf/release/ualign-firmware")
        );
        assert_eq!(
            elf_path(dir, &M7),
            Path::new("fw/target/m7/thumbv7em-none-eabihf/release/ualign-firmware")
        );
    }

    #[test]
    fn the_table_has_a_line_per_core() {
        let t = table();
        assert_eq!(t.lines().count(), CORES.len() + 1);
        assert!(t.lines().all(|l| l.split('\t').count() == 13));
    }
}
