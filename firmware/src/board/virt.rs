//! QEMU's RISC-V `virt` machine (RV32IMAC and RV32IMAFC, run with `-bios none`): the NS16550 UART
//! at 0x1000_0000, the CLINT's `mtime` (10 MHz) as the tick counter, and the SiFive test device
//! at 0x0010_0000 to end the run with a status (QEMU exits with it).
//!
//! UART registers (8-bit): RBR/THR 0, LSR 5 (bit 0 data ready, bit 5 transmit holding register
//! empty). `mtime` is 64 bits at 0x0200_BFF8, read as two halves.

use core::ptr::addr_of;

const UART0: usize = 0x1000_0000;
const RBR_THR: usize = 0;
const LSR: usize = 5;
const LSR_DATA_READY: u8 = 1 << 0;
const LSR_THR_EMPTY: u8 = 1 << 5;

const MTIME: usize = 0x0200_BFF8;
const TEST: usize = 0x0010_0000;
const TEST_PASS: u32 = 0x5555;
const TEST_FAIL: u32 = 0x3333;

/// The NS16550 UART; with the other boards' UARTs and timers, the only code in the crate that
/// touches memory-mapped I/O.
pub struct Uart {
    _private: (),
}

fn read8(addr: usize) -> u8 {
    // SAFETY: callers pass registers of the UART, which this module alone drives.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

impl Uart {
    /// Takes the UART (QEMU's model needs no set-up).
    ///
    /// # Safety
    /// Call once: nothing else may drive the UART.
    pub unsafe fn take() -> Uart {
        Uart { _private: () }
    }

    /// A received byte, if one is waiting.
    pub fn try_read(&self) -> Option<u8> {
        if read8(UART0 + LSR) & LSR_DATA_READY != 0 {
            Some(read8(UART0 + RBR_THR))
        } else {
            None
        }
    }

    /// Sends `bytes`, waiting while the transmit holding register is full.
    pub fn write_all(&self, bytes: &[u8]) {
        for &b in bytes {
            while read8(UART0 + LSR) & LSR_THR_EMPTY == 0 {}
            // SAFETY: the transmit holding register of the UART this module alone drives.
            unsafe { core::ptr::write_volatile((UART0 + RBR_THR) as *mut u8, b) };
        }
    }
}

/// `mtime` runs from reset: nothing to start.
pub fn start_clock() -> bool {
    true
}

/// Ticks of `mtime` (10 MHz) since reset, monotonic.
pub fn now() -> u64 {
    let word = |offset: usize| {
        // SAFETY: the halves of the CLINT's `mtime`, a read-only counter for this image.
        unsafe { core::ptr::read_volatile((MTIME + offset) as *const u32) }
    };
    loop {
        let high = word(4);
        let low = word(0);
        if word(4) == high {
            return ((high as u64) << 32) | low as u64;
        }
    }
}

/// Runs exactly `2 * iterations` instructions: an `addi`/`bnez` loop of `iterations` rounds.
pub fn spin(iterations: u32) {
    if iterations > 0 {
        // SAFETY: a register-only loop.
        unsafe {
            core::arch::asm!(
                "2:",
                "addi {0}, {0}, -1",
                "bnez {0}, 2b",
                inout(reg) iterations => _,
                options(nomem, nostack),
            )
        };
    }
}

unsafe extern "C" {
    static __estack: u32;
    static _stack_start: u32;
}

/// The end of the static data (riscv-rt's `__estack`, the bottom of its stack region) and the
/// top of the stack.
pub fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their values.
    (addr_of!(__estack) as usize, addr_of!(_stack_start) as usize)
}

/// The stack pointer now.
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Ends the run through the SiFive test device: QEMU exits with status 0, or 1 on failure.
pub fn exit(success: bool) -> ! {
    let code = if success {
        TEST_PASS
    } else {
        (1 << 16) | TEST_FAIL
    };
    loop {
        // SAFETY: the test device's only register; writing it ends the run.
        unsafe { core::ptr::write_volatile(TEST as *mut u32, code) };
    }
}

#[unsafe(export_name = "ExceptionHandler")]
fn exception(_frame: &riscv_rt::TrapFrame) -> ! {
    exit(false)
}

#[unsafe(export_name = "DefaultHandler")]
fn interrupt() {
    exit(false)
}
