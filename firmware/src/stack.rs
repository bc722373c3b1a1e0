//! The stack's high-water mark. At boot every free word between the end of the static data
//! (`_stack_end`, from cortex-m-rt's linker script) and a little below the current stack pointer
//! is painted with a pattern; the lowest word no longer holding it shows how deep the stack has
//! ever gone.

use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0x5AC3_A53C;
/// Bytes below the stack pointer left alone while painting (the painter's own frame).
const MARGIN: usize = 256;

unsafe extern "C" {
    static _stack_end: u32;
    static _stack_start: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their values.
    let (bottom, top) = (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    );
    ((bottom + 3) & !3, top & !3)
}

/// Paints the free stack. Call once, early, from `main`.
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let end = sp.saturating_sub(MARGIN) & !3;
    let mut p = bottom;
    while p < end {
        // SAFETY: `p` is word-aligned, between the end of the static data and below the live
        // stack (minus a margin): RAM that nothing else uses.
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// `(peak, size)`: bytes of stack used at most since [`paint`], and the room between the static
/// data and the stack's top.
pub fn usage() -> (u32, u32) {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: reads aligned words of RAM between the static data and the stack's top.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    ((top - p) as u32, (top - bottom) as u32)
}
