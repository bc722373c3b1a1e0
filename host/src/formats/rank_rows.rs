//! Rank tables in the form pref_voting writes them, read in one pass.
//!
//! `--values ranks` CSV whose header names the candidates (and perhaps a weight column such as
//! pref_voting's `#`), and whose rows hold only whole ranks, empty cells and commas: each row is
//! read byte by byte into its order and merged as it is read, with no per-cell text, no second
//! pass and no row storage. Any other table, and every table with a problem, returns `None`
//! here and is read by [`table::parse`], which applies every rule of [`table`] and names each
//! problem and its line. What this reader accepts, it reads to the same [`Instance`] (a test
//! checks it on random tables).

use std::borrow::Cow;

use super::table::{self, Delimiter, RankOrder};
use crate::instance::{CAPACITY, Instance, MergedUsers, check_weight};

/// More digits than this in a cell and the reader declines: up to 15 digits the integer is
/// exactly the `f64` [`table::number`] reads.
const MAX_DIGITS: u32 = 15;

/// The instance of the rank CSV `text` (named `source`), or `None` when it is not in the form
/// this reader takes (see the module's documentation).
pub(super) fn parse(text: &str, source: &str) -> Option<Instance> {
    let bytes = text.as_bytes();
    // Quoted fields, and a carriage return without a line feed (which it refuses): the general
    // reader.
    if memchr::memchr(b'"', bytes).is_some() || super::bare_cr_line(bytes).is_some() {
        return None;
    }
    // The header: the first line that is neither blank nor a comment (rules 1 and 2).
    let mut lines = super::lines(text);
    let (mut line, offset, header) = loop {
        let (line, offset, raw) = lines.next()?;
        let s = raw.trim();
        if !s.is_empty() && !s.starts_with('#') {
            break (line, offset, s);
        }
    };
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    table::split(header, Delimiter::Comma, &mut fields).ok()?;
    // No header, one that could be data (rule 2), a label column (rule 3) or rank columns
    // (rule 8): the general reader.
    if !table::is_header(&fields, Delimiter::Comma)
        || table::mixed_header(&fields, Delimiter::Comma)
        || fields
            .first()
            .is_none_or(|f| f.is_empty() || table::is_label_name(f))
        || fields.iter().all(|f| table::rank_column(f).is_some())
    {
        return None;
    }
    let width = fields.len();
    // Two weight columns: the general reader's error.
    let weight_col = table::weight_column(&fields).ok()?;
    let candidates: Vec<String> = fields
        .iter()
        .enumerate()
        .filter(|&(c, _)| Some(c) != weight_col)
        .map(|(_, f)| f.to_string())
        .collect();
    let n = candidates.len();
    // No candidates, too many, one named twice or an unnamed one: the general reader's error.
    if n == 0
        || n > CAPACITY
        || table::repeated(&candidates).is_some()
        || candidates.iter().any(String::is_empty)
    {
        return None;
    }
    // The rows: from the line after the header.
    let mut at = next_line(bytes, offset);
    let mut users = MergedUsers::with_capacity(super::line_count(bytes.get(at..)?), n);
    let mut ranks = RankOrder::new(n);
    // Row by row, each read byte by byte to its end (no search for the end first).
    while let Some(&first) = bytes.get(at) {
        line += 1;
        // A blank line or a comment: skipped.
        let blank =
            first == b'\n' || (first == b'\r' && matches!(bytes.get(at + 1), None | Some(b'\n')));
        if blank || first == b'#' {
            at = next_line(bytes, at);
            continue;
        }
        ranks.clear();
        let mut weight = 1.0f64;
        // The cell, and its value and digits so far.
        let (mut cell, mut value, mut digits) = (0usize, 0u64, 0u32);
        // Every byte; the row's end (`\n`, `\r\n` or the text's) ends the last cell as a `,`
        // ends the others.
        loop {
            let b = bytes.get(at).copied();
            at += 1;
            let end = match b {
                Some(d @ b'0'..=b'9') if digits < MAX_DIGITS => {
                    value = value * 10 + u64::from(d - b'0');
                    digits += 1;
                    continue;
                }
                Some(b',') => false,
                Some(b'\n') | None => true,
                Some(b'\r') if matches!(bytes.get(at), None | Some(b'\n')) => {
                    at += 1;
                    true
                }
                _ => return None,
            };
            match weight_col {
                Some(w) if w == cell => {
                    if digits == 0 {
                        return None;
                    }
                    weight = value as f64;
                }
                // A rank of the candidate whose index is the column's less the weight column
                // before it (`< n <= CAPACITY < 2^16`).
                w if digits > 0 => {
                    let i = cell - usize::from(w.is_some_and(|w| w < cell));
                    ranks.push_whole(value, u16::try_from(i).ok()?);
                }
                // Empty: an unranked candidate.
                _ => {}
            }
            cell += 1;
            (value, digits) = (0, 0);
            if end {
                break;
            }
        }
        if cell != width || check_weight(weight).is_err() {
            return None;
        }
        users.add(ranks.order(), weight, line);
    }
    // No rows: the general reader's error.
    let users = users.into_users();
    (!users.is_empty()).then(|| Instance {
        source: source.to_string(),
        candidates,
        users,
    })
}

/// Where the line after the one `from` is in starts: past its `\n`, or the text's end.
fn next_line(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| memchr::memchr(b'\n', rest))
        .map_or(bytes.len(), |e| from + e + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Values;
    use crate::instance::{Prefs, TIES_NEXT};
    use crate::test_rng::XorShift;

    /// A random rank CSV: mostly in the form this reader takes (a header of names and perhaps
    /// a weight column, whole ranks, empty cells, blank and comment lines, CRLF), now and then
    /// with what sends it to the general reader: quotes, spaces, fractional, signed or long
    /// ranks, text, a missing weight, a field too many or too few, repeated names, a label or rank
    /// column header, no header, no rows.
    fn random_table(r: &mut XorShift) -> String {
        let odd = |r: &mut XorShift| r.below(40) == 0;
        let n = 1 + r.below(6) as usize;
        let mut header: Vec<String> = (0..n).map(|c| format!("c{c}")).collect();
        if odd(r) {
            header[n - 1] = "c0".into();
        }
        let weight_at = match r.below(3) {
            0 => None,
            _ => Some(r.below(n as u64 + 1) as usize),
        };
        if let Some(w) = weight_at {
            header.insert(w, ["#", "count", "Weight"][r.below(3) as usize].into());
        }
        if odd(r) {
            header[0] = String::new();
        }
        if odd(r) {
            header = (1..=header.len()).map(|i| format!("Rank{i}")).collect();
        }
        let eol = if r.below(4) == 0 { "\r\n" } else { "\n" };
        let mut text = String::new();
        if r.below(4) == 0 {
            text.push_str(&format!("# a comment{eol}"));
        }
        if !odd(r) {
            text.push_str(&header.join(","));
            text.push_str(eol);
        }
        for _ in 0..r.below(12) {
            let mut cells: Vec<String> = (0..n)
                .map(|_| match r.below(4) {
                    0 => String::new(),
                    _ => (r.below(n as u64 + 2)).to_string(),
                })
                .collect();
            if let Some(w) = weight_at {
                cells.insert(w, r.below(21).to_string());
            }
            if odd(r) {
                let c = r.below(cells.len() as u64) as usize;
                cells[c] = [
                    "x",
                    " 1",
                    "1.5",
                    "-1",
                    "\"2\"",
                    "+3",
                    "12345678901234567",
                    "",
                ][r.below(8) as usize]
                    .into();
            }
            if odd(r) {
                cells.push("1".into());
            }
            if odd(r) {
                cells.pop();
            }
            text.push_str(&cells.join(","));
            text.push_str(eol);
            match r.below(10) {
                0 => text.push_str(eol),
                1 => text.push_str(&format!("# between{eol}")),
                _ => {}
            }
        }
        if r.below(3) == 0 && text.ends_with(eol) {
            text.truncate(text.len() - eol.len());
        }
        text
    }

    /// Whatever this reader accepts, the general reader reads to the same instance (and so
    /// refuses nothing this reader accepts); most tables in the common form are accepted.
    #[test]
    fn accepted_tables_read_as_the_general_reader_reads_them() {
        let mut r = XorShift(0x5eed_2026);
        let (mut accepted, mut declined) = (0, 0);
        let ranks = crate::formats::Options {
            values: Some(Values::Ranks),
            header: None,
        };
        for case in 0..5_000 {
            let text = random_table(&mut r);
            let general = table::parse(&text, "t", Delimiter::Comma, &ranks);
            match parse(&text, "t") {
                Some(fast) => {
                    accepted += 1;
                    assert_eq!(Ok(&fast), general.as_ref(), "case {case}:\n{text}");
                }
                None => declined += 1,
            }
        }
        assert!(
            accepted > 2_500 && declined > 1_000,
            "{accepted} {declined}"
        );
    }

    /// Tables in the common form but for one problem go through `parse_with` to the general
    /// reader's typed error, which names the line.
    #[test]
    fn problems_get_the_general_readers_errors() {
        let opts = crate::formats::Options {
            values: Some(Values::Ranks),
            header: None,
        };
        for (text, want) in [
            ("a,b,#\n1,2,3\n1,2\n", "t:3: expected 3 fields, found 2"),
            ("a,b,#\n1,2,3\n1,2,\n", "t:3: weight `` is not a number"),
            (
                "a,b,#\n1,x,3\n",
                "t:2: rank `x` of candidate b is not a number",
            ),
            ("a,a,#\n1,2,3\n", "t:1: candidate \"a\" named twice"),
            ("a,b,#\n", "t: empty population: a header but no rows"),
        ] {
            let got = crate::formats::parse_with(text, "t", crate::formats::Format::Csv, &opts);
            let err = got.expect_err(text).to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    /// pref_voting's own layout, worked by hand: ranks with a tie, an unranked candidate, the
    /// `#` counts, and a repeated ranking merged into its first line.
    #[test]
    fn pref_voting_layout() {
        let text = "a,b,c,#\n1,2,,3\n2,1,1,1\n1,2,,4\n";
        let inst = parse(text, "t").expect("the common form");
        assert_eq!(inst.candidates, ["a", "b", "c"]);
        let users: Vec<(f64, usize)> = inst.users.iter().map(|u| (u.weight, u.line)).collect();
        assert_eq!(users, [(7.0, 2), (1.0, 3)]);
        // a > b > c, then {b, c} > a.
        let orders: Vec<&Prefs> = inst.users.iter().map(|u| &u.prefs).collect();
        assert_eq!(
            orders,
            [
                &Prefs::Order(vec![0, 1, 2]),
                &Prefs::Order(vec![1 | TIES_NEXT, 2, 0])
            ]
        );
    }
}
