//! QEMU's `microbit` (nRF51822, Cortex-M0): UART0 and TIMER0. The nRF51's Cortex-M0 has no
//! SysTick, so the tick counter is TIMER0 in 32-bit mode at 16 MHz (prescaler 0), read through
//! its capture task and extended to 64 bits in software (it wraps every 268 s; `now` is called
//! far more often).
//!
//! UART0 at 0x4000_2000: tasks STARTRX 0x000 and STARTTX 0x008, events RXDRDY 0x108 and TXDRDY
//! 0x11C, ENABLE 0x500 (4 = on), RXD 0x518, TXD 0x51C, BAUDRATE 0x524. TIMER0 at 0x4000_8000:
//! tasks START 0x000 and CAPTURE[0] 0x040, MODE 0x504 (0 = timer), BITMODE 0x508 (3 = 32
//! bits), PRESCALER 0x510, CC[0] 0x540.

use core::sync::atomic::{AtomicU32, Ordering};

const UART0: usize = 0x4000_2000;
const STARTRX: usize = 0x000;
const STARTTX: usize = 0x008;
const RXDRDY: usize = 0x108;
const TXDRDY: usize = 0x11C;
const ENABLE: usize = 0x500;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;
const ENABLE_ON: u32 = 4;
const BAUD_115200: u32 = 0x01D7_E000;

const TIMER0: usize = 0x4000_8000;
const START: usize = 0x000;
const CAPTURE0: usize = 0x040;
const MODE: usize = 0x504;
const BITMODE: usize = 0x508;
const PRESCALER: usize = 0x510;
const CC0: usize = 0x540;
const BITMODE_32: u32 = 3;

fn read(addr: usize) -> u32 {
    // SAFETY: callers pass registers of UART0 or TIMER0, which this module alone drives.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write(addr: usize, value: u32) {
    // SAFETY: callers pass registers of UART0 or TIMER0, which this module alone drives.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

/// UART0; with the other boards' UARTs and timers, the only code in the crate that touches
/// memory-mapped I/O.
pub struct Uart {
    _private: (),
}

impl Uart {
    /// Takes UART0 and starts receiving and transmitting at 115,200 baud.
    ///
    /// # Safety
    /// Call once: nothing else may drive UART0.
    pub unsafe fn take() -> Uart {
        write(UART0 + ENABLE, ENABLE_ON);
        write(UART0 + BAUDRATE, BAUD_115200);
        write(UART0 + RXDRDY, 0);
        write(UART0 + TXDRDY, 0);
        write(UART0 + STARTRX, 1);
        write(UART0 + STARTTX, 1);
        Uart { _private: () }
    }

    /// A received byte, if one is waiting.
    pub fn try_read(&self) -> Option<u8> {
        if read(UART0 + RXDRDY) == 0 {
            return None;
        }
        // Clear the event before taking the byte: the UART raises it again if more are waiting.
        write(UART0 + RXDRDY, 0);
        Some(read(UART0 + RXD) as u8)
    }

    /// Sends `bytes`, each once the previous one has gone.
    pub fn write_all(&self, bytes: &[u8]) {
        for &b in bytes {
            write(UART0 + TXD, b as u32);
            while read(UART0 + TXDRDY) == 0 {}
            write(UART0 + TXDRDY, 0);
        }
    }
}

/// The last 32-bit counter value read and the wraps seen so far (written by `now` only).
static LAST: AtomicU32 = AtomicU32::new(0);
static HIGH: AtomicU32 = AtomicU32::new(0);

/// Starts TIMER0 counting at 16 MHz in 32 bits.
pub fn start_clock() -> bool {
    write(TIMER0 + MODE, 0);
    write(TIMER0 + BITMODE, BITMODE_32);
    write(TIMER0 + PRESCALER, 0);
    write(TIMER0 + START, 1);
    true
}

/// Ticks (16 MHz) since [`start_clock`], monotonic while called at least every 268 s.
pub fn now() -> u64 {
    write(TIMER0 + CAPTURE0, 1);
    let value = read(TIMER0 + CC0);
    let mut high = HIGH.load(Ordering::Relaxed);
    if value < LAST.load(Ordering::Relaxed) {
        high = high.wrapping_add(1);
        HIGH.store(high, Ordering::Relaxed);
    }
    LAST.store(value, Ordering::Relaxed);
    ((high as u64) << 32) | value as u64
}
