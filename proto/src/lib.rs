//! The rerank frame protocol spoken between a host and the ualign firmware.
//!
//! `no_std`, no allocator, no panics: every encoder writes into a caller's buffer and every
//! decoder reads a caller's bytes, and both report problems as typed errors. The byte layout is
//! documented in `firmware/README.md`; in short, all integers and floats are little-endian and
//! a frame is
//!
//! ```text
//! offset  size  field
//! 0       1     MAGIC (0xA5)
//! 1       1     VERSION (1)
//! 2       1     kind (see [`Kind`])
//! 3       2     payload length L (u16)
//! 5       1     CRC-8 (poly 0x07, init 0) of bytes 0..5
//! 6       L     payload
//! 6+L     4     CRC-32 (IEEE, as zlib) of bytes 0..6+L
//! ```
//!
//! The header has its own check so that a receiver can reject noise before it trusts a length,
//! and can skip exactly the bytes of a well-formed but oversized frame.
//!
//! Modules: [`crc`] (the checksums), [`frame`] (framing, and a streaming [`frame::Decoder`] for
//! a device), [`msg`] (the request and reply payloads), [`capacity`] (the firmware's capacities).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capacity;
pub mod crc;
pub mod frame;
pub mod msg;
mod wire;

pub use frame::{Decoder, Event, Frame, FrameError, decode_frame, encode_frame};
pub use msg::{
    Calibration, ErrorCode, ErrorReply, Kind, MsgError, Reply, RerankReply, RerankReplyView,
    RerankRequest, RerankRequestView, Rows, StackUse,
};

/// First byte of every frame.
pub const MAGIC: u8 = 0xA5;
/// Protocol version carried in every frame.
pub const VERSION: u8 = 1;
/// Bytes before the payload: magic, version, kind, length (2), header CRC-8.
pub const HEADER_LEN: usize = 6;
/// Bytes after the payload: the CRC-32.
pub const TRAILER_LEN: usize = 4;
/// Framing overhead per frame.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// The largest payload a frame can describe (the length field is 16 bits).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;
