//! PrefLib files (`.soc`, `.soi`, `.toc`, `.toi`).
//!
//! `#` lines are the header; `# ALTERNATIVE NAME i: name` names candidate `i` (1-based) and
//! `# NUMBER ALTERNATIVES: n` gives `n`. Every other non-blank line is `count: order`, where the
//! order lists candidates best first, separated by commas, with `{a,b}` a tie group. Candidates an
//! incomplete order leaves out tie at the bottom. Identical orders are merged into one weighted
//! user type (the counts are added, with overflow checked).

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::instance::{Instance, Prefs, UserType};

struct Row {
    count: u64,
    groups: Vec<Vec<usize>>,
    line: usize,
}

/// Parses a PrefLib file.
pub fn parse(text: &str, source: &str) -> Result<Instance> {
    let mut names: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    let mut declared: Option<(usize, usize)> = None;
    let mut rows: Vec<Row> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let s = raw.trim();
        if s.is_empty() {
            continue;
        }
        if let Some(h) = s.strip_prefix('#') {
            header(h.trim(), line, source, &mut names, &mut declared)?;
            continue;
        }
        let Some((count, order)) = s.split_once(':') else {
            return Err(Error::at(source, line, "expected `count: order`"));
        };
        let count = parse_count(count.trim()).map_err(|m| Error::at(source, line, m))?;
        let groups = parse_order(order).map_err(|m| Error::at(source, line, m))?;
        rows.push(Row {
            count,
            groups,
            line,
        });
    }
    let max_named = names.keys().next_back().copied();
    let n = match (declared, max_named) {
        (Some((n, _)), Some(max)) if max > n => {
            let line = names.get(&max).map(|x| x.1).unwrap_or(1);
            return Err(Error::at(
                source,
                line,
                format!("alternative {max} exceeds NUMBER ALTERNATIVES: {n}"),
            ));
        }
        (Some((n, _)), _) => n,
        (None, Some(max)) => max,
        (None, None) => rows
            .iter()
            .flat_map(|r| r.groups.iter().flatten().copied())
            .max()
            .unwrap_or(0),
    };
    if n == 0 {
        return Err(Error::in_file(
            source,
            "no candidates (no ALTERNATIVE NAME header)",
        ));
    }
    if n > crate::instance::CAPACITY {
        return Err(Error::in_file(
            source,
            format!(
                "{n} candidates exceed the capacity of {}",
                crate::instance::CAPACITY
            ),
        ));
    }
    let candidates: Vec<String> = (1..=n)
        .map(|i| {
            names
                .get(&i)
                .map(|x| x.0.clone())
                .unwrap_or_else(|| i.to_string())
        })
        .collect();

    // Validate and merge identical orders (before normalisation: the canonical form below).
    let mut index: HashMap<Vec<Vec<u16>>, usize> = HashMap::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut users: Vec<UserType> = Vec::new();
    let mut total: u64 = 0;
    for row in rows {
        let mut seen = vec![false; n];
        let mut groups: Vec<Vec<u16>> = Vec::with_capacity(row.groups.len() + 1);
        for g in &row.groups {
            let mut out = Vec::with_capacity(g.len());
            for &c in g {
                match seen.get_mut(c.wrapping_sub(1)) {
                    Some(s) if c >= 1 => {
                        if *s {
                            return Err(Error::at(
                                source,
                                row.line,
                                format!("candidate {c} ranked twice"),
                            ));
                        }
                        *s = true;
                    }
                    _ => {
                        return Err(Error::at(
                            source,
                            row.line,
                            format!("unknown candidate {c} (there are {n})"),
                        ));
                    }
                }
                out.push(
                    u16::try_from(c - 1)
                        .map_err(|_| Error::at(source, row.line, "candidate index too large"))?,
                );
            }
            out.sort_unstable();
            groups.push(out);
        }
        let rest: Vec<u16> = (0..n)
            .filter(|&c| !seen.get(c).copied().unwrap_or(true))
            .filter_map(|c| u16::try_from(c).ok())
            .collect();
        if !rest.is_empty() {
            groups.push(rest);
        }
        total = total
            .checked_add(row.count)
            .ok_or_else(|| Error::at(source, row.line, "the counts overflow"))?;
        match index.get(&groups) {
            Some(&i) => {
                if let Some(c) = counts.get_mut(i) {
                    *c = c
                        .checked_add(row.count)
                        .ok_or_else(|| Error::at(source, row.line, "the counts overflow"))?;
                }
            }
            None => {
                index.insert(groups.clone(), users.len());
                counts.push(row.count);
                users.push(UserType {
                    weight: 0.0,
                    prefs: Prefs::Ranking(groups),
                    line: row.line,
                });
            }
        }
    }
    for (u, c) in users.iter_mut().zip(counts) {
        u.weight = c as f64;
    }
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

fn header(
    h: &str,
    line: usize,
    source: &str,
    names: &mut BTreeMap<usize, (String, usize)>,
    declared: &mut Option<(usize, usize)>,
) -> Result<()> {
    let Some((key, value)) = h.split_once(':') else {
        return Ok(());
    };
    let key = key.trim();
    let upper = key.to_ascii_uppercase();
    if let Some(num) = upper.strip_prefix("ALTERNATIVE NAME") {
        let i: usize = num.trim().parse().map_err(|_| {
            Error::at(
                source,
                line,
                format!("bad alternative number `{}`", num.trim()),
            )
        })?;
        if i == 0 {
            return Err(Error::at(source, line, "alternatives are numbered from 1"));
        }
        if names.insert(i, (value.trim().to_string(), line)).is_some() {
            return Err(Error::at(
                source,
                line,
                format!("alternative {i} named twice"),
            ));
        }
    } else if upper == "NUMBER ALTERNATIVES" {
        let n: usize = value.trim().parse().map_err(|_| {
            Error::at(
                source,
                line,
                format!("bad NUMBER ALTERNATIVES `{}`", value.trim()),
            )
        })?;
        *declared = Some((n, line));
    }
    Ok(())
}

fn parse_count(s: &str) -> std::result::Result<u64, String> {
    if s.starts_with('-') {
        return Err(format!("negative count `{s}`"));
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("count `{s}` is not a non-negative integer"));
    }
    s.parse::<u64>()
        .map_err(|_| format!("count `{s}` overflows"))
}

fn parse_index(s: &str) -> std::result::Result<usize, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty entry in the order".to_string());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a candidate number"));
    }
    s.parse::<usize>()
        .map_err(|_| format!("unknown candidate {s}"))
}

/// `a,b,{c,d},e` into tie groups of 1-based candidate numbers.
fn parse_order(order: &str) -> std::result::Result<Vec<Vec<usize>>, String> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let order = order.trim();
    if order.is_empty() {
        return Ok(groups);
    }
    let mut rest = order;
    loop {
        rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                return Err("unmatched `{`".to_string());
            };
            let body = inner.get(..end).unwrap_or("");
            if body.contains('{') {
                return Err("nested `{`".to_string());
            }
            let mut g = Vec::new();
            if !body.trim().is_empty() {
                for t in body.split(',') {
                    g.push(parse_index(t)?);
                }
            }
            groups.push(g);
            rest = inner.get(end + 1..).unwrap_or("").trim_start();
            if rest.is_empty() {
                break;
            }
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None => return Err("expected `,` after `}`".to_string()),
            }
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let tok = rest.get(..end).unwrap_or("");
            if tok.contains('}') {
                return Err("unmatched `}`".to_string());
            }
            if tok.contains('{') {
                return Err("expected `,` before `{`".to_string());
            }
            groups.push(vec![parse_index(tok)?]);
            if end >= rest.len() {
                break;
            }
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        assert_eq!(
            parse_order("3,1,{2,4}").ok(),
            Some(vec![vec![3], vec![1], vec![2, 4]])
        );
        assert_eq!(
            parse_order(" {1, 2} , 3 ").ok(),
            Some(vec![vec![1, 2], vec![3]])
        );
        assert!(parse_order("1,,2").is_err());
        assert!(parse_order("{1,2").is_err());
        assert!(parse_order("1,2}").is_err());
        assert!(parse_order("{1,{2}}").is_err());
    }
}
