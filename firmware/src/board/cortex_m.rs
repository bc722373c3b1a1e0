//! What every Cortex-M board shares: the end of a run through semihosting, the fault handlers,
//! the calibration loop and the stack's bounds from cortex-m-rt's linker script.

use core::ptr::addr_of;
use cortex_m_rt::{ExceptionFrame, exception};

/// Ends the run: under QEMU through semihosting with the given status; on a board, a reset.
pub fn exit(success: bool) -> ! {
    #[cfg(not(feature = "board"))]
    {
        use cortex_m_semihosting::debug;
        debug::exit(if success {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
    }
    let _ = success;
    cortex_m::peripheral::SCB::sys_reset()
}

/// Runs exactly `2 * iterations` instructions: `cortex_m::asm::delay` is a `subs`/`bne` loop of
/// `cycles + 1` rounds.
pub fn spin(iterations: u32) {
    if iterations > 0 {
        cortex_m::asm::delay(iterations - 1);
    }
}

unsafe extern "C" {
    static _stack_end: u32;
    static _stack_start: u32;
}

/// The end of the static data (cortex-m-rt's `_stack_end`) and the top of the stack.
pub fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their values.
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// The stack pointer now.
pub fn stack_pointer() -> usize {
    cortex_m::register::msp::read() as usize
}

#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    crate::log::error!("hard fault");
    exit(false)
}

#[exception]
unsafe fn DefaultHandler(_irq: i16) {
    crate::log::error!("unexpected exception {=i16}", _irq);
    exit(false)
}
