//! ualign rerank service on a microcontroller core under QEMU (Cortex-M0, M3, M4F, M7, M33,
//! RV32IMAC, RV32IMAFC; see `board`).
//!
//! Boots with `cortex-m-rt` or `riscv-rt`, serves rerank frames (`ualign-proto`) on the board's
//! UART, computes with the core crate's optimistic Hedge, and answers with the policy, its
//! certificate and seeded picks. All buffers are static and sized by the core's capacity
//! (`ualign_proto::capacity::CORES`); see `README.md` for the protocol, capacities and
//! measurements.
#![no_std]
#![no_main]

mod board;
mod log;
#[cfg(ualign_core = "m0")]
mod mem;
mod service;
#[cfg(soft_float)]
mod softfloat;
#[cfg(feature = "softfloat-check")]
mod softfloat_check;
mod stack;

#[cfg(feature = "board")]
use defmt_rtt as _;
#[cfg(all(feature = "qemu", defmt_log, not(feature = "board")))]
use defmt_semihosting as _;
#[cfg(feature = "board")]
use panic_probe as _;

use ualign_proto::{Decoder, ErrorReply, Event};

#[cfg(all(feature = "softfloat-check", not(ualign_core = "m0")))]
compile_error!("the feature softfloat-check is for the Cortex-M0 (thumbv6m-none-eabi)");

use board::{M, N};
use service::{After, RX_CAP, TX_CAP, Users};

/// A frame that stops receiving bytes for this long (2 s of ticks) is dropped as truncated.
/// Generous because QEMU on a loaded host can stall byte delivery for a while.
const QUIET_TICKS: u64 = 2 * board::CORE.tick_hz as u64;

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
// The `softfloat-check` build ends in the check, before the service.
#[cfg_attr(feature = "softfloat-check", allow(unreachable_code))]
fn main() -> ! {
    #[cfg(feature = "softfloat-check")]
    softfloat_check::run();
    stack::paint();
    if !board::start_clock() {
        fail()
    }
    // SAFETY: the UART is taken once, here, and only this loop drives it.
    let uart = unsafe { board::Uart::take() };
    let Some(rx) = board::singleton!(: [u8; RX_CAP] = [0; RX_CAP]) else {
        fail()
    };
    let Some(tx) = board::singleton!(: [u8; TX_CAP] = [0; TX_CAP]) else {
        fail()
    };
    let Some(users) = board::singleton!(: Users = Users {
        weights: [0.0; M],
        order: [0; M * N],
    }) else {
        fail()
    };
    log::info!(
        "ualign firmware: N={=usize} M={=usize} K={=usize}, rx {=usize} B, tx {=usize} B",
        N,
        M,
        board::K,
        RX_CAP,
        TX_CAP
    );
    let mut decoder = Decoder::new(rx);
    let mut last = board::now();
    loop {
        let Some(byte) = uart.try_read() else {
            let quiet = board::now().saturating_sub(last) > QUIET_TICKS;
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
        last = board::now();
        let (len, after) = match decoder.push(byte) {
            None => continue,
            Some(Event::Frame(frame)) => service::handle(frame, users, tx),
            Some(Event::Error(e)) => {
                log::warn!("bad frame");
                (service::error_frame(ErrorReply::from(e), tx), After::Serve)
            }
        };
        uart.write_all(tx.get(..len).unwrap_or(&[]));
        if let After::Stop = after {
            log::info!("shutdown requested");
            board::exit(true);
        }
        last = board::now();
    }
}

/// Ends the run with a failure.
fn fail() -> ! {
    board::exit(false)
}

#[cfg(not(feature = "board"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    log::error!("panic");
    fail()
}
