//! A polled driver for the CMSDK APB UART (UART0 of mps2-an386 at 0x4000_4000).
//!
//! Registers (32-bit): DATA 0x00, STATE 0x04 (bit 0 TX full, bit 1 RX full), CTRL 0x08 (bit 0 TX
//! enable, bit 1 RX enable), INTSTATUS 0x0C, BAUDDIV 0x10 (at least 16, else QEMU's model
//! refuses to receive).

/// UART0 of mps2-an385/an386.
pub const UART0: usize = 0x4000_4000;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// The UART at one base address; the only code in the crate that touches memory-mapped I/O.
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Takes the UART at `base` and enables transmit and receive at 25 MHz / `bauddiv`.
    ///
    /// # Safety
    /// `base` must be the address of a CMSDK APB UART that nothing else drives.
    pub unsafe fn new(base: usize, bauddiv: u32) -> Uart {
        let u = Uart { base };
        u.write(BAUDDIV, bauddiv.max(16));
        u.write(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        u
    }

    fn read(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: `base + offset` is a register of this UART.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: `new`'s contract: `base + offset` is a register of this UART.
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
