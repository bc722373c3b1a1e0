//! JSON instances:
//!
//! ```json
//! {"candidates": ["a", "b", "c"],
//!  "users": [{"weight": 0.6, "scores": [2, 0, 1]},
//!            {"weight": 0.4, "ranking": [["b"], ["c", "a"]]}]}
//! ```
//!
//! `weight` defaults to 1 (`null` is the default too). A ranking lists tie groups best first and
//! names candidates by name; a group may also be written as a bare name. Unlisted candidates tie
//! at the bottom. Identical rankings are merged into one user type (weights added).
//!
//! The reader is a single pass over the text (RFC 8259 JSON, any key order, no duplicate or
//! unknown keys). It counts lines only as it skips whitespace (JSON strings hold no raw
//! newline), so naming the line of an error costs nothing more. Errors about one user name the
//! line its object starts on and its index (`users[3]: ...`); syntax errors name their own line.
//! The names a ranking lists are looked up in a table built once per instance
//! (`names::Names`), straight from the text's bytes unless they hold escapes; [`Lines`], which
//! reads instance after instance, keeps the table for the next one when its `candidates` array
//! is the same text.

use std::borrow::Cow;

use super::names::{Names, NamesError};
use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Instance, Merging, Prefs, UserType, check_weight, close_group};

/// How deep a value may nest (as serde_json's default recursion limit).
const MAX_DEPTH: usize = 128;

/// The candidate names the reader makes room for at first: a small rerank's.
const SMALL: usize = 16;

/// Parses a JSON instance.
pub fn parse(text: &str, source: &str) -> Result<Instance> {
    let mut lines = Lines::default();
    lines.parse(text, source)?;
    Ok(lines.into_instance())
}

/// A reader of JSON instances one after another (`batch`'s lines), into one instance whose
/// storage it reuses: the names' strings and the rankings' lists take the next instance's
/// without allocating. It keeps the table of the candidate names too: an instance whose
/// `candidates` array is the same text as the last one read (a batch whose lines name their
/// candidates by position, say) takes the table and the names as they are, without reading the
/// names or building the table again.
#[derive(Debug, Default)]
pub struct Lines {
    inst: Instance,
    names: Names,
    /// The user types merged as they are read, and the marks of the candidates each ranks:
    /// storage kept from line to line.
    users: Users,
    /// The text of the `candidates` array that `names` and `inst.candidates` were made from;
    /// empty when they hold no array's (before the first instance, and from the start of an
    /// instance that lists others until it is read).
    kept: Vec<u8>,
}

impl Lines {
    /// Parses the next instance ([`parse`]). On an error, no instance is left to read.
    pub fn parse(&mut self, text: &str, source: &str) -> Result<&Instance> {
        self.parse_bytes(text.as_bytes(), source)
    }

    /// [`Lines::parse`] of bytes that may not be UTF-8 (`batch`'s lines, unchecked): what an
    /// instance keeps as text (its names, and the keys and names an error quotes) is checked as
    /// it is read, and a name a ranking lists is found among names already checked, so an
    /// instance is read only from UTF-8 text; any other byte that is not ASCII breaks the JSON
    /// grammar. UTF-8 text reads exactly as [`Lines::parse`] reads it. Other bytes give the
    /// first error the reader meets (a name or key that is not UTF-8, a byte the grammar does
    /// not allow); a caller that wants to say the text is not UTF-8 checks it after the error,
    /// as `batch` does.
    pub fn parse_bytes(&mut self, text: &[u8], source: &str) -> Result<&Instance> {
        let Lines {
            inst,
            names,
            users: scratch,
            kept,
        } = self;
        let mut r = Reader {
            b: text,
            pos: 0,
            line: 1,
            source,
        };
        r.expect(
            b'{',
            "a JSON object {\"candidates\": [...], \"users\": [...]}",
        )?;
        // `None` until `candidates` is read; then the names read and where the array's text is,
        // or `None` inside when the array is the one kept and `names` and `inst.candidates`
        // stand.
        let mut candidates: Option<Option<Fresh<'_>>> = None;
        // Whether `users` has been read into `inst.users`.
        let mut users = false;
        // Where `users` starts when it comes before `candidates`: read again once they are known.
        let mut pending: Option<(usize, usize)> = None;
        if r.peek()? != b'}' {
            loop {
                let mut read = None;
                match r.key_in(&INSTANCE_KEYS, &mut read)? {
                    "candidates" => {
                        if candidates.is_some() {
                            return Err(r.err("duplicate field `candidates`"));
                        }
                        r.peek()?;
                        let start = r.pos;
                        let same = !kept.is_empty()
                            && r.b.get(start..start + kept.len()) == Some(kept.as_slice());
                        candidates = Some(if same {
                            r.pos += kept.len();
                            r.line += memchr::memchr_iter(b'\n', kept).count();
                            None
                        } else {
                            kept.clear();
                            let list = r.candidates(names)?;
                            Some((list, start..r.pos))
                        });
                    }
                    "users" => {
                        if users || pending.is_some() {
                            return Err(r.err("duplicate field `users`"));
                        }
                        if candidates.is_some() {
                            r.users(names, &mut inst.users, scratch)?;
                            users = true;
                        } else {
                            r.peek()?;
                            pending = Some((r.pos, r.line));
                            r.skip(0)?;
                        }
                    }
                    other => {
                        return Err(r.err(format!(
                            "unknown field `{other}`, expected `candidates` or `users`"
                        )));
                    }
                }
                if r.list_next(b'}')? {
                    break;
                }
            }
        }
        r.ws();
        if r.pos < r.b.len() {
            return Err(r.err("trailing characters after the JSON object"));
        }
        let Some(read) = candidates else {
            return Err(Error::in_file(source, "missing field `candidates`"));
        };
        match (users, pending) {
            (true, _) => {}
            (false, Some((pos, line))) => {
                r.pos = pos;
                r.line = line;
                r.users(names, &mut inst.users, scratch)?;
            }
            (false, None) => return Err(Error::in_file(source, "missing field `users`")),
        }
        if inst.users.is_empty() {
            return Err(Error::in_file(source, "empty population: no users"));
        }
        inst.source.clear();
        inst.source.push_str(source);
        if let Some((list, text)) = read {
            write_names(&list, &mut inst.candidates);
            kept.extend_from_slice(r.b.get(text).unwrap_or(&[]));
        }
        Ok(inst)
    }

    /// The instance, after a [`Lines::parse`] that returned it.
    fn into_instance(self) -> Instance {
        self.inst
    }
}

/// What [`Reader::users`] keeps from one instance to the next: the merging of user types with
/// identical rankings, and `stamp[c] == j + 1` when user `j` ranks candidate `c` (no clearing
/// between users).
#[derive(Debug, Default)]
struct Users {
    merging: Merging,
    stamp: Vec<usize>,
}

/// The keys of an instance, as [`Reader::known_key`] finds them.
const INSTANCE_KEYS: [(&[u8], &str); 2] =
    [(b"\"candidates\":", "candidates"), (b"\"users\":", "users")];

/// The keys of a user object, as [`Reader::known_key`] finds them.
const USER_KEYS: [(&[u8], &str); 3] = [
    (b"\"weight\":", "weight"),
    (b"\"ranking\":", "ranking"),
    (b"\"scores\":", "scores"),
];

/// A `candidates` array read afresh: its names, and where its text is.
type Fresh<'a> = (Vec<Cow<'a, str>>, std::ops::Range<usize>);

/// The bytes of the little-endian word `w` before the first that ends or escapes a JSON string
/// (`"`, `\` or a control character), 8 when none does: found by word arithmetic rather than a
/// loop (each test below flags the lowest matching byte exactly, and may flag others above it).
#[inline(always)]
pub(crate) fn plain_len(w: u64) -> usize {
    let ends = flags_below(w ^ (u64::from(b'"') * ONES), 1)
        | flags_below(w ^ (u64::from(b'\\') * ONES), 1)
        | flags_below(w, 0x20);
    (ends.trailing_zeros() / 8) as usize
}

/// The bytes of the little-endian word `w` before its first quote, 8 when it has none.
#[inline(always)]
fn quote_len(w: u64) -> usize {
    (flags_below(w ^ (u64::from(b'"') * ONES), 1).trailing_zeros() / 8) as usize
}

/// A one in each byte of a word.
const ONES: u64 = u64::from_le_bytes([1; 8]);

/// Flags (the top bit) the bytes of `x` below `n` (at most 0x80): exactly at the lowest such
/// byte, and perhaps at others above it.
#[inline(always)]
fn flags_below(x: u64, n: u64) -> u64 {
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    x.wrapping_sub(n * ONES) & !x & HIGH
}

/// The `len < 8` low bytes of `w`, the rest zero (0 for `len = 0`).
#[inline(always)]
fn low_bytes(w: u64, len: usize) -> u64 {
    w & !u64::MAX.checked_shl(8 * len as u32).unwrap_or(0)
}

/// `names` into `out`, in order: its strings take them without allocating where they have room,
/// and the strings past the last name go.
fn write_names(names: &[Cow<'_, str>], out: &mut Vec<String>) {
    out.truncate(names.len());
    for (i, name) in names.iter().enumerate() {
        match out.get_mut(i) {
            Some(s) => {
                s.clear();
                s.push_str(name);
            }
            None => out.push(name.to_string()),
        }
    }
}

struct Reader<'a> {
    /// The text, UTF-8 where it is read as a string ([`Reader::text`]).
    b: &'a [u8],
    pos: usize,
    /// The 1-based line of `pos`.
    line: usize,
    source: &'a str,
}

/// One field of a user object, read.
enum Field {
    Weight(Option<f64>),
    Scores(Option<Vec<f64>>),
    Ranking(Option<Vec<u16>>),
}

impl<'a> Reader<'a> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::at(self.source, self.line, m)
    }

    /// The bytes `range` as text, or the error that they are not UTF-8.
    fn text(&self, range: std::ops::Range<usize>) -> Result<&'a str> {
        std::str::from_utf8(self.b.get(range).unwrap_or_default())
            .map_err(|_| self.err(super::NOT_UTF8))
    }

    /// Skips whitespace, counting newlines. Between two tokens there is mostly no whitespace
    /// or one space: those return here, the rest in [`Self::ws_run`].
    #[inline(always)]
    fn ws(&mut self) {
        match self.b.get(self.pos) {
            Some(&c) if c > b' ' => {}
            Some(b' ') if self.b.get(self.pos + 1).is_some_and(|&c| c > b' ') => self.pos += 1,
            _ => self.ws_run(),
        }
    }

    /// [`Self::ws`] for any run of whitespace.
    fn ws_run(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                }
                _ => break,
            }
        }
    }

    /// The next non-whitespace byte (not consumed).
    #[inline(always)]
    fn peek(&mut self) -> Result<u8> {
        self.ws();
        match self.b.get(self.pos) {
            Some(&c) => Ok(c),
            None => Err(self.end_of_input()),
        }
    }

    #[cold]
    fn end_of_input(&self) -> Error {
        self.err("unexpected end of input")
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<()> {
        if self.peek()? == c {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected {what}")))
        }
    }

    /// After an element of an array or object: true at its end `close`, false after a `,`.
    /// The separator mostly follows at once; whitespace before it takes [`Self::list_next_ws`].
    #[inline(always)]
    fn list_next(&mut self, close: u8) -> Result<bool> {
        match self.b.get(self.pos) {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(&c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => self.list_next_ws(close),
        }
    }

    /// [`Self::list_next`] after whitespace, or its error.
    #[inline(never)]
    fn list_next_ws(&mut self, close: u8) -> Result<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(false)
            }
            c if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.err(format!("expected `,` or `{}`", close as char))),
        }
    }

    /// `[` then true when the array is empty (its `]` consumed).
    fn open_array(&mut self, what: &str) -> Result<bool> {
        self.expect(b'[', what)?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// An object key and its `:`.
    fn key(&mut self) -> Result<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return Err(self.err("expected a field name in double quotes"));
        }
        let k = self.string()?;
        self.expect(b':', "`:`")?;
        Ok(k)
    }

    /// One of `keys` (each written `"name":`, as most writers write a key) at the next
    /// non-blank byte, consumed with its `:`; `None` (nothing consumed but whitespace) for any
    /// other, which [`Self::key`] reads.
    #[inline(always)]
    fn known_key(&mut self, keys: &[(&[u8], &'static str)]) -> Option<&'static str> {
        self.ws();
        let rest = self.b.get(self.pos..)?;
        let &(text, key) = keys.iter().find(|(text, _)| rest.starts_with(text))?;
        self.pos += text.len();
        Some(key)
    }

    /// The next key: one of `keys` ([`Self::known_key`]) as it is, any other read into `read`
    /// ([`Self::key`]) and borrowed from there. A known key stays a `&'static str`, in
    /// registers: returned as a `Cow`, it went through the stack, and its reload waited on the
    /// stores just made.
    #[inline(always)]
    fn key_in<'k>(
        &mut self,
        keys: &[(&[u8], &'static str)],
        read: &'k mut Option<Cow<'a, str>>,
    ) -> Result<&'k str> {
        if let Some(k) = self.known_key(keys) {
            return Ok(k);
        }
        let read: &'k Cow<'a, str> = Option::insert(read, self.key()?);
        Ok(read.as_ref())
    }

    /// `null` (consumed, true) or not (false).
    #[inline(always)]
    fn null(&mut self) -> Result<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    /// A string of fewer than eight bytes without escapes, at its opening quote, consumed: its
    /// length and [`short_word`](super::names::short_word), from one eight-byte load
    /// ([`plain_len`]), so names of varying lengths cost no mispredicted loop exit. `None`
    /// (nothing consumed) otherwise, or when fewer than eight bytes follow the quote, for
    /// [`Self::plain_string`].
    #[inline(always)]
    fn short_string(&mut self) -> Option<(usize, u64)> {
        let start = self.pos + 1;
        let bytes: [u8; 8] = self.b.get(start..start + 8)?.try_into().ok()?;
        let w = u64::from_le_bytes(bytes);
        let len = plain_len(w);
        if len >= 8 || self.b.get(start + len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        Some((len, low_bytes(w, len)))
    }

    /// The bytes of a string without escapes, at its opening quote, consumed; `None` (nothing
    /// consumed) when it has an escape, a control character or no end, for [`Self::string`].
    /// Returned in registers: the names of a ranking take this path.
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        let b = self.b;
        let start = self.pos + 1;
        let mut end = start;
        while let Some(&c) = b.get(end) {
            if c == b'"' {
                self.pos = end + 1;
                return b.get(start..end);
            }
            if c == b'\\' || c < 0x20 {
                return None;
            }
            end += 1;
        }
        None
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let from = self.pos + 1;
        if let Some((len, _)) = self.short_string() {
            return self.text(from..from + len).map(Cow::Borrowed);
        }
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.b.get(self.pos) {
                None => return Err(self.err("unexpected end of input in a string")),
                Some(b'"') => {
                    let s = self.text(start..self.pos)?;
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => {
                    return Err(self.err("control character in a string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        // Escapes: decode into an owned string.
        let mut out = String::from(self.text(start..self.pos)?);
        loop {
            let run = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text(run..self.pos)?);
            match self.b.get(self.pos) {
                None => return Err(self.err("unexpected end of input in a string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let e = self.b.get(self.pos + 1).copied();
                    self.pos += 2;
                    let c = match e {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.err("invalid escape in a string")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in a string")),
            }
        }
    }

    /// The error about the ranked name whose string starts at `from`: an unknown candidate, or
    /// (`known`) one ranked twice.
    #[cold]
    fn name_error(&mut self, from: usize, known: bool, at: &dyn Fn(String) -> Error) -> Error {
        self.pos = from;
        let name = match self.string() {
            Ok(s) => s,
            Err(e) => return e,
        };
        if known {
            at(format!("candidate \"{name}\" ranked twice"))
        } else {
            at(format!("unknown candidate \"{name}\""))
        }
    }

    /// Four hex digits after `\u`.
    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let x = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + x;
        }
        self.pos += 4;
        Ok(v)
    }

    /// The character of a `\u` escape (a surrogate pair takes two).
    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.err("lone surrogate in a \\u escape"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err("lone surrogate in a \\u escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("lone surrogate in a \\u escape"))
    }

    /// A number (JSON grammar), at its first byte; may be infinite (`1e999`): callers check.
    /// A single digit with no fraction or exponent after it (a user type's usual weight) is
    /// read at once.
    #[inline(always)]
    fn number(&mut self) -> Result<f64> {
        if let Some(&[d @ b'0'..=b'9', next]) = self.b.get(self.pos..self.pos + 2)
            && !matches!(next, b'0'..=b'9' | b'.' | b'e' | b'E')
        {
            self.pos += 1;
            return Ok(f64::from(d - b'0'));
        }
        self.any_number()
    }

    /// [`Self::number`], any number.
    fn any_number(&mut self) -> Result<f64> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while r.b.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos - from
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = digits(self);
        if int_len == 0 || (int_len > 1 && self.b.get(int_start) == Some(&b'0')) {
            return Err(self.err("invalid number"));
        }
        let mut plain = true;
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            plain = false;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            plain = false;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if plain && int_len <= 15 {
            // Exact in f64: |v| < 10^15 < 2^53.
            let v = self
                .b
                .get(int_start..self.pos)
                .unwrap_or(&[])
                .iter()
                .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')) as f64;
            return Ok(if int_start > start { -v } else { v });
        }
        if let Some(x) = self.b.get(start..self.pos).and_then(super::fast_decimal) {
            return Ok(x);
        }
        // The number's bytes are ASCII (its grammar was checked above).
        let text = self.b.get(start..self.pos).unwrap_or_default();
        let x: f64 = std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.err("invalid number"))?;
        if super::underflows(text, x) {
            let text = String::from_utf8_lossy(text);
            return Err(self.err(format_args!("number `{text}` is {}", super::TOO_SMALL)));
        }
        if super::inexact_integer(text, x) {
            let text = String::from_utf8_lossy(text);
            return Err(self.err(format_args!("number `{text}` is {}", super::NOT_EXACT)));
        }
        if x.is_infinite() {
            let text = String::from_utf8_lossy(text);
            return Err(self.err(format_args!("number `{text}` is too large to be finite")));
        }
        Ok(x)
    }

    /// Skips any value, checking its syntax.
    fn skip(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek()? {
            open @ (b'{' | b'[') => {
                let (object, close) = (open == b'{', if open == b'{' { b'}' } else { b']' });
                self.pos += 1;
                if self.peek()? == close {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    if object {
                        self.key()?;
                    }
                    self.skip(depth + 1)?;
                    if self.list_next(close)? {
                        return Ok(());
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => Err(self.err("expected a JSON value")),
        }
    }

    /// The candidate names, checked distinct, and their table built in `table`.
    fn candidates(&mut self, table: &mut Names) -> Result<Vec<Cow<'a, str>>> {
        // Sized for a small rerank's names, so that they rarely grow.
        let mut names: Vec<Cow<'a, str>> = Vec::with_capacity(SMALL);
        // The line each name is on, for the error about a repeated one.
        let mut lines: Vec<usize> = Vec::with_capacity(SMALL);
        if !self.open_array("`candidates`: an array of names")? {
            loop {
                if self.peek()? != b'"' {
                    return Err(self.err("`candidates` must hold names in double quotes"));
                }
                lines.push(self.line);
                names.push(self.string()?);
                if names.len() > CAPACITY {
                    return Err(Error::in_file(
                        self.source,
                        format!("more than {CAPACITY} candidates exceed the capacity"),
                    ));
                }
                if self.list_next(b']')? {
                    break;
                }
            }
        }
        match table.build(&names) {
            Ok(()) => Ok(names),
            Err(NamesError::Repeated(i)) => {
                let line = lines.get(i).copied().unwrap_or(self.line);
                let name = names.get(i).map_or("", |n| n.as_ref());
                Err(Error::at(
                    self.source,
                    line,
                    format!("candidate \"{name}\" listed twice"),
                ))
            }
            Err(NamesError::TooMany) => Err(Error::in_file(
                self.source,
                format!("more than {CAPACITY} candidates exceed the capacity"),
            )),
        }
    }

    /// The `users` array, into `users`, user types with identical rankings merged as they are
    /// read ([`Merging`]): the entries of `users` are reused, their rankings' lists too, and the
    /// ones past the last user type kept go.
    fn users(
        &mut self,
        names: &Names,
        users: &mut Vec<UserType>,
        scratch: &mut Users,
    ) -> Result<()> {
        let n = names.count();
        if n == 0 {
            return Err(Error::in_file(self.source, "no candidates"));
        }
        let Users { merging, stamp } = scratch;
        merging.start();
        if !self.open_array("`users`: an array of user objects")? {
            stamp.clear();
            stamp.resize(n, 0);
            let mut j = 0usize;
            loop {
                let spare = merging.spare(users);
                let user = self.user(j, names, stamp, spare)?;
                merging.add(users, user);
                j += 1;
                if self.list_next(b']')? {
                    break;
                }
            }
        }
        merging.finish(users);
        Ok(())
    }

    /// One user object; a ranking is read into `spare` (cleared first).
    fn user(
        &mut self,
        j: usize,
        names: &Names,
        stamp: &mut [usize],
        spare: Vec<u16>,
    ) -> Result<UserType> {
        let n = names.count();
        self.ws();
        let (line, source) = (self.line, self.source);
        let at = |m: String| Error::at(source, line, format!("users[{j}]: {m}"));
        if self.peek()? != b'{' {
            return Err(at("expected an object".into()));
        }
        self.pos += 1;
        let (mut weight, mut scores, mut ranking) = (None, None, None);
        let mut spare = Some(spare);
        if self.peek()? == b'}' {
            self.pos += 1;
        } else {
            loop {
                let mut read = None;
                let key = self.key_in(&USER_KEYS, &mut read)?;
                let field = match key {
                    "weight" if weight.is_none() => {
                        let w = if self.null()? {
                            None
                        } else if matches!(self.peek()?, b'-' | b'0'..=b'9') {
                            Some(self.number()?)
                        } else {
                            return Err(at("`weight` must be a number".into()));
                        };
                        Field::Weight(w)
                    }
                    "scores" if scores.is_none() => Field::Scores(if self.null()? {
                        None
                    } else {
                        Some(self.scores(n, &at)?)
                    }),
                    "ranking" if ranking.is_none() => Field::Ranking(if self.null()? {
                        None
                    } else {
                        let out = spare.take().unwrap_or_default();
                        Some(self.ranking(j, names, stamp, out, &at)?)
                    }),
                    "weight" | "scores" | "ranking" => {
                        return Err(at(format!("duplicate field `{key}`")));
                    }
                    other => {
                        return Err(at(format!(
                            "unknown field `{other}`, expected `weight`, `scores` or `ranking`"
                        )));
                    }
                };
                match field {
                    Field::Weight(w) => weight = Some(w),
                    Field::Scores(s) => scores = Some(s),
                    Field::Ranking(r) => ranking = Some(r),
                }
                if self.list_next(b'}')? {
                    break;
                }
            }
        }
        // Finite: the reader refuses a number too large where it reads it.
        let weight = weight.flatten().unwrap_or(1.0);
        check_weight(weight).map_err(at)?;
        let prefs = match (scores.flatten(), ranking.flatten()) {
            (Some(s), None) => Prefs::Scores(s),
            (None, Some(r)) => Prefs::Order(r),
            (Some(_), Some(_)) => {
                return Err(at("give either `scores` or `ranking`, not both".into()));
            }
            (None, None) => return Err(at("needs `scores` or `ranking`".into())),
        };
        Ok(UserType {
            weight,
            prefs,
            line,
        })
    }

    /// `[x, y, ...]`: exactly `n` finite numbers.
    fn scores(&mut self, n: usize, at: &dyn Fn(String) -> Error) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(n);
        if !self.open_array("`scores`: an array of numbers")? {
            loop {
                if !matches!(self.peek()?, b'-' | b'0'..=b'9') {
                    return Err(at("`scores` must hold numbers".into()));
                }
                // Finite, as any number the reader returns.
                out.push(self.number()?);
                if self.list_next(b']')? {
                    break;
                }
            }
        }
        if out.len() != n {
            return Err(at(format!("expected {n} scores, found {}", out.len())));
        }
        Ok(out)
    }

    /// A name a ranking lists, at its opening quote: its index pushed to `out` and stamped as
    /// ranked by user `j`, or the error about an unknown or repeated name.
    #[inline(always)]
    fn ranked_name(
        &mut self,
        j: usize,
        names: &Names,
        stamp: &mut [usize],
        out: &mut Vec<u16>,
        at: &dyn Fn(String) -> Error,
    ) -> Result<()> {
        let from = self.pos;
        let found = match self.short_string() {
            Some((len, word)) => names.get_short(len, word),
            None => match self.plain_string() {
                Some(bytes) => names.get(bytes),
                None => names.get(self.string()?.as_bytes()),
            },
        };
        let fresh = found.and_then(|c| {
            let t = stamp.get_mut(c as usize)?;
            (*t != j + 1).then(|| *t = j + 1).map(|()| c)
        });
        match fresh {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => Err(self.name_error(from, found.is_some(), at)),
        }
    }

    /// Groups of one name each, `["a"], ` or `["a"],`, from `self.pos` on (the common shape of a
    /// strict order): each name's index pushed to `out` and stamped as ranked by user `j`, the
    /// group and its separator consumed, until a group of another shape or with anything else
    /// after it (the ranking's last group, whitespace but one space), a name of eight bytes or
    /// more, or a name not found or ranked twice: [`Self::ranking`] reads that group, and
    /// reports the errors. Nothing is read when a candidate's name holds a byte that JSON
    /// escapes ([`Names::plain`]).
    ///
    /// A group is read from sixteen bytes at its `[`, each part a load at a fixed or known
    /// offset (the `["`, the eight bytes after it, the four from the closing quote): the name
    /// ends at the first quote in the word after `["` ([`quote_len`]), and the next group
    /// starts a fixed distance after that. Should an escape or a control character come before
    /// that quote, the bytes up to it are no plain table's name, and the lookup ends the run
    /// there. Reading the group token by token (the `[`, the string, the `]`, the separator,
    /// the whitespace) took about a quarter more instructions per name, and shifting the parts
    /// out of one 128-bit value about ten more.
    #[inline(always)]
    fn single_names(&mut self, j: usize, names: &Names, stamp: &mut [usize], out: &mut Vec<u16>) {
        const OPEN: &[u8] = b"[\"";
        const SPACED: [u8; 4] = *b"\"], ";
        const COMPACT: [u8; 4] = *b"\"],[";
        if !names.plain() {
            return;
        }
        let text = self.b;
        let mut p = self.pos;
        let mark = j + 1;
        while let Some(bytes) = text.get(p..).and_then(<[u8]>::first_chunk::<16>) {
            let (open, rest) = bytes.split_at(2);
            if open != OPEN {
                break;
            }
            let Some(&w) = rest.first_chunk::<8>() else {
                break;
            };
            let w = u64::from_le_bytes(w);
            let len = quote_len(w);
            if len >= 8 {
                break;
            }
            // The four bytes from the closing quote (`len < 8`: they are within the sixteen).
            let Some(&after) = rest.get(len..).and_then(<[u8]>::first_chunk::<4>) else {
                break;
            };
            let step = if after == SPACED {
                len + 6
            } else if after == COMPACT {
                len + 5
            } else {
                break;
            };
            let Some(c) = names.get_short(len, low_bytes(w, len)) else {
                break;
            };
            match stamp.get_mut(usize::from(c)) {
                Some(t) if *t != mark => *t = mark,
                _ => break,
            }
            out.push(c);
            p += step;
        }
        self.pos = p;
    }

    /// `[["a"], ["b", "c"], "d"]`: tie groups best first, as a canonical [`Prefs::Order`]
    /// (groups sorted, empty ones dropped, unlisted candidates as a last group), in `out`
    /// (cleared first).
    fn ranking(
        &mut self,
        j: usize,
        names: &Names,
        stamp: &mut [usize],
        mut out: Vec<u16>,
        at: &dyn Fn(String) -> Error,
    ) -> Result<Vec<u16>> {
        let n = names.count();
        out.clear();
        out.reserve(n);
        let group_msg = "`ranking` must hold names or arrays of names";
        if !self.open_array("`ranking`: an array of tie groups")? {
            loop {
                self.single_names(j, names, stamp, &mut out);
                let from = out.len();
                match self.peek()? {
                    b'"' => self.ranked_name(j, names, stamp, &mut out, at)?,
                    b'[' => {
                        self.pos += 1;
                        if self.peek()? == b']' {
                            self.pos += 1;
                        } else {
                            loop {
                                if self.peek()? != b'"' {
                                    return Err(at(group_msg.into()));
                                }
                                self.ranked_name(j, names, stamp, &mut out, at)?;
                                if self.list_next(b']')? {
                                    break;
                                }
                            }
                        }
                    }
                    _ => return Err(at(group_msg.into())),
                }
                close_group(&mut out, from);
                if self.list_next(b']')? {
                    break;
                }
            }
        }
        // The names are distinct: `n` of them list every candidate, and none is left.
        if out.len() < n {
            let from = out.len();
            for c in 0..n {
                if stamp.get(c) != Some(&(j + 1)) {
                    // `c < n <= CAPACITY < 2^15`.
                    out.push(c as u16);
                }
            }
            close_group(&mut out, from);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(text: &str) -> Result<Vec<(f64, Prefs, usize)>> {
        parse(text, "t").map(|i| {
            i.users
                .into_iter()
                .map(|u| (u.weight, u.prefs, u.line))
                .collect()
        })
    }

    /// The reader against serde_json on the same documents: the same numbers and names.
    #[test]
    fn numbers_and_strings_match_serde_json() {
        let nums = [
            "0",
            "-0",
            "1",
            "-17",
            "123456789012345",
            "1234567890123456768",
            "-9007199254740992",
            "18446744073709551616",
            "1234567890123456789.0",
            "0.1",
            "-2.5e-3",
            "1E10",
            "4.9e-324",
            "1.7976931348623157e308",
            "3.141592653589793238462643",
        ];
        for x in nums {
            let text = format!("{{\"candidates\": [\"a\"], \"users\": [{{\"scores\": [{x}]}}]}}");
            let got = users(&text).unwrap();
            let want: f64 = serde_json::from_str(x).unwrap();
            assert_eq!(got[0].1, Prefs::Scores(vec![want]), "{x}");
        }
        for bad in [
            "01", "1.", ".5", "-", "1e", "+1", "1e+", "0x10", "NaN", "Infinity",
        ] {
            let text = format!("{{\"candidates\": [\"a\"], \"users\": [{{\"scores\": [{bad}]}}]}}");
            assert!(users(&text).is_err(), "{bad}");
            assert!(serde_json::from_str::<f64>(bad).is_err(), "{bad}");
        }
        // Integers a double does not hold exactly (serde_json rounds them): refused, since two
        // of them could tie. The same digits with a point or an exponent are decimals, rounded
        // as above.
        for inexact in [
            "9007199254740993",
            "-9007199254740993",
            "1234567890123456789",
        ] {
            let text =
                format!("{{\"candidates\": [\"a\"], \"users\": [{{\"scores\": [{inexact}]}}]}}");
            let e = users(&text).unwrap_err();
            assert!(
                e.message().contains("not exactly a double"),
                "{inexact}: {e}"
            );
            let rounded: f64 = serde_json::from_str(inexact).unwrap();
            assert_ne!(format!("{rounded:.0}"), inexact.trim_start_matches('-'));
        }
        // Weights, at the end of their object and before another field: a single digit is read
        // at once, anything longer or with a fraction or exponent by the full grammar.
        for x in [
            "0", "1", "7", "9", "10", "99", "1.5", "2e0", "3E1", "0.25", "5e-1",
        ] {
            let want: f64 = serde_json::from_str(x).unwrap();
            for user in [
                format!("{{\"weight\": {x}, \"ranking\": [\"a\"]}}"),
                format!("{{\"ranking\": [\"a\"], \"weight\":{x}}}"),
            ] {
                let text = format!("{{\"candidates\": [\"a\"], \"users\": [{user}]}}");
                assert_eq!(users(&text).unwrap()[0].0, want, "{text}");
            }
        }
        for bad in ["1.", "1e", "1e+", "01", "1x", "1-"] {
            let text = format!("{{\"candidates\": [\"a\"], \"users\": [{{\"weight\": {bad}}}]}}");
            assert!(users(&text).is_err(), "{bad}");
        }
        let names = [
            r#""a\"b""#,
            r#""\u00e9\n""#,
            r#""\ud83d\ude00 x""#,
            r#""é/\/""#,
        ];
        for s in names {
            let text =
                format!("{{\"candidates\": [{s}, \"z\"], \"users\": [{{\"ranking\": [{s}]}}]}}");
            let inst = parse(&text, "t").unwrap();
            let want: String = serde_json::from_str(s).unwrap();
            assert_eq!(inst.candidates[0], want);
        }
        for bad in [r#""\ud83d""#, r#""\x""#, "\"a\u{1}\"", r#""\u12""#] {
            let text = format!("{{\"candidates\": [{bad}], \"users\": []}}");
            assert!(parse(&text, "t").is_err(), "{bad}");
        }
    }

    /// The canonical order of user object `u`'s ranking of candidates named `c0`, `c1`, ...
    /// over `n`, from serde_json's value of it (a brute force: [`brute_canonical`]).
    ///
    /// [`brute_canonical`]: crate::instance::brute_canonical
    fn serde_order(u: &serde_json::Value, n: usize) -> Vec<u16> {
        let groups = u["ranking"].as_array().unwrap().iter().map(|g| match g {
            serde_json::Value::String(s) => vec![s[1..].parse().unwrap()],
            _ => g
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap()[1..].parse().unwrap())
                .collect(),
        });
        crate::instance::brute_canonical(groups, n)
    }

    /// Random rankings (bare names, groups, empty groups, unlisted candidates) with random
    /// whitespace between the tokens: the reader's canonical orders against ones built from
    /// serde_json's value of the same text, and each user's line against the newlines before it.
    #[test]
    fn rankings_with_any_whitespace_match_serde_json() {
        use rand_xoshiro::Xoshiro256PlusPlus;
        use rand_xoshiro::rand_core::{Rng, SeedableRng};
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(15);
        let mut below = |b: u64| (rng.next_u64() % b) as usize;
        for _ in 0..300 {
            let n = 1 + below(12);
            let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            let mut parts = Vec::new();
            for _ in 0..1 + below(5) {
                let mut perm: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    perm.swap(i, below(i as u64 + 1));
                }
                perm.truncate(below(n as u64 + 1));
                let mut groups = Vec::new();
                let mut rest = &perm[..];
                while !rest.is_empty() || below(8) == 0 {
                    let take = below(rest.len() as u64 + 1).max(usize::from(below(4) != 0));
                    let (g, r) = rest.split_at(take.min(rest.len()));
                    rest = r;
                    let quoted: Vec<String> = g.iter().map(|&c| format!("\"c{c}\"")).collect();
                    groups.push(match (g.len(), below(2)) {
                        (1, 0) => quoted.join(""),
                        _ => format!("[{}]", quoted.join(",")),
                    });
                }
                parts.push(format!("{{\"ranking\":[{}]}}", groups.join(",")));
            }
            let quoted: Vec<String> = names.iter().map(|c| format!("\"{c}\"")).collect();
            let compact = format!(
                "{{\"candidates\":[{}],\"users\":[{}]}}",
                quoted.join(","),
                parts.join(",")
            );
            // Whitespace after any structural character: none, one space, or a run with newlines.
            let mut text = String::new();
            for ch in compact.chars() {
                text.push(ch);
                if matches!(ch, '[' | ']' | '{' | '}' | ',' | ':') {
                    match below(4) {
                        0 => text.push(' '),
                        1 => text.push_str(["\n", " \t", "\r\n  ", "  "][below(4)]),
                        _ => {}
                    }
                }
            }
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let want = value["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| serde_order(u, n));
            // Each user's line: one plus the newlines before its object's `{` (the first `{`
            // opens the document; names hold none).
            let lines = text
                .match_indices('{')
                .skip(1)
                .map(|(i, _)| 1 + text[..i].matches('\n').count());
            // Identical rankings merge into the first, which keeps its line.
            let mut distinct: Vec<(Vec<u16>, usize)> = Vec::new();
            for (o, line) in want.into_iter().zip(lines) {
                if !distinct.iter().any(|(d, _)| *d == o) {
                    distinct.push((o, line));
                }
            }
            let got: Vec<(Vec<u16>, usize)> = parse(&text, "t")
                .unwrap()
                .users
                .into_iter()
                .map(|u| match u.prefs {
                    Prefs::Order(o) => (o, u.line),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, distinct, "{text}");
        }
    }

    /// One [`Lines`] reads documents one after another, as `batch` does: user types with
    /// identical rankings (groups in any order, names bare or in groups, unlisted candidates)
    /// merge into the first as they are read, weights added in order, rows of scores kept in
    /// place, against a brute force over serde_json's value of each document. Documents of up
    /// to 60 user types drawn from a pool of 24 rankings pass [`LINEAR`](crate::instance)
    /// distinct orders, where a set takes over; shorter documents follow longer ones, and one
    /// in eight fails half-way (an unknown name), so each starts from what the last left.
    #[test]
    fn lines_merge_identical_rankings_as_they_read() {
        use rand_xoshiro::Xoshiro256PlusPlus;
        use rand_xoshiro::rand_core::{Rng, SeedableRng};
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(16);
        let mut below = |b: u64| (rng.next_u64() % b) as usize;
        let n = 6usize;
        let pool: Vec<Vec<Vec<usize>>> = (0..24)
            .map(|_| {
                let mut perm: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    perm.swap(i, below(i as u64 + 1));
                }
                perm.truncate(1 + below(n as u64));
                let mut groups: Vec<Vec<usize>> = Vec::new();
                for c in perm {
                    match groups.last_mut() {
                        Some(g) if below(3) == 0 => g.push(c),
                        _ => groups.push(vec![c]),
                    }
                }
                groups
            })
            .collect();
        let mut lines = Lines::default();
        let (mut merged, mut failed) = (0usize, 0usize);
        for _ in 0..400 {
            let most = if below(2) == 0 { 60 } else { 8 };
            let m = 1 + below(most);
            let mut fails = false;
            let broken = below(8) == 0;
            let mut users = Vec::new();
            for j in 0..m {
                let weight = 1 + below(9);
                if below(6) == 0 {
                    let scores: Vec<String> = (0..n).map(|_| below(5).to_string()).collect();
                    users.push(format!(
                        "{{\"weight\": {weight}, \"scores\": [{}]}}",
                        scores.join(", ")
                    ));
                    continue;
                }
                let groups = &pool[below(pool.len() as u64)];
                let written: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        // A tie group's names in a random order.
                        let mut g = g.clone();
                        for i in (1..g.len()).rev() {
                            g.swap(i, below(i as u64 + 1));
                        }
                        let quoted: Vec<String> = g.iter().map(|c| format!("\"c{c}\"")).collect();
                        match (quoted.len(), below(2)) {
                            (1, 0) => quoted.join(""),
                            _ => format!("[{}]", quoted.join(", ")),
                        }
                    })
                    .collect();
                let mut ranking = written.join(", ");
                if broken && j >= m / 2 && !fails {
                    ranking.push_str(", \"nobody\"");
                    fails = true;
                }
                users.push(format!(
                    "{{\"weight\": {weight}, \"ranking\": [{ranking}]}}"
                ));
            }
            let names: Vec<String> = (0..n).map(|c| format!("\"c{c}\"")).collect();
            let text = format!(
                "{{\"candidates\": [{}], \"users\": [\n{}]}}",
                names.join(", "),
                users.join(",\n")
            );
            let got = lines.parse(&text, "t");
            if fails {
                assert!(got.is_err(), "{text}");
                failed += 1;
                continue;
            }
            let got: Vec<(f64, Prefs, usize)> = got
                .unwrap()
                .users
                .iter()
                .map(|u| (u.weight, u.prefs.clone(), u.line))
                .collect();
            // The brute force: each user type of serde_json's value in turn, a ranking added
            // to the first kept with its canonical order (a linear search), or kept.
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut want: Vec<(f64, Prefs, usize)> = Vec::new();
            for (j, u) in value["users"].as_array().unwrap().iter().enumerate() {
                let weight = u["weight"].as_f64().unwrap();
                let line = j + 2;
                if let Some(scores) = u.get("scores") {
                    let s = scores
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap());
                    want.push((weight, Prefs::Scores(s.collect()), line));
                    continue;
                }
                let order = Prefs::Order(serde_order(u, n));
                match want.iter_mut().find(|(_, p, _)| *p == order) {
                    Some(first) => first.0 += weight,
                    None => want.push((weight, order, line)),
                }
            }
            merged += m - want.len();
            assert_eq!(got, want, "{text}");
        }
        assert!(
            merged > 2_000 && failed > 20,
            "{merged} merged, {failed} failed"
        );
    }

    /// A candidate and ranked name with a quote, a backslash, an escape, a raw control
    /// character or a multi-byte one at offsets 0 to 19, or none (plain names of 0 to 36 bytes),
    /// against serde_json. The ranked name is followed by 0, 3 or 9 spaces before the end, so
    /// that the eight bytes a short name is read with ([`Reader::short_string`]) run past the
    /// end of the text or not, whatever the name's length.
    #[test]
    fn escapes_at_any_offset_read_as_serde_json_reads_them() {
        for offset in 0..20 {
            for special in [
                "", r#"\""#, r"\\", r"\n", r"\u0041", r"\u0000", "\u{1}", "\u{1f}", "\u{7f}", "é",
            ] {
                let name = format!(
                    "\"{}{special}{}\"",
                    "a".repeat(offset),
                    "b".repeat(offset % 9)
                );
                for pad in [0, 3, 9] {
                    let spaces = " ".repeat(pad);
                    let text = format!(
                        "{{\"candidates\": [\"z\", {name}], \"users\": [{{\"ranking\": [{name}{spaces}]}}]}}"
                    );
                    let want = serde_json::from_str::<String>(&name);
                    match (parse(&text, "t"), want) {
                        (Ok(inst), Ok(want)) => {
                            assert_eq!(inst.candidates[1], want, "{name}");
                            assert_eq!(inst.users[0].prefs, Prefs::Order(vec![1, 0]), "{name}");
                        }
                        (Err(_), Err(_)) => {}
                        (got, want) => panic!("{name}: {got:?} against {want:?}"),
                    }
                }
            }
        }
    }

    /// Rankings of one-name groups, `["a"], ["b"]` (which [`Reader::single_names`] reads), give
    /// what the same rankings of bare names, `"a", "b"` (which it never reads), give: the same
    /// instance, or the same error on the same line. Names of 0 to 11 bytes, some with escapes
    /// or a quote, unknown and repeated names, the separators `, ` and `,` and others, the
    /// ranking's end within sixteen bytes of the text's, and the `weight` and `ranking` keys in
    /// either order and with a space before the `:`. Tables of plain names (none with a quote
    /// or a backslash, so `single_names` reads their groups) written with and without the escape
    /// `\u0063` for `c`, which the reader must not take for the bytes it is, and tables that are
    /// not (which it leaves to the general path), both many times.
    #[test]
    fn single_name_groups_read_as_bare_names() {
        use rand_xoshiro::Xoshiro256PlusPlus;
        use rand_xoshiro::rand_core::{Rng, SeedableRng};
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
        let mut below = |b: u64| (rng.next_u64() % b) as usize;
        let alphabet = ["a", "b", "é", "\\\"", "\\u0063", "\\\\", "z"];
        // Plain tables with an escaped name, and tables that are not plain.
        let (mut plain_escaped, mut not_plain) = (0, 0);
        for case in 0..3000 {
            let n = 1 + below(9);
            // Distinct names as JSON string bodies: a prefix makes them distinct.
            let names: Vec<String> = (0..n)
                .map(|i| {
                    let len = below(11);
                    let body: String = (0..len)
                        .map(|_| {
                            let kinds = if below(4) == 0 { 7 } else { 2 };
                            alphabet[below(kinds)]
                        })
                        .collect();
                    format!(
                        "{}{body}",
                        ["", "x", "yy", "c1", "q"][i % 5].repeat(1 + i / 5)
                    )
                })
                .collect();
            if names
                .iter()
                .any(|c| c.contains("\\\"") || c.contains("\\\\"))
            {
                not_plain += 1;
            } else if names.iter().any(|c| c.contains("\\u0063")) {
                plain_escaped += 1;
            }
            let mut users = Vec::new();
            for _ in 0..1 + below(3) {
                let mut perm: Vec<String> = names.clone();
                for i in (1..perm.len()).rev() {
                    let j = below(i as u64 + 1);
                    perm.swap(i, j);
                }
                perm.truncate(below(n as u64 + 1));
                // An unknown or repeated name, anywhere.
                let at = below(perm.len() as u64 + 1);
                match below(10) {
                    0 => perm.insert(at, "unknown".into()),
                    1 if !perm.is_empty() => {
                        perm.insert(at, perm[below(perm.len() as u64)].clone())
                    }
                    _ => {}
                }
                let seps: Vec<&str> = perm
                    .iter()
                    .map(|_| [", ", ",", ", ", ",  ", ",\n", " ,"][below(6)])
                    .collect();
                users.push((perm, seps, below(3)));
            }
            let write = |grouped: bool| {
                let mut text = String::from("{\"candidates\": [");
                let quoted: Vec<String> = names.iter().map(|c| format!("\"{c}\"")).collect();
                text.push_str(&quoted.join(", "));
                text.push_str("], \"users\": [");
                for (u, (perm, seps, form)) in users.iter().enumerate() {
                    if u > 0 {
                        text.push_str(", ");
                    }
                    let mut ranking = String::new();
                    for (i, name) in perm.iter().enumerate() {
                        if i > 0 {
                            ranking.push_str(seps[i]);
                        }
                        if grouped {
                            ranking.push_str(&format!("[\"{name}\"]"));
                        } else {
                            ranking.push_str(&format!("\"{name}\""));
                        }
                    }
                    text.push_str(&match form {
                        0 => format!("{{\"weight\": 2, \"ranking\": [{ranking}]}}"),
                        1 => format!("{{\"ranking\": [{ranking}], \"weight\": 1}}"),
                        _ => format!("{{\"ranking\" : [{ranking}]}}"),
                    });
                }
                text.push_str(if case % 2 == 0 { "]}" } else { "]}\n" });
                text
            };
            let (grouped, bare) = (write(true), write(false));
            match (parse(&grouped, "t"), parse(&bare, "t")) {
                (Ok(g), Ok(b)) => assert_eq!(g, b, "{grouped}"),
                (Err(g), Err(b)) => {
                    assert_eq!(
                        (g.message(), g.line()),
                        (b.message(), b.line()),
                        "{grouped}"
                    )
                }
                (g, b) => panic!("{grouped}: {g:?} against {b:?}"),
            }
        }
        assert!(
            plain_escaped > 100 && not_plain > 100,
            "{plain_escaped} {not_plain}"
        );
    }

    /// A name whose text, read up to its first quote, is another name's bytes followed by a
    /// group's end: `p\"], [\"q` against `p\`. Only a table of plain names lets a group's name
    /// end at its first quote; this one is read on the general path.
    #[test]
    fn an_escaped_quote_does_not_end_a_name() {
        let text = r#"{"candidates": ["p\\", "p\"], [\"q", "r"],
            "users": [{"ranking": [["p\"], [\"q"], ["p\\"], ["r"]]}]}"#;
        assert_eq!(
            users(text).unwrap(),
            vec![(1.0, Prefs::Order(vec![1, 0, 2]), 2)]
        );
    }

    /// The instance's and a user's keys read alike whether written `"key":` (found at once)
    /// or otherwise (spaced, or escaped), and a repeated, unknown or longer key is the same
    /// error either way.
    #[test]
    fn keys_read_alike_however_written() {
        let forms = [
            |k: &str| format!("\"{k}\":"),
            |k: &str| format!("\"{k}\" :"),
            |k: &str| format!(" \"{k}\"\n:"),
            |k: &str| format!("\"\\u00{:02x}{}\":", k.as_bytes()[0], &k[1..]),
        ];
        let doc = |f: &dyn Fn(&str) -> String, extra: &str| {
            format!(
                "{{{} [\"a\", \"b\"], {} [{{{} 2, {} [\"b\", \"a\"]}}]{extra}}}",
                f("candidates"),
                f("users"),
                f("weight"),
                f("ranking")
            )
        };
        // The instance but the users' lines (the third form has a line break).
        let read = |text: &str| {
            let i = parse(text, "t").unwrap();
            let users: Vec<_> = i
                .users
                .iter()
                .map(|u| (u.weight, u.prefs.clone()))
                .collect();
            (i.candidates, users)
        };
        let want = read(&doc(&forms[0], ""));
        assert_eq!(want.1, vec![(2.0, Prefs::Order(vec![1, 0]))]);
        for f in &forms {
            assert_eq!(read(&doc(f, "")), want);
            for (extra, error) in [
                (
                    format!(", {} [\"c\"]", f("candidates")),
                    "duplicate field `candidates`",
                ),
                (format!(", {} []", f("users")), "duplicate field `users`"),
                (format!(", {} 1", f("usersX")), "unknown field `usersX`"),
                (
                    format!(", {} 1", f("candidate")),
                    "unknown field `candidate`",
                ),
            ] {
                let e = parse(&doc(f, &extra), "t").unwrap_err();
                assert!(e.message().contains(error), "{extra}: {e}");
            }
        }
    }

    #[test]
    fn key_order_nulls_lines_and_canonical_rankings() {
        let text = "{\"users\": [\n {\"ranking\": [\"c\", [\"b\"]], \"weight\": null},\n \
                    {\"weight\": 2, \"ranking\": [[\"c\"], [], \"b\", [\"a\"]], \"scores\": null}\n],\n \
                    \"candidates\": [\"a\", \"b\", \"c\"]}";
        let got = users(text).unwrap();
        assert_eq!(got, vec![(3.0, Prefs::Order(vec![2, 1, 0]), 2)]);
        for (text, line, needle) in [
            (
                "{\"candidates\": [\"a\"],\n\"users\": [{}]}",
                2,
                "needs `scores` or `ranking`",
            ),
            (
                "{\"candidates\": [\"a\"], \"users\": [{\"scores\": [1]}],\n\"x\": 1}",
                2,
                "unknown field `x`",
            ),
            ("{\"candidates\": [\"a\"], \"users\": []} x", 1, "trailing"),
            (
                "{\"candidates\": [\"a\"],\n\n \"candidates\": []}",
                3,
                "duplicate field",
            ),
            (
                "{\"candidates\": [\"a\"], \"users\": [{\"weight\": 1, \"weight\": 2}]}",
                1,
                "duplicate field `weight`",
            ),
            (
                "{\"candidates\": [\"a\"], \"users\": [{\"weight\": \"2\", \"scores\": [1]}]}",
                1,
                "must be a number",
            ),
            (
                "{\"candidates\": [\"a\",\n\"a\",\n\"b\"], \"users\": []}",
                2,
                "candidate \"a\" listed twice",
            ),
            (
                "{\"candidates\": [\"a\"],\n\"users\": [{\"ranking\": [\"\\u0078\"]}]}",
                2,
                "users[0]: unknown candidate \"x\"",
            ),
            (
                "{\"candidates\": [\"a\", \"b\"],\n\"users\": [{\"scores\": [1, 2]},\n\
                 {\"ranking\": [\"a\", [\"b\", \"\\u0061\"]]}]}",
                3,
                "users[1]: candidate \"a\" ranked twice",
            ),
            ("[1]", 1, "expected a JSON object"),
            ("", 1, "end of input"),
            ("{\"users\": [[[[]]]]}", 1, "missing field `candidates`"),
        ] {
            let e = parse(text, "t").unwrap_err();
            assert!(e.message().contains(needle), "{text:?}: {e}");
            if !needle.starts_with("missing") {
                assert_eq!(e.line(), Some(line), "{text:?}: {e}");
            }
        }
        let deep = format!("{{\"users\": {}", "[".repeat(1000));
        assert!(parse(&deep, "t").unwrap_err().message().contains("deeply"));
    }

    /// Parsing line after line with one [`Lines`] gives what parsing each alone gives, whatever
    /// it read before: more or fewer candidates and users, scores where rankings were, users
    /// before candidates, duplicates merged, a line that failed half-way, and lines whose
    /// `candidates` array is the text of the one read before (its table kept): with other
    /// users, after lines that failed, with newlines inside (the lines errors name after it),
    /// with escapes, and the same names in other text (read again).
    #[test]
    fn parsing_line_after_line_is_parsing_anew() {
        let texts = [
            r#"{"candidates": ["a", "bb", "c"], "users": [{"ranking": ["c", ["a", "bb"]]},
                {"weight": 2, "ranking": ["a"]}, {"ranking": ["c", ["bb", "a"]]}]}"#,
            r#"{"candidates": ["x", "a long name, past eight bytes"], "users": [
                {"scores": [1, 2]}]}"#,
            r#"{"users": [{"ranking": ["q"]}, {"ranking": ["p", "q", "r", "s"]},
                {"scores": [0, 1, 2, 3]}, {"ranking": []}], "candidates": ["p", "q", "r", "s"]}"#,
            r#"{"candidates": ["a", "b"], "users": [{"ranking": ["a", "b"]}, {"ranking": ["z"]}]}"#,
            r#"{"candidates": ["a"], "users": [{"ranking": ["a"]}]}"#,
            r#"{"candidates": ["d", "c", "b", "a"], "users": [{"ranking": ["a", "b", "c", "d"]},
                {"ranking": [["a", "b"]]}, {"weight": 0.5, "ranking": ["b"]}]}"#,
            // The arrays of 0 and 1 again, other users.
            r#"{"candidates": ["a", "bb", "c"], "users": [{"weight": 3, "ranking": ["bb"]}]}"#,
            r#"{"candidates": ["x", "a long name, past eight bytes"], "users": [
                {"ranking": ["a long name, past eight bytes"]}, {"scores": [0, 0]}]}"#,
            // Newlines inside the array, an error two lines after it.
            "{\"candidates\": [\"p\",\n \"q\",\n \"r\", \"s\"],\n \"users\": [{\"ranking\": [\"q\"]},\n\n {\"ranking\": [\"t\"]}]}",
            "{\"candidates\": [\"p\",\n \"q\",\n \"r\", \"s\"],\n \"users\": [{\"ranking\": [\"s\", \"q\"]}]}",
            // Escapes in the array; the same names written plainly, then as the array before.
            r#"{"candidates": ["\u0061", "bb", "c"], "users": [{"ranking": ["a", "c"]}]}"#,
            r#"{"candidates": ["a", "bb", "c"], "users": [{"ranking": ["c"]}]}"#,
            r#"{"candidates": ["\u0061", "bb", "c"], "users": [{"ranking": ["bb", "a"]}]}"#,
            // The array of 0, then a user before it: the users are read once it is known.
            r#"{"users": [{"ranking": ["c", "bb"]}], "candidates": ["a", "bb", "c"]}"#,
        ];
        let mut lines = Lines::default();
        for order in [
            (0..texts.len()).collect::<Vec<_>>(),
            vec![5, 3, 2, 0, 4, 1],
            vec![
                0, 6, 3, 6, 0, 13, 6, 1, 7, 7, 8, 9, 8, 9, 10, 11, 12, 10, 12, 2, 8,
            ],
        ] {
            for i in order {
                let text = texts[i];
                let fresh = parse(text, "t");
                let read = lines.parse(text, "t");
                match fresh {
                    Ok(fresh) => assert_eq!(read.ok(), Some(&fresh), "{text}"),
                    Err(e) => {
                        let got = read.unwrap_err();
                        assert_eq!(
                            (got.message(), got.line()),
                            (e.message(), e.line()),
                            "{text}"
                        )
                    }
                }
            }
        }
        assert!(
            parse(texts[3], "t").is_err(),
            "the line that fails half-way"
        );
        let error = parse(texts[8], "t").unwrap_err();
        assert_eq!(error.line(), Some(6), "{error}");
    }

    /// Bytes that are not UTF-8 anywhere in a line (in a candidate's name, a ranked name, a
    /// key, a number or between tokens) never read as an instance, and UTF-8 lines read through
    /// `parse_bytes` as through `parse`: every position of lines with names of one to four
    /// bytes a character, each byte replaced by a stray continuation byte, a lead byte without
    /// its continuation, and `0xff`, and each such byte inserted.
    #[test]
    fn only_utf8_text_reads_as_an_instance() {
        let lines = [
            r#"{"candidates": ["a", "é", "日本", "😀x"], "users": [{"weight": 2, "ranking": [["é"], ["a"], "😀x"]}, {"scores": [1, 0.5, 2e0, 3]}]}"#,
            r#"{"users":[{"ranking":[["日本"],["a"],["é"],["😀x"]]}],"candidates":["😀x","日本","é","a"]}"#,
        ];
        let mut lines_reader = Lines::default();
        for line in lines {
            let want = parse(line, "t").unwrap();
            let got = lines_reader.parse_bytes(line.as_bytes(), "t").unwrap();
            assert_eq!(got.candidates, want.candidates);
            assert_eq!(got.users, want.users);
            let bytes = line.as_bytes();
            for i in 0..=bytes.len() {
                for bad in [0x80u8, 0xc3, 0xe6, 0xff] {
                    let mut replaced = bytes.to_vec();
                    if let Some(b) = replaced.get_mut(i) {
                        *b = bad;
                    }
                    let mut inserted = bytes.to_vec();
                    inserted.insert(i, bad);
                    for text in [replaced, inserted] {
                        let read = lines_reader.parse_bytes(&text, "t").map(|_| ());
                        if std::str::from_utf8(&text).is_err() {
                            assert!(read.is_err(), "{:?} read", String::from_utf8_lossy(&text));
                        } else {
                            let text = std::str::from_utf8(&text).unwrap_or_default();
                            let want = parse(text, "t").map(|_| ());
                            assert_eq!(read.is_ok(), want.is_ok(), "{text:?}");
                        }
                    }
                }
            }
        }
    }
}
