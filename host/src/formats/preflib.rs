//! PrefLib files (`.soc`, `.soi`, `.toc`, `.toi`).
//!
//! `#` lines are the header; `# ALTERNATIVE NAME i: name` names alternative `i` and
//! `# NUMBER ALTERNATIVES: n` gives `n` (`# NUMBER VOTERS: v`, when present, must be the sum of
//! the counts; each of the two says one number however often it is said; other `#` lines, such
//! as `NUMBER UNIQUE ORDERS`, which writers count in different ways, are comments). The first
//! two keys come before the first order, each alternative is named once and no two candidates
//! share a name (an unnamed alternative goes by its number): anything else is refused, naming
//! both lines. Every other non-blank line is `count: order`, where the order lists alternatives
//! best first, separated by commas, with `{a,b}` a tie group (`{}` is an empty group and means
//! nothing). Alternatives an incomplete order leaves out tie at the bottom. Identical orders (as
//! weak orders: `1,2,3` and `1,2` are the same order of three) are merged into one weighted user
//! type (the counts are added, with overflow checked).
//!
//! **Numbering.** PrefLib numbers alternatives `1..=n`. Files written by pref_voting and
//! preflibtools number them `0..n`. A file is read as numbered from 0 when alternative 0
//! appears (named or in an order) and no alternative is numbered `n`, where `n` is the
//! `NUMBER ALTERNATIVES` (without it, one more than the largest number in the file); the reader
//! then adds a note saying so (the command line prints it on stderr). When 0 appears and so does
//! `n`, neither numbering fits and the file is refused.
//!
//! **Two routes.** A file whose header declares `NUMBER ALTERNATIVES` before its first order
//! (every PrefLib file does) is read in one pass: each order is validated, put in canonical form
//! and counted as its line is read, in an [`OrderSet`] that keeps the orders flat (no allocation
//! per line). The file's numbering is known only at its end, so the orders are keyed as written
//! and renumbered once, per distinct order. Any other file, and any file with an error, is read
//! by the checked route, which makes two passes: the first splits the lines into a flat list of
//! alternative numbers, the second, once the numbering is known, validates each order and merges
//! it into the user types. Only the checked route writes error messages, so they name the same
//! problem and line whichever route met it first. The routes share the grammar: a header line
//! is read by `Header::read`, a count by `digits`, an order by `walk_order`, which hands each
//! alternative and each tie group to the route's `OrderSink`. Both give the same instance; a
//! test checks them against each other on random files. Each user type costs one allocation:
//! its order, flat ([`Prefs::Order`]).

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Instance, Prefs, TIES_NEXT, UserType, close_group};
use crate::order_set::OrderSet;

/// Set on the first alternative of a tie group in [`Rows::cells`].
const GROUP_START: u32 = 1 << 31;

/// The data lines, flat: row `r` is `cells[start[r]..start[r + 1]]`.
struct Rows {
    cells: Vec<u32>,
    start: Vec<usize>,
    count: Vec<u64>,
    line: Vec<usize>,
}

/// A named alternative: its number as written, its name, its line.
struct Name {
    number: usize,
    name: String,
    line: usize,
}

/// What the header says.
#[derive(Default)]
struct Header {
    names: Vec<Name>,
    /// The numbers in `names`, each to its place there.
    named: FxHashMap<usize, usize>,
    /// `NUMBER ALTERNATIVES` and its line.
    declared: Option<(usize, usize)>,
    /// The line of the first order, once the reader has met it: the header is over.
    first_order: Option<usize>,
    /// `NUMBER VOTERS` and its line (the first, when it is said more than once).
    voters: Option<(u64, usize)>,
}

/// Parses a PrefLib file; a file numbered from 0 adds a note to `notes`. A file whose header
/// declares `NUMBER ALTERNATIVES` before its first order is read in one pass
/// (`parse_one_pass`); any other file, and every file with an error, by the two passes of
/// `parse_checked`, which name the problem and its line.
pub fn parse(text: &str, source: &str, notes: &mut Vec<String>) -> Result<Instance> {
    super::refuse_bare_cr(text, source)?;
    let lines = super::line_count(text.as_bytes());
    match parse_one_pass(text, source, lines) {
        Some((instance, note)) => {
            notes.extend(note);
            Ok(instance)
        }
        None => parse_checked(text, source, lines, notes),
    }
}

/// The one-pass reader, for a file that declares `NUMBER ALTERNATIVES` before its first order.
/// Each order is put in canonical form as it is read and counted in an [`OrderSet`]. The key is
/// the order in the file's own numbering (which is known only at the end) without its last
/// group: the alternatives the order leaves out, or else its last group, make that group. So
/// `1,2,3`, `1,2` and `1,2,{3}` share one key. `None` for any other file and on any error, for
/// [`parse_checked`] to read and report; on success, the note of [`numbering_note`]. `lines`
/// is [`super::line_count`] of `text`: room for every line, so nothing regrows.
fn parse_one_pass(text: &str, source: &str, lines: usize) -> Option<(Instance, Option<String>)> {
    let mut header = Header::default();
    // The declared number of alternatives, fixed at the first order.
    let mut n: Option<usize> = None;
    // `stamp[a] == row` when the current order lists alternative `a` (numbered as written).
    let mut stamp: Vec<u32> = Vec::new();
    let mut row = 0u32;
    let mut key: Vec<u16> = Vec::new();
    let mut set = OrderSet::with_capacity(lines, text.len() / 2);
    // The count and the first line of each distinct order, numbered as in `set`.
    let mut counts: Vec<(u64, usize)> = Vec::with_capacity(lines);
    let mut total = 0u64;
    // The first line on which alternative 0 appears, and the first order that lists `n`.
    let mut zero: Option<usize> = None;
    let mut used_n: Option<usize> = None;
    let bytes = text.as_bytes();
    // The start of the current line and its number.
    let (mut at, mut line) = (0usize, 0usize);
    while at < bytes.len() {
        line += 1;
        let mut i = at;
        skip_blanks(bytes, &mut i);
        match bytes.get(i) {
            None => break,
            Some(b'\n') => {
                at = i + 1;
                continue;
            }
            Some(b'#') => {
                let end = memchr::memchr(b'\n', bytes.get(i..)?).map_or(bytes.len(), |e| i + e);
                let h = text.get(i + 1..end)?;
                if header.read(h, line, source).ok()? == Some(0) {
                    zero = zero.or(Some(line));
                }
                at = end + 1;
                continue;
            }
            Some(_) => {
                header.first_order.get_or_insert(line);
            }
        }
        let n = match n {
            Some(n) => n,
            None => {
                let declared = header.declared?.0;
                if declared == 0 || declared > CAPACITY {
                    return None;
                }
                stamp = vec![0; declared + 1];
                n = Some(declared);
                declared
            }
        };
        // `count:`, digits only (a sign or anything else goes to the checked reader).
        let count = digits(bytes, &mut i)?;
        skip_blanks(bytes, &mut i);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        row = row.checked_add(1)?;
        key.clear();
        read_order(bytes, &mut i, row, &mut stamp, &mut key)?;
        at = i + 1;
        if stamp.first() == Some(&row) {
            zero = zero.or(Some(line));
        }
        if stamp.last() == Some(&row) {
            used_n = used_n.or(Some(line));
        }
        if key.len() == n {
            // Complete: its last group is the alternatives the key leaves out.
            let last = key.len() - 1;
            let from = key
                .get(..last)?
                .iter()
                .rposition(|&e| e & TIES_NEXT == 0)
                .map_or(0, |p| p + 1);
            key.truncate(from);
        }
        total = total.checked_add(count)?;
        match set.insert(&key)? {
            (_, true) => counts.push((count, line)),
            (i, false) => {
                let c = counts.get_mut(i)?;
                c.0 = c.0.checked_add(count)?;
            }
        }
    }
    // A disagreeing NUMBER VOTERS is reported by the checked reader.
    header.check_voters(total, source).ok()?;
    let (n, base) = numbering(&header, |_| used_n, zero, n?, source).ok()?;
    // `seen[c] == i + 1` when the key of user type `i` lists candidate `c`.
    let mut seen = vec![0u32; n];
    let mut users = Vec::with_capacity(counts.len());
    for (i, &(count, line)) in counts.iter().enumerate() {
        let mark = u32::try_from(i + 1).ok()?;
        let mut order: Vec<u16> = Vec::with_capacity(n);
        for &e in set.get(i) {
            let c = usize::from(e & !TIES_NEXT).checked_sub(base)?;
            *seen.get_mut(c)? = mark;
            // `c < n <= CAPACITY < 2^15`.
            order.push(c as u16 | (e & TIES_NEXT));
        }
        let listed = order.len();
        for (c, s) in seen.iter().enumerate() {
            if *s != mark {
                order.push(c as u16);
            }
        }
        close_group(&mut order, listed);
        users.push(UserType {
            weight: count as f64,
            prefs: Prefs::Order(order),
            line,
        });
    }
    let instance = Instance {
        source: source.to_string(),
        candidates: candidates(header, n, base, source).ok()?,
        users,
    };
    Some((instance, numbering_note(n, base)))
}

/// Steps `*i` past spaces, tabs, form feeds and carriage returns: the ASCII whitespace of a
/// line.
fn skip_blanks(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t' | b'\r' | b'\x0c')) {
        *i += 1;
    }
}

/// What a reader does with the parts of an order as [`walk_order`] meets them.
trait OrderSink {
    /// Alternative `a`, as written; `first` on the first alternative of each tie group (a bare
    /// alternative is a group of its own). `None` stops the walk.
    fn alt(&mut self, a: u32, first: bool) -> Option<()>;
    /// A tie group `{...}` of `len >= 2` alternatives ends: they were the last `len` given to
    /// [`OrderSink::alt`].
    fn tie(&mut self, len: usize);
}

/// Walks the order at `b[*i..]` (`a,b,{c,d},e`) up to the end of its line, a `\n` or the end
/// of `b`, where `*i` is left, and hands its parts to `sink` (an empty group `{}` gives
/// nothing). `None` on anything the grammar does not accept, on a number past `u32`, and as soon
/// as the sink returns `None`. Both routes read orders through it:
/// [`read_order`] and [`fast_order`].
fn walk_order(b: &[u8], i: &mut usize, sink: &mut impl OrderSink) -> Option<()> {
    let number = |i: &mut usize| u32::try_from(digits(b, i)?).ok();
    skip_blanks(b, i);
    if matches!(b.get(*i), None | Some(b'\n')) {
        return Some(());
    }
    loop {
        skip_blanks(b, i);
        if b.get(*i) == Some(&b'{') {
            *i += 1;
            skip_blanks(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
            } else {
                let mut len = 0usize;
                loop {
                    sink.alt(number(i)?, len == 0)?;
                    len += 1;
                    skip_blanks(b, i);
                    match b.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            break;
                        }
                        _ => return None,
                    }
                    skip_blanks(b, i);
                }
                if len > 1 {
                    sink.tie(len);
                }
            }
        } else {
            sink.alt(number(i)?, true)?;
        }
        skip_blanks(b, i);
        match b.get(*i) {
            None | Some(b'\n') => return Some(()),
            Some(b',') => *i += 1,
            Some(_) => return None,
        }
    }
}

/// The one-pass reader's order: alternatives as written, each tie group sorted with
/// [`TIES_NEXT`] on all its entries but the last. Each alternative `a` listed sets
/// `stamp[a] = row`.
struct Key<'a> {
    key: &'a mut Vec<u16>,
    stamp: &'a mut [u32],
    row: u32,
}

impl OrderSink for Key<'_> {
    /// `None` on an alternative past `stamp` and on one listed twice.
    fn alt(&mut self, a: u32, _first: bool) -> Option<()> {
        let s = self.stamp.get_mut(a as usize).filter(|s| **s != self.row)?;
        *s = self.row;
        // `a < stamp.len() <= CAPACITY + 1 < 2^15`.
        self.key.push(a as u16);
        Some(())
    }

    fn tie(&mut self, len: usize) {
        let from = self.key.len().saturating_sub(len);
        close_group(self.key, from);
    }
}

/// The order at `b[*i..]` (read by [`walk_order`]) appended to `key` for [`parse_one_pass`], as
/// [`Key`] builds it. `None` on anything [`walk_order`] refuses, on an alternative past `stamp`,
/// and on one listed twice.
fn read_order(
    b: &[u8],
    i: &mut usize,
    row: u32,
    stamp: &mut [u32],
    key: &mut Vec<u16>,
) -> Option<()> {
    walk_order(b, i, &mut Key { key, stamp, row })
}

/// The two-pass reader: any valid file, and the error of any invalid one. `lines` is
/// [`super::line_count`] of `text`.
fn parse_checked(
    text: &str,
    source: &str,
    lines: usize,
    notes: &mut Vec<String>,
) -> Result<Instance> {
    let mut header = Header::default();
    // Room for every line and for a few alternatives a line: few regrowths.
    let mut rows = Rows {
        cells: Vec::with_capacity(text.len() / 3),
        start: Vec::with_capacity(lines + 1),
        count: Vec::with_capacity(lines),
        line: Vec::with_capacity(lines),
    };
    // The first line on which alternative 0 appears, and the largest number seen.
    let mut zero: Option<usize> = None;
    let mut max_number = 0usize;
    for (line, _, raw) in super::lines(text) {
        let s = raw.trim_ascii();
        if s.is_empty() {
            continue;
        }
        if let Some(h) = s.strip_prefix('#') {
            if let Some(number) = header.read(h, line, source)? {
                if number == 0 {
                    zero = zero.or(Some(line));
                }
                max_number = max_number.max(number);
            }
            continue;
        }
        header.first_order.get_or_insert(line);
        let Some((count, order)) = s.split_once(':') else {
            return Err(Error::at(source, line, "expected `count: order`"));
        };
        let count = parse_count(count.trim_ascii()).map_err(|m| Error::at(source, line, m))?;
        let from = rows.cells.len();
        parse_order(order, &mut rows.cells).map_err(|m| Error::at(source, line, m))?;
        for &c in rows.cells.get(from..).unwrap_or(&[]) {
            let c = (c & !GROUP_START) as usize;
            if c == 0 {
                zero = zero.or(Some(line));
            }
            max_number = max_number.max(c);
        }
        rows.start.push(from);
        rows.count.push(count);
        rows.line.push(line);
    }
    rows.start.push(rows.cells.len());

    let used_n = |n: usize| {
        (0..rows.count.len()).find_map(|r| {
            let cells = rows
                .cells
                .get(*rows.start.get(r)?..*rows.start.get(r + 1)?)?;
            cells
                .iter()
                .any(|&c| (c & !GROUP_START) as usize == n)
                .then(|| rows.line.get(r).copied())
                .flatten()
        })
    };
    let (n, base) = numbering(&header, used_n, zero, max_number, source)?;
    if n == 0 {
        return Err(Error::in_file(
            source,
            "no candidates (no ALTERNATIVE NAME header)",
        ));
    }
    if n > CAPACITY {
        return Err(Error::in_file(
            source,
            format!("{n} candidates exceed the capacity of {CAPACITY}"),
        ));
    }
    header.check_voters(
        rows.count.iter().fold(0u64, |t, &c| t.saturating_add(c)),
        source,
    )?;
    let candidates = candidates(header, n, base, source)?;
    notes.extend(numbering_note(n, base));
    let users = merge(&rows, n, base, source)?;
    if users.is_empty() {
        return Err(Error::in_file(
            source,
            "empty population: no preference orders",
        ));
    }
    Ok(Instance {
        source: source.to_string(),
        candidates,
        users,
    })
}

/// The note a file numbered from 0 gets (none for one numbered from 1).
fn numbering_note(n: usize, base: usize) -> Option<String> {
    (base == 0).then(|| {
        format!(
            "alternatives are numbered from 0 (alternative 0 appears and none is numbered {n}): \
             read as 0 to {}",
            n.saturating_sub(1)
        )
    })
}

/// The names of the `n` alternatives numbered from `base`: the header's, else the number.
/// Two alternatives of one name are refused, at the later of their lines.
fn candidates(header: Header, n: usize, base: usize, source: &str) -> Result<Vec<String>> {
    let mut candidates: Vec<String> = (0..n).map(|i| (i + base).to_string()).collect();
    // The line that names each candidate (0: none, it goes by its number).
    let mut lines = vec![0usize; n];
    for name in header.names {
        if let Some(i) = name.number.checked_sub(base)
            && let (Some(slot), Some(line)) = (candidates.get_mut(i), lines.get_mut(i))
        {
            *slot = name.name;
            *line = name.line;
        }
    }
    let mut seen: FxHashMap<&str, usize> = FxHashMap::default();
    seen.reserve(n);
    for (i, name) in candidates.iter().enumerate() {
        let Some(j) = seen.insert(name, i) else {
            continue;
        };
        let line = |c: usize| lines.get(c).copied().unwrap_or(0);
        let what = |c: usize| match line(c) {
            0 => format!(
                "alternative {} (unnamed, so called by its number)",
                c + base
            ),
            l => format!("alternative {} (line {l})", c + base),
        };
        return Err(Error::at(
            source,
            line(i).max(line(j)),
            format!(
                "candidate \"{name}\" named twice: {} and {}",
                what(j),
                what(i)
            ),
        ));
    }
    Ok(candidates)
}

/// The number of alternatives and the number of the first one (1, or 0 when alternative 0
/// appears and no alternative is numbered `n`). `used_n(n)` is the first line of an order that
/// lists alternative `n`, if one does.
fn numbering(
    header: &Header,
    used_n: impl FnOnce(usize) -> Option<usize>,
    zero: Option<usize>,
    max_number: usize,
    source: &str,
) -> Result<(usize, usize)> {
    let declared = header.declared.map(|d| d.0);
    let max_named = header.names.iter().map(|x| (x.number, x.line)).max();
    let Some(zero_line) = zero else {
        // Numbered from 1, as PrefLib specifies.
        let n = match (declared, max_named) {
            (Some(n), Some((max, line))) if max > n => {
                return Err(Error::at(
                    source,
                    line,
                    format!("alternative {max} exceeds NUMBER ALTERNATIVES: {n}"),
                ));
            }
            (Some(n), _) => n,
            (None, Some((max, _))) => max,
            (None, None) => max_number,
        };
        return Ok((n, 1));
    };
    let n = declared.unwrap_or(max_number.saturating_add(1));
    // Where alternative `n` appears, if it does: then numbering from 0 does not fit either.
    let named_n = header.names.iter().find(|x| x.number == n).map(|x| x.line);
    if let Some(n_line) = named_n.or_else(|| used_n(n)) {
        let what = if header
            .names
            .iter()
            .any(|x| x.number == 0 && x.line == zero_line)
        {
            "alternative 0 is named".to_string()
        } else {
            "unknown candidate 0".to_string()
        };
        return Err(Error::at(
            source,
            zero_line,
            format!(
                "{what}, but alternative {n} (line {n_line}) appears too with NUMBER \
                 ALTERNATIVES: {n}: the file fits neither numbering from 1 nor from 0"
            ),
        ));
    }
    if let Some((max, line)) = max_named
        && max >= n
    {
        return Err(Error::at(
            source,
            line,
            format!(
                "alternative {max} exceeds NUMBER ALTERNATIVES: {n} (numbered from 0: 0 to {})",
                n.saturating_sub(1)
            ),
        ));
    }
    Ok((n, 0))
}

/// Validates every order, puts it in canonical form (groups sorted, unlisted alternatives as a
/// last group, as a [`Prefs::Order`]) and merges identical ones, adding their counts.
fn merge(rows: &Rows, n: usize, base: usize, source: &str) -> Result<Vec<UserType>> {
    // `stamp[c] == r + 1` when row `r` lists candidate `c`: no clearing between rows.
    let mut stamp = vec![0usize; n];
    let mut key: Vec<u16> = Vec::with_capacity(n);
    let rows_n = rows.count.len();
    let mut index = OrderSet::with_capacity(rows_n, rows.cells.len() + rows_n);
    let mut users: Vec<UserType> = Vec::with_capacity(rows_n);
    let mut counts: Vec<u64> = Vec::with_capacity(rows_n);
    let mut total: u64 = 0;
    let numbered = if base == 0 { ", numbered from 0" } else { "" };
    for r in 0..rows.count.len() {
        let (Some(&from), Some(&to), Some(&count), Some(&line)) = (
            rows.start.get(r),
            rows.start.get(r + 1),
            rows.count.get(r),
            rows.line.get(r),
        ) else {
            break;
        };
        let cells = rows.cells.get(from..to).unwrap_or(&[]);
        key.clear();
        let mut group = 0usize;
        for &cell in cells {
            if cell & GROUP_START != 0 {
                close_group(&mut key, group);
                group = key.len();
            }
            let c = (cell & !GROUP_START) as usize;
            let slot = c
                .checked_sub(base)
                .and_then(|i| stamp.get_mut(i).map(|s| (i, s)));
            let Some((i, s)) = slot else {
                return Err(Error::at(
                    source,
                    line,
                    format!("unknown candidate {c} (there are {n}{numbered})"),
                ));
            };
            if *s == r + 1 {
                return Err(Error::at(
                    source,
                    line,
                    format!("candidate {c} ranked twice"),
                ));
            }
            *s = r + 1;
            // `i < n <= CAPACITY < 2^15`.
            key.push(i as u16);
        }
        close_group(&mut key, group);
        let listed = key.len();
        for (i, s) in stamp.iter().enumerate() {
            if *s != r + 1 {
                key.push(i as u16);
            }
        }
        close_group(&mut key, listed);
        total = total
            .checked_add(count)
            .ok_or_else(|| Error::at(source, line, "the counts overflow"))?;
        let too_many = || Error::at(source, line, "too many distinct orders");
        match index.insert(&key).ok_or_else(too_many)? {
            (u, false) => {
                if let Some(c) = counts.get_mut(u) {
                    *c = c
                        .checked_add(count)
                        .ok_or_else(|| Error::at(source, line, "the counts overflow"))?;
                }
            }
            (_, true) => {
                counts.push(count);
                users.push(UserType {
                    weight: 0.0,
                    prefs: Prefs::Order(key.clone()),
                    line,
                });
            }
        }
    }
    for (u, c) in users.iter_mut().zip(counts) {
        u.weight = c as f64;
    }
    Ok(users)
}

/// The number a header line gives for `what`.
fn header_number<T: std::str::FromStr>(
    text: &str,
    what: &str,
    source: &str,
    line: usize,
) -> Result<T> {
    let text = text.trim_ascii();
    text.parse()
        .map_err(|_| Error::at(source, line, format!("bad {what} `{text}`")))
}

/// Records `n`, said by header key `what` on `line`, in `slot` (the first saying and its line),
/// or refuses it when an earlier line said another number.
fn said_once<T: PartialEq + std::fmt::Display + Copy>(
    slot: &mut Option<(T, usize)>,
    n: T,
    (what, line): (&str, usize),
    source: &str,
) -> Result<()> {
    match *slot {
        Some((first, first_line)) if first != n => Err(Error::at(
            source,
            line,
            format!("{what}: {n} disagrees with {what}: {first} on line {first_line}"),
        )),
        Some(_) => Ok(()),
        None => {
            *slot = Some((n, line));
            Ok(())
        }
    }
}

impl Header {
    /// Reads a header line (without its `#`): `NUMBER ALTERNATIVES` or an alternative's name; any
    /// other `#` line is a comment. Returns the number of the alternative it names, if it names
    /// one. Refuses a bad number, an alternative named twice, a `NUMBER ALTERNATIVES` or
    /// `NUMBER VOTERS` that differs from an earlier one, and either of the first two keys after
    /// the first order (whose meaning they would change: the header comes first in PrefLib's
    /// format). Both routes read the header through it.
    fn read(&mut self, h: &str, line: usize, source: &str) -> Result<Option<usize>> {
        let Some((key, value)) = h.split_once(':') else {
            return Ok(None);
        };
        let key = key.trim_ascii();
        let upper = key.to_ascii_uppercase();
        if upper == "NUMBER VOTERS" {
            let n = header_number(value, "NUMBER VOTERS", source, line)?;
            said_once(&mut self.voters, n, ("NUMBER VOTERS", line), source)?;
            return Ok(None);
        }
        let name = upper.strip_prefix("ALTERNATIVE NAME");
        if name.is_none() && upper != "NUMBER ALTERNATIVES" {
            return Ok(None);
        }
        if let Some(first) = self.first_order {
            return Err(Error::at(
                source,
                line,
                format!(
                    "`# {key}` after the first order (line {first}): the header comes before \
                     the orders"
                ),
            ));
        }
        let Some(num) = name else {
            let n = header_number(value, "NUMBER ALTERNATIVES", source, line)?;
            said_once(&mut self.declared, n, ("NUMBER ALTERNATIVES", line), source)?;
            return Ok(None);
        };
        let number = header_number(num, "alternative number", source, line)?;
        // Numbered from 0 or 1, an alternative past the capacity is refused here: the names
        // (and their map, whose keys a file could choose to collide) never outgrow it.
        if number > CAPACITY {
            return Err(Error::at(
                source,
                line,
                format!(
                    "alternative {number}: more than the capacity of {CAPACITY} candidates \
                     (alternatives are numbered from 1, or from 0)"
                ),
            ));
        }
        let name = value.trim_ascii();
        if let Some(first) = self.named.get(&number).and_then(|&i| self.names.get(i)) {
            return Err(Error::at(
                source,
                line,
                format!(
                    "alternative {number} named twice: `{}` on line {}, `{name}` here",
                    first.name, first.line
                ),
            ));
        }
        self.named.insert(number, self.names.len());
        self.names.push(Name {
            number,
            name: name.to_string(),
            line,
        });
        Ok(Some(number))
    }

    /// Refuses a `NUMBER VOTERS` other than `total`, the sum of the orders' counts: a file cut
    /// short, or orders that are not the header's.
    fn check_voters(&self, total: u64, source: &str) -> Result<()> {
        if let Some((declared, line)) = self.voters
            && declared != total
        {
            return Err(Error::at(
                source,
                line,
                format!(
                    "NUMBER VOTERS: {declared}, but the orders' counts sum to {total} (a file \
                     cut short, or orders that are not this header's)"
                ),
            ));
        }
        Ok(())
    }
}

/// The number in the digits at `b[*i..]`, `*i` left past them: `None` when there is no digit
/// or the number overflows a `u64`. The counts and the alternatives of both routes are read
/// through it.
fn digits(b: &[u8], i: &mut usize) -> Option<u64> {
    let from = *i;
    let mut v = 0u64;
    while let Some(&d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        *i += 1;
    }
    (*i > from).then_some(v)
}

/// A count (the text before a data line's `:`, trimmed): a non-negative integer below 2^64.
fn parse_count(s: &str) -> std::result::Result<u64, String> {
    let mut i = 0usize;
    if let Some(v) = digits(s.as_bytes(), &mut i)
        && i == s.len()
    {
        return Ok(v);
    }
    if s.starts_with('-') {
        return Err(format!("negative count `{s}`"));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return Err(format!("count `{s}` overflows"));
    }
    Err(format!("count `{s}` is not a non-negative integer"))
}

/// One alternative number (surrounding spaces allowed).
fn parse_index(s: &[u8]) -> std::result::Result<u32, String> {
    let s = s.trim_ascii();
    if s.is_empty() {
        return Err("empty entry in the order".to_string());
    }
    let text = || String::from_utf8_lossy(s).into_owned();
    let mut v = 0u32;
    for &b in s {
        if !b.is_ascii_digit() {
            return Err(format!("`{}` is not a candidate number", text()));
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b - b'0')))
            .filter(|&v| v < GROUP_START)
            .ok_or_else(|| format!("unknown candidate {}", text()))?;
    }
    Ok(v)
}

/// `a,b,{c,d},e` appended to `cells` as alternative numbers, the first of each group marked
/// with [`GROUP_START`] (an empty group `{}` adds nothing). One pass over the bytes; on anything
/// irregular, [`parse_order_checked`] reads the order again to name the problem.
fn parse_order(order: &str, cells: &mut Vec<u32>) -> std::result::Result<(), String> {
    let from = cells.len();
    if fast_order(order.as_bytes().trim_ascii(), cells) {
        return Ok(());
    }
    cells.truncate(from);
    parse_order_checked(order, cells)
}

/// The checked route's cells: alternative numbers, the first of each group marked with
/// [`GROUP_START`].
impl OrderSink for Vec<u32> {
    /// `None` on a number of [`GROUP_START`] or more.
    fn alt(&mut self, a: u32, first: bool) -> Option<()> {
        (a < GROUP_START).then(|| self.push(if first { a | GROUP_START } else { a }))
    }

    fn tie(&mut self, _len: usize) {}
}

/// The order grammar of [`parse_order`] in one pass, by [`walk_order`]: false (with `cells`
/// partly filled) on anything it does not accept.
fn fast_order(b: &[u8], cells: &mut Vec<u32>) -> bool {
    let mut i = 0usize;
    walk_order(b, &mut i, cells).is_some() && i == b.len()
}

/// [`parse_order`] checked step by step, for its error messages.
fn parse_order_checked(order: &str, cells: &mut Vec<u32>) -> std::result::Result<(), String> {
    let b = order.as_bytes().trim_ascii();
    if b.is_empty() {
        return Ok(());
    }
    let mut pos = 0usize;
    loop {
        while b.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let rest = b.get(pos..).unwrap_or(&[]);
        if rest.first() == Some(&b'{') {
            let inner = rest.get(1..).unwrap_or(&[]);
            let Some(end) = inner.iter().position(|&c| c == b'}') else {
                return Err("unmatched `{`".to_string());
            };
            let body = inner.get(..end).unwrap_or(&[]);
            if body.contains(&b'{') {
                return Err("nested `{`".to_string());
            }
            if !body.trim_ascii().is_empty() {
                let mut start = GROUP_START;
                for t in body.split(|&c| c == b',') {
                    cells.push(parse_index(t)? | start);
                    start = 0;
                }
            }
            pos += end + 2;
            while b.get(pos).is_some_and(u8::is_ascii_whitespace) {
                pos += 1;
            }
            match b.get(pos) {
                None => break,
                Some(b',') => pos += 1,
                Some(_) => return Err("expected `,` after `}`".to_string()),
            }
        } else {
            let end = rest.iter().position(|&c| c == b',').unwrap_or(rest.len());
            let tok = rest.get(..end).unwrap_or(&[]);
            if tok.contains(&b'}') {
                return Err("unmatched `}`".to_string());
            }
            if tok.contains(&b'{') {
                return Err("expected `,` before `{`".to_string());
            }
            cells.push(parse_index(tok)? | GROUP_START);
            if end >= rest.len() {
                break;
            }
            pos += end + 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    fn order(s: &str) -> std::result::Result<Vec<Vec<u32>>, String> {
        let mut cells = Vec::new();
        parse_order(s, &mut cells)?;
        let mut out: Vec<Vec<u32>> = Vec::new();
        for c in cells {
            if c & GROUP_START != 0 {
                out.push(Vec::new());
            }
            if let Some(g) = out.last_mut() {
                g.push(c & !GROUP_START);
            }
        }
        Ok(out)
    }

    #[test]
    fn orders() {
        assert_eq!(
            order("3,1,{2,4}").ok(),
            Some(vec![vec![3], vec![1], vec![2, 4]])
        );
        assert_eq!(order(" {1, 2} , 3 ").ok(), Some(vec![vec![1, 2], vec![3]]));
        assert_eq!(order("{},2").ok(), Some(vec![vec![2]]));
        assert_eq!(order("").ok(), Some(vec![]));
        assert!(order("1,,2").is_err());
        assert!(order("1,2,").is_err());
        assert!(order("{1,2").is_err());
        assert!(order("1,2}").is_err());
        assert!(order("{1,{2}}").is_err());
        assert!(order("{1,}").is_err());
        assert!(order("1 2").is_err());
        assert!(order("99999999999").is_err());
    }

    /// Counts up to `u64::MAX` read; one past it, a sign, or anything else is named.
    #[test]
    fn counts() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("007"), Ok(7));
        assert_eq!(parse_count(&u64::MAX.to_string()), Ok(u64::MAX));
        let err = |s: &str| parse_count(s).unwrap_err();
        assert!(err("18446744073709551616").contains("overflows"));
        assert!(err("-1").contains("negative"));
        for s in ["", "1x", "+1", "1 2", "0x10"] {
            assert!(err(s).contains("is not a non-negative integer"), "{s:?}");
        }
    }

    /// The one-pass reader accepts exactly what the checked one accepts, with the same cells.
    #[test]
    fn fast_and_checked_orders_agree() {
        let pieces = [
            "1",
            "23",
            " 4 ",
            "{",
            "}",
            ",",
            " ",
            "{1,2}",
            "{ }",
            "x",
            "0",
            "99999999999",
        ];
        let mut rng = XorShift(12345);
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..rng.below(7) {
                s.push_str(pieces[rng.below(pieces.len() as u64) as usize]);
            }
            let (mut fast, mut checked) = (Vec::new(), Vec::new());
            let ok = fast_order(s.as_bytes().trim_ascii(), &mut fast);
            let want = parse_order_checked(&s, &mut checked);
            if ok {
                assert_eq!(Ok(fast), want.clone().map(|()| checked), "{s:?}");
            }
            assert_eq!(
                parse_order(&s, &mut Vec::new()).is_ok(),
                want.is_ok(),
                "{s:?}"
            );
        }
    }

    /// The one-pass reader gives the checked reader's instance and note on every file it
    /// accepts, declines every file the checked reader refuses, and accepts every valid file;
    /// both refuse a header after the orders. Random files: numbering from 0 or 1, names, ties,
    /// empty groups, incomplete orders, spaces, CRLF, blank lines, and now and then a bad entry,
    /// an alternative listed twice or out of range, two alternatives of one name, or a header
    /// after the orders.
    #[test]
    fn one_pass_and_checked_readers_agree() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = |k: u64| rng.below(k);
        let (mut accepted, mut refused) = (0, 0);
        for _ in 0..3_000 {
            let n = 1 + next(6) as usize;
            let base = next(2) as usize;
            let blank = |r: u64| [" ", "", "", "\t", "  "][r as usize];
            let mut text = String::new();
            let late = next(12) == 0;
            let header = |text: &mut String, r: &mut dyn FnMut(u64) -> u64| {
                text.push_str(&format!("# NUMBER ALTERNATIVES: {n}\n"));
                for a in 0..n {
                    if r(3) > 0 {
                        let name = if r(30) == 0 { 0 } else { a };
                        text.push_str(&format!("# ALTERNATIVE NAME {}: c{name}\n", a + base));
                    }
                }
            };
            if !late {
                header(&mut text, &mut next);
            }
            for _ in 0..1 + next(12) {
                let mut alts: Vec<usize> = (base..base + n).collect();
                for i in (1..alts.len()).rev() {
                    alts.swap(i, next(i as u64 + 1) as usize);
                }
                alts.truncate(next(n as u64 + 1) as usize);
                if next(25) == 0 {
                    alts.push(if next(2) == 0 { base + n } else { base });
                }
                let mut order = String::new();
                let mut k = 0;
                while k < alts.len() {
                    if !order.is_empty() {
                        order.push(',');
                    }
                    order.push_str(blank(next(5)));
                    let len = (1 + next(3) as usize).min(alts.len() - k);
                    let group: Vec<String> =
                        alts[k..k + len].iter().map(|a| a.to_string()).collect();
                    if len > 1 || next(4) == 0 {
                        order.push_str(&format!(
                            "{{{}}}",
                            group.join(&format!(",{}", blank(next(5))))
                        ));
                    } else {
                        order.push_str(&group[0]);
                    }
                    if next(10) == 0 {
                        order.push_str(",{ }");
                    }
                    k += len;
                }
                if next(40) == 0 {
                    order.push_str([",", "x", "{1", ",,2"][next(4) as usize]);
                }
                let eol = if next(4) == 0 { "\r\n" } else { "\n" };
                text.push_str(&format!(
                    "{}{}:{}{order}{eol}",
                    blank(next(5)),
                    1 + next(5),
                    blank(next(5))
                ));
                if next(8) == 0 {
                    text.push_str(["\n", "  \r\n", "# a comment\n"][next(3) as usize]);
                }
            }
            if late {
                header(&mut text, &mut next);
            }
            let mut notes = Vec::new();
            let lines = crate::formats::line_count(text.as_bytes());
            let checked = parse_checked(&text, "t", lines, &mut notes);
            assert!(
                !late || checked.is_err(),
                "a header after the orders:\n{text}"
            );
            match (parse_one_pass(&text, "t", lines), checked) {
                (Some((inst, note)), Ok(want)) => {
                    assert_eq!(inst, want, "{text}");
                    assert_eq!(note.into_iter().collect::<Vec<_>>(), notes, "{text}");
                    accepted += 1;
                }
                (None, Ok(_)) => panic!("declined a valid file:\n{text}"),
                (Some(_), Err(e)) => panic!("accepted what is refused ({e}):\n{text}"),
                (None, Err(_)) => refused += 1,
            }
        }
        assert!(accepted > 1_500 && refused > 500, "{accepted} {refused}");
    }

    /// A header that contradicts itself or follows an order: the one-pass reader declines it
    /// and the checked reader names the line, and the earlier line it contradicts.
    #[test]
    fn contradictory_and_late_headers_are_refused() {
        let cases: &[(&str, usize, &[&str])] = &[
            (
                "# NUMBER ALTERNATIVES: 3\n# NUMBER ALTERNATIVES: 2\n1: 1,2\n",
                2,
                &["NUMBER ALTERNATIVES: 2 disagrees", ": 3 on line 1"],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n3: 1,2\n# NUMBER ALTERNATIVES: 3\n",
                3,
                &["`# NUMBER ALTERNATIVES` after the first order (line 2)"],
            ),
            (
                "1: 1,2\n\n# Number Alternatives: 2\n",
                3,
                &["`# Number Alternatives` after the first order (line 1)"],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n1: 1,2\n# ALTERNATIVE NAME 0: z\n",
                3,
                &["`# ALTERNATIVE NAME 0` after the first order (line 2)"],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: a\n\
                 1: 1,2\n",
                3,
                &["candidate \"a\" named twice: alternative 1 (line 2) and alternative 2 (line 3)"],
            ),
            (
                "# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 3: 2\n# ALTERNATIVE NAME 1: x\n\
                 1: 1,2\n",
                2,
                &[
                    "candidate \"2\" named twice: alternative 2 (unnamed, so called by its \
                     number) and alternative 3 (line 2)",
                ],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: 2\n1: 1,2\n",
                2,
                &["alternative 2 (unnamed, so called by its number)"],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 2: a\n# ALTERNATIVE NAME 2: b\n\
                 1: 1,2\n",
                3,
                &["alternative 2 named twice: `a` on line 2, `b` here"],
            ),
            (
                "# NUMBER ALTERNATIVES: 2\n# NUMBER VOTERS: 6\n# NUMBER VOTERS: 99\n6: 1,2\n",
                3,
                &["NUMBER VOTERS: 99 disagrees with NUMBER VOTERS: 6 on line 2"],
            ),
        ];
        for (text, line, needles) in cases {
            let lines = crate::formats::line_count(text.as_bytes());
            assert!(parse_one_pass(text, "t", lines).is_none(), "{text}");
            let e = parse(text, "t", &mut Vec::new()).unwrap_err();
            assert_eq!(e.line(), Some(*line), "{e}");
            for n in *needles {
                assert!(e.message().contains(n), "{e} lacks {n}");
            }
        }
        // One count said twice, comments after the orders, names of other spellings: read.
        let text = "# NUMBER ALTERNATIVES: 2\n# NUMBER ALTERNATIVES: 2\n# ALTERNATIVE NAME 1: a\n\
                    # ALTERNATIVE NAME 2: A\n1: 2,1\n# NUMBER VOTERS: 1\n# a comment: here\n";
        let inst = parse(text, "t", &mut Vec::new()).unwrap();
        assert_eq!(inst.candidates, ["a", "A"]);
        let lines = crate::formats::line_count(text.as_bytes());
        assert_eq!(parse_one_pass(text, "t", lines).map(|p| p.0), Some(inst));
        // NUMBER UNIQUE ORDERS, which writers count in different ways (pref_voting: 30 for
        // 40 lines of 28 distinct weak orders), is a comment: read by both routes.
        let text = "# NUMBER ALTERNATIVES: 2\n# NUMBER UNIQUE ORDERS: 7\n1: 1,2\n1: 2,1\n2: 1\n\
                    # NUMBER UNIQUE ORDERS: 3\n";
        let inst = parse(text, "t", &mut Vec::new()).unwrap();
        assert_eq!(inst.users.len(), 2);
        let lines = crate::formats::line_count(text.as_bytes());
        assert_eq!(parse_one_pass(text, "t", lines).map(|p| p.0), Some(inst));
    }

    /// Identical weak orders merge whatever their spelling; the numbering follows the rule.
    #[test]
    fn merging_and_numbering() {
        let mut notes = Vec::new();
        let text = "# NUMBER ALTERNATIVES: 3\n2: 1,2,3\n1: 1,2\n1: 1,2,{3}\n4: {2,1}\n1: {1,2},3\n";
        let inst = parse(text, "t", &mut notes).unwrap();
        assert!(notes.is_empty());
        let got: Vec<(f64, Option<Vec<Vec<u16>>>)> = inst
            .users
            .iter()
            .map(|u| (u.weight, u.prefs.groups()))
            .collect();
        assert_eq!(
            got,
            vec![
                (4.0, Some(vec![vec![0], vec![1], vec![2]])),
                (5.0, Some(vec![vec![0, 1], vec![2]])),
            ]
        );
        // From 0: named 0..2, or used without a header.
        for text in [
            "# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 0: a\n# ALTERNATIVE NAME 1: b\n\
             # ALTERNATIVE NAME 2: c\n1: 2,0\n",
            "1: 2,0\n1: 1\n",
        ] {
            let mut notes = Vec::new();
            let inst = parse(text, "t", &mut notes).unwrap();
            assert_eq!(inst.n(), 3);
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert_eq!(
                inst.users.first().and_then(|u| u.prefs.groups()),
                Some(vec![vec![2], vec![0], vec![1]])
            );
        }
        // 0 and n both appear: refused at the first 0.
        let e = parse(
            "# NUMBER ALTERNATIVES: 3\n1: 1,2,3\n1: 0,1\n",
            "t",
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(3), "{e}");
        assert!(e.message().contains("neither numbering"), "{e}");
    }
}
