//! What differs between the cores: start-up, the UART, the tick counter, the stack's bounds and
//! how a run ends. `build.rs` picks the board from the target (and the `m7` feature) and sets
//! `cfg(board)` and `cfg(ualign_core)`; everything above this module is the same on every core.
//!
//! Each board module offers the same items:
//! * `CORE`: the core's entry in `ualign_proto::capacity::CORES` (capacities, tick rate).
//! * `Uart`: `take()` once, then `try_read()` and `write_all()`.
//! * `start_clock()`, then `now()`: ticks at `CORE.tick_hz`, monotonic, 64 bits.
//! * `spin(iterations)`: runs exactly `2 * iterations` instructions (for `Calibrate`).
//! * `stack_bounds()` and `stack_pointer()`: for the stack's high-water mark.
//! * `exit(success)`: ends the run (under QEMU, with that status).

#[cfg(target_arch = "arm")]
mod cortex_m;
#[cfg(board = "mps2")]
mod mps2;
#[cfg(board = "nrf51")]
mod nrf51;
#[cfg(board = "virt")]
mod virt;

#[cfg(target_arch = "arm")]
pub use cortex_m::{exit, spin, stack_bounds, stack_pointer};
#[cfg(board = "mps2")]
pub use mps2::{Uart, now, start_clock};
#[cfg(board = "nrf51")]
pub use nrf51::{Uart, now, start_clock};
#[cfg(board = "virt")]
pub use virt::{Uart, exit, now, spin, stack_bounds, stack_pointer, start_clock};

#[cfg(target_arch = "arm")]
pub use ::cortex_m::singleton;
#[cfg(target_arch = "riscv32")]
pub use ::riscv::singleton;

use ualign_proto::capacity::{self, Core};

/// The core this image is built for.
#[cfg(ualign_core = "m0")]
pub const CORE: Core = capacity::M0;
/// The core this image is built for.
#[cfg(ualign_core = "m3")]
pub const CORE: Core = capacity::M3;
/// The core this image is built for.
#[cfg(ualign_core = "m4f")]
pub const CORE: Core = capacity::M4F;
/// The core this image is built for.
#[cfg(ualign_core = "m7")]
pub const CORE: Core = capacity::M7;
/// The core this image is built for.
#[cfg(ualign_core = "m33")]
pub const CORE: Core = capacity::M33;
/// The core this image is built for.
#[cfg(ualign_core = "rv32imac")]
pub const CORE: Core = capacity::RV32IMAC;
/// The core this image is built for.
#[cfg(ualign_core = "rv32imafc")]
pub const CORE: Core = capacity::RV32IMAFC;

/// Candidates a request may have on this core.
pub const N: usize = CORE.capacity.n;
/// User types a request may have on this core.
pub const M: usize = CORE.capacity.m;
/// The largest `k` on this core.
pub const K: usize = CORE.capacity.k;
