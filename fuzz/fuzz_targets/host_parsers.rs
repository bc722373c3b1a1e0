//! The host's input parsers (PrefLib, JSON, CSV and whitespace tables, tables read with each
//! `--values`) on arbitrary text; a parsed instance is also turned into a core population.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ualign_host::formats::{Options, Values, parse_with};
use ualign_host::{Format, instance::Store};

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
    // The selector's next bits: `--values` (none, scores or ranks) for the tables.
    let values = match (format, sel / 4 % 3) {
        (Format::Csv | Format::Table, 1) => Some(Values::Scores),
        (Format::Csv | Format::Table, 2) => Some(Values::Ranks),
        _ => None,
    };
    if let Ok(parsed) = parse_with(text, "fuzz", format, &Options { values }) {
        let inst = parsed.instance;
        assert!(inst.n() >= 1 && inst.m() >= 1);
        let mut store = Store::default();
        let _ = inst.population(&mut store);
    }
});
