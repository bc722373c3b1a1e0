//! Framing: [`encode_frame`] for whole frames, [`decode_frame`] for a buffer that starts with
//! one, and the streaming [`Decoder`] a device feeds byte by byte.

use crate::crc::{Crc32, crc8, crc32};
use crate::{HEADER_LEN, MAGIC, MAX_PAYLOAD, TRAILER_LEN, VERSION};

/// One checked frame: its kind byte and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The kind byte (see [`crate::Kind`]); unknown kinds are passed through.
    pub kind: u8,
    /// The payload, checksum verified.
    pub payload: &'a [u8],
}

/// What can be wrong with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The header's CRC-8 does not match (noise, or a frame cut before its header ended).
    BadHeader,
    /// A well-formed header of another protocol version.
    BadVersion {
        /// The version received.
        version: u8,
    },
    /// The payload is longer than the receiver's buffer (the receiver skips it).
    Oversized {
        /// Declared payload length.
        len: usize,
        /// The receiver's capacity.
        capacity: usize,
    },
    /// The CRC-32 over the frame does not match.
    BadChecksum,
    /// The bytes ended (or stopped arriving) before the frame did.
    Truncated,
    /// [`decode_frame`]: the bytes do not start with [`MAGIC`].
    NoMagic,
    /// Encoding: the output buffer is too small, or the payload exceeds [`MAX_PAYLOAD`].
    BufferTooSmall,
}

/// Writes a frame of `kind` whose payload is written by `payload` into the slice it is given
/// (which is `out` minus the framing overhead); `payload` returns the length it wrote.
/// Returns the frame length.
pub fn encode_frame_with<E>(
    kind: u8,
    out: &mut [u8],
    payload: impl FnOnce(&mut [u8]) -> Result<usize, E>,
) -> Result<usize, E>
where
    E: From<FrameError>,
{
    let room = out
        .len()
        .checked_sub(HEADER_LEN + TRAILER_LEN)
        .ok_or(FrameError::BufferTooSmall)?
        .min(MAX_PAYLOAD);
    let body = out
        .get_mut(HEADER_LEN..HEADER_LEN + room)
        .ok_or(FrameError::BufferTooSmall)?;
    let len = payload(body)?;
    if len > room {
        return Err(FrameError::BufferTooSmall.into());
    }
    let len16 = u16::try_from(len).map_err(|_| FrameError::BufferTooSmall)?;
    let [lo, hi] = len16.to_le_bytes();
    let mut header = [MAGIC, VERSION, kind, lo, hi, 0];
    header[5] = crc8(&header[..5]);
    out.get_mut(..HEADER_LEN)
        .ok_or(FrameError::BufferTooSmall)?
        .copy_from_slice(&header);
    let end = HEADER_LEN + len;
    let crc = crc32(out.get(..end).ok_or(FrameError::BufferTooSmall)?);
    out.get_mut(end..end + TRAILER_LEN)
        .ok_or(FrameError::BufferTooSmall)?
        .copy_from_slice(&crc.to_le_bytes());
    Ok(end + TRAILER_LEN)
}

/// Writes a frame of `kind` carrying `payload` into `out`; returns the frame length.
///
/// Errors: [`FrameError::BufferTooSmall`] when `out` cannot hold it or the payload is longer
/// than [`MAX_PAYLOAD`].
pub fn encode_frame(kind: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    encode_frame_with(kind, out, |body| {
        body.get_mut(..payload.len())
            .ok_or(FrameError::BufferTooSmall)?
            .copy_from_slice(payload);
        Ok(payload.len())
    })
}

/// Decodes the frame at the start of `bytes`; returns it and the number of bytes it used.
///
/// Errors: [`FrameError::NoMagic`], [`FrameError::Truncated`] (more bytes needed),
/// [`FrameError::BadHeader`], [`FrameError::BadVersion`], [`FrameError::BadChecksum`].
pub fn decode_frame(bytes: &[u8]) -> Result<(Frame<'_>, usize), FrameError> {
    match bytes.first() {
        None => return Err(FrameError::Truncated),
        Some(&MAGIC) => {}
        Some(_) => return Err(FrameError::NoMagic),
    }
    let header = bytes.get(..HEADER_LEN).ok_or(FrameError::Truncated)?;
    let (version, len) = check_header(header)?;
    if version != VERSION {
        return Err(FrameError::BadVersion { version });
    }
    let end = HEADER_LEN + len;
    let body = bytes.get(..end).ok_or(FrameError::Truncated)?;
    let trailer = bytes
        .get(end..end + TRAILER_LEN)
        .ok_or(FrameError::Truncated)?;
    if crc32(body).to_le_bytes() != trailer {
        return Err(FrameError::BadChecksum);
    }
    let payload = body.get(HEADER_LEN..).ok_or(FrameError::Truncated)?;
    let kind = header.get(2).copied().ok_or(FrameError::Truncated)?;
    Ok((Frame { kind, payload }, end + TRAILER_LEN))
}

/// Checks a 6-byte header's CRC-8; returns the version and payload length.
fn check_header(h: &[u8]) -> Result<(u8, usize), FrameError> {
    match h {
        &[_, version, _, lo, hi, check] => {
            if crc8(h.get(..5).unwrap_or(&[])) != check {
                Err(FrameError::BadHeader)
            } else {
                Ok((version, u16::from_le_bytes([lo, hi]) as usize))
            }
        }
        _ => Err(FrameError::Truncated),
    }
}

/// What one byte (or a timeout) did to a [`Decoder`].
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete, checked frame.
    Frame(Frame<'a>),
    /// A bad frame was detected; the decoder has resynchronised and keeps going.
    Error(FrameError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for [`MAGIC`]; `hlen` header bytes collected otherwise.
    Header,
    /// Collecting the payload into the buffer.
    Payload,
    /// Collecting the CRC-32.
    Trailer,
    /// Discarding this many more bytes of a rejected frame.
    Skip(usize),
}

/// A streaming frame decoder over a caller's payload buffer. Feed it bytes with
/// [`push`](Decoder::push) and call [`timeout`](Decoder::timeout) when the line goes quiet:
/// it reports every frame and every error and always resynchronises on the next [`MAGIC`].
#[derive(Debug)]
pub struct Decoder<'b> {
    buf: &'b mut [u8],
    state: State,
    header: [u8; HEADER_LEN],
    hlen: usize,
    len: usize,
    got: usize,
    crc: Crc32,
    trailer: [u8; TRAILER_LEN],
    tlen: usize,
}

impl<'b> Decoder<'b> {
    /// A decoder that accepts payloads up to `buf.len()` bytes.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Decoder {
            buf,
            state: State::Header,
            header: [0; HEADER_LEN],
            hlen: 0,
            len: 0,
            got: 0,
            crc: Crc32::new(),
            trailer: [0; TRAILER_LEN],
            tlen: 0,
        }
    }

    /// The largest payload accepted.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Whether the decoder is in the middle of a frame (so a quiet line means truncation).
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Header) || self.hlen > 0
    }

    fn reset(&mut self) {
        self.state = State::Header;
        self.hlen = 0;
    }

    /// The line went quiet: a frame in progress is dropped and reported as
    /// [`FrameError::Truncated`] (the rest of a skipped frame is dropped silently).
    pub fn timeout(&mut self) -> Option<FrameError> {
        let was = self.state;
        let in_frame = self.in_frame();
        self.reset();
        match was {
            State::Skip(_) => None,
            _ if in_frame => Some(FrameError::Truncated),
            _ => None,
        }
    }

    /// Feeds one byte.
    pub fn push(&mut self, byte: u8) -> Option<Event<'_>> {
        match self.state {
            State::Header => self.push_header(byte),
            State::Payload => {
                if let Some(slot) = self.buf.get_mut(self.got) {
                    *slot = byte;
                }
                self.crc = self.crc.byte(byte);
                self.got += 1;
                if self.got >= self.len {
                    self.state = State::Trailer;
                    self.tlen = 0;
                }
                None
            }
            State::Trailer => {
                if let Some(slot) = self.trailer.get_mut(self.tlen) {
                    *slot = byte;
                }
                self.tlen += 1;
                if self.tlen < TRAILER_LEN {
                    return None;
                }
                self.reset();
                if self.crc.finish().to_le_bytes() != self.trailer {
                    return Some(Event::Error(FrameError::BadChecksum));
                }
                let kind = self.header[2];
                let payload = self.buf.get(..self.len).unwrap_or(&[]);
                Some(Event::Frame(Frame { kind, payload }))
            }
            State::Skip(left) => {
                if left <= 1 {
                    self.reset();
                } else {
                    self.state = State::Skip(left - 1);
                }
                None
            }
        }
    }

    fn push_header(&mut self, byte: u8) -> Option<Event<'_>> {
        if self.hlen == 0 && byte != MAGIC {
            return None;
        }
        if let Some(slot) = self.header.get_mut(self.hlen) {
            *slot = byte;
        }
        self.hlen += 1;
        if self.hlen < HEADER_LEN {
            return None;
        }
        match check_header(&self.header) {
            Err(e) => {
                // Resynchronise on the next MAGIC inside the rejected header, if any.
                let next = self
                    .header
                    .iter()
                    .skip(1)
                    .position(|&b| b == MAGIC)
                    .map(|p| p + 1);
                match next {
                    Some(p) => {
                        // Shifted down by hand: `copy_within` is a `memmove`, which would be
                        // the only one in the firmware (1.1 KB of the Cortex-M0's flash).
                        for i in p..HEADER_LEN {
                            let b = self.header.get(i).copied().unwrap_or(0);
                            if let Some(slot) = self.header.get_mut(i - p) {
                                *slot = b;
                            }
                        }
                        self.hlen = HEADER_LEN - p;
                    }
                    None => self.hlen = 0,
                }
                Some(Event::Error(e))
            }
            Ok((version, len)) => {
                self.hlen = 0;
                if version != VERSION {
                    self.state = State::Skip(len + TRAILER_LEN);
                    return Some(Event::Error(FrameError::BadVersion { version }));
                }
                if len > self.buf.len() {
                    self.state = State::Skip(len + TRAILER_LEN);
                    return Some(Event::Error(FrameError::Oversized {
                        len,
                        capacity: self.buf.len(),
                    }));
                }
                self.len = len;
                self.got = 0;
                self.crc = Crc32::new().update(&self.header);
                self.state = if len == 0 {
                    self.tlen = 0;
                    State::Trailer
                } else {
                    State::Payload
                };
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(
        d: &mut Decoder<'_>,
        bytes: &[u8],
        out: &mut [Result<(u8, usize), FrameError>; 8],
    ) -> usize {
        let mut count = 0;
        for &b in bytes {
            match d.push(b) {
                Some(Event::Frame(f)) => {
                    out[count] = Ok((f.kind, f.payload.len()));
                    count += 1;
                }
                Some(Event::Error(e)) => {
                    out[count] = Err(e);
                    count += 1;
                }
                None => {}
            }
        }
        count
    }

    #[test]
    fn round_trip_whole_and_streamed() {
        let mut out = [0u8; 64];
        let len = encode_frame(7, b"hello", &mut out).unwrap();
        assert_eq!(len, 5 + 10);
        let (f, used) = decode_frame(&out[..len]).unwrap();
        assert_eq!((f.kind, f.payload, used), (7, &b"hello"[..], len));
        let mut buf = [0u8; 16];
        let mut d = Decoder::new(&mut buf);
        let mut ev = [Err(FrameError::NoMagic); 8];
        assert_eq!(feed(&mut d, &out[..len], &mut ev), 1);
        assert_eq!(ev[0], Ok((7, 5)));
        // Empty payload.
        let len = encode_frame(9, b"", &mut out).unwrap();
        assert_eq!(decode_frame(&out[..len]).unwrap().0.payload.len(), 0);
        assert_eq!(feed(&mut d, &out[..len], &mut ev), 1);
        assert_eq!(ev[0], Ok((9, 0)));
    }

    #[test]
    fn encode_errors() {
        let mut small = [0u8; 12];
        assert_eq!(
            encode_frame(1, b"abc", &mut small),
            Err(FrameError::BufferTooSmall)
        );
        assert_eq!(
            encode_frame(1, b"", &mut [0u8; 3]),
            Err(FrameError::BufferTooSmall)
        );
    }

    #[test]
    fn malformed_and_truncated() {
        let mut out = [0u8; 64];
        let len = encode_frame(1, b"payload", &mut out).unwrap();
        for cut in 0..len {
            assert_eq!(decode_frame(&out[..cut]), Err(FrameError::Truncated));
        }
        let mut bad = out;
        bad[8] ^= 1;
        assert_eq!(decode_frame(&bad[..len]), Err(FrameError::BadChecksum));
        let mut bad = out;
        bad[3] ^= 1;
        assert_eq!(decode_frame(&bad[..len]), Err(FrameError::BadHeader));
        assert_eq!(decode_frame(&[0u8, 1, 2]), Err(FrameError::NoMagic));
        // Another version, with a valid header CRC.
        let mut v = out;
        v[1] = 2;
        v[5] = crc8(&v[..5]);
        assert_eq!(
            decode_frame(&v[..len]),
            Err(FrameError::BadVersion { version: 2 })
        );
    }

    #[test]
    fn decoder_recovers_from_everything() {
        let mut good = [0u8; 32];
        let glen = encode_frame(3, b"ok", &mut good).unwrap();
        let mut big = [0u8; 64];
        let blen = encode_frame(4, &[0xA5; 40], &mut big).unwrap();
        let mut buf = [0u8; 16];
        let mut d = Decoder::new(&mut buf);
        let mut ev = [Err(FrameError::NoMagic); 8];

        // Oversized: reported at the header, skipped exactly, then the good frame.
        let mut stream = [0u8; 128];
        stream[..blen].copy_from_slice(&big[..blen]);
        stream[blen..blen + glen].copy_from_slice(&good[..glen]);
        let c = feed(&mut d, &stream[..blen + glen], &mut ev);
        assert_eq!(c, 2);
        assert_eq!(
            ev[0],
            Err(FrameError::Oversized {
                len: 40,
                capacity: 16
            })
        );
        assert_eq!(ev[1], Ok((3, 2)));

        // Bad checksum, then good.
        let mut bad = good;
        bad[7] ^= 0x40;
        assert_eq!(feed(&mut d, &bad[..glen], &mut ev), 1);
        assert_eq!(ev[0], Err(FrameError::BadChecksum));
        assert_eq!(feed(&mut d, &good[..glen], &mut ev), 1);
        assert_eq!(ev[0], Ok((3, 2)));

        // Truncated: the line goes quiet mid-frame.
        assert_eq!(feed(&mut d, &good[..glen - 3], &mut ev), 0);
        assert!(d.in_frame());
        assert_eq!(d.timeout(), Some(FrameError::Truncated));
        assert_eq!(d.timeout(), None);
        assert_eq!(feed(&mut d, &good[..glen], &mut ev), 1);
        assert_eq!(ev[0], Ok((3, 2)));

        // Garbage with stray magic bytes: bad headers, then resync on the good frame.
        let garbage = [
            0x00, 0xA5, 0x13, 0xA5, 0xFF, 0x01, 0x02, 0x03, 0x77, 0xA5, 1, 2, 3, 4, 5,
        ];
        let c = feed(&mut d, &garbage, &mut ev);
        assert!(c >= 1 && ev[..c].iter().all(|e| *e == Err(FrameError::BadHeader)));
        d.timeout();
        assert_eq!(feed(&mut d, &good[..glen], &mut ev), 1);
        assert_eq!(ev[0], Ok((3, 2)));

        // A magic byte immediately before a real frame: the bad header resyncs inside itself.
        let mut s = [0u8; 40];
        s[0] = 0xA5;
        s[1..1 + glen].copy_from_slice(&good[..glen]);
        let c = feed(&mut d, &s[..1 + glen], &mut ev);
        assert_eq!(&ev[..c], &[Err(FrameError::BadHeader), Ok((3, 2))]);
    }

    #[test]
    fn decoder_never_panics_on_noise() {
        let mut buf = [0u8; 8];
        let mut d = Decoder::new(&mut buf);
        let mut x = 0x1234_5678u32;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let b = if x & 7 == 0 { MAGIC } else { x as u8 };
            let _ = d.push(b);
            if x & 0xFFF == 0 {
                let _ = d.timeout();
            }
        }
    }
}
