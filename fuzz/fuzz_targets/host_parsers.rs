//! The host's input parsers (PrefLib, JSON, CSV and whitespace tables, tables read with each
//! `--values`) on arbitrary text; a parsed instance is also turned into a core population.
//! JSON is also read line by line as `batch` reads it, as bytes through one `json::Lines` that
//! keeps the last line's candidate table: a line that is not UTF-8 must not read, and any other
//! must give what a fresh parse gives, the same instance or the same error on the same line. A CSV
//! read with `--values ranks`, which a fast reader takes when it can, must give what the general
//! table reader gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ualign_host::formats::{Header, Options, Values, json, parse_with, table};
use ualign_host::{Error, Format, Instance, instance::Store};

/// Two routes to one instance agree: the same instance, or errors with the same message on the
/// same line.
fn same(a: Result<&Instance, &Error>, b: Result<&Instance, &Error>, input: &str) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{input:?}"),
        (Err(a), Err(b)) => assert_eq!(
            (a.message(), a.line()),
            (b.message(), b.line()),
            "{input:?}"
        ),
        (a, b) => panic!("{input:?}: {a:?} against {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if sel % 4 == 1 {
        // `batch`'s reading: each line's bytes, unchecked, through one reader. A line that is
        // not UTF-8 never reads as an instance; one that is reads as `json::parse` reads it.
        let mut lines = json::Lines::default();
        for line in rest.split(|&b| b == b'\n') {
            let read = lines.parse_bytes(line, "fuzz");
            match std::str::from_utf8(line) {
                Ok(text) => same(
                    read.as_ref().copied(),
                    json::parse(text, "fuzz").as_ref(),
                    text,
                ),
                Err(_) => assert!(read.is_err(), "{:?} read", String::from_utf8_lossy(line)),
            }
        }
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = match sel % 4 {
        0 => Format::Preflib,
        1 => Format::Json,
        2 => Format::Csv,
        _ => Format::Table,
    };
    // The selector's next bits: `--values` (none, scores or ranks) for the tables.
    let values = match (format, sel / 4 % 3) {
        (Format::Csv | Format::Table, 1) => Some(Values::Scores),
        (Format::Csv | Format::Table, 2) => Some(Values::Ranks),
        _ => None,
    };
    // And the next: `--header` (found, the first row or none) for the tables.
    let header = match (format, sel / 12 % 3) {
        (Format::Csv | Format::Table, 1) => Some(Header::FirstRow),
        (Format::Csv | Format::Table, 2) => Some(Header::None),
        _ => None,
    };
    let opts = Options { values, header };
    let result = parse_with(text, "fuzz", format, &opts);
    if (format, values) == (Format::Csv, Some(Values::Ranks)) && header != Some(Header::None) {
        // `parse_with` skips a leading byte order mark, as reading a file does; the general
        // reader is given the text after it.
        let plain = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let general = table::parse(plain, "fuzz", table::Delimiter::Comma, &opts)
            .and_then(|inst| inst.validate().map(|()| inst));
        same(result.as_ref().map(|p| &p.instance), general.as_ref(), plain);
    }
    if let Ok(parsed) = result {
        let inst = parsed.instance;
        assert!(inst.n() >= 1 && inst.m() >= 1);
        let mut store = Store::default();
        let _ = inst.population(&mut store);
    }
});
