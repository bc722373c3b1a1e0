//! ualign rerank service on a Cortex-M4F.
//!
//! Boots with `cortex-m-rt`, serves rerank frames (`ualign-proto`) on UART0, computes with the
//! core crate's optimistic Hedge, and answers with the policy, its certificate and seeded picks.
//! All buffers are static; see `README.md` for the protocol, capacities and measurements.
#![no_std]
#![no_main]

mod clock;
mod service;
mod stack;
mod uart;

#[cfg(feature = "board")]
use defmt_rtt as _;
#[cfg(all(feature = "qemu", not(feature = "board")))]
use defmt_semihosting as _;
#[cfg(feature = "board")]
use panic_probe as _;

use cortex_m_rt::{ExceptionFrame, entry, exception};
use ualign_proto::{
    Decoder, ErrorReply, Event,
    capacity::{K, M, N},
};

use service::{After, RX_CAP, TX_CAP, Users};

/// A frame that stops receiving bytes for this long (25 MHz ticks, 2 s) is dropped as truncated.
/// Generous because QEMU on a loaded host can stall byte delivery for a while.
const QUIET_TICKS: u64 = 50_000_000;

#[entry]
fn main() -> ! {
    stack::paint();
    let Some(cp) = cortex_m::Peripherals::take() else {
        fail()
    };
    clock::start(cp.SYST);
    // SAFETY: UART0 is the CMSDK UART of mps2-an386 and nothing else drives it.
    let uart = unsafe { uart::Uart::new(uart::UART0, 16) };
    let Some(rx) = cortex_m::singleton!(: [u8; RX_CAP] = [0; RX_CAP]) else {
        fail()
    };
    let Some(tx) = cortex_m::singleton!(: [u8; TX_CAP] = [0; TX_CAP]) else {
        fail()
    };
    let Some(users) = cortex_m::singleton!(: Users = Users {
        weights: [0.0; M],
        order: [0; M * N],
    }) else {
        fail()
    };
    defmt::info!(
        "ualign firmware: N={=usize} M={=usize} K={=usize}, rx {=usize} B, tx {=usize} B",
        N,
        M,
        K,
        RX_CAP,
        TX_CAP
    );
    let mut decoder = Decoder::new(rx);
    let mut last = clock::now();
    loop {
        let Some(byte) = uart.try_read() else {
            let quiet = clock::now().saturating_sub(last) > QUIET_TICKS;
            if let Some(e) = decoder
                .in_frame()
                .then_some(())
                .filter(|_| quiet)
                .and_then(|_| decoder.timeout())
            {
                let len = service::error_frame(ErrorReply::from(e), tx);
                uart.write_all(tx.get(..len).unwrap_or(&[]));
            }
            continue;
        };
        last = clock::now();
        let (len, after) = match decoder.push(byte) {
            None => continue,
            Some(Event::Frame(frame)) => service::handle(frame, users, tx),
            Some(Event::Error(e)) => {
                defmt::warn!("bad frame");
                (service::error_frame(ErrorReply::from(e), tx), After::Serve)
            }
        };
        uart.write_all(tx.get(..len).unwrap_or(&[]));
        if let After::Stop = after {
            defmt::info!("shutdown requested");
            exit(true);
        }
        last = clock::now();
    }
}

/// Ends the run: under QEMU through semihosting with the given status; on a board, a reset.
fn exit(success: bool) -> ! {
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

/// Ends the run with a failure.
fn fail() -> ! {
    exit(false)
}

#[cfg(not(feature = "board"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic");
    fail()
}

#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    defmt::error!("hard fault");
    fail()
}

#[exception]
unsafe fn DefaultHandler(irq: i16) {
    defmt::error!("unexpected exception {=i16}", irq);
    fail()
}
