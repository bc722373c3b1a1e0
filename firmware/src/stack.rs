//! The stack's high-water mark. At boot every free word between the end of the static data and a
//! little below the current stack pointer is painted with a pattern; the lowest word no longer
//! holding it shows how deep the stack has ever gone. The bounds come from the board's linker
//! script (`board::stack_bounds`).

use core::ptr::{read_volatile, write_volatile};

use crate::board;

const PAINT: u32 = 0x5AC3_A53C;
/// Bytes below the stack pointer left alone while painting (the painter's own frame).
const MARGIN: usize = 256;

fn bounds() -> (usize, usize) {
    let (bottom, top) = board::stack_bounds();
    ((bottom + 3) & !3, top & !3)
}

/// Paints the free stack. Call once, early, from `main`.
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = board::stack_pointer();
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
