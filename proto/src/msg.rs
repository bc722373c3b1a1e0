//! Message payloads: the rerank request, its reply, and the error reply.
//!
//! Encoders take typed slices and write a whole frame; decoders take a checked frame payload and
//! return a zero-copy view whose arrays are read element by element (`f32`/`u16` little-endian).

use crate::frame::{FrameError, encode_frame_with};
use crate::wire::{Full, Reader, Short, Writer, f32_at, u16_at};

/// Frame kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Host to device: a [`RerankRequest`].
    Rerank = 0x01,
    /// Host to device: stop (under QEMU the firmware exits with success). Empty payload.
    Shutdown = 0x02,
    /// Host to device: a [`Calibration`] request (`ticks` ignored): time a loop of known length.
    Calibrate = 0x03,
    /// Host to device: report the stack's high-water mark. Empty payload.
    Stack = 0x04,
    /// Device to host: a [`RerankReply`].
    RerankReply = 0x81,
    /// Device to host: the shutdown is acknowledged. Empty payload.
    ShutdownAck = 0x82,
    /// Device to host: a [`Calibration`] with the measured ticks.
    CalibrateReply = 0x83,
    /// Device to host: a [`StackUse`].
    StackReply = 0x84,
    /// Device to host: an [`ErrorReply`].
    Error = 0xEE,
}

impl Kind {
    /// The kind of a kind byte, if known.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            0x01 => Kind::Rerank,
            0x02 => Kind::Shutdown,
            0x03 => Kind::Calibrate,
            0x04 => Kind::Stack,
            0x81 => Kind::RerankReply,
            0x82 => Kind::ShutdownAck,
            0x83 => Kind::CalibrateReply,
            0x84 => Kind::StackReply,
            0xEE => Kind::Error,
            _ => return None,
        })
    }
}

/// What can be wrong with a message (as opposed to its frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgError {
    /// Framing failed (encoding: buffer too small).
    Frame(FrameError),
    /// The payload length or a field does not fit the layout (decoding), or slice lengths
    /// disagree with `n` and the number of users (encoding).
    Malformed,
    /// The frame is of another kind than the decoder expects.
    WrongKind {
        /// The kind byte received.
        kind: u8,
    },
}

impl From<FrameError> for MsgError {
    fn from(e: FrameError) -> Self {
        MsgError::Frame(e)
    }
}
impl From<Full> for MsgError {
    fn from(_: Full) -> Self {
        MsgError::Frame(FrameError::BufferTooSmall)
    }
}
impl From<Short> for MsgError {
    fn from(_: Short) -> Self {
        MsgError::Malformed
    }
}

/// A little-endian `f32` array inside a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct F32s<'a>(&'a [u8]);

impl<'a> F32s<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` (0.0 past the end).
    pub fn get(&self, i: usize) -> f32 {
        f32_at(self.0, i)
    }
    /// All elements in order.
    pub fn iter(&self) -> impl Iterator<Item = f32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// A little-endian `u16` array inside a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct U16s<'a>(&'a [u8]);

impl<'a> U16s<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }
    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element `i` (0 past the end).
    pub fn get(&self, i: usize) -> u16 {
        u16_at(self.0, i)
    }
    /// All elements in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }
}

/// In a ranking entry: set when the candidate ties with the one at the next position.
pub const TIE_NEXT: u16 = 0x8000;
/// In a ranking entry: the candidate index bits.
pub const CANDIDATE: u16 = 0x7FFF;

/// The user types of a request, row-major, one row of `n` entries per user type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rows<'a, F = &'a [f32], U = &'a [u16]> {
    /// One score per candidate, higher is better, equal scores tie.
    Scores(F),
    /// Candidates best first; each entry is a candidate index with [`TIE_NEXT`] set when it ties
    /// with the next entry. Candidates left out tie below all listed ones.
    Rankings(U),
    #[doc(hidden)]
    _Marker(core::marker::PhantomData<&'a ()>),
}

/// Request flag: a seed is given.
const FLAG_SEED: u8 = 1;
/// Request flag: the rows are rankings (else scores).
const FLAG_RANKINGS: u8 = 2;
/// Request flag: also time one share evaluation.
const FLAG_MEASURE: u8 = 4;
/// Bytes of the request before the weights.
pub const REQUEST_FIXED: usize = 24;

/// A rerank request (kind [`Kind::Rerank`]).
///
/// Payload layout (little-endian): `k: u16`, `flags: u8` (bit 0 seed given, bit 1 rankings,
/// bit 2 measure), `0: u8`, `seed: u64`, `epsilon: f32`, `max_iter: u32`, `n: u16`, `m: u16`,
/// `weights: [f32; m]`, then `m * n` scores (`f32`) or ranking entries (`u16`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RerankRequest<'a, F = &'a [f32], U = &'a [u16]> {
    /// Number of responses to show.
    pub k: u16,
    /// The sampling seed; `None` lets the device use seed 0 (the reply says which it used).
    pub seed: Option<u64>,
    /// Target exploitability.
    pub epsilon: f32,
    /// Iteration cap.
    pub max_iter: u32,
    /// Whether the device should also time one share evaluation (benchmarks).
    pub measure: bool,
    /// Number of candidates.
    pub n: u16,
    /// One weight per user type.
    pub weights: F,
    /// The user types, one row each.
    pub rows: Rows<'a, F, U>,
}

/// A decoded request: arrays are views into the payload.
pub type RerankRequestView<'a> = RerankRequest<'a, F32s<'a>, U16s<'a>>;

impl RerankRequest<'_> {
    /// Writes the request as a whole frame into `out`; returns the frame length.
    ///
    /// Errors: [`MsgError::Malformed`] when the row data is not `weights.len() * n` long or a
    /// count exceeds `u16`; [`MsgError::Frame`] when `out` is too small.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MsgError> {
        let m = self.weights.len();
        let m16 = u16::try_from(m).map_err(|_| MsgError::Malformed)?;
        let cells = m.checked_mul(self.n as usize).ok_or(MsgError::Malformed)?;
        let (flags, entries) = match self.rows {
            Rows::Scores(s) => (0, s.len()),
            Rows::Rankings(r) => (FLAG_RANKINGS, r.len()),
            Rows::_Marker(_) => return Err(MsgError::Malformed),
        };
        if entries != cells {
            return Err(MsgError::Malformed);
        }
        let flags = flags
            | if self.seed.is_some() { FLAG_SEED } else { 0 }
            | if self.measure { FLAG_MEASURE } else { 0 };
        encode_frame_with(Kind::Rerank as u8, out, |body| {
            let mut w = Writer::new(body);
            w.u16(self.k)?;
            w.u8(flags)?;
            w.u8(0)?;
            w.u64(self.seed.unwrap_or(0))?;
            w.f32(self.epsilon)?;
            w.u32(self.max_iter)?;
            w.u16(self.n)?;
            w.u16(m16)?;
            for &x in self.weights {
                w.f32(x)?;
            }
            match self.rows {
                Rows::Scores(s) => s.iter().try_for_each(|&x| w.f32(x))?,
                Rows::Rankings(r) => r.iter().try_for_each(|&x| w.u16(x))?,
                Rows::_Marker(_) => {}
            }
            Ok::<usize, MsgError>(w.len())
        })
    }
}

impl<'a> RerankRequestView<'a> {
    /// Decodes a [`Kind::Rerank`] payload.
    ///
    /// Errors: [`MsgError::Malformed`] when the length does not match `n`, `m` and the row
    /// kind, or unknown flag bits are set.
    pub fn decode(payload: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(payload);
        let k = r.u16()?;
        let flags = r.u8()?;
        let _reserved = r.u8()?;
        let seed = r.u64()?;
        let epsilon = r.f32()?;
        let max_iter = r.u32()?;
        let n = r.u16()?;
        let m = r.u16()? as usize;
        if flags & !(FLAG_SEED | FLAG_RANKINGS | FLAG_MEASURE) != 0 {
            return Err(MsgError::Malformed);
        }
        let weights = F32s(r.take(m * 4)?);
        let cells = m * n as usize;
        let rows = if flags & FLAG_RANKINGS != 0 {
            Rows::Rankings(U16s(r.take(cells * 2)?))
        } else {
            Rows::Scores(F32s(r.take(cells * 4)?))
        };
        if r.remaining() != 0 {
            return Err(MsgError::Malformed);
        }
        Ok(RerankRequest {
            k,
            seed: (flags & FLAG_SEED != 0).then_some(seed),
            epsilon,
            max_iter,
            measure: flags & FLAG_MEASURE != 0,
            n,
            weights,
            rows,
        })
    }

    /// Number of user types.
    pub fn m(&self) -> usize {
        self.weights.len()
    }
}

/// The payload length of a request with `n` candidates and `m` user types (`rankings` or
/// scores): what a device must buffer.
pub const fn request_len(n: usize, m: usize, rankings: bool) -> usize {
    REQUEST_FIXED + 4 * m + m * n * if rankings { 2 } else { 4 }
}

/// Bytes of the reply before the policy.
pub const REPLY_FIXED: usize = 54;

/// The answer to a rerank request (kind [`Kind::RerankReply`]).
///
/// Payload layout (little-endian): `n: u16`, `k: u16`, `iterations: u32`, `converged: u8`,
/// `0: u8`, `seed: u64`, `worst_case_win_rate: f32`, `exploitability: f32`,
/// `worst_opponent: u16`, `bound: f32`, `ticks_solve: u64`, `ticks_share: u64`,
/// `picks: u16` (count), `distinct: u16` (count), `order: u16` (count), then
/// `policy: [f32; n]`, `picks: [u16]`, `distinct: [u16]`, `order: [u16]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RerankReply<'a, F = &'a [f32], U = &'a [u16]> {
    /// Number of shown responses.
    pub k: u16,
    /// Share evaluations the solver ran.
    pub iterations: u32,
    /// Whether the certified exploitability reached epsilon.
    pub converged: bool,
    /// The seed the picks were drawn with.
    pub seed: u64,
    /// Certificate: `1 - max_y g(y)`.
    pub worst_case_win_rate: f32,
    /// Certificate: `max_y g(y) - 1/(k+1)`, at least 0.
    pub exploitability: f32,
    /// Certificate: `argmax_y g(y)`.
    pub worst_opponent: u16,
    /// Certificate: `k/(k+1)`.
    pub bound: f32,
    /// Device timer ticks spent building the population and solving (SysTick, 25 MHz on
    /// mps2-an386).
    pub ticks_solve: u64,
    /// Device timer ticks of one share evaluation (0 unless the request asked to measure).
    pub ticks_share: u64,
    /// The deployed policy, one mass per candidate.
    pub policy: F,
    /// The `k` seeded draws, in draw order.
    pub picks: U,
    /// The distinct picks, in order of first appearance.
    pub distinct: U,
    /// Candidates with positive mass, largest first: the reranked list.
    pub order: U,
    #[doc(hidden)]
    pub _marker: core::marker::PhantomData<&'a ()>,
}

/// A decoded reply: arrays are views into the payload.
pub type RerankReplyView<'a> = RerankReply<'a, F32s<'a>, U16s<'a>>;

impl RerankReply<'_> {
    /// Writes the reply as a whole frame into `out`; returns the frame length.
    ///
    /// Errors: [`MsgError::Malformed`] when a length exceeds `u16`; [`MsgError::Frame`] when
    /// `out` is too small.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MsgError> {
        let len16 = |s: usize| u16::try_from(s).map_err(|_| MsgError::Malformed);
        let (n, p, d, o) = (
            len16(self.policy.len())?,
            len16(self.picks.len())?,
            len16(self.distinct.len())?,
            len16(self.order.len())?,
        );
        encode_frame_with(Kind::RerankReply as u8, out, |body| {
            let mut w = Writer::new(body);
            w.u16(n)?;
            w.u16(self.k)?;
            w.u32(self.iterations)?;
            w.u8(self.converged as u8)?;
            w.u8(0)?;
            w.u64(self.seed)?;
            w.f32(self.worst_case_win_rate)?;
            w.f32(self.exploitability)?;
            w.u16(self.worst_opponent)?;
            w.f32(self.bound)?;
            w.u64(self.ticks_solve)?;
            w.u64(self.ticks_share)?;
            w.u16(p)?;
            w.u16(d)?;
            w.u16(o)?;
            self.policy.iter().try_for_each(|&x| w.f32(x))?;
            self.picks.iter().try_for_each(|&x| w.u16(x))?;
            self.distinct.iter().try_for_each(|&x| w.u16(x))?;
            self.order.iter().try_for_each(|&x| w.u16(x))?;
            Ok::<usize, MsgError>(w.len())
        })
    }
}

impl<'a> RerankReplyView<'a> {
    /// Decodes a [`Kind::RerankReply`] payload.
    ///
    /// Errors: [`MsgError::Malformed`] when the length does not match the counts.
    pub fn decode(payload: &'a [u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(payload);
        let n = r.u16()? as usize;
        let k = r.u16()?;
        let iterations = r.u32()?;
        let converged = r.u8()? != 0;
        let _reserved = r.u8()?;
        let seed = r.u64()?;
        let worst_case_win_rate = r.f32()?;
        let exploitability = r.f32()?;
        let worst_opponent = r.u16()?;
        let bound = r.f32()?;
        let ticks_solve = r.u64()?;
        let ticks_share = r.u64()?;
        let p = r.u16()? as usize;
        let d = r.u16()? as usize;
        let o = r.u16()? as usize;
        let policy = F32s(r.take(4 * n)?);
        let picks = U16s(r.take(2 * p)?);
        let distinct = U16s(r.take(2 * d)?);
        let order = U16s(r.take(2 * o)?);
        if r.remaining() != 0 {
            return Err(MsgError::Malformed);
        }
        Ok(RerankReply {
            k,
            iterations,
            converged,
            seed,
            worst_case_win_rate,
            exploitability,
            worst_opponent,
            bound,
            ticks_solve,
            ticks_share,
            policy,
            picks,
            distinct,
            order,
            _marker: core::marker::PhantomData,
        })
    }
}

/// Why a request failed (the `code` byte of an [`ErrorReply`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// The header check failed (noise or a cut header).
    BadHeader = 1,
    /// Another protocol version.
    BadVersion = 2,
    /// The payload exceeds the device buffer; `a` = declared length, `b` = capacity.
    Oversized = 3,
    /// The CRC-32 did not match.
    BadChecksum = 4,
    /// The line went quiet mid-frame.
    Truncated = 5,
    /// A frame kind the device does not serve; `a` = the kind.
    UnknownKind = 6,
    /// The payload does not fit the request layout.
    Malformed = 7,
    /// `n`, `m` or `k` exceeds the device capacities; `a` = the value, `b` = the capacity,
    /// `detail` = 0 for `n`, 1 for `m`, 2 for `k`.
    Capacity = 8,
    /// The core library rejected the input; `detail` = core error number (see the firmware
    /// README), `a`/`b` = its fields (user, candidate, ...).
    Core = 9,
    /// Anything else (a reply that did not fit the device's transmit buffer).
    Internal = 10,
}

impl ErrorCode {
    /// The code of a code byte, if known.
    pub fn from_u8(b: u8) -> Option<ErrorCode> {
        use ErrorCode::*;
        Some(match b {
            1 => BadHeader,
            2 => BadVersion,
            3 => Oversized,
            4 => BadChecksum,
            5 => Truncated,
            6 => UnknownKind,
            7 => Malformed,
            8 => Capacity,
            9 => Core,
            10 => Internal,
            _ => return None,
        })
    }
}

impl From<FrameError> for ErrorReply {
    fn from(e: FrameError) -> Self {
        let (code, a, b) = match e {
            FrameError::BadHeader | FrameError::NoMagic => (ErrorCode::BadHeader, 0, 0),
            FrameError::BadVersion { version } => (ErrorCode::BadVersion, version as u32, 0),
            FrameError::Oversized { len, capacity } => {
                (ErrorCode::Oversized, len as u32, capacity as u32)
            }
            FrameError::BadChecksum => (ErrorCode::BadChecksum, 0, 0),
            FrameError::Truncated => (ErrorCode::Truncated, 0, 0),
            FrameError::BufferTooSmall => (ErrorCode::Internal, 0, 0),
        };
        ErrorReply {
            code: code as u8,
            detail: 0,
            a,
            b,
        }
    }
}

/// An error reply (kind [`Kind::Error`]). Payload: `code: u8`, `detail: u8`, `a: u32`, `b: u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    /// An [`ErrorCode`] as a byte (unknown codes are passed through).
    pub code: u8,
    /// A sub-code (see [`ErrorCode`]).
    pub detail: u8,
    /// First detail field.
    pub a: u32,
    /// Second detail field.
    pub b: u32,
}

impl ErrorReply {
    /// A reply with code `code` and the given details.
    pub fn new(code: ErrorCode, detail: u8, a: u32, b: u32) -> Self {
        ErrorReply {
            code: code as u8,
            detail,
            a,
            b,
        }
    }

    /// The code, if known.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_u8(self.code)
    }

    /// Writes the reply as a whole frame into `out`; returns the frame length.
    ///
    /// Errors: [`MsgError::Frame`] when `out` is too small (it needs 20 bytes).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MsgError> {
        encode_frame_with(Kind::Error as u8, out, |body| {
            let mut w = Writer::new(body);
            w.u8(self.code)?;
            w.u8(self.detail)?;
            w.u32(self.a)?;
            w.u32(self.b)?;
            Ok::<usize, MsgError>(w.len())
        })
    }

    /// Decodes a [`Kind::Error`] payload.
    ///
    /// Errors: [`MsgError::Malformed`] when it is not 10 bytes long.
    pub fn decode(payload: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(payload);
        let e = ErrorReply {
            code: r.u8()?,
            detail: r.u8()?,
            a: r.u32()?,
            b: r.u32()?,
        };
        if r.remaining() != 0 {
            return Err(MsgError::Malformed);
        }
        Ok(e)
    }
}

/// Timer calibration: the device runs a loop of exactly `2 * iterations` instructions (`subs`,
/// `bne`) and reports the timer ticks it took, so ticks can be converted to instructions.
/// Payload (both directions): `iterations: u32`, `ticks: u64` (0 in the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibration {
    /// Loop iterations (2 instructions each).
    pub iterations: u32,
    /// Timer ticks measured (0 in a request).
    pub ticks: u64,
}

impl Calibration {
    /// Writes a frame of `kind` ([`Kind::Calibrate`] or [`Kind::CalibrateReply`]) into `out`;
    /// returns its length.
    ///
    /// Errors: [`MsgError::Frame`] when `out` is too small (it needs 22 bytes).
    pub fn encode(&self, kind: Kind, out: &mut [u8]) -> Result<usize, MsgError> {
        encode_frame_with(kind as u8, out, |body| {
            let mut w = Writer::new(body);
            w.u32(self.iterations)?;
            w.u64(self.ticks)?;
            Ok::<usize, MsgError>(w.len())
        })
    }

    /// Decodes a calibration payload.
    ///
    /// Errors: [`MsgError::Malformed`] when it is not 12 bytes long.
    pub fn decode(payload: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(payload);
        let c = Calibration {
            iterations: r.u32()?,
            ticks: r.u64()?,
        };
        if r.remaining() != 0 {
            return Err(MsgError::Malformed);
        }
        Ok(c)
    }
}

/// The device's stack: the most it has used since boot and the room it has, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackUse {
    /// Bytes below the stack's top ever written since boot (the high-water mark).
    pub peak: u32,
    /// Bytes between the end of the static data and the stack's top.
    pub size: u32,
}

impl StackUse {
    /// Writes a [`Kind::StackReply`] frame into `out`; returns its length.
    ///
    /// Errors: [`MsgError::Frame`] when `out` is too small (it needs 18 bytes).
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, MsgError> {
        encode_frame_with(Kind::StackReply as u8, out, |body| {
            let mut w = Writer::new(body);
            w.u32(self.peak)?;
            w.u32(self.size)?;
            Ok::<usize, MsgError>(w.len())
        })
    }

    /// Decodes a stack-use payload.
    ///
    /// Errors: [`MsgError::Malformed`] when it is not 8 bytes long.
    pub fn decode(payload: &[u8]) -> Result<Self, MsgError> {
        let mut r = Reader::new(payload);
        let s = StackUse {
            peak: r.u32()?,
            size: r.u32()?,
        };
        if r.remaining() != 0 {
            return Err(MsgError::Malformed);
        }
        Ok(s)
    }
}

/// A decoded device-to-host message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reply<'a> {
    /// A rerank answer.
    Rerank(RerankReplyView<'a>),
    /// An error.
    Error(ErrorReply),
    /// The shutdown was acknowledged.
    ShutdownAck,
    /// A calibration result.
    Calibration(Calibration),
    /// The stack's use.
    Stack(StackUse),
}

impl<'a> Reply<'a> {
    /// Decodes a device-to-host frame.
    ///
    /// Errors: [`MsgError::WrongKind`] for a host-to-device or unknown kind,
    /// [`MsgError::Malformed`] for a bad payload.
    pub fn decode(frame: crate::Frame<'a>) -> Result<Self, MsgError> {
        match Kind::from_u8(frame.kind) {
            Some(Kind::RerankReply) => Ok(Reply::Rerank(RerankReplyView::decode(frame.payload)?)),
            Some(Kind::Error) => Ok(Reply::Error(ErrorReply::decode(frame.payload)?)),
            Some(Kind::ShutdownAck) if frame.payload.is_empty() => Ok(Reply::ShutdownAck),
            Some(Kind::CalibrateReply) => {
                Ok(Reply::Calibration(Calibration::decode(frame.payload)?))
            }
            Some(Kind::StackReply) => Ok(Reply::Stack(StackUse::decode(frame.payload)?)),
            Some(Kind::ShutdownAck) => Err(MsgError::Malformed),
            _ => Err(MsgError::WrongKind { kind: frame.kind }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode_frame;

    fn request<'a>(w: &'a [f32], rows: Rows<'a>) -> RerankRequest<'a> {
        RerankRequest {
            k: 2,
            seed: Some(42),
            epsilon: 1e-3,
            max_iter: 500,
            measure: true,
            n: 3,
            weights: w,
            rows,
        }
    }

    #[test]
    fn stack_use_round_trip() {
        let mut out = [0u8; 32];
        let s = StackUse {
            peak: 40_000,
            size: 52_000,
        };
        let len = s.encode(&mut out).unwrap();
        let (f, used) = decode_frame(&out[..len]).unwrap();
        assert_eq!((f.kind, used), (Kind::StackReply as u8, len));
        assert_eq!(Reply::decode(f), Ok(Reply::Stack(s)));
        assert_eq!(StackUse::decode(&[0; 7]), Err(MsgError::Malformed));
        assert!(s.encode(&mut out[..17]).is_err());
    }

    #[test]
    fn request_round_trip() {
        let w = [0.6f32, 0.4];
        let ranks = [0u16, 2, 1, 1, 2 | TIE_NEXT, 0];
        let mut out = [0u8; 128];
        let len = request(&w, Rows::Rankings(&ranks))
            .encode(&mut out)
            .unwrap();
        let (f, used) = decode_frame(&out[..len]).unwrap();
        assert_eq!((f.kind, used), (Kind::Rerank as u8, len));
        assert_eq!(f.payload.len(), request_len(3, 2, true));
        let v = RerankRequestView::decode(f.payload).unwrap();
        assert_eq!(
            (v.k, v.seed, v.max_iter, v.n, v.m()),
            (2, Some(42), 500, 3, 2)
        );
        assert!(v.measure);
        assert_eq!(v.epsilon.to_bits(), 1e-3f32.to_bits());
        assert!(v.weights.iter().eq(w.iter().copied()));
        match v.rows {
            Rows::Rankings(r) => assert!(r.iter().eq(ranks.iter().copied())),
            _ => panic!("rankings expected"),
        }

        let scores = [1.0f32, 0.0, 0.5, -1.0, f32::NAN, 2.0];
        let mut req = request(&w, Rows::Scores(&scores));
        req.seed = None;
        req.measure = false;
        let len = req.encode(&mut out).unwrap();
        let (f, _) = decode_frame(&out[..len]).unwrap();
        let v = RerankRequestView::decode(f.payload).unwrap();
        assert_eq!(v.seed, None);
        match v.rows {
            Rows::Scores(s) => {
                assert!(
                    s.iter()
                        .map(f32::to_bits)
                        .eq(scores.iter().map(|x| x.to_bits()))
                )
            }
            _ => panic!("scores expected"),
        }
    }

    #[test]
    fn request_errors() {
        let w = [1.0f32, 1.0];
        let short = [0u16; 5];
        let mut out = [0u8; 128];
        assert_eq!(
            request(&w, Rows::Rankings(&short)).encode(&mut out),
            Err(MsgError::Malformed)
        );
        let ranks = [0u16; 6];
        assert_eq!(
            request(&w, Rows::Rankings(&ranks)).encode(&mut out[..20]),
            Err(MsgError::Frame(FrameError::BufferTooSmall))
        );
        let len = request(&w, Rows::Rankings(&ranks))
            .encode(&mut out)
            .unwrap();
        let payload = &out[crate::HEADER_LEN..len - crate::TRAILER_LEN];
        for cut in 0..payload.len() {
            assert_eq!(
                RerankRequestView::decode(&payload[..cut]),
                Err(MsgError::Malformed)
            );
        }
        let mut long = [0u8; 128];
        long[..payload.len()].copy_from_slice(payload);
        assert_eq!(
            RerankRequestView::decode(&long[..payload.len() + 1]),
            Err(MsgError::Malformed)
        );
        let mut flags = [0u8; 128];
        flags[..payload.len()].copy_from_slice(payload);
        flags[2] |= 0x80;
        assert_eq!(
            RerankRequestView::decode(&flags[..payload.len()]),
            Err(MsgError::Malformed)
        );
        // Huge declared counts against a tiny payload never overflow or panic.
        let mut huge = [0xFFu8; 24];
        huge[2] = 0;
        assert_eq!(RerankRequestView::decode(&huge), Err(MsgError::Malformed));
    }

    #[test]
    fn reply_round_trip() {
        let policy = [0.8f32, 0.2, 0.0];
        let picks = [0u16, 1];
        let reply = RerankReply {
            k: 2,
            iterations: 77,
            converged: true,
            seed: 9,
            worst_case_win_rate: 2.0 / 3.0,
            exploitability: 1e-6,
            worst_opponent: 2,
            bound: 2.0 / 3.0,
            ticks_solve: 123_456_789_012,
            ticks_share: 5,
            policy: &policy[..],
            picks: &picks[..],
            distinct: &picks[..],
            order: &picks[..],
            _marker: core::marker::PhantomData,
        };
        let mut out = [0u8; 128];
        let len = reply.encode(&mut out).unwrap();
        assert_eq!(len, crate::OVERHEAD + REPLY_FIXED + 12 + 12);
        let (f, _) = decode_frame(&out[..len]).unwrap();
        let v = match Reply::decode(f).unwrap() {
            Reply::Rerank(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!((v.k, v.iterations, v.converged, v.seed), (2, 77, true, 9));
        assert_eq!(v.worst_opponent, 2);
        assert_eq!(v.ticks_solve, 123_456_789_012);
        assert!(v.policy.iter().eq(policy.iter().copied()));
        assert!(v.picks.iter().eq(picks.iter().copied()));
        assert!(v.order.iter().eq(picks.iter().copied()));
        let payload = f.payload;
        for cut in 0..payload.len() {
            assert!(RerankReplyView::decode(&payload[..cut]).is_err());
        }
        assert!(reply.encode(&mut out[..40]).is_err());
    }

    #[test]
    fn error_round_trip() {
        let e = ErrorReply::from(FrameError::Oversized {
            len: 9000,
            capacity: 8472,
        });
        let mut out = [0u8; 32];
        let len = e.encode(&mut out).unwrap();
        assert_eq!(len, 20);
        let (f, _) = decode_frame(&out[..len]).unwrap();
        assert_eq!(Reply::decode(f), Ok(Reply::Error(e)));
        assert_eq!(e.error_code(), Some(ErrorCode::Oversized));
        assert_eq!(
            ErrorReply::decode(&f.payload[..9]),
            Err(MsgError::Malformed)
        );
        let ack = crate::encode_frame(Kind::ShutdownAck as u8, &[], &mut out).unwrap();
        assert_eq!(
            Reply::decode(decode_frame(&out[..ack]).unwrap().0),
            Ok(Reply::ShutdownAck)
        );
        let c = Calibration {
            iterations: 7,
            ticks: 1 << 40,
        };
        let len = c.encode(Kind::CalibrateReply, &mut out).unwrap();
        assert_eq!(
            Reply::decode(decode_frame(&out[..len]).unwrap().0),
            Ok(Reply::Calibration(c))
        );
        assert_eq!(Calibration::decode(&[0; 11]), Err(MsgError::Malformed));
        let req = crate::encode_frame(Kind::Rerank as u8, &[], &mut out).unwrap();
        assert_eq!(
            Reply::decode(decode_frame(&out[..req]).unwrap().0),
            Err(MsgError::WrongKind { kind: 1 })
        );
        for b in 0..=255u8 {
            if let Some(c) = ErrorCode::from_u8(b) {
                assert_eq!(c as u8, b);
            }
            if let Some(k) = Kind::from_u8(b) {
                assert_eq!(k as u8, b);
            }
        }
    }
}
