//! Score tables: one row per user type, one column per candidate (CSV or whitespace-separated).
//!
//! Rules, in order (also in `ualign --help`):
//!
//! 1. Blank lines are skipped. Lines starting with `#` are comments.
//! 2. Header: the first non-comment row is a header when a field other than its first is text
//!    (not empty and not a number; `inf` and `nan` are numbers here, refused as not finite), or
//!    when it is a single field of text. Without such a row, the last comment line before the
//!    first row is the header when it has exactly as many fields as the rows (this is how the
//!    Atari tables of `shared/data/atari` name their columns: `# game dqn a3c ...`); when the
//!    delimiter follows its `#` at once (`#,a,b` in CSV, `#` then a tab in a whitespace table)
//!    the `#` is its first field, a count column's name. Without a header, candidates are named
//!    `c1`, `c2`, ... Two kinds of first row could be a header or data, and are refused with a
//!    message naming `--header` ([`Header`]; `first-row` makes the first row the header
//!    whatever it holds, `none` reads every row as data and no comment line as a header):
//!    - without a header found otherwise, a row of consecutive whole numbers in increasing order
//!      (`0, 1, 2, ...` as pandas writes a frame's default columns, `1, 2, 3, ...`, years),
//!      after a first field that is empty or text if there is one (pandas writes its index
//!      column's name there);
//!    - a header found by its text that also holds a number, `nan` or `inf` past its first
//!      field, leaving aside a weight column's name (`0.9,NA,0.1`: a row with a missing value).
//!
//!    In a whitespace table, a first row that is one field holding commas is refused, naming
//!    `--format csv` (a CSV, whose rows would read as one number with thousands separators).
//! 3. Row labels: the first column is a label column (not a candidate) when any row has text
//!    there, or when its header field is empty (pandas writes its index column so). Unless that
//!    field is empty, a first column of text in some rows and numbers in others is refused, and
//!    so is a first column of numbers whose header field names labels (`id`, `index`, ...:
//!    `is_label_name`). A first column of numbers in a notation the reader does not take
//!    (`1,5`, `1 000`, `0x10`, `50%`) is a candidate's, refused as values, not labels.
//! 4. Weights: a header column named `weight`, `weights`, `count`, `counts`, `votes`,
//!    `frequency`, `freq` (any case) or `#` (as pref_voting writes its counts) holds the weight
//!    of each row (default 1 for every row). A table has at most one such column: two are
//!    refused.
//! 5. Numbers: a trailing `±x` or `+-x` (a standard error, itself a number) is dropped and the
//!    value kept; in whitespace tables, `,` thousands separators are removed (`1,486.5` is
//!    1486.5: 1 to 3 digits, then groups of 3, before any point or exponent) and any other comma
//!    (`0,5`, `1.5e3,0`) is refused, as is a single comma without a point (`1,500` could be a
//!    decimal comma). Every value must be finite, and a value written with a
//!    nonzero digit must not read as 0 (`1e-400`).
//! 6. Every row has as many fields as the header (or the first row).
//! 7. Values (`--values`, [`Values`]): scores (higher is better, equal scores tie, every cell a
//!    number) or ranks (lower is better, 1 = best, equal ranks tie, an empty cell is an unranked
//!    candidate; unranked candidates tie below every ranked one; identical rankings are merged).
//!    Without `--values` the table is read as scores unless it looks like ranks, which is then
//!    refused with a message naming `--values`. It looks like ranks when
//!    - a header field is `#` (pref_voting's count column: its files hold ranks), or
//!    - a header field names ranks: `rank`, `ranks`, `ranking`, `rankings`, or `rank` followed
//!      by a number (`Rank1`, `rank_2`), in any case, or
//!    - a candidate's cell is empty (only ranks leave a candidate out), or
//!    - every row's candidate values are whole numbers from 1 to the number of candidates, and
//!      not every row gives all its candidates one value (then both readings are the same
//!      order): a permutation of `1..n`, or ranks with ties such as `1,1,3` or `2,1,2`.
//!
//!    Anything else is unambiguous and read as scores: a value below 1 (Borda scores `0..n-1`,
//!    signed or 0/1 scores), above the number of candidates, or fractional.
//! 8. With `--values ranks`, a table whose every header field is `rank` followed by a number
//!    (pref_voting's `rank_columns` CSV: `Rank1,Rank2,...`) holds candidate names by rank
//!    instead: a row lists its candidates best first, one per rank column, `skipped` or an empty
//!    cell for none. The candidates are the names that appear, in sorted order; each row is one
//!    user type of weight 1.
//!
//! CSV fields may be double-quoted as in RFC 4180: `""` inside quotes is a quote, and after the
//! closing quote come only spaces and then a `,` or the line's end.
//!
//! The reader is one pass over the lines: fields are split into a reused buffer and every cell is
//! kept as a number and a kind, with no allocation per row; text is looked at again only to
//! name a bad cell in an error. (`formats::parse_with` first offers a `--values ranks` CSV to
//! `rank_rows`, which reads pref_voting's common form in one pass; what it declines comes here.)

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Header, Options, Values};
use crate::error::{Error, Result};
use crate::instance::{
    CAPACITY, Instance, MergedUsers, Prefs, TIES_NEXT, UserType, check_weight, close_group,
};

/// Field separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// `,` with optional double quotes.
    Comma,
    /// Runs of spaces or tabs.
    Whitespace,
}

/// Splits `line` into trimmed fields in `out` (cleared first).
pub(super) fn split<'a>(
    line: &'a str,
    d: Delimiter,
    out: &mut Vec<Cow<'a, str>>,
) -> std::result::Result<(), String> {
    out.clear();
    match d {
        // Spaces and tabs only: a no-break space (`1\u{a0}500`, a thousands separator in some
        // locales) or another Unicode space stays in its field, which then reads as no number.
        Delimiter::Whitespace => {
            out.extend(line.split_ascii_whitespace().map(Cow::Borrowed));
        }
        Delimiter::Comma if memchr::memchr(b'"', line.as_bytes()).is_none() => {
            // `,` is ASCII: every cut is on a character boundary.
            let mut start = 0usize;
            for (i, &c) in line.as_bytes().iter().enumerate() {
                if c == b',' {
                    out.push(Cow::Borrowed(trim(line.get(start..i).unwrap_or(""))));
                    start = i + 1;
                }
            }
            out.push(Cow::Borrowed(trim(line.get(start..).unwrap_or(""))));
        }
        Delimiter::Comma => split_quoted(line, out)?,
    }
    Ok(())
}

/// Where [`split_quoted`] is in a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// Not in quotes (before any, or in a field without them).
    Outside,
    /// Inside quotes.
    Inside,
    /// Just after a quote inside quotes: the closing one, or the first of a doubled one.
    Closing,
    /// After the closing quote and spaces or tabs.
    Closed,
}

/// Splits a CSV line with quotes into trimmed fields (RFC 4180): a field may be quoted after
/// leading spaces, `""` inside quotes is a quote, and after the closing quote come only spaces
/// or tabs and then a `,` or the line's end.
fn split_quoted<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> std::result::Result<(), String> {
    let mut cur = String::new();
    let mut state = Quote::Outside;
    for c in line.chars() {
        state = match (state, c) {
            (Quote::Inside, '"') => Quote::Closing,
            (Quote::Inside, c) => {
                cur.push(c);
                Quote::Inside
            }
            (Quote::Closing, '"') => {
                cur.push('"');
                Quote::Inside
            }
            (Quote::Outside, '"') if cur.trim().is_empty() => {
                cur.clear();
                Quote::Inside
            }
            (_, ',') => {
                out.push(Cow::Owned(std::mem::take(&mut cur).trim().to_string()));
                Quote::Outside
            }
            (Quote::Closing | Quote::Closed, ' ' | '\t') => Quote::Closed,
            (Quote::Closing | Quote::Closed, c) => {
                return Err(format!(
                    "`{c}` after the closing quote of field {}: a quoted field ends at a `,` \
                     or the line's end (`\"\"` is a quote inside it)",
                    out.len() + 1
                ));
            }
            (Quote::Outside, c) => {
                cur.push(c);
                Quote::Outside
            }
        };
    }
    if state == Quote::Inside {
        return Err("unterminated quote (a quoted field cannot span lines)".to_string());
    }
    out.push(Cow::Owned(cur.trim().to_string()));
    Ok(())
}

/// `str::trim`, with a shortcut for ASCII edges.
fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    match (t.as_bytes().first(), t.as_bytes().last()) {
        (Some(a), Some(b)) if !a.is_ascii() || !b.is_ascii() => t.trim(),
        _ => t,
    }
}

/// Parses a number cell (rule 5); `None` when it is not a number.
pub fn number(cell: &str, d: Delimiter) -> Option<f64> {
    match read_number(cell, d) {
        Read::Number(x) => Some(x),
        _ => None,
    }
}

/// What a cell reads as (rule 5).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Read {
    /// A number (perhaps too large to be finite, as `1e999`).
    Number(f64),
    /// `inf`, `infinity` or `nan` (any case, signed): a number that is not finite.
    NonFinite,
    /// A number but for its commas or its error: why it is refused.
    Malformed(&'static str),
    /// Anything else (a label, a name, a typo).
    Text,
}

/// Why `0,5` is refused.
const COMMAS: &str =
    "commas are read only as thousands separators (as in `1,486.5`), not as a decimal point";

/// Why a number with one comma and no point is refused: `1,500` is 1500 with a thousands
/// separator and 1.5 with a decimal comma.
const ONE_COMMA: &str = "one comma and no point could be a thousands separator or a decimal \
                         comma (`1,500` is 1500 or 1.5): write the number without it";

/// Why `1±x` is refused.
const NOT_AN_ERROR: &str = "the error after `±` is not a number";

/// Why `1+-x` is refused.
const NOT_AN_ERROR_ASCII: &str = "the error after `+-` is not a number";

/// Reads a cell by rule 5: a number, perhaps with thousands separators (whitespace tables
/// only) and a trailing `±error` or `+-error` whose error is a number too.
fn read_number(cell: &str, d: Delimiter) -> Read {
    if let Some(x) = super::fast_decimal(cell.as_bytes()) {
        return Read::Number(x);
    }
    let s = cell.trim();
    if let Some(r) = plain(s) {
        return r;
    }
    let (value, error) = match s.split_once('±') {
        Some((v, e)) => (v, Some((e, NOT_AN_ERROR))),
        None => match s.split_once("+-") {
            Some((v, e)) => (v, Some((e, NOT_AN_ERROR_ASCII))),
            None => (s, None),
        },
    };
    let x = match value_of(value.trim(), d) {
        Read::Number(x) => x,
        other => return other,
    };
    match error.map(|(e, why)| (value_of(e.trim(), d), why)) {
        None | Some((Read::Number(_), _)) => Read::Number(x),
        Some((Read::Malformed(why), _) | (Read::NonFinite | Read::Text, why)) => {
            Read::Malformed(why)
        }
    }
}

/// One number (no error): plain decimal notation, or in a whitespace table with thousands
/// separators.
fn value_of(s: &str, d: Delimiter) -> Read {
    if let Some(r) = plain(s) {
        return r;
    }
    if non_finite(s) {
        return Read::NonFinite;
    }
    if d == Delimiter::Whitespace
        && s.contains(',')
        && let Some(r) = plain(&s.replace(',', ""))
    {
        return if !thousands(s) {
            Read::Malformed(COMMAS)
        } else if s.matches(',').count() == 1 && !s.contains('.') {
            Read::Malformed(ONE_COMMA)
        } else {
            r
        };
    }
    Read::Text
}

/// Plain decimal notation: digits, `.`, signs and exponents, as `str::parse` reads them. Only
/// these count: `str::parse` also reads `inf` and `NaN`. A number that reads as 0 though it has
/// a nonzero digit is malformed ([`super::underflows`]).
fn plain(s: &str) -> Option<Read> {
    let decimal = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E');
    if s.is_empty() || !s.bytes().all(decimal) {
        return None;
    }
    let x: f64 = s.parse().ok()?;
    Some(if super::underflows(s.as_bytes(), x) {
        Read::Malformed(super::TOO_SMALL)
    } else if super::inexact_integer(s.as_bytes(), x) {
        Read::Malformed(super::NOT_EXACT)
    } else {
        Read::Number(x)
    })
}

/// Whether `s` is how `str::parse` spells a number that is not finite: `inf`, `infinity` or
/// `nan` in any case, perhaps signed.
fn non_finite(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    ["inf", "infinity", "nan"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// Whether the commas of `s`, a number without them, are thousands separators: after an
/// optional sign, 1 to 3 digits (not led by a 0: `0,500` is a decimal comma), then groups of
/// exactly 3 digits each after a comma, all before any point or exponent.
fn thousands(s: &str) -> bool {
    let b = s.as_bytes();
    let b = b.strip_prefix(b"-").or(b.strip_prefix(b"+")).unwrap_or(b);
    let end = b
        .iter()
        .position(|&c| matches!(c, b'.' | b'e' | b'E'))
        .unwrap_or(b.len());
    let (Some(int), Some(rest)) = (b.get(..end), b.get(end..)) else {
        return false;
    };
    let mut groups = int.split(|&c| c == b',');
    let first = groups.next().unwrap_or_default();
    !rest.contains(&b',')
        && (1..=3).contains(&first.len())
        && first.first() != Some(&b'0')
        && groups.all(|g| g.len() == 3)
}

/// The names of a weight column (rule 4): `#` as written, the others in any case.
pub const WEIGHT_COLUMN_NAMES: [&str; 8] = [
    "#",
    "weight",
    "weights",
    "count",
    "counts",
    "votes",
    "frequency",
    "freq",
];

/// A header field that names the weight column (rule 4).
fn is_weight_name(s: &str) -> bool {
    WEIGHT_COLUMN_NAMES
        .iter()
        .any(|name| s.eq_ignore_ascii_case(name))
}

/// A header field that names row labels, not a candidate (`id`, `index`, `user`, ...: any
/// case): over a column of numbers (rule 3 would make it a candidate) it is refused.
pub(super) fn is_label_name(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "id" | "index" | "idx" | "row" | "user" | "user_id" | "userid" | "voter" | "voter_id"
    )
}

/// Rule 4: the index of the weight column among a header's fields, if any; two weight columns
/// are refused (the message names both).
pub(super) fn weight_column<S: AsRef<str>>(
    header: &[S],
) -> std::result::Result<Option<usize>, String> {
    let mut named = header
        .iter()
        .enumerate()
        .filter(|(_, f)| is_weight_name(f.as_ref()));
    let first = named.next();
    if let (Some((a, fa)), Some((b, fb))) = (first, named.next()) {
        return Err(format!(
            "two weight columns, `{}` (column {}) and `{}` (column {}): a table has at most one",
            fa.as_ref(),
            a + 1,
            fb.as_ref(),
            b + 1
        ));
    }
    Ok(first.map(|(c, _)| c))
}

/// `rank` followed by a number, with an optional `_`, `-` or space (any case): the number.
pub(super) fn rank_column(s: &str) -> Option<u64> {
    let head = s.get(..4)?;
    if !head.eq_ignore_ascii_case("rank") {
        return None;
    }
    let tail = s.get(4..)?;
    let tail = tail.strip_prefix(['_', '-', ' ']).unwrap_or(tail);
    if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tail.parse().ok()
}

/// A header field that names ranks (rule 7).
fn names_ranks(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "rank" | "ranks" | "ranking" | "rankings"
    ) || rank_column(s).is_some()
}

/// Rule 2: whether a row's `fields` make a header (a field other than the first is text, not
/// empty and not a number, or the row is a single field of text).
pub(super) fn is_header(fields: &[Cow<'_, str>], d: Delimiter) -> bool {
    let is_text = |c: &Cow<'_, str>| !c.is_empty() && read_number(c, d) == Read::Text;
    fields.iter().skip(1).any(is_text) || (fields.len() == 1 && fields.iter().all(is_text))
}

/// Rule 2's ambiguous row: at least two fields holding consecutive whole numbers in increasing
/// order (`0, 1, 2, ...` as pandas writes a frame's default columns, `1, 2, 3, ...`, years,
/// ids), after a first field that is empty or text if there is one (pandas writes its index
/// column's name there). They could name the candidates or be a user type's values.
fn numbered_columns(fields: &[Cow<'_, str>], d: Delimiter) -> bool {
    let labelled = fields
        .first()
        .is_some_and(|f| f.is_empty() || read_number(f, d) == Read::Text);
    let cells = fields.get(usize::from(labelled)..).unwrap_or_default();
    let whole = |c: &Cow<'_, str>| match read_number(c, d) {
        Read::Number(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x),
        _ => None,
    };
    let Some(start) = cells.first().and_then(whole) else {
        return false;
    };
    cells.len() >= 2
        && cells
            .iter()
            .enumerate()
            .all(|(i, c)| whole(c) == Some(start + i as f64))
}

/// The message refusing a first row, `row`, of [`numbered_columns`] (its first 40 characters).
fn column_numbers(row: &str) -> String {
    format!(
        "the first row `{}` could name the candidates (numbered columns, as pandas writes a \
         frame's) or be a user type's values: say --header first-row (it names them) or \
         --header none (it is data)",
        shown(row)
    )
}

/// Rule 2's other ambiguous row: a header found by its text that also holds a number (or
/// `nan`, `inf`) past its first field, leaving aside a weight column's name. It could be a
/// header of some numbered candidates, or a user type's row with a missing value (`NA`) or a
/// typo.
pub(super) fn mixed_header(fields: &[Cow<'_, str>], d: Delimiter) -> bool {
    let rest = || fields.iter().skip(1).filter(|f| !is_weight_name(f));
    let text = |f: &Cow<'_, str>| !f.is_empty() && read_number(f, d) == Read::Text;
    rest().any(text) && rest().any(|f| !f.is_empty() && !text(f))
}

/// The message refusing a first row, `row`, of [`mixed_header`].
fn mixed_names(row: &str) -> String {
    format!(
        "the first row `{}` mixes text and numbers: a header naming some candidates by \
         numbers, or a user type's values with one missing? say --header first-row (it names \
         the candidates) or --header none (it is data)",
        shown(row)
    )
}

/// The first 40 characters of `row`, for a message.
fn shown(row: &str) -> String {
    let mut shown: String = row.chars().take(40).collect();
    if shown.len() < row.len() {
        shown.push_str("...");
    }
    shown
}

/// Rule 2's comment header: the fields of `comment` (a line starting with `#`) when they are
/// as many as the rows' `width`. The `#` is a field of its own, a count column's name, when the
/// delimiter follows it at once (`#,a,b` in CSV, `#` and a tab in a whitespace table: as
/// pref_voting names its count column); otherwise the comment's text after it is split.
fn comment_header(
    comment: &str,
    d: Delimiter,
    width: usize,
) -> Result<Option<Vec<String>>, String> {
    let body = comment.get(1..).unwrap_or_default();
    let next = match d {
        Delimiter::Comma => ',',
        Delimiter::Whitespace => '\t',
    };
    let text = if body.starts_with(next) {
        comment
    } else {
        body.trim()
    };
    let mut fields = Vec::new();
    split(text, d, &mut fields)?;
    Ok((fields.len() == width).then(|| fields.iter().map(|f| f.to_string()).collect()))
}

/// The first name in `names` that repeats an earlier one.
pub(super) fn repeated(names: &[String]) -> Option<&str> {
    let mut seen = FxHashSet::default();
    names
        .iter()
        .map(String::as_str)
        .find(|&name| !seen.insert(name))
}

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Empty,
    /// `inf` or `nan` ([`Read::NonFinite`]).
    NonFinite,
    /// A number but for its commas or its error ([`Read::Malformed`]).
    Malformed,
    Text,
}

fn classify(cell: &str, d: Delimiter) -> (Kind, f64) {
    if cell.is_empty() {
        return (Kind::Empty, 0.0);
    }
    match read_number(cell, d) {
        Read::Number(x) => (Kind::Number, x),
        Read::NonFinite => (Kind::NonFinite, 0.0),
        Read::Malformed(_) => (Kind::Malformed, 0.0),
        Read::Text => (Kind::Text, 0.0),
    }
}

/// Why a cell of `kind` read from `cell` is not a value.
fn problem(kind: Kind, cell: &str, d: Delimiter) -> String {
    match (kind, read_number(cell, d)) {
        (Kind::Number | Kind::NonFinite, _) => "not finite".to_string(),
        (_, Read::Malformed(why)) => format!("not a number: {why}"),
        _ => "not a number".to_string(),
    }
}

/// Classifies the fields of a data row into `rows` (`fields` is scratch for quoted CSV); returns
/// how many there were. Plain rows are read in one pass, without collecting their fields.
fn push_row<'a>(
    line: &'a str,
    d: Delimiter,
    rows: &mut Rows,
    fields: &mut Vec<Cow<'a, str>>,
) -> std::result::Result<usize, String> {
    let mut count = 0usize;
    let mut push = |f: &str| {
        let (k, x) = classify(f, d);
        rows.kind.push(k);
        rows.value.push(x);
        count += 1;
    };
    match d {
        Delimiter::Comma if memchr::memchr(b'"', line.as_bytes()).is_none() => {
            // `,` is ASCII: every cut is on a character boundary.
            let mut start = 0usize;
            for (i, &c) in line.as_bytes().iter().enumerate() {
                if c == b',' {
                    push(trim(line.get(start..i).unwrap_or("")));
                    start = i + 1;
                }
            }
            push(trim(line.get(start..).unwrap_or("")));
        }
        Delimiter::Whitespace => line.split_ascii_whitespace().for_each(push),
        _ => {
            split(line, d, fields)?;
            fields.iter().for_each(|f| push(f));
        }
    }
    Ok(count)
}

/// Rule 3 for a first column whose header field is not empty: whether it holds labels, which it
/// does when some row has text there. A column with text in one row and a number (finite or
/// not, or malformed) in another is refused: it could be either.
fn labels(text: &str, source: &str, d: Delimiter, rows: &Rows) -> Result<bool> {
    let (mut number, mut word) = (None, None);
    let cell = |r: usize| cell_text(text, rows.span.get(r).copied().unwrap_or((0, 0)), d, 0);
    for r in 0..rows.len() {
        match rows.cell(r, 0).0 {
            Kind::Empty => continue,
            // A number in a notation the reader does not take is a number here: a column of
            // them is a candidate's, refused at its first such cell, not dropped as labels.
            Kind::Text if number_like(&cell(r)) => number = number.or(Some(r)),
            Kind::Text => word = word.or(Some(r)),
            Kind::Number | Kind::NonFinite | Kind::Malformed => number = number.or(Some(r)),
        }
        if let (Some(n), Some(w)) = (number, word) {
            let line = |r: usize| rows.line.get(r).copied().unwrap_or(0);
            let how = label_advice(d);
            return Err(Error::at(
                source,
                line(n.max(w)),
                format!(
                    "the first column is ambiguous: line {} holds a number (`{}`) and line {} \
                     does not (`{}`): for row labels, {how}; for a candidate, make every cell a \
                     number",
                    line(n),
                    cell(n),
                    line(w),
                    cell(w)
                ),
            ));
        }
    }
    Ok(word.is_some())
}

/// How a table with delimiter `d` marks its first column as row labels, for the refusals of
/// rule 3.
fn label_advice(d: Delimiter) -> &'static str {
    match d {
        Delimiter::Comma => "leave its header field empty (a header such as `,b,c`)",
        Delimiter::Whitespace => {
            "make every label text, not a number (or write the table as CSV with an empty first \
             header field)"
        }
    }
}

/// Whether `s`, which does not read as a number, is spelled like one in a notation the reader
/// does not take: digits with a decimal comma or digit groups (`1,5`, `1 000`, `1'000`,
/// `1\u{a0}000`, `1_000`), hexadecimal (`0x10`), perhaps signed, or a percentage (`50%`).
fn number_like(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    // A percentage (`50%`, `12.5 %`).
    if let Some(p) = t.strip_suffix('%') {
        let p = p.trim_end();
        return p.chars().next().is_some_and(|c| c.is_ascii_digit())
            && p.chars().all(|c| c.is_ascii_digit() || c == '.');
    }
    // A comma or a group separator must be there: digits and points alone (`3.5.1`) are a
    // version or an address, a label.
    let grouping = |c: char| matches!(c, ',' | ' ' | '_' | '\'' | '\u{a0}' | '\u{202f}');
    t.chars().next().is_some_and(|c| c.is_ascii_digit())
        && t.chars().any(grouping)
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || grouping(c))
}

/// Field `c` of the row at `span` (its text, for a message).
fn cell_text(text: &str, span: (usize, usize), d: Delimiter, c: usize) -> String {
    let line = text.get(span.0..span.1).unwrap_or("");
    let mut fields = Vec::new();
    match split(line, d, &mut fields) {
        Ok(()) => fields.get(c).map(|f| f.to_string()).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The data rows, flat: row `r` has cells `r * width..(r + 1) * width`.
struct Rows {
    width: usize,
    line: Vec<usize>,
    /// Byte range of the row's (trimmed) line in the text.
    span: Vec<(usize, usize)>,
    kind: Vec<Kind>,
    value: Vec<f64>,
}

impl Rows {
    fn len(&self) -> usize {
        self.line.len()
    }

    fn cell(&self, r: usize, c: usize) -> (Kind, f64) {
        let i = r * self.width + c;
        (
            self.kind.get(i).copied().unwrap_or(Kind::Empty),
            self.value.get(i).copied().unwrap_or(0.0),
        )
    }
}

/// Parses a score table; `values` as `--values` (see rule 7).
pub fn parse(text: &str, source: &str, d: Delimiter, opts: &Options) -> Result<Instance> {
    let values = opts.values;
    let mut header: Option<(usize, Vec<String>)> = None;
    let mut last_comment: Option<(usize, &str)> = None;
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    let mut rows = Rows {
        width: 0,
        line: Vec::new(),
        span: Vec::new(),
        kind: Vec::new(),
        value: Vec::new(),
    };
    let mut started = false;
    super::refuse_bare_cr(text, source)?;
    for (line, offset, raw) in super::lines(text) {
        let s = raw.trim();
        if s.is_empty() {
            continue;
        }
        if s.starts_with('#') {
            if !started {
                last_comment = Some((line, s));
            }
            continue;
        }
        if !started {
            split(s, d, &mut fields).map_err(|m| Error::at(source, line, m))?;
            started = true;
            // One field holding commas in a whitespace table: a CSV read as one column of
            // numbers with thousands separators (`850,920,780`) or one name.
            if d == Delimiter::Whitespace && fields.len() == 1 && s.contains(',') {
                return Err(Error::at(
                    source,
                    line,
                    format!(
                        "the first row `{}` is one field holding commas: if its fields are \
                         separated by commas, say --format csv",
                        shown(s)
                    ),
                ));
            }
            // Rule 2: header.
            let first_is_header = is_header(&fields, d);
            rows.width = fields.len();
            // Room for a row on every line left (one fast count): no regrowth. A row's cells
            // take a byte each at least (a separator or its line's end), so the cells are
            // bounded by the bytes left too: blank lines reserve nothing.
            let rest = text.as_bytes().get(offset..).unwrap_or(&[]);
            let left = super::line_count(rest);
            let cells = left.saturating_mul(rows.width).min(rest.len() + 1);
            rows.line.reserve(left);
            rows.span.reserve(left);
            rows.kind.reserve(cells);
            rows.value.reserve(cells);
            let first_is_header = match opts.header {
                Some(Header::FirstRow) => true,
                Some(Header::None) => false,
                None if first_is_header && mixed_header(&fields, d) => {
                    return Err(Error::at(source, line, mixed_names(s)));
                }
                None => first_is_header,
            };
            if first_is_header {
                header = Some((line, fields.iter().map(|f| f.to_string()).collect()));
                continue;
            }
            if opts.header.is_none() {
                if let Some((cl, c)) = last_comment {
                    header = comment_header(c, d, fields.len())
                        .map_err(|m| Error::at(source, cl, m))?
                        .map(|h| (cl, h));
                }
                if header.is_none() && numbered_columns(&fields, d) {
                    return Err(Error::at(source, line, column_numbers(s)));
                }
            }
        }
        let found =
            push_row(s, d, &mut rows, &mut fields).map_err(|m| Error::at(source, line, m))?;
        if found != rows.width {
            return Err(Error::at(
                source,
                line,
                format!("expected {} fields, found {found}", rows.width),
            ));
        }
        // `s` is a subslice of `raw`, which starts at `offset`.
        let start = offset + (s.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize);
        rows.span.push((start, start + s.len()));
        rows.line.push(line);
    }
    if !started {
        return Err(Error::in_file(source, "empty population: no rows"));
    }
    if rows.len() == 0 {
        return Err(Error::in_file(
            source,
            "empty population: a header but no rows",
        ));
    }
    let width = rows.width;
    if values == Some(Values::Ranks)
        && let Some((hl, h)) = &header
        && h.iter().all(|f| rank_column(f).is_some())
    {
        return rank_columns(text, source, d, &rows, *hl, h);
    }
    // Rule 4: weight column.
    let weight_col = match &header {
        Some((hl, h)) => weight_column(h).map_err(|m| Error::at(source, *hl, m))?,
        None => None,
    };
    // Rule 3: label column (not the weight column, whose cells are weights).
    let label = header
        .as_ref()
        .is_some_and(|(_, h)| h.first().is_some_and(|f| f.is_empty()))
        || (weight_col != Some(0) && labels(text, source, d, &rows)?);
    if let Some((hl, h)) = &header
        && !label
        && weight_col != Some(0)
        && let Some(first) = h.first().filter(|f| is_label_name(f))
    {
        // A column of numbers named as labels are: ids read as a candidate's scores would
        // recommend the ids.
        let how = label_advice(d);
        return Err(Error::at(
            source,
            *hl,
            format!(
                "the first column, `{first}`, is named like row labels but holds numbers, which \
                 make it a candidate: for row labels, {how}; for a candidate, give it a \
                 candidate's name"
            ),
        ));
    }
    let cand_cols: Vec<usize> = (0..width)
        .filter(|&c| !(label && c == 0) && Some(c) != weight_col)
        .collect();
    if cand_cols.is_empty() {
        let line = header
            .as_ref()
            .map_or(rows.line.first().copied(), |h| Some(h.0));
        let message = if width == 1 {
            "no candidate columns: every row is one field, a label (a table separated by tabs \
             or spaces needs --format table; a CSV's fields are separated by commas)"
        } else {
            "no candidate columns"
        };
        return Err(match line {
            Some(line) => Error::at(source, line, message),
            None => Error::in_file(source, message),
        });
    }
    if cand_cols.len() > CAPACITY {
        return Err(Error::in_file(
            source,
            format!(
                "{} candidates exceed the capacity of {CAPACITY}",
                cand_cols.len()
            ),
        ));
    }
    let candidates: Vec<String> = match &header {
        Some((_, h)) => cand_cols
            .iter()
            .map(|&c| h.get(c).cloned().unwrap_or_else(|| format!("c{}", c + 1)))
            .collect(),
        None => (1..=cand_cols.len()).map(|i| format!("c{i}")).collect(),
    };
    if let (Some((hl, _)), Some(i)) = (&header, candidates.iter().position(|c| c.is_empty())) {
        // An empty field heads no candidate: a header ending in a comma (as spreadsheets
        // write one) would add an unnamed candidate that every row leaves empty.
        let column = cand_cols.get(i).map_or(0, |c| c + 1);
        return Err(Error::at(
            source,
            *hl,
            format!(
                "column {column} has an empty header field: a candidate needs a name (a \
                 trailing delimiter makes an empty last column)"
            ),
        ));
    }
    if let Some(c) = repeated(&candidates) {
        let line = header.as_ref().map(|h| h.0).unwrap_or(1);
        return Err(Error::at(
            source,
            line,
            format!("candidate \"{c}\" named twice"),
        ));
    }
    // Rule 7: what the values are.
    let values = match values {
        Some(v) => v,
        None => {
            if let Some(e) = rank_cue(source, &header, &rows, &cand_cols) {
                return Err(e);
            }
            Values::Scores
        }
    };
    let cell =
        |r: usize, c: usize| cell_text(text, rows.span.get(r).copied().unwrap_or((0, 0)), d, c);
    // Rows of ranks are merged as they are read; rows of scores are kept as they are.
    let ranked = if values == Values::Ranks {
        cand_cols.len()
    } else {
        0
    };
    let mut users = MergedUsers::with_capacity(rows.len(), ranked);
    let mut ranks = RankOrder::new(cand_cols.len());
    for (r, &line) in rows.line.iter().enumerate() {
        let weight = match weight_col {
            Some(c) => {
                let (k, w) = rows.cell(r, c);
                if k != Kind::Number {
                    let text = cell(r, c);
                    let why = problem(k, &text, d);
                    return Err(Error::at(source, line, format!("weight `{text}` is {why}")));
                }
                check_weight(w).map_err(|m| Error::at(source, line, m))?;
                w
            }
            None => 1.0,
        };
        let what = match values {
            Values::Scores => "score",
            Values::Ranks => "rank",
        };
        let bad = |c: usize, name: &str, kind: Kind| {
            let text = cell(r, c);
            let why = problem(kind, &text, d);
            Error::at(
                source,
                line,
                format!("{what} `{text}` of candidate {name} is {why}"),
            )
        };
        match values {
            Values::Scores => {
                let mut scores = Vec::with_capacity(cand_cols.len());
                for (&c, name) in cand_cols.iter().zip(&candidates) {
                    match rows.cell(r, c) {
                        (Kind::Number, x) if x.is_finite() => scores.push(x),
                        (k, _) => return Err(bad(c, name, k)),
                    }
                }
                users.keep(UserType {
                    weight,
                    prefs: Prefs::Scores(scores),
                    line,
                });
            }
            Values::Ranks => {
                ranks.clear();
                for (i, (&c, name)) in cand_cols.iter().zip(&candidates).enumerate() {
                    match rows.cell(r, c) {
                        // `i < CAPACITY < 2^16`.
                        (Kind::Number, x) if x.is_finite() => ranks.push(x, i as u16),
                        (Kind::Empty, _) => {}
                        (k, _) => return Err(bad(c, name, k)),
                    }
                }
                users.add(ranks.order(), weight, line);
            }
        }
    }
    Ok(Instance {
        source: source.to_string(),
        candidates,
        users: users.into_users(),
    })
}

/// The canonical [`Prefs::Order`] of a row of ranks, with its scratch.
pub(super) struct RankOrder {
    /// `(key, candidate)` for every ranked candidate (sorted by [`RankOrder::order`]): the key
    /// is [`rank_key`] of the rank, or the rank itself for a whole rank below [`COUNTED`].
    pairs: Vec<(u64, u16)>,
    /// Whether every rank of the row so far is a whole number below [`COUNTED`], pushed in
    /// increasing order of candidates: then the row is ordered without comparisons, by bit sets
    /// up to 64 candidates ([`RankOrder::masked_order`]), by counting past them.
    counted: bool,
    /// In a counted row over more than 64 candidates: each candidate's rank, or one more than
    /// the largest rank when it is not ranked.
    keys: Vec<u8>,
    /// Whether each of the `n` candidates is ranked.
    ranked: Vec<bool>,
    /// In a counted row over at most 64 candidates: the candidates of each rank as a bit set
    /// (all empty between rows: [`RankOrder::masked_order`] empties each one it reads).
    of_rank: [u64; COUNTED as usize],
    /// The order.
    out: Vec<u16>,
}

/// Whole ranks below this are ordered without comparisons (by bit sets or by counting): a row of
/// pref_voting's ranks (1 to `n`) needs no comparison sort, whose unpredictable branches were a
/// third of reading such a table.
const COUNTED: u64 = 64;

/// A finite rank as an integer of the same order: `a < b` exactly when
/// `rank_key(a) < rank_key(b)`, and `-0` and `0` give one key. So a row sorts by integer
/// compares. Every key is at least `2^52`, above the whole ranks [`RankOrder`] counts.
fn rank_key(x: f64) -> u64 {
    // `x + 0.0` is `x` but for `-0`, which becomes `0`.
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

impl RankOrder {
    /// Scratch for rows over `n` candidates.
    pub(super) fn new(n: usize) -> Self {
        RankOrder {
            pairs: Vec::with_capacity(n),
            counted: true,
            keys: Vec::with_capacity(n),
            ranked: vec![false; n],
            of_rank: [0; COUNTED as usize],
            out: Vec::with_capacity(n),
        }
    }

    /// Starts a new row.
    pub(super) fn clear(&mut self) {
        self.pairs.clear();
        self.counted = true;
    }

    /// Ranks `candidate` at `rank` (finite) in the current row.
    #[inline]
    pub(super) fn push(&mut self, rank: f64, candidate: u16) {
        self.counted = false;
        self.pairs.push((rank_key(rank), candidate));
    }

    /// Ranks `candidate` at the whole number `rank` (below `2^53`, so exactly an `f64`) in the
    /// current row: [`RankOrder::push`] of `rank as f64`, the same order.
    #[inline(always)]
    pub(super) fn push_whole(&mut self, rank: u64, candidate: u16) {
        let ascending = self.pairs.last().is_none_or(|&(_, c)| c < candidate);
        let small = rank < COUNTED;
        self.counted &= small && ascending && usize::from(candidate) < self.ranked.len();
        self.pairs
            .push((if small { rank } else { rank_key(rank as f64) }, candidate));
    }

    /// The order of the row: lower rank first, equal ranks tied (each group by candidate), the
    /// candidates not ranked as a last group.
    pub(super) fn order(&mut self) -> &[u16] {
        if self.counted {
            return if self.ranked.len() <= 64 {
                self.masked_order()
            } else {
                self.counted_order()
            };
        }
        // Whole ranks below `COUNTED` were kept as themselves: their keys now, so that they
        // compare with the rest.
        for (key, _) in self.pairs.iter_mut() {
            if *key < COUNTED {
                *key = rank_key(*key as f64);
            }
        }
        self.pairs.sort_unstable();
        self.ranked.iter_mut().for_each(|x| *x = false);
        self.out.clear();
        for (p, &(key, i)) in self.pairs.iter().enumerate() {
            // Ties with the next pair: the same rank.
            let tie = self.pairs.get(p + 1).is_some_and(|next| next.0 == key);
            self.out.push(if tie { i | TIES_NEXT } else { i });
            if let Some(s) = self.ranked.get_mut(i as usize) {
                *s = true;
            }
        }
        let from = self.out.len();
        for (i, &r) in self.ranked.iter().enumerate() {
            if !r {
                // `i < CAPACITY < 2^15`.
                self.out.push(i as u16);
            }
        }
        close_group(&mut self.out, from);
        &self.out
    }

    /// [`RankOrder::order`] of a counted row over at most 64 candidates: each rank's
    /// candidates as a bit set, and the ranks present as another. The candidates come out rank
    /// by rank, each rank's in increasing order (lowest bit first), all but the last of a rank
    /// tying with the next; then the unranked ones, likewise. A row costs its candidates, not
    /// the 64 ranks: no set is zeroed but the ones it filled, as they are read.
    fn masked_order(&mut self) -> &[u16] {
        let n = self.ranked.len();
        let (mut present, mut ranked) = (0u64, 0u64);
        for &(rank, c) in &self.pairs {
            // A counted row: `rank < COUNTED = 64` and `c < n <= 64`.
            if let Some(set) = self.of_rank.get_mut(rank as usize) {
                *set |= 1 << c;
            }
            present |= 1 << rank;
            ranked |= 1 << c;
        }
        // The candidates of `set` in increasing order, as one tie group.
        let group = |mut set: u64, out: &mut Vec<u16>| {
            while set != 0 {
                let c = set.trailing_zeros() as u16;
                set &= set - 1;
                out.push(if set != 0 { c | TIES_NEXT } else { c });
            }
        };
        self.out.clear();
        while present != 0 {
            let rank = present.trailing_zeros() as usize;
            present &= present - 1;
            if let Some(set) = self.of_rank.get_mut(rank) {
                group(std::mem::take(set), &mut self.out);
            }
        }
        let all = u64::MAX >> (64 - n.clamp(1, 64));
        group(all & !ranked, &mut self.out);
        &self.out
    }

    /// [`RankOrder::order`] of a counted row over more than 64 candidates (every rank whole and
    /// below [`COUNTED`], the candidates pushed in increasing order and below `n`), where one
    /// word no longer holds a rank's set: a stable counting sort of all `n` candidates by rank,
    /// the unranked ones at one more than the largest rank, after every ranked one. (A bit set
    /// of several words per rank took 1.1 to 1.2 times as long on 9 candidates.) The candidates
    /// go in increasing order, so each rank's group, and the unranked group, comes out sorted,
    /// as the comparison sort and [`close_group`] leave them; an entry ties with the next when
    /// their ranks are equal. No branch depends on the ranks.
    fn counted_order(&mut self) -> &[u16] {
        let n = self.ranked.len();
        // Every rank is below `COUNTED = 64`: every key fits a byte.
        let unranked = self.pairs.iter().fold(0, |top, &(rank, _)| top.max(rank)) as u8 + 1;
        self.keys.clear();
        self.keys.resize(n, unranked);
        for &(rank, c) in &self.pairs {
            if let Some(k) = self.keys.get_mut(usize::from(c)) {
                *k = rank as u8;
            }
        }
        let mut start = [0u16; COUNTED as usize + 2];
        for &k in &self.keys {
            if let Some(s) = start.get_mut(usize::from(k) + 1) {
                *s += 1;
            }
        }
        let span = start
            .get_mut(..=usize::from(unranked) + 1)
            .unwrap_or(&mut []);
        for r in 1..span.len() {
            span[r] += span[r - 1];
        }
        self.out.clear();
        self.out.resize(n, 0);
        for (c, &k) in self.keys.iter().enumerate() {
            if let Some(s) = start.get_mut(usize::from(k)) {
                if let Some(o) = self.out.get_mut(usize::from(*s)) {
                    // `c < n <= CAPACITY < 2^15`.
                    *o = c as u16;
                }
                *s += 1;
            }
        }
        // The rank of an entry is its candidate's key.
        let key = |e: u16| self.keys.get(usize::from(e)).copied();
        for p in 1..n {
            let next = self.out.get(p).copied();
            if let (Some(next), Some(o)) = (next, self.out.get_mut(p - 1))
                && key(*o) == key(next)
            {
                *o |= TIES_NEXT;
            }
        }
        &self.out
    }
}

/// The first sign that the table holds ranks (rule 7), as the error that refuses it.
fn rank_cue(
    source: &str,
    header: &Option<(usize, Vec<String>)>,
    rows: &Rows,
    cand_cols: &[usize],
) -> Option<Error> {
    let refuse = |line: Option<usize>, cue: String| {
        let m = format!(
            "the values look like ranks ({cue}): say --values ranks (1 = best, equal ranks tie, \
             empty = unranked) or --values scores (higher = better)"
        );
        Some(match line {
            Some(l) => Error::at(source, l, m),
            None => Error::in_file(source, m),
        })
    };
    if let Some((hl, h)) = header {
        if h.iter().any(|f| f == "#") {
            return refuse(
                Some(*hl),
                "a `#` count column, as pref_voting writes with ranks".into(),
            );
        }
        if let Some(f) = h.iter().find(|f| names_ranks(f)) {
            return refuse(Some(*hl), format!("a column named `{f}`"));
        }
    }
    for (r, &line) in rows.line.iter().enumerate() {
        if cand_cols.iter().any(|&c| rows.cell(r, c).0 == Kind::Empty) {
            return refuse(
                Some(line),
                "an empty cell: only ranks leave a candidate out".into(),
            );
        }
    }
    let n = cand_cols.len() as f64;
    let mut varied = false;
    for r in 0..rows.len() {
        let mut first: Option<f64> = None;
        for &c in cand_cols {
            let (k, x) = rows.cell(r, c);
            if k != Kind::Number || !(1.0..=n).contains(&x) || x.fract() != 0.0 {
                return None;
            }
            varied |= first.is_some_and(|f| f != x);
            first = first.or(Some(x));
        }
    }
    if varied {
        return refuse(
            None,
            format!(
                "every row holds whole numbers from 1 to {}, the number of candidates",
                cand_cols.len()
            ),
        );
    }
    None
}

/// pref_voting's `rank_columns` CSV (rule 8): the header is `Rank1,Rank2,...`, a row lists its
/// candidates by rank.
fn rank_columns(
    text: &str,
    source: &str,
    d: Delimiter,
    rows: &Rows,
    header_line: usize,
    header: &[String],
) -> Result<Instance> {
    // Columns in rank order.
    let mut cols: Vec<(u64, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(c, f)| rank_column(f).map(|k| (k, c)))
        .collect();
    cols.sort_unstable();
    if let Some(w) = cols
        .windows(2)
        .find(|w| w.first().map(|x| x.0) == w.get(1).map(|x| x.0))
    {
        let k = w.first().map(|x| x.0).unwrap_or(0);
        return Err(Error::at(
            source,
            header_line,
            format!("two columns for rank {k}"),
        ));
    }
    let mut fields: Vec<Cow<'_, str>> = Vec::new();
    let mut orders: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    let mut names: Vec<String> = Vec::new();
    let mut index: FxHashMap<String, usize> = FxHashMap::default();
    for (r, &line) in rows.line.iter().enumerate() {
        let (a, b) = rows.span.get(r).copied().unwrap_or((0, 0));
        split(text.get(a..b).unwrap_or(""), d, &mut fields)
            .map_err(|m| Error::at(source, line, m))?;
        let mut order = Vec::new();
        for &(_, c) in &cols {
            let f = fields.get(c).map(|f| f.as_ref()).unwrap_or("");
            if f.is_empty() || f == "skipped" {
                continue;
            }
            if order.iter().any(|x: &String| x == f) {
                return Err(Error::at(
                    source,
                    line,
                    format!("candidate \"{f}\" ranked twice"),
                ));
            }
            if !index.contains_key(f) {
                // Refused as the first name past the capacity appears: the names (and their
                // hash map, and each row's check for a repeat) never outgrow it.
                if names.len() == CAPACITY {
                    return Err(Error::at(
                        source,
                        line,
                        format!(
                            "candidate \"{f}\" is one more than the capacity of {CAPACITY} \
                             candidates"
                        ),
                    ));
                }
                index.insert(f.to_string(), names.len());
                names.push(f.to_string());
            }
            order.push(f.to_string());
        }
        orders.push(order);
    }
    names.sort_unstable();
    let position: FxHashMap<&str, u16> = names
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u16))
        .collect();
    let mut users = Vec::with_capacity(orders.len());
    for (order, &line) in orders.iter().zip(&rows.line) {
        // Strict: no tie flags; merging below appends the unlisted candidates.
        let listed: Vec<u16> = order
            .iter()
            .filter_map(|s| position.get(s.as_str()).copied())
            .collect();
        users.push(UserType {
            weight: 1.0,
            prefs: Prefs::Order(listed),
            line,
        });
    }
    if names.is_empty() {
        return Err(Error::in_file(source, "no candidates: every cell is empty"));
    }
    let mut inst = Instance {
        source: source.to_string(),
        candidates: names,
        users,
    };
    inst.merge_duplicate_rankings();
    Ok(inst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// A row's order is the one its ranks define, by a brute force: a ranked candidate's group
    /// is the number of distinct ranks below its own, candidates ascending within a group,
    /// unranked candidates last. Random rows of whole ranks with now and then a rank of 0, `-0`
    /// (equal to 0), past `n`, fractional, negative or tiny, and the pairs in either order.
    #[test]
    fn rank_orders_are_the_ranks_groups() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |k: u64| rng.below(k);
        for case in 0..20_000 {
            // Mostly a few candidates; now and then 64 (the most a bit set holds) or more.
            let n = match case % 50 {
                0 => 64,
                1 => 65,
                2 => 1 + next(90) as usize,
                _ => 1 + next(7) as usize,
            };
            let mut ranks = RankOrder::new(n);
            let mut pairs: Vec<(f64, u16)> = Vec::new();
            for c in 0..n {
                let r = match next(44) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => (n + 1) as f64,
                    3 => 1.5,
                    4 => -1.0,
                    5 => -2.5,
                    6 => 5e-324,
                    7 => -5e-324,
                    8 => 63.0,
                    9 => 64.0,
                    10 => (1u64 << 40) as f64,
                    k if k < 18 => continue,
                    _ => (1 + next(n as u64)) as f64,
                };
                pairs.push((r, c as u16));
            }
            if next(10) == 0 {
                pairs.reverse();
            }
            ranks.clear();
            // The same row with its whole ranks through `push_whole` (the counting sort when
            // they are all below `COUNTED` and come in increasing order of candidates).
            let mut whole = RankOrder::new(n);
            whole.clear();
            for &(r, c) in &pairs {
                ranks.push(r, c);
                if r >= 0.0 && r.fract() == 0.0 {
                    whole.push_whole(r as u64, c);
                } else {
                    whole.push(r, c);
                }
            }
            // The distinct ranks below each rank (`-0 == 0`).
            let below = |r: f64| {
                let mut d: Vec<f64> = pairs.iter().map(|p| p.0).filter(|&y| y < r).collect();
                d.sort_by(f64::total_cmp);
                d.dedup_by(|a, b| a == b);
                d.len()
            };
            let mut want: Vec<Vec<u16>> = Vec::new();
            let mut sorted: Vec<(usize, u16)> = pairs.iter().map(|p| (below(p.0), p.1)).collect();
            sorted.sort_unstable();
            for (g, c) in sorted {
                if want.len() == g + 1
                    && let Some(last) = want.last_mut()
                {
                    last.push(c);
                } else {
                    want.push(vec![c]);
                }
            }
            let unranked: Vec<u16> = (0..n as u16)
                .filter(|c| !pairs.iter().any(|p| p.1 == *c))
                .collect();
            if !unranked.is_empty() {
                want.push(unranked);
            }
            let got = crate::instance::Prefs::Order(ranks.order().to_vec()).groups();
            assert_eq!(got, Some(want.clone()), "{pairs:?}");
            let got = crate::instance::Prefs::Order(whole.order().to_vec()).groups();
            assert_eq!(got, Some(want), "whole ranks of {pairs:?}");
        }
    }

    #[test]
    fn numbers() {
        let w = Delimiter::Whitespace;
        assert_eq!(number("1,486.5", w), Some(1486.5));
        assert_eq!(number("297638.17±37054.55", w), Some(297638.17));
        assert_eq!(number("12+-3", w), Some(12.0));
        assert_eq!(number("-3e2", w), Some(-300.0));
        assert_eq!(number("inf", w), None);
        assert_eq!(number("alien", w), None);
        assert_eq!(number("1,5", Delimiter::Comma), None);
        assert_eq!(number("", Delimiter::Comma), None);
        // Zero written as zero is 0; a nonzero number that would read as 0 is not a number.
        assert_eq!(number("0e-400", w), Some(0.0));
        assert_eq!(number("-0.000E+5", w), Some(0.0));
        assert_eq!(number("3e-324", w), Some(5e-324));
        assert_eq!(number("2e-324", w), None);
        assert_eq!(number("1e-400±1", w), None);
    }

    #[test]
    fn rank_names() {
        for s in ["Rank1", "rank_12", "RANK-3", "rank 4"] {
            assert!(rank_column(s).is_some(), "{s}");
        }
        for s in ["rank", "Frank1", "ranked", "rank_", "rank1a", "ra"] {
            assert!(rank_column(s).is_none(), "{s}");
        }
        assert!(names_ranks("Ranking") && names_ranks("rank") && !names_ranks("Frank"));
    }

    fn read(text: &str, values: Option<Values>) -> Result<Instance> {
        parse(
            text,
            "t.csv",
            Delimiter::Comma,
            &Options {
                values,
                header: None,
            },
        )
    }

    fn read_table(text: &str) -> Result<Instance> {
        parse(text, "t.txt", Delimiter::Whitespace, &Options::default())
    }

    /// The candidates and score rows of a table read as scores.
    fn scores(inst: &Instance) -> (Vec<String>, Vec<Vec<f64>>) {
        let rows = inst
            .users
            .iter()
            .map(|u| match &u.prefs {
                Prefs::Scores(s) => s.clone(),
                p => panic!("not scores: {p:?}"),
            })
            .collect();
        (inst.candidates.clone(), rows)
    }

    /// A first column of numbers in notations the reader does not take is a candidate's (and
    /// refused at its first cell); versions and other dotted labels stay labels.
    #[test]
    fn number_like_first_columns_are_values_and_dotted_labels_labels() {
        for s in [
            "1,5",
            "-1,5",
            "1 000",
            "1'000",
            "1\u{a0}000",
            "1_000",
            "1.000,5",
            "0x1F",
            "50%",
            "12.5 %",
        ] {
            assert!(number_like(s), "{s}");
        }
        for s in [
            "3.5.1",
            "10.0.0.1",
            "1st",
            "2020-01-05",
            "12:30",
            "x1,5",
            "0x",
            "0xg",
            "%",
            "x%",
            "",
        ] {
            assert!(!number_like(s), "{s}");
        }
        // A first column of percentages is a candidate's values, refused as such (it was read
        // as row labels, and the candidate dropped).
        let e = read("a,b,c\n50%,0.2,0.3\n10%,0.5,0.4\n", None).unwrap_err();
        assert!(e.message().contains("`50%`"), "{e}");
        assert_eq!(e.line(), Some(2), "{e}");
        let inst = read_table("v a b\n3.5.1 0.1 0.2\n3.6.0 0.3 0.1\n").unwrap();
        assert_eq!(inst.candidates, ["a", "b"]);
    }

    /// In whitespace tables a comma is a thousands separator (1 to 3 digits, then groups of 3,
    /// before any point or exponent) and nothing else; any other comma refuses the cell, and so
    /// does a single comma without a point (it could be a decimal comma).
    #[test]
    fn commas_are_thousands_separators_only() {
        let w = Delimiter::Whitespace;
        for (s, x) in [
            ("1,486.5", 1486.5),
            ("-12,345,678", -12_345_678.0),
            ("+1,000,000e2", 100_000_000.0),
            ("999,999.25", 999_999.25),
            ("1,234.5±5", 1234.5),
            ("1,234.5+-1,000,000", 1234.5),
        ] {
            assert_eq!(number(s, w), Some(x), "{s}");
        }
        // One comma and no point: a thousands separator or a decimal comma, refused.
        for s in ["1,500", "+1,000e2", "-12,345", "1,234±5", "1.5±1,000"] {
            assert_eq!(number(s, w), None, "{s}");
            let e = read_table(&format!("a b\n1 2\n{s} 1\n")).unwrap_err();
            assert_eq!(e.line(), Some(3), "{s}: {e}");
            assert!(e.message().contains("`1,500` is 1500 or 1.5"), "{s}: {e}");
        }
        for s in [
            "0,5",
            "1,48",
            "1,486.5,3",
            "1.5e3,0",
            "1,e,4,0,0",
            ",500",
            "1,,000",
            "1234,567",
            "1,0000",
            "0,500",
            "-0,500",
            "1,000,",
            "2±0,5",
        ] {
            assert_eq!(number(s, w), None, "{s}");
            let e = read_table(&format!("a b\n1 2\n{s} 1\n")).unwrap_err();
            assert_eq!(e.line(), Some(3), "{s}: {e}");
            assert!(
                e.message()
                    .contains("commas are read only as thousands separators"),
                "{s}: {e}"
            );
        }
        let inst = read_table("a b\n1,486.5 2\n").unwrap();
        assert_eq!(scores(&inst).1, vec![vec![1486.5, 2.0]]);
    }

    /// `value±err` and `value+-err` keep the value only when the error is a number too.
    #[test]
    fn errors_must_be_numbers() {
        for d in [Delimiter::Whitespace, Delimiter::Comma] {
            assert_eq!(number("1±2", d), Some(1.0));
            assert_eq!(number("-1.5e2+-0.25", d), Some(-150.0));
            for s in ["1±2±3", "1+-x", "1±", "1+-", "1+-2+-3", "1±inf", "1±-"] {
                assert_eq!(number(s, d), None, "{s}");
            }
        }
        for (s, sep) in [("1±2±3", "±"), ("1+-x", "+-")] {
            let e = read_table(&format!("a b\n1 2\n3 {s}\n")).unwrap_err();
            assert_eq!(e.line(), Some(3), "{s}: {e}");
            assert!(
                e.message()
                    .contains(&format!("after `{sep}` is not a number")),
                "{s}: {e}"
            );
        }
        // A label is still a label.
        let inst = read_table("x a b\nv±1 0.5 2\nw±2 2 1\n").unwrap();
        assert_eq!(inst.candidates, ["a", "b"]);
    }

    /// A first column of numbers and text is neither clearly labels nor a candidate: refused,
    /// naming a line of each. All text is labels; an empty header field makes labels of any.
    #[test]
    fn a_first_column_of_numbers_and_text_is_refused() {
        for (text, d, lines) in [
            ("a,b,c\n1.5,2,3\n2x,1,1\n", Delimiter::Comma, (2, 3)),
            ("a,b,c\nx,2,3\n1,1,1\n", Delimiter::Comma, (3, 2)),
            ("a b\n1 2\n\"2\" 0\n", Delimiter::Whitespace, (2, 3)),
            ("a b\nalien 2\n0,5 0\n", Delimiter::Whitespace, (3, 2)),
            ("a b c\nx 0 1\ninf 1 2\n", Delimiter::Whitespace, (3, 2)),
        ] {
            let e = parse(text, "t", d, &Options::default()).unwrap_err();
            let m = e.message();
            assert!(m.contains("first column"), "{text:?}: {e}");
            assert!(
                m.contains(&format!("line {} holds a number", lines.0)),
                "{text:?}: {e}"
            );
            assert!(
                m.contains(&format!("line {} does not", lines.1)),
                "{text:?}: {e}"
            );
            assert!(m.contains("for row labels"), "{text:?}: {e}");
            assert_eq!(e.line(), Some(lines.0.max(lines.1)), "{text:?}: {e}");
        }
        // The way out the message gives: an empty header field.
        let inst = read(",b,c\n1.5,2,3\n2x,1,1\n", None).unwrap();
        assert_eq!(inst.candidates, ["b", "c"]);
        let inst = read("a,b,c\nx,2,3\ny,1,1\n", None).unwrap();
        assert_eq!(inst.candidates, ["b", "c"]);
    }

    /// `NaN` and `inf` (in any case, signed or spelt out) are numbers that are not finite:
    /// refused in every column, never read as a label or a header.
    #[test]
    fn nan_and_inf_are_refused_wherever_they_are() {
        for (text, line) in [
            ("a,b,c\nNaN,2,3.5\n1,2,3\n", 2),
            ("a,b,c\n1,2,3\ninf,2,3.5\n", 3),
            ("a,b,c\n1,2,3\n2,-Infinity,3.5\n", 3),
            ("a,b,c\n1,2,3\n2,4,nan\n", 3),
            ("1,NaN,2\n3,4,5\n", 1),
            ("x,2,1\ny,+inf,2\n", 2),
        ] {
            let e = read(text, None).unwrap_err();
            assert!(e.message().contains("not finite"), "{text:?}: {e}");
            assert_eq!(e.line(), Some(line), "{text:?}: {e}");
        }
        let e = read("weight,a\nnan,1\n", None).unwrap_err();
        assert!(e.message().contains("weight `nan` is not finite"), "{e}");
        // A first column of weights is not labels: its text is a bad weight.
        let e = read("count,a,b\n2,0.5,1\nx,1,0\n", None).unwrap_err();
        assert!(e.message().contains("weight `x` is not a number"), "{e}");
        assert_eq!(e.line(), Some(3), "{e}");
    }

    /// RFC 4180: after a closing quote come only a separator, the line's end or (inside the
    /// quotes) a second quote.
    #[test]
    fn quotes_follow_rfc_4180() {
        let mut fields = Vec::new();
        for line in [
            "\"1\"5,14",
            "\"x\"y,z",
            "a,\"b\"\"c\"d",
            "\"a\" b,c",
            "a,\"b\"\"\"x",
        ] {
            let e = split(line, Delimiter::Comma, &mut fields).unwrap_err();
            assert!(e.contains("after the closing quote"), "{line}: {e}");
        }
        let e = split("a,\"b\"\"", Delimiter::Comma, &mut fields).unwrap_err();
        assert_eq!(e, "unterminated quote (a quoted field cannot span lines)");
        for (line, want) in [
            ("\"a,b\",\"c\"\"d\"", vec!["a,b", "c\"d"]),
            (" \"a\" ,\"\",b", vec!["a", "", "b"]),
            ("\"\"\"\"", vec!["\""]),
        ] {
            split(line, Delimiter::Comma, &mut fields).unwrap();
            assert_eq!(fields, want, "{line}");
        }
        for (text, line) in [("x,y\n\"1\"5,14\n", 2), ("\"x\"y,z\n1.5,2\n", 1)] {
            let e = read(text, None).unwrap_err();
            assert_eq!(e.line(), Some(line), "{text:?}: {e}");
            assert!(e.message().contains("after the closing quote"), "{e}");
        }
    }

    /// A table has at most one weight column: two are refused, naming both.
    #[test]
    fn one_weight_column() {
        for (text, names) in [
            ("weight,weight,b\n2,1.5,2.5\n", ("weight", "weight")),
            ("count,weight,b\n2,1.5,2.5\n", ("count", "weight")),
            ("a,#,b,Weights\n2,1,2.5,3\n", ("#", "Weights")),
        ] {
            for values in [None, Some(Values::Scores), Some(Values::Ranks)] {
                let e = read(text, values).unwrap_err();
                assert_eq!(e.line(), Some(1), "{text:?}: {e}");
                let m = e.message();
                assert!(m.contains("two weight columns"), "{text:?}: {e}");
                assert!(
                    m.contains(&format!("`{}` (column", names.0))
                        && m.contains(&format!("`{}` (column", names.1)),
                    "{text:?}: {e}"
                );
            }
        }
        assert_eq!(weight_column(&["a", "count", "b"]), Ok(Some(1)));
        for name in ["counts", "Votes", "frequency", "FREQ"] {
            assert_eq!(weight_column(&[name, "a", "b"]), Ok(Some(0)), "{name}");
        }
        // A count column under one of those names weights its rows, not a candidate.
        let inst = read("votes,a,b\n30,0.9,0.1\n10,0.1,0.9\n", None).unwrap();
        assert_eq!(inst.candidates, ["a", "b"]);
        let weights: Vec<f64> = inst.users.iter().map(|u| u.weight).collect();
        assert_eq!(weights, [30.0, 10.0]);
        assert_eq!(weight_column(&["a", "b"]), Ok(None));
    }

    /// Rank columns naming more candidates than the capacity are refused at the line of the
    /// first name past it (the names were all collected first, whatever their number).
    #[test]
    fn rank_columns_stop_at_the_capacity() {
        let mut text = String::from("Rank1,Rank2\n");
        for r in 0..600 {
            text.push_str(&format!("x{},x{}\n", 2 * r, 2 * r + 1));
        }
        let e = read(&text, Some(Values::Ranks)).unwrap_err();
        // Name 1025 (`x1024`) is the first of row 513, on line 514.
        assert_eq!(e.line(), Some(514), "{e}");
        assert!(e.message().contains("\"x1024\""), "{e}");
        assert!(e.message().contains("capacity of 1024"), "{e}");
        let fits: String = text.lines().take(513).map(|l| format!("{l}\n")).collect();
        assert_eq!(read(&fits, Some(Values::Ranks)).unwrap().n(), 1024);
    }

    /// Rule 2's ambiguous first rows are refused without `--header`, and read as `--header`
    /// says; rows that are neither, and headers found otherwise, are not refused.
    #[test]
    fn ambiguous_first_rows_need_the_header_flag() {
        let with = |text: &str, header| {
            parse(
                text,
                "t.csv",
                Delimiter::Comma,
                &Options {
                    values: None,
                    header,
                },
            )
        };
        let refused = [
            ("0,1,2\n0.5,0.2,0.1\n", 1, "numbered columns"),
            ("1,2,3\n0.5,0.2,0.1\n", 1, "numbered columns"),
            (",0,1,2\nx,0.5,0.2,0.1\n", 1, "numbered columns"),
            ("index,1,2\n0,0.5,0.2\n", 1, "numbered columns"),
            ("model,0,1,2\nu1,0.9,0.5,0.1\n", 1, "numbered columns"),
            ("model,2019,2020\nu1,0.9,0.5\n", 1, "numbered columns"),
            ("2,3\n0.5,0.2\n", 1, "numbered columns"),
            ("0.0,1.0\n0.5,0.2\n", 1, "numbered columns"),
            ("# note\n\n0,1\n0.5,0.2\n", 3, "numbered columns"),
            ("0.9,NA,0.1\n0.1,0.5,0.9\n", 1, "mixes text and numbers"),
            ("x,a,2\ny,0.1,0.5\n", 1, "mixes text and numbers"),
            ("a,nan,c\n0.1,0.5,0.9\n", 1, "mixes text and numbers"),
        ];
        for (text, line, why) in refused {
            let e = with(text, None).unwrap_err();
            assert!(e.message().contains(why), "{text:?}: {e}");
            assert!(e.message().contains("--header first-row"), "{text:?}: {e}");
            assert_eq!(e.line(), Some(line), "{text:?}: {e}");
        }
        // Not numbered columns (out of order, a gap, fractions, one field), a header of text
        // with a weight column, or a comment line that heads the table: read as before.
        for (text, n, m) in [
            ("2,1,0\n0.5,0.2,0.1\n", 3, 2),
            ("0,2,3\n0.5,0.2,0.1\n", 3, 2),
            ("1.5,2.5\n0.5,0.2\n", 2, 2),
            ("1\n0.5\n", 1, 2),
            ("x,2,1\ny,0.5,0.2\n", 2, 2),
            ("a,b,weight\n0.5,0.2,1\n", 2, 1),
            ("# a,b\n0,1\n0.5,0.2\n", 2, 2),
        ] {
            let inst = with(text, None).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!((inst.n(), inst.m()), (n, m), "{text:?}");
        }
        let text = "0,1,2\n0.5,0.2,0.1\n0.3,0.9,0.4\n";
        let first = with(text, Some(Header::FirstRow)).unwrap();
        assert_eq!(first.candidates, ["0", "1", "2"]);
        assert_eq!(first.m(), 2);
        let none = with(text, Some(Header::None)).unwrap();
        assert_eq!(none.candidates, ["c1", "c2", "c3"]);
        assert_eq!(none.m(), 3);
        // `none` reads no comment line as a header either, `first-row` takes text rows too.
        let none = with("# a,b\nx,y\n0.5,0.2\n", Some(Header::None)).unwrap_err();
        assert!(none.message().contains("`x`"), "{none}");
        let none = with("# a,b\n0.1,0.2\n0.5,0.2\n", Some(Header::None)).unwrap();
        assert_eq!(none.candidates, ["c1", "c2"]);
        assert_eq!(none.m(), 2);
        let first = with("a,b\n0.5,0.2\n", Some(Header::FirstRow)).unwrap();
        assert_eq!(first.candidates, ["a", "b"]);
        let first = with("0.9,NA,0.1\n0.1,0.5,0.9\n", Some(Header::FirstRow)).unwrap();
        assert_eq!(first.candidates, ["0.9", "NA", "0.1"]);
    }

    /// A comment line whose `#` the delimiter follows at once heads the table with `#`, a count
    /// column's name, as its first field (when it has as many fields as the rows); with a space
    /// after the `#` it is a comment naming the columns (the Atari tables).
    #[test]
    fn a_count_column_first_is_not_a_comment() {
        let scores = Some(Values::Scores);
        for (text, d) in [
            (
                "#,a,b,c\n30,0.9,0.5,0.1\n10,0.1,0.5,0.9\n",
                Delimiter::Comma,
            ),
            (
                "#\ta\tb\tc\n30\t0.9\t0.5\t0.1\n10\t0.1\t0.5\t0.9\n",
                Delimiter::Whitespace,
            ),
        ] {
            let read = |values| {
                parse(
                    text,
                    "t",
                    d,
                    &Options {
                        values,
                        header: None,
                    },
                )
            };
            let inst = read(scores).unwrap();
            assert_eq!(inst.candidates, ["a", "b", "c"], "{text:?}");
            let weights: Vec<f64> = inst.users.iter().map(|u| u.weight).collect();
            assert_eq!(weights, [30.0, 10.0], "{text:?}");
            // `#` is pref_voting's count column, which holds ranks: without `--values`, asked.
            let e = read(None).unwrap_err();
            assert!(e.message().contains("--values"), "{text:?}: {e}");
        }
        let atari = "# game x y\nalien 0.9 0.5\npong 0.1 0.5\n";
        let inst = parse(atari, "t", Delimiter::Whitespace, &Options::default()).unwrap();
        assert_eq!(inst.candidates, ["x", "y"]);
    }

    /// A whitespace table whose first row is one field holding commas is a CSV read as the
    /// wrong format: refused, naming `--format csv`.
    #[test]
    fn commas_in_a_whitespace_table_ask_for_csv() {
        for text in ["a,b,c\n850,920,780\n", "1,200,300\n2,100,400\n"] {
            let e = parse(text, "t.txt", Delimiter::Whitespace, &Options::default()).unwrap_err();
            assert!(e.message().contains("--format csv"), "{text:?}: {e}");
            assert_eq!(e.line(), Some(1), "{text:?}: {e}");
        }
        // Thousands separators in a table of several columns stay numbers.
        let text = "a b\n1,486.5 2\n";
        let inst = parse(text, "t.txt", Delimiter::Whitespace, &Options::default()).unwrap();
        assert_eq!(inst.candidates, ["a", "b"]);
    }

    /// The cues of rule 7, and what is read as scores without a flag.
    #[test]
    fn what_looks_like_ranks() {
        for (text, line) in [
            ("a,b,#\n1,2,3\n", Some(1)),
            ("Rank1,Rank2\nx,y\n", Some(1)),
            ("x,rank\n0.5,2\n", Some(1)),
            ("a,b,c\n0.5,,2\n", Some(2)),
            ("a,b,c\n1,2,3\n3,3,1\n", None),
            ("2,1\n1,2\n", None),
        ] {
            let e = read(text, None).unwrap_err();
            assert!(e.message().contains("--values"), "{text:?}: {e}");
            assert_eq!(e.line(), line, "{text:?}: {e}");
        }
        for text in [
            "a,b,c\n2,1,0\n0,1,2\n",
            "a,b,c\n1,2,3\n3,1,4\n",
            "a,b,c\n1,2,3\n1,1.5,2\n",
            "a,b,c\n2,2,2\n1,1,1\n",
            "label,a,b\nx,1,3\n",
            "a,b\n-1,1\n",
        ] {
            let inst = read(text, None).unwrap();
            assert!(matches!(inst.users[0].prefs, Prefs::Scores(_)), "{text:?}");
        }
    }

    #[test]
    fn ranks_are_read_as_tie_groups() {
        let inst = read(
            "x,y,z,w,#\n1,2,,2,3\n3,1,1,,1\n1,5,,5,2\n",
            Some(Values::Ranks),
        )
        .unwrap();
        let got: Vec<(f64, Vec<Vec<u16>>)> = inst
            .users
            .iter()
            .map(|u| (u.weight, u.prefs.groups().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (5.0, vec![vec![0], vec![1, 3], vec![2]]),
                (1.0, vec![vec![1, 2], vec![0], vec![3]]),
            ]
        );
        // The same numbers as scores: `#` is still the count column.
        let inst = read("a,b,#\n1,2,3\n", Some(Values::Scores)).unwrap();
        assert_eq!(inst.users[0].weight, 3.0);
        assert_eq!(inst.users[0].prefs, Prefs::Scores(vec![1.0, 2.0]));
        let e = read("a,b\n1,x\n", Some(Values::Ranks)).unwrap_err();
        assert!(e.message().contains("rank `x` of candidate b"), "{e}");
        let e = read("a,b\n1,\n", Some(Values::Scores)).unwrap_err();
        assert!(
            e.message()
                .contains("score `` of candidate b is not a number"),
            "{e}"
        );
    }

    #[test]
    fn rank_columns_list_candidates_by_rank() {
        let text = "Rank1,Rank2,Rank3\nb,a,skipped\nc,b,a\nb,a,\n";
        let inst = read(text, Some(Values::Ranks)).unwrap();
        assert_eq!(inst.candidates, vec!["a", "b", "c"]);
        let got: Vec<(f64, Vec<Vec<u16>>)> = inst
            .users
            .iter()
            .map(|u| (u.weight, u.prefs.groups().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2.0, vec![vec![1], vec![0], vec![2]]),
                (1.0, vec![vec![2], vec![1], vec![0]]),
            ]
        );
        assert!(read("Rank1,Rank2\na,a\n", Some(Values::Ranks)).is_err());
    }
}
