//! The host's input parsers (PrefLib, JSON, CSV and whitespace tables) on arbitrary text; a
//! parsed instance is also turned into a core population.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ualign_host::{Format, parse};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = match sel % 4 {
        0 => Format::Preflib,
        1 => Format::Json,
        2 => Format::Csv,
        _ => Format::Table,
    };
    if let Ok(inst) = parse(text, "fuzz", format) {
        assert!(inst.n() >= 1 && inst.m() >= 1);
    }
});
