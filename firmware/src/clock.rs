//! A 64-bit tick counter from SysTick on the core clock (25 MHz on mps2-an386; under QEMU with
//! `-icount shift=0` one instruction takes 1 ns, so one tick is 40 instructions, which the
//! `Calibrate` request verifies).

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick: core clock, full 24-bit period, wrap interrupt on.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`start`], monotonic.
///
/// The counter may reload between reading `WRAPS` and the counter while the SysTick exception is
/// still pending (QEMU takes it at the end of a translated block): the pending bit, read on both
/// sides of the counter, tells whether the value read belongs to the next period.
pub fn now() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Acquire);
        let pending_before = SCB::is_pendst_pending();
        let value = SYST::get_current();
        let pending_after = SCB::is_pendst_pending();
        if WRAPS.load(Ordering::Acquire) != before || pending_before != pending_after {
            continue;
        }
        let wraps = before as u64 + pending_after as u64;
        return (wraps << 24) + (RELOAD - value.min(RELOAD)) as u64;
    }
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::AcqRel);
}

/// Runs exactly `2 * iterations` instructions (`cortex_m::asm::delay` is a `subs`/`bne` loop
/// of `cycles + 1` rounds) and returns the ticks taken, `now()` overhead included.
pub fn calibrate(iterations: u32) -> u64 {
    let t0 = now();
    if iterations > 0 {
        cortex_m::asm::delay(iterations - 1);
    }
    now().saturating_sub(t0)
}
