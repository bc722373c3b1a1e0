//! Input formats: PrefLib orders, JSON instances, CSV and whitespace score tables.
//!
//! Every input is read through [`Input::open`], which skips a UTF-8 byte-order mark at its
//! start. The format is `--format`'s, else the extension's, and then text plainly of another
//! format (`plain_format`: a PrefLib header in a `.txt`, say) is refused, naming `--format`.
//!
//! Every parser reads its input in one pass, in time linear in its size, and names the line of
//! an error without counting lines it did not need (PrefLib and tables go line by line; the JSON
//! reader counts newlines as it skips whitespace).

pub mod json;
mod names;
pub(crate) use names::short_word;
pub mod preflib;
mod rank_rows;
pub mod table;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::instance::Instance;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PrefLib `.soc`, `.soi`, `.toc`, `.toi`.
    Preflib,
    /// A JSON instance.
    Json,
    /// A comma-separated score table.
    Csv,
    /// A whitespace-separated score table.
    Table,
}

impl Format {
    /// The format an extension implies, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "soc" | "soi" | "toc" | "toi" => Some(Format::Preflib),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "txt" | "tsv" | "dat" | "table" | "tab" => Some(Format::Table),
            _ => None,
        }
    }

    /// What it is called in messages.
    pub fn title(self) -> &'static str {
        match self {
            Format::Preflib => "PrefLib",
            Format::Json => "JSON",
            Format::Csv => "a CSV table",
            Format::Table => "a whitespace table",
        }
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Preflib => "preflib",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Table => "table",
        }
    }
}

/// What the numbers of a score table (CSV or whitespace table) are: `--values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Values {
    /// Utilities: higher is better, equal scores tie; every cell must hold a number.
    Scores,
    /// Ranks: lower is better (1 = best), equal ranks tie, an empty cell is an unranked
    /// candidate (unranked candidates tie below every ranked one).
    Ranks,
}

/// Whether a score table's first row names its candidates: `--header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Header {
    /// The first row that is not a comment names the candidates, whatever it holds.
    FirstRow,
    /// No header: every row that is not a comment is a user type's, and the candidates are
    /// named `c1`, `c2`, ...
    None,
}

/// How to read an input beyond its format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// What a score table's numbers are. `None`: scores, unless the table looks like ranks
    /// (see [`table`]), which is then refused with a message naming `--values`. Only score
    /// tables take it: giving it for PrefLib or JSON input is an error.
    pub values: Option<Values>,
    /// Whether a score table has a header row. `None`: found from the table (see [`table`]),
    /// and a first row that could be either is refused with a message naming `--header`. Only
    /// score tables take it: giving it for PrefLib or JSON input is an error.
    pub header: Option<Header>,
}

/// A parsed instance and what the reader has to say about how it read it (one line each, for
/// stderr), such as a PrefLib file numbered from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The instance.
    pub instance: Instance,
    /// Notes for the user.
    pub notes: Vec<String>,
}

/// The name standard input goes by in messages (a FILE of `-`).
pub const STDIN_NAME: &str = "<stdin>";

/// Parses `text` (named `source` in messages) in format `format` with default [`Options`];
/// notes are dropped (see [`parse_with`]).
pub fn parse(text: &str, source: &str, format: Format) -> Result<Instance> {
    parse_with(text, source, format, &Options::default()).map(|p| p.instance)
}

/// Parses `text` (named `source` in messages) in format `format`, and validates the instance.
/// A UTF-8 byte order mark at its start is skipped, as [`Input::open`] skips it.
pub fn parse_with(text: &str, source: &str, format: Format, opts: &Options) -> Result<Parsed> {
    parse_read(
        text.strip_prefix('\u{FEFF}').unwrap_or(text),
        source,
        format,
        opts,
    )
}

/// [`parse_with`] of text already past its mark: [`load_with`]'s, which [`Input::open`] read
/// (one leading mark is skipped, a second is text, in every way of reading a file).
fn parse_read(text: &str, source: &str, format: Format, opts: &Options) -> Result<Parsed> {
    if let Format::Preflib | Format::Json = format {
        let flag = match (opts.values, opts.header) {
            (Some(_), _) => Some("--values"),
            (None, Some(_)) => Some("--header"),
            (None, None) => None,
        };
        if let Some(flag) = flag {
            return Err(Error::in_file(
                source,
                format!(
                    "{flag} applies to score tables (--format csv or table), not to {} input",
                    format.name()
                ),
            ));
        }
    }
    let mut notes = Vec::new();
    let instance = match format {
        Format::Preflib => preflib::parse(text, source, &mut notes)?,
        Format::Json => json::parse(text, source)?,
        // Rank CSV in pref_voting's form is read in one pass; anything else, and every error,
        // by the general table reader.
        // (Its form has a header row: not with `--header none`.)
        Format::Csv if opts.values == Some(Values::Ranks) && opts.header != Some(Header::None) => {
            match rank_rows::parse(text, source) {
                Some(instance) => instance,
                None => table::parse(text, source, table::Delimiter::Comma, opts)?,
            }
        }
        Format::Csv => table::parse(text, source, table::Delimiter::Comma, opts)?,
        Format::Table => table::parse(text, source, table::Delimiter::Whitespace, opts)?,
    };
    instance.validate()?;
    Ok(Parsed { instance, notes })
}

/// Reads and parses a file with default [`Options`], printing its notes on stderr (one
/// `ualign: FILE: note` line each) as the command line does. See [`load_with`].
pub fn load(path: &Path, format: Option<Format>) -> Result<Instance> {
    let parsed = load_with(path, format, &Options::default())?;
    Ok(report(parsed))
}

/// Prints the notes of `parsed` on stderr (one `ualign: FILE: note` line each) and returns its
/// instance.
pub fn report(parsed: Parsed) -> Instance {
    for note in &parsed.notes {
        eprintln!("ualign: {}: {note}", parsed.instance.source);
    }
    parsed.instance
}

/// Reads and parses a file; the format comes from `format` or else the extension (see
/// `by_extension`). A path of `-` reads standard input, named `<stdin>` in messages; it needs
/// `format`.
pub fn load_with(path: &Path, format: Option<Format>, opts: &Options) -> Result<Parsed> {
    let (text, source) = read_input(path, format)?;
    let format = match format {
        Some(format) => format,
        None => by_extension(path, &text, &source)?,
    };
    parse_read(&text, &source, format, opts)
}

/// The format the extension of `path` implies, for its `text` (named `source` in messages).
/// Text that is plainly of another format ([`plain_format`]) is refused with a message naming
/// its line and the `--format` of each reading: the extension alone does not decide.
fn by_extension(path: &Path, text: &str, source: &str) -> Result<Format> {
    let Some(format) = Format::from_path(path) else {
        return Err(Error::in_file(
            source,
            "unknown file extension: use --format preflib|json|csv|table",
        ));
    };
    match plain_format(text) {
        Some((plain, line, what)) if plain != format => {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy())
                .unwrap_or_default();
            Err(Error::at(
                source,
                line,
                format!(
                    "the text is {} ({what}), but the extension .{ext} means {}: pass \
                     --format {} to read it as {}, or --format {} to read it as {}",
                    plain.title(),
                    format.title(),
                    plain.name(),
                    plain.title(),
                    format.name(),
                    format.title(),
                ),
            ))
        }
        _ => Ok(format),
    }
}

/// The header keys of PrefLib's format that a score table's comment would not plausibly begin
/// with (`TITLE` and `DESCRIPTION` could), besides `ALTERNATIVE NAME i`.
const PREFLIB_KEYS: [&str; 10] = [
    "FILE NAME",
    "DATA TYPE",
    "MODIFICATION TYPE",
    "RELATES TO",
    "RELATED FILES",
    "PUBLICATION DATE",
    "MODIFICATION DATE",
    "NUMBER ALTERNATIVES",
    "NUMBER VOTERS",
    "NUMBER UNIQUE ORDERS",
];

/// The format `text` plainly is, whatever its name says, with the line that shows it and what
/// is there; `None` when it is not plain. Only the start of the text is read.
///
/// - PrefLib: among the `#` lines before its first other non-blank line, a PrefLib header
///   `# KEY: value` with a key of [`PREFLIB_KEYS`] or `ALTERNATIVE NAME i` (in any case, as the
///   PrefLib reader takes them), and that first other line, if there is one, a PrefLib order's
///   `count:`. (A table's row does not begin with a number and a colon.) Without a header,
///   PrefLib when its first data lines (up to three) are all whole orders (`5: 1,{2,3},4`,
///   [`is_order_line`]): a PrefLib body saved under a table's name.
/// - JSON: its first non-blank character opens an object: `{` and then `"` or `}`. (A table's
///   first field does not begin so, nor does a PrefLib line.)
fn plain_format(text: &str) -> Option<(Format, usize, String)> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if let Some(at) = start
        && bytes.get(at) == Some(&b'{')
        && let Some(next) = bytes.get(at + 1..)?.trim_ascii_start().first()
        && matches!(next, b'"' | b'}')
    {
        let line = memchr::memchr_iter(b'\n', bytes.get(..at)?).count() + 1;
        return Some((Format::Json, line, "an object".to_string()));
    }
    let mut header: Option<(usize, &str)> = None;
    // Without a header: the first data lines (up to three) when all are whole orders.
    let (mut orders, mut other) = (0usize, false);
    let mut first_order: Option<(usize, &str)> = None;
    for (number, _, line) in lines(text) {
        let s = line.trim_ascii();
        if s.is_empty() {
            continue;
        }
        if header.is_none() && !s.starts_with('#') {
            if !is_order_line(s.as_bytes()) {
                other = true;
                break;
            }
            first_order = first_order.or(Some((number, s)));
            orders += 1;
            if orders == 3 {
                break;
            }
            continue;
        }
        let Some(h) = s.strip_prefix('#') else {
            return header
                .filter(|_| starts_as_order(s.as_bytes()))
                .map(|(line, key)| (Format::Preflib, line, format!("a `# {key}` header line")));
        };
        if header.is_none()
            && let Some((key, _)) = h.split_once(':')
            && is_preflib_key(key.trim_ascii())
        {
            header = Some((number, key.trim_ascii()));
        }
    }
    if !other && let Some((line, order)) = first_order {
        return Some((Format::Preflib, line, format!("a PrefLib order `{order}`")));
    }
    header.map(|(line, key)| (Format::Preflib, line, format!("a `# {key}` header line")))
}

/// Whether `s` is a whole PrefLib order line: a count, `:`, then only candidate numbers,
/// commas, braces and blanks (`5: 1,{2,3},4`). A table's row does not read so: its first field
/// would hold the colon (`10:00` in a header of times is followed by more colons).
fn is_order_line(s: &[u8]) -> bool {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = s.get(digits..).unwrap_or(&[]).trim_ascii_start();
    let Some(order) = rest.strip_prefix(b":") else {
        return false;
    };
    digits > 0
        && order.iter().any(u8::is_ascii_digit)
        && order
            .iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b',' | b'{' | b'}' | b' ' | b'\t'))
}

/// Whether `key` is a PrefLib header key of [`PREFLIB_KEYS`] or `ALTERNATIVE NAME i`, in any
/// case.
fn is_preflib_key(key: &str) -> bool {
    const NAME: &str = "ALTERNATIVE NAME";
    if let Some(head) = key.get(..NAME.len())
        && head.eq_ignore_ascii_case(NAME)
    {
        let number = key.get(NAME.len()..).unwrap_or("").trim_ascii();
        return !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    }
    PREFLIB_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Whether `s` begins as a PrefLib order does: digits, blanks, `:` (the count).
fn starts_as_order(s: &[u8]) -> bool {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = s.get(digits..).unwrap_or(&[]).trim_ascii_start();
    digits > 0 && rest.first() == Some(&b':')
}

/// An input opened as a stream: standard input for a path of `-`, else the file.
pub struct Input {
    /// The bytes, buffered.
    pub reader: Box<dyn BufRead>,
    /// Its name in messages: the path, or [`STDIN_NAME`].
    pub source: String,
    /// Its size in bytes when it is a file.
    pub size: Option<u64>,
}

impl Input {
    /// Opens `path` (standard input for `-`) with a read buffer of `capacity` bytes; a file that
    /// cannot be opened is an error naming it. A UTF-8 byte-order mark at the start of the
    /// input is skipped (by a `SkipBom`): no reader sees it, in any format.
    pub fn open(path: &Path, capacity: usize) -> Result<Input> {
        if path.as_os_str() == "-" {
            let stdin = SkipBom::new(std::io::stdin().lock());
            return Ok(Input {
                reader: Box::new(BufReader::with_capacity(capacity, stdin)),
                source: STDIN_NAME.to_string(),
                size: None,
            });
        }
        let source = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| Error::in_file(&source, io_message(&e)))?;
        let size = file.metadata().ok().map(|m| m.len());
        Ok(Input {
            reader: Box::new(BufReader::with_capacity(capacity, SkipBom::new(file))),
            source,
            size,
        })
    }
}

/// The UTF-8 byte-order mark (U+FEFF), which some editors write at the start of a text file.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A reader that drops a UTF-8 byte-order mark at the very start of `inner` and passes every
/// other byte through. Its first read takes the input's first bytes, only as many as match the
/// mark (so it waits for no more input than a mark would need), and hands them on when they
/// are not a whole mark. A mark is not a newline: line numbers are the same with or without it.
struct SkipBom<R> {
    inner: R,
    /// The input's first bytes when they are not a mark: `head[at..len]` is still to give.
    head: [u8; 3],
    at: usize,
    len: usize,
    /// Whether the start has been read.
    started: bool,
}

impl<R: Read> SkipBom<R> {
    /// `inner`, its mark (if any) to be skipped.
    fn new(inner: R) -> SkipBom<R> {
        SkipBom {
            inner,
            head: [0; 3],
            at: 0,
            len: 0,
            started: false,
        }
    }

    /// Reads the input's first bytes into `head` while they match the mark, once; drops them
    /// when they make a whole mark.
    fn start(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        while self.len < BOM.len() && self.head.get(..self.len) == BOM.get(..self.len) {
            let Some(rest) = self.head.get_mut(self.len..) else {
                break;
            };
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(k) => self.len += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.head.get(..self.len) == Some(&BOM[..]) {
            self.len = 0;
        }
        self.started = true;
        Ok(())
    }

    /// The first bytes still to give.
    fn pending(&self) -> &[u8] {
        self.head.get(self.at..self.len).unwrap_or(&[])
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.start()?;
        let pending = self.pending();
        if pending.is_empty() {
            return self.inner.read(buf);
        }
        let k = pending.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..k), pending.get(..k)) {
            to.copy_from_slice(from);
        }
        self.at += k;
        Ok(k)
    }

    /// The pending first bytes, then `inner`'s own `read_to_end` (a file's reserves the room
    /// its size needs at once).
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        self.start()?;
        let pending = self.pending();
        let k = pending.len();
        buf.extend_from_slice(pending);
        self.at = self.len;
        Ok(k + self.inner.read_to_end(buf)?)
    }
}

/// The text of `path` (standard input for `-`) and its name for messages. Reading standard
/// input needs a format: without `format` it is refused with a message naming `--format`.
pub fn read_input(path: &Path, format: Option<Format>) -> Result<(String, String)> {
    if format.is_none() {
        if path.as_os_str() == "-" {
            return Err(Error::usage(
                "reading standard input (a FILE of `-`) needs --format preflib|json|csv|table",
            ));
        }
        if Format::from_path(path).is_none() {
            return Err(Error::in_file(
                &path.display().to_string(),
                "unknown file extension: use --format preflib|json|csv|table",
            ));
        }
    }
    // `read_to_end` bypasses the (empty) buffer: a file is read at once, into room reserved
    // for its size (a failed reservation is left to `read_to_end` to report).
    let mut input = Input::open(path, 0)?;
    let mut bytes = Vec::new();
    if let Some(size) = input.size.and_then(|s| usize::try_from(s).ok()) {
        let _ = bytes.try_reserve_exact(size);
    }
    input
        .reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::in_file(&input.source, io_message(&e)))?;
    Ok((utf8(bytes, &input.source)?, input.source))
}

/// The message of text that is not UTF-8: a file's, a `batch` line's, a JSON string's.
pub const NOT_UTF8: &str = "not valid UTF-8 text";

/// The bytes as text, or an error naming the line of the first invalid byte.
fn utf8(bytes: Vec<u8>, source: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let line = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .map(|b| b.iter().filter(|&&c| c == b'\n').count() + 1)
            .unwrap_or(1);
        Error::at(source, line, NOT_UTF8)
    })
}

/// A short description of an I/O error.
pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "cannot read: is a directory".to_string(),
        _ => format!("cannot read: {e}"),
    }
}

/// Why a number written with a nonzero digit is refused when it reads as 0 ([`underflows`]).
pub(crate) const TOO_SMALL: &str = "so small that it would read as 0";

/// Whether the decimal `text` has a nonzero digit before its exponent yet read as `x == 0`:
/// `1e-400` is not 0, and reading it as 0 would turn a preference into a tie.
pub(crate) fn underflows(text: &[u8], x: f64) -> bool {
    x == 0.0
        && text
            .iter()
            .take_while(|&&b| !matches!(b, b'e' | b'E'))
            .any(|b| matches!(b, b'1'..=b'9'))
}

/// Why an integer that reads as another double is refused ([`inexact_integer`]).
pub(crate) const NOT_EXACT: &str = "an integer that is not exactly a double (integers beyond \
                                      2^53 round, and two of them could tie)";

/// Whether the decimal `text` is an integer (digits, perhaps signed: no point, no exponent)
/// that `x`, the double it reads as, does not equal: `9007199254740993` reads as
/// `9007199254740992`, and two scores of that kind would tie (or a count change). Integers of at
/// most 15 digits are exact; longer ones are compared with the exact decimal of `x`.
pub(crate) fn inexact_integer(text: &[u8], x: f64) -> bool {
    let digits = match text.split_first() {
        Some((b'-' | b'+', rest)) => rest,
        _ => text,
    };
    if digits.len() <= 15 || !digits.iter().all(u8::is_ascii_digit) || !x.is_finite() {
        return false;
    }
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let digits = digits.get(start..).unwrap_or_default();
    let exact = format!("{:.0}", x.abs());
    if digits.is_empty() {
        return exact != "0";
    }
    exact.as_bytes() != digits
}

/// A plain decimal `-?digits[.digits]` with at most 15 digits, exactly as `str::parse::<f64>`
/// reads it but without its general machinery; `None` for anything else (the caller parses
/// that in full). The integer of the digits is below `10^15 < 2^53` and `10^k` (`k <= 15`) is
/// exact in `f64`, so one correctly rounded division gives the correctly rounded value
/// (Clinger's fast path).
pub(crate) fn fast_decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let mut m = 0u64;
    let mut count = 0usize;
    let mut frac: Option<usize> = None;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(c - b'0');
                count += 1;
                if count > 15 {
                    return None;
                }
            }
            b'.' if frac.is_none() && count > 0 => frac = Some(count),
            _ => return None,
        }
    }
    let k = match frac {
        Some(at) if at == count => return None,
        Some(at) => count - at,
        None if count == 0 => return None,
        None => 0,
    };
    let x = m as f64 / POW10.get(k).copied()?;
    Some(if neg { -x } else { x })
}

/// An upper bound on the lines of `bytes` (one more than its `\n`s), in one SIMD pass: the
/// readers reserve their per-line storage with it, so it never regrows.
pub(crate) fn line_count(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count() + 1
}

/// The line of the first carriage return that no line feed follows, if there is one: lines that
/// end in bare CRs (classic Mac OS) or a stray one inside a line, which the line-based readers
/// would take as a space inside one long line (a table of three rows read as one row of three
/// times the candidates).
pub(crate) fn bare_cr_line(bytes: &[u8]) -> Option<usize> {
    let mut from = 0usize;
    while let Some(i) = memchr::memchr(b'\r', bytes.get(from..)?) {
        let at = from + i;
        if bytes.get(at + 1) != Some(&b'\n') {
            return Some(line_count(bytes.get(..at).unwrap_or_default()));
        }
        from = at + 1;
    }
    None
}

/// Refuses text with a bare carriage return ([`bare_cr_line`]), at its line.
pub(crate) fn refuse_bare_cr(text: &str, source: &str) -> Result<()> {
    match bare_cr_line(text.as_bytes()) {
        Some(line) => Err(Error::at(
            source,
            line,
            "a carriage return without a line feed after it: lines must end in LF or CRLF \
             (a file with bare CR line ends needs converting)",
        )),
        None => Ok(()),
    }
}

/// The lines of `text` with their 1-based numbers and byte offsets, split at `\n` (a `\r`
/// before it is dropped), in one pass.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let bytes = text.as_bytes();
    let mut start = 0usize;
    let mut number = 0usize;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let rest = bytes.get(start..).unwrap_or(&[]);
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let at = start;
        let mut line = text.get(start..start + len).unwrap_or("");
        if let Some(l) = line.strip_suffix('\r') {
            line = l;
        }
        start += len + 1;
        number += 1;
        Some((number, at, line))
    })
}

#[cfg(test)]
mod tests {
    use super::{Format, SkipBom, inexact_integer, plain_format};
    use crate::test_rng::XorShift;
    use std::io::Read;

    /// A reader that gives at most `step` bytes a read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let k = self.0.len().min(buf.len()).min(self.1);
            buf[..k].copy_from_slice(&self.0[..k]);
            self.0 = &self.0[k..];
            Ok(k)
        }
    }

    /// A mark at the very start is dropped, however the bytes arrive and however they are
    /// read; anything else, a part of a mark included, passes through whole.
    #[test]
    fn skip_bom_drops_a_leading_mark_only() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"\xEF\xBB\xBFa,b\n", b"a,b\n"),
            (b"\xEF\xBB\xBF", b""),
            (b"", b""),
            (b"a", b"a"),
            (b"\xEF\xBB", b"\xEF\xBB"),
            (b"\xEF\xBBx\xBF", b"\xEF\xBBx\xBF"),
            (b"\xEF\xBB\xBF\xEF\xBB\xBFx", b"\xEF\xBB\xBFx"),
            (b"x\xEF\xBB\xBF", b"x\xEF\xBB\xBF"),
        ];
        for (input, want) in cases {
            for step in 1..5 {
                let mut all = Vec::new();
                SkipBom::new(Trickle(input, step))
                    .read_to_end(&mut all)
                    .unwrap();
                assert_eq!(all, want, "{input:?} by {step}, read_to_end");
                for size in 1..5 {
                    let mut r = SkipBom::new(Trickle(input, step));
                    let (mut got, mut buf) = (Vec::new(), vec![0u8; size]);
                    loop {
                        let k = r.read(&mut buf).unwrap();
                        if k == 0 {
                            break;
                        }
                        got.extend_from_slice(&buf[..k]);
                    }
                    assert_eq!(got, want, "{input:?} by {step}, into {size}");
                }
            }
        }
    }

    /// `parse` skips a leading mark in every format, as `Input::open` does: the same instance
    /// as without it.
    #[test]
    fn parse_skips_a_leading_mark() {
        let cases = [
            (
                Format::Preflib,
                "# NUMBER ALTERNATIVES: 2\n2: 1,2\n1: 2,1\n",
            ),
            (
                Format::Json,
                "{\"candidates\": [\"a\", \"b\"], \"users\": [{\"scores\": [1, 0]}]}",
            ),
            (Format::Csv, "a,b\n1,0\n0,2\n"),
            (Format::Table, "a b\n1 0\n0 2\n"),
        ];
        for (format, text) in cases {
            let plain = super::parse(text, "t", format).unwrap();
            let marked = super::parse(&format!("\u{FEFF}{text}"), "t", format).unwrap();
            assert_eq!(format!("{marked:?}"), format!("{plain:?}"), "{format:?}");
        }
    }

    /// What text plainly is: PrefLib by a PrefLib header key in its leading `#` lines (and an
    /// order's `count:` next), JSON by an opening `{"`; nothing else.
    #[test]
    fn plain_formats() {
        let plain = |t: &str| plain_format(t).map(|(f, line, _)| (f, line));
        let pl = Some((Format::Preflib, 1));
        assert_eq!(plain("# FILE NAME: x.soi\n# TITLE: t\n3: 1,2\n"), pl);
        assert_eq!(plain("# NUMBER ALTERNATIVES: 2\n"), pl);
        assert_eq!(plain("# number voters : 4\n\n12 :1\n"), pl);
        assert_eq!(plain("# ALTERNATIVE NAME 3: c\n1: 3\n"), pl);
        assert_eq!(
            plain("\n# TITLE: t\n# DATA TYPE: soc\n1: 1\n"),
            Some((Format::Preflib, 3))
        );
        assert_eq!(
            plain("\n  {\n \"candidates\": []}"),
            Some((Format::Json, 2))
        );
        assert_eq!(plain("{}"), Some((Format::Json, 1)));
        // A PrefLib body without its header.
        assert_eq!(plain("5: 1,2,3\n4: 3,{2,1}\n"), pl);
        assert_eq!(plain("\n\n2: 1\n"), Some((Format::Preflib, 3)));
        // A key that is not PrefLib's makes no header, but the order after it is one; a
        // header after an order is PrefLib's too (its reader refuses the order of the two).
        assert_eq!(
            plain("# ALTERNATIVE NAME: x\n1: 1\n"),
            Some((Format::Preflib, 2))
        );
        assert_eq!(plain("3: 1,2\n# NUMBER ALTERNATIVES: 2\n"), pl);
        for t in [
            "",
            "a,b\n1,2\n",
            "# TITLE: scores\n# game x y\ng 1 2\n",
            "# https://arxiv.org/x Table 6: no-op\n# game a b\nalien 1 2\n",
            "# DATA TYPE: float\nalien 1 2\n",
            "# ALTERNATIVE NAME: x\n",
            "10:00,11:00\n1,2\n",
            "5: 1,2,3\nfoo,1\n",
            "5:\n1,2\n",
            "{a,b}\n1 2\n",
            "x {\"a\"\n",
        ] {
            assert_eq!(plain(t), None, "{t:?}");
        }
    }

    /// The fast path gives `str::parse`'s bits, and declines what it does not cover.
    /// `inexact_integer` against exact integer arithmetic: an integer literal is inexact
    /// exactly when the double it parses to, converted back to an integer, differs.
    #[test]
    fn inexact_integers_are_those_a_double_changes() {
        let mut rng = XorShift(0x5eed_0053);
        for _ in 0..20_000 {
            let x = rng.next() >> (rng.next() % 40);
            for text in [x.to_string(), format!("-{x}"), format!("000{x}")] {
                let v: f64 = text.parse().unwrap();
                let back = v.abs() as u128;
                assert_eq!(
                    inexact_integer(text.as_bytes(), v),
                    back != u128::from(x),
                    "{text}"
                );
            }
        }
        for (text, inexact) in [
            ("9007199254740992", false),
            ("9007199254740993", true),
            ("00000000000000000000", false),
            ("340282366920938463463374607431768211456", false),
            ("340282366920938463463374607431768211457", true),
            ("1e300", false),
            ("12345678901234567.5", false),
        ] {
            let v: f64 = text.parse().unwrap();
            assert_eq!(inexact_integer(text.as_bytes(), v), inexact, "{text}");
        }
    }

    #[test]
    fn fast_decimal_is_parse() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.5",
            "1",
            "007",
            "0.1",
            "0.3",
            "2.675",
            "123456789012345",
            "1234567.89012345",
            "0.000000000000001",
            "999999999999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..20_000 {
            let x = rng.next();
            let digits = (x % 15 + 1) as usize;
            let m = x % 10u64.pow(digits as u32);
            let k = ((x >> 20) % (digits as u64 + 1)) as usize;
            let s = format!("{m:0digits$}");
            let (a, b) = s.split_at(digits - k);
            let a = if a.is_empty() { "0" } else { a };
            let sign = if x >> 40 & 1 == 1 { "-" } else { "" };
            cases.push(if k == 0 {
                format!("{sign}{a}")
            } else {
                format!("{sign}{a}.{b}")
            });
        }
        for s in &cases {
            let want: f64 = s.parse().unwrap();
            match super::fast_decimal(s.as_bytes()) {
                Some(got) => assert_eq!(got.to_bits(), want.to_bits(), "{s}"),
                None => assert!(s.trim_start_matches('-').len() > 16, "{s} declined"),
            }
        }
        for s in [
            "",
            "-",
            ".5",
            "5.",
            "1e5",
            "+1",
            "1.2.3",
            "1234567890123456",
            "--1",
            "1-",
        ] {
            assert_eq!(super::fast_decimal(s.as_bytes()), None, "{s}");
        }
    }
}
