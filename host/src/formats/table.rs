//! Score tables: one row per user type, one column per candidate (CSV or whitespace-separated).
//!
//! Rules, in order (also in `ualign --help`):
//!
//! 1. Blank lines are skipped. Lines starting with `#` are comments.
//! 2. Header: the first non-comment row is a header when a field other than its first is not a
//!    number (or when every field is not a number). Without such a row, the last comment line
//!    before the first row is the header when it has exactly as many fields as the rows (this is
//!    how the Atari tables of `shared/data/atari` name their columns: `# game dqn a3c ...`).
//!    Without a header, candidates are named `c1`, `c2`, ...
//! 3. Row labels: the first column is a label column (not a candidate) when any row has a
//!    non-number there.
//! 4. Weights: a header column named `weight`, `weights` or `count` (any case) holds the weight
//!    of each row (default 1 for every row).
//! 5. Numbers: a trailing `±x` or `+-x` (a standard error) is dropped and the value kept; in
//!    whitespace tables, `,` thousands separators are removed (`1,486.5` is 1486.5). Every value
//!    must be finite.
//! 6. Every row has as many fields as the header (or the first row).
//!
//! CSV fields may be double-quoted (`""` inside quotes is a quote).

use crate::error::{Error, Result};
use crate::instance::{Instance, Prefs, UserType, check_weight};

/// Field separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// `,` with optional double quotes.
    Comma,
    /// Runs of spaces or tabs.
    Whitespace,
}

fn split(line: &str, d: Delimiter) -> std::result::Result<Vec<String>, String> {
    match d {
        Delimiter::Whitespace => Ok(line.split_whitespace().map(str::to_string).collect()),
        Delimiter::Comma => {
            let mut out = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' if quoted => {
                        if chars.peek() == Some(&'"') {
                            cur.push('"');
                            chars.next();
                        } else {
                            quoted = false;
                        }
                    }
                    '"' if cur.trim().is_empty() => {
                        cur.clear();
                        quoted = true;
                    }
                    ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
                    _ => cur.push(c),
                }
            }
            if quoted {
                return Err("unterminated quote".to_string());
            }
            out.push(cur.trim().to_string());
            Ok(out)
        }
    }
}

/// Parses a number cell (rule 5); `None` when it is not a number.
pub fn number(cell: &str, d: Delimiter) -> Option<f64> {
    let mut s = cell.trim();
    if let Some(i) = s.find('±') {
        s = s.get(..i)?;
    } else if let Some(i) = s.find("+-") {
        s = s.get(..i)?;
    }
    let s = s.trim();
    let cleaned;
    let s = if d == Delimiter::Whitespace && s.contains(',') {
        cleaned = s.replace(',', "");
        cleaned.as_str()
    } else {
        s
    };
    if s.is_empty() {
        return None;
    }
    // Only plain decimal notation counts as a number: Rust also parses "inf" and "NaN", which
    // would turn a label column into data.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

fn is_weight_name(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "weight" | "weights" | "count"
    )
}

/// Parses a score table.
pub fn parse(text: &str, source: &str, d: Delimiter) -> Result<Instance> {
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    let mut last_comment: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let s = raw.trim();
        if s.is_empty() {
            continue;
        }
        if let Some(c) = s.strip_prefix('#') {
            if rows.is_empty() {
                last_comment = Some((line, c.trim().to_string()));
            }
            continue;
        }
        let fields = split(s, d).map_err(|m| Error::at(source, line, m))?;
        rows.push((line, fields));
    }
    if rows.is_empty() {
        return Err(Error::in_file(source, "empty population: no rows"));
    }
    // Rule 2: header.
    let mut header: Option<(usize, Vec<String>)> = None;
    if let Some((line, first)) = rows.first() {
        let non_num = |c: &String| number(c, d).is_none();
        let rest_non_num = first.iter().skip(1).any(non_num);
        let all_non_num = first.iter().all(non_num);
        if rest_non_num || all_non_num {
            header = Some((*line, first.clone()));
        }
    }
    if header.is_some() {
        rows.remove(0);
    } else if let (Some((cl, c)), Some((_, first))) = (&last_comment, rows.first()) {
        let fields = split(c, d).map_err(|m| Error::at(source, *cl, m))?;
        if fields.len() == first.len() {
            header = Some((*cl, fields));
        }
    }
    let width = match (&header, rows.first()) {
        (Some((_, h)), _) => h.len(),
        (None, Some((_, r))) => r.len(),
        (None, None) => 0,
    };
    if rows.is_empty() {
        return Err(Error::in_file(
            source,
            "empty population: a header but no rows",
        ));
    }
    for (line, r) in &rows {
        if r.len() != width {
            return Err(Error::at(
                source,
                *line,
                format!("expected {width} fields, found {}", r.len()),
            ));
        }
    }
    // Rule 3: label column.
    let label = rows
        .iter()
        .any(|(_, r)| r.first().is_some_and(|c| number(c, d).is_none()));
    // Rule 4: weight column.
    let weight_col = header
        .as_ref()
        .and_then(|(_, h)| h.iter().position(|s| is_weight_name(s)));
    let cand_cols: Vec<usize> = (0..width)
        .filter(|&c| !(label && c == 0) && Some(c) != weight_col)
        .collect();
    if cand_cols.is_empty() {
        return Err(Error::in_file(source, "no candidate columns"));
    }
    let candidates: Vec<String> = match &header {
        Some((_, h)) => cand_cols
            .iter()
            .map(|&c| h.get(c).cloned().unwrap_or_else(|| format!("c{}", c + 1)))
            .collect(),
        None => (1..=cand_cols.len()).map(|i| format!("c{i}")).collect(),
    };
    {
        let mut seen = std::collections::HashSet::new();
        for c in &candidates {
            if !seen.insert(c.as_str()) {
                let line = header.as_ref().map(|h| h.0).unwrap_or(1);
                return Err(Error::at(
                    source,
                    line,
                    format!("candidate \"{c}\" named twice"),
                ));
            }
        }
    }
    let mut users = Vec::with_capacity(rows.len());
    for (line, r) in &rows {
        let weight = match weight_col.and_then(|c| r.get(c)) {
            Some(cell) => {
                let w = number(cell, d).ok_or_else(|| {
                    Error::at(source, *line, format!("weight `{cell}` is not a number"))
                })?;
                check_weight(w).map_err(|m| Error::at(source, *line, m))?;
                w
            }
            None => 1.0,
        };
        let mut scores = Vec::with_capacity(cand_cols.len());
        for (&c, name) in cand_cols.iter().zip(&candidates) {
            let cell = r.get(c).map(String::as_str).unwrap_or("");
            let x = number(cell, d).ok_or_else(|| {
                Error::at(
                    source,
                    *line,
                    format!("score `{cell}` of candidate {name} is not a number"),
                )
            })?;
            if !x.is_finite() {
                return Err(Error::at(
                    source,
                    *line,
                    format!("score `{cell}` of candidate {name} is not finite"),
                ));
            }
            scores.push(x);
        }
        users.push(UserType {
            weight,
            prefs: Prefs::Scores(scores),
            line: *line,
        });
    }
    Ok(Instance {
        source: source.to_string(),
        candidates,
        users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let w = Delimiter::Whitespace;
        assert_eq!(number("1,486.5", w), Some(1486.5));
        assert_eq!(number("297638.17±37054.55", w), Some(297638.17));
        assert_eq!(number("-3e2", w), Some(-300.0));
        assert_eq!(number("inf", w), None);
        assert_eq!(number("alien", w), None);
        assert_eq!(number("1,5", Delimiter::Comma), None);
    }
}
