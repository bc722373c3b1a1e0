//! The firmware's frame and message decoders on arbitrary bytes: one-shot `decode_frame`, the
//! streaming `Decoder` (small buffer, with line timeouts), and every payload decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ualign_proto::{
    Calibration, Decoder, ErrorReply, Event, Reply, RerankReplyView, RerankRequestView,
    decode_frame,
};

fuzz_target!(|data: &[u8]| {
    // One-shot: walk the bytes frame by frame.
    let mut rest = data;
    while !rest.is_empty() {
        match decode_frame(rest) {
            Ok((frame, used)) => {
                assert!(used > 0 && used <= rest.len());
                let _ = Reply::decode(frame);
                rest = &rest[used..];
            }
            Err(_) => rest = &rest[1..],
        }
    }
    // Streaming, with a timeout wherever the input has a 0xFF byte.
    let mut buf = [0u8; 300];
    let mut dec = Decoder::new(&mut buf);
    for &byte in data {
        if byte == 0xFF {
            let _ = dec.timeout();
        }
        if let Some(Event::Frame(f)) = dec.push(byte) {
            let _ = Reply::decode(f);
        }
    }
    // Payload decoders on the raw bytes.
    let _ = RerankRequestView::decode(data);
    let _ = RerankReplyView::decode(data);
    let _ = ErrorReply::decode(data);
    let _ = Calibration::decode(data);
});
