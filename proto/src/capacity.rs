//! The firmware's cores and their capacities, defined once: the firmware sizes its static buffers
//! with them, the host refuses larger instances before it starts QEMU (and starts QEMU with the
//! core's command line), and the tests and scripts fill them exactly. A request over a capacity
//! gets [`crate::ErrorCode::Capacity`] with `detail` 0 (candidates), 1 (user types) or 2 (`k`),
//! `a` the value asked for and `b` the capacity.
//!
//! [`N`], [`M`] and [`K`] are the full profile ([`FULL`]), which every core but the Cortex-M0
//! has; the Cortex-M0 (16 KiB of RAM) has the small profile ([`SMALL`]).

/// Candidates a request may have (`n`) on a core with the full profile.
pub const N: usize = FULL.n;
/// User types a request may have (`m`) on a core with the full profile.
pub const M: usize = FULL.m;
/// The largest `k`, the number of responses shown, on a core with the full profile.
pub const K: usize = FULL.k;

/// The largest request a firmware image serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Candidates (`n`).
    pub n: usize,
    /// User types (`m`).
    pub m: usize,
    /// The largest `k`.
    pub k: usize,
}

/// The full profile: 32 candidates, 64 user types, `k <= 16`.
pub const FULL: Capacity = Capacity {
    n: 32,
    m: 64,
    k: 16,
};
/// The small profile (16 KiB of RAM, 32 KiB of flash): 16 candidates, 16 user types, `k <= 8`.
pub const SMALL: Capacity = Capacity { n: 16, m: 16, k: 8 };

/// One core the firmware runs on under QEMU: how to build its image and how to start it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Core {
    /// The name the host's `device --core` and the tests use.
    pub name: &'static str,
    /// The processor, for people (the board is [`Core::machine`]).
    pub cpu_name: &'static str,
    /// The Rust target the image is built for.
    pub target: &'static str,
    /// The LLVM CPU the image is tuned for (`-C target-cpu`), if not the target's default.
    pub target_cpu: Option<&'static str>,
    /// LLVM's inlining threshold for the image (`-C llvm-args=-inline-threshold=N`), where it
    /// is set below the default of `opt-level = "s"` to fit a small flash.
    pub inline_threshold: Option<u32>,
    /// Cargo features of the firmware crate that select this core's board (empty: the target
    /// alone selects it).
    pub features: &'static str,
    /// The capacity of its image.
    pub capacity: Capacity,
    /// Flash the linker allows the image (bytes).
    pub flash: u32,
    /// RAM the linker allows the image, stack included (bytes).
    pub ram: u32,
    /// The frequency of the tick counter the firmware reports times in (Hz). Under QEMU with
    /// `-icount shift=0` one instruction takes 1 ns, so a tick is `1e9 / tick_hz` instructions.
    pub tick_hz: u32,
    /// The QEMU program.
    pub qemu: &'static str,
    /// QEMU's machine (`-M`).
    pub machine: &'static str,
    /// QEMU's CPU (`-cpu`), if the machine's default is not meant.
    pub cpu: Option<&'static str>,
}

impl Core {
    /// Instructions per tick under QEMU's `-icount shift=0`, as a fraction (numerator,
    /// denominator) of whole numbers.
    pub const fn instructions_per_tick(&self) -> (u64, u64) {
        (1_000_000_000, self.tick_hz as u64)
    }
}

const KIB: u32 = 1024;

/// Cortex-M0 on QEMU's `microbit` (nRF51, 16 KiB of RAM): no FPU, the small profile.
pub const M0: Core = Core {
    name: "m0",
    cpu_name: "Cortex-M0",
    target: "thumbv6m-none-eabi",
    target_cpu: Some("cortex-m0"),
    // About 1.2 KB less flash than the default 75, for 0.5% more instructions per rerank.
    inline_threshold: Some(10),
    features: "",
    capacity: SMALL,
    flash: 32 * KIB,
    ram: 16 * KIB,
    tick_hz: 16_000_000,
    qemu: "qemu-system-arm",
    machine: "microbit",
    cpu: None,
};
/// Cortex-M3 on QEMU's `mps2-an385`: no FPU.
pub const M3: Core = Core {
    name: "m3",
    cpu_name: "Cortex-M3",
    target: "thumbv7m-none-eabi",
    target_cpu: Some("cortex-m3"),
    inline_threshold: None,
    features: "",
    capacity: FULL,
    flash: 64 * KIB,
    ram: 64 * KIB,
    tick_hz: 25_000_000,
    qemu: "qemu-system-arm",
    machine: "mps2-an385",
    cpu: Some("cortex-m3"),
};
/// Cortex-M4F on QEMU's `mps2-an386`: single-precision FPU.
pub const M4F: Core = Core {
    name: "m4f",
    cpu_name: "Cortex-M4F",
    target: "thumbv7em-none-eabihf",
    target_cpu: Some("cortex-m4"),
    inline_threshold: None,
    features: "",
    capacity: FULL,
    flash: 64 * KIB,
    ram: 64 * KIB,
    tick_hz: 25_000_000,
    qemu: "qemu-system-arm",
    machine: "mps2-an386",
    cpu: Some("cortex-m4"),
};
/// Cortex-M7 on QEMU's `mps2-an500`: double-precision FPU, the image tuned for the M7.
pub const M7: Core = Core {
    name: "m7",
    cpu_name: "Cortex-M7",
    target: "thumbv7em-none-eabihf",
    target_cpu: Some("cortex-m7"),
    inline_threshold: None,
    features: "m7",
    capacity: FULL,
    flash: 64 * KIB,
    ram: 64 * KIB,
    tick_hz: 25_000_000,
    qemu: "qemu-system-arm",
    machine: "mps2-an500",
    cpu: Some("cortex-m7"),
};
/// Cortex-M33 on QEMU's `mps2-an505` (secure state): single-precision FPU.
pub const M33: Core = Core {
    name: "m33",
    cpu_name: "Cortex-M33",
    target: "thumbv8m.main-none-eabihf",
    target_cpu: Some("cortex-m33"),
    inline_threshold: None,
    features: "",
    capacity: FULL,
    flash: 64 * KIB,
    ram: 64 * KIB,
    tick_hz: 20_000_000,
    qemu: "qemu-system-arm",
    machine: "mps2-an505",
    cpu: Some("cortex-m33"),
};
/// RV32IMAC on QEMU's RISC-V `virt`: no FPU.
pub const RV32IMAC: Core = Core {
    name: "rv32imac",
    cpu_name: "RV32IMAC",
    target: "riscv32imac-unknown-none-elf",
    target_cpu: None,
    inline_threshold: None,
    features: "",
    capacity: FULL,
    flash: 128 * KIB,
    ram: 64 * KIB,
    tick_hz: 10_000_000,
    qemu: "qemu-system-riscv32",
    machine: "virt",
    cpu: None,
};
/// RV32IMAFC on QEMU's RISC-V `virt`: single-precision FPU.
pub const RV32IMAFC: Core = Core {
    name: "rv32imafc",
    cpu_name: "RV32IMAFC",
    target: "riscv32imafc-unknown-none-elf",
    target_cpu: None,
    inline_threshold: None,
    features: "",
    capacity: FULL,
    flash: 128 * KIB,
    ram: 64 * KIB,
    tick_hz: 10_000_000,
    qemu: "qemu-system-riscv32",
    machine: "virt",
    cpu: None,
};

/// Every core, the default ([`M4F`]) included.
pub const CORES: [Core; 7] = [M0, M3, M4F, M7, M33, RV32IMAC, RV32IMAFC];

/// The core `device --core` uses unless told otherwise.
pub const DEFAULT_CORE: Core = M4F;

/// The core called `name`, if there is one.
pub fn core(name: &str) -> Option<&'static Core> {
    CORES.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for c in &CORES {
            assert_eq!(core(c.name), Some(c));
        }
        assert_eq!(core("m5"), None);
        assert_eq!(DEFAULT_CORE.name, "m4f");
        assert_eq!((N, M, K), (32, 64, 16));
    }

    #[test]
    fn the_small_profile_fits_the_m0() {
        assert_eq!(SMALL, Capacity { n: 16, m: 16, k: 8 });
        assert_eq!(M0.ram, 16 * 1024);
    }
}
