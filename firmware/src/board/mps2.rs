//! The MPS2 boards (mps2-an385 Cortex-M3, mps2-an386 Cortex-M4F, mps2-an500 Cortex-M7,
//! mps2-an505 Cortex-M33): UART0, a CMSDK APB UART, and SysTick on the core clock (25 MHz, the
//! AN505's 20 MHz).
//!
//! UART registers (32-bit): DATA 0x00, STATE 0x04 (bit 0 TX full, bit 1 RX full), CTRL 0x08 (bit 0
//! TX enable, bit 1 RX enable), INTSTATUS 0x0C, BAUDDIV 0x10 (at least 16, else QEMU's model
//! refuses to receive). UART0 is at 0x4000_4000 on the AN385/AN386/AN500; the AN505 runs in the
//! secure state and reaches its UART0 (0x4020_0000) through the secure alias 0x5020_0000.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;

#[cfg(not(ualign_core = "m33"))]
const UART0: usize = 0x4000_4000;
#[cfg(ualign_core = "m33")]
const UART0: usize = 0x5020_0000;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// UART0; with the other boards' UARTs and timers, the only code in the crate that touches
/// memory-mapped I/O.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Takes UART0 and enables transmit and receive at the core clock / 16.
    ///
    /// # Safety
    /// Call once: nothing else may drive UART0.
    pub unsafe fn take() -> Uart {
        let u = Uart { base: UART0 };
        u.write(BAUDDIV, 16);
        u.write(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        u
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `base + offset` is a register of this board's UART0.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: `base + offset` is a register of this board's UART0.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// A received byte, if one is waiting.
    pub fn try_read(&self) -> Option<u8> {
        if self.read(STATE) & STATE_RX_FULL != 0 {
            Some(self.read(DATA) as u8)
        } else {
            None
        }
    }

    /// Sends `bytes`, waiting while the transmit buffer is full.
    pub fn write_all(&self, bytes: &[u8]) {
        for &b in bytes {
            while self.read(STATE) & STATE_TX_FULL != 0 {}
            self.write(DATA, b as u32);
        }
    }
}

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick: core clock, full 24-bit period, wrap interrupt on. Returns false if the core
/// peripherals were taken already.
pub fn start_clock() -> bool {
    let Some(cp) = cortex_m::Peripherals::take() else {
        return false;
    };
    let mut syst = cp.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    true
}

/// Ticks since [`start_clock`], monotonic.
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
