//! A solve report as one line of compact JSON, written field by field: the bytes
//! `serde_json::to_writer` gives for [`SolveReport`] (a test compares them on reports with every
//! field, names that need escapes and numbers of every kind), in about half its time.
//! `batch` writes one per input line, where serde_json's escaping of each key and name and its
//! copy of each small piece were a tenth of a (16, 8, 4) line. A [`Writer`] keeps the last
//! `candidates` array it wrote, which a batch's next lines usually repeat.

use crate::analysis::{CertJson, SolveReport};
use crate::decimal::exact;
use crate::error::{Error, Result};
use crate::formats::{json::plain_len, short_word};

/// Writes solve reports as lines of compact JSON, keeping the last `candidates` array it wrote:
/// a report that names the same candidates (a batch's lines mostly do) copies that array's bytes
/// instead of writing each name again.
#[derive(Debug, Default)]
pub struct Writer {
    /// The names of the last `candidates` array written, and the array's bytes (empty before
    /// the first).
    names: Vec<String>,
    array: Vec<u8>,
}

impl Writer {
    /// Appends `report` to `out` as compact JSON, without a newline.
    pub fn write(&mut self, report: &SolveReport<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.fields(report, out)
            .map_err(|e| Error::internal(format!("JSON output: {e}")))
    }

    /// [`Writer::write`] with serde_json's errors (none, writing to a `Vec`).
    fn fields(&mut self, r: &SolveReport<'_>, out: &mut Vec<u8>) -> serde_json::Result<()> {
        out.push(b'{');
        if let Some(line) = r.line {
            out.extend_from_slice(b"\"line\":");
            uint(out, line as u64);
            out.push(b',');
        }
        out.extend_from_slice(b"\"k\":");
        uint(out, u64::from(r.k));
        out.extend_from_slice(b",\"n\":");
        uint(out, r.n as u64);
        out.extend_from_slice(b",\"m\":");
        uint(out, r.m as u64);
        out.extend_from_slice(b",\"candidates\":");
        self.candidates(r.candidates, out)?;
        rest(r, out)
    }

    /// The array of `names`: the kept bytes when they are the kept names, otherwise written and
    /// kept.
    fn candidates(&mut self, names: &[String], out: &mut Vec<u8>) -> serde_json::Result<()> {
        if self.array.is_empty() || !same_names(&self.names, names) {
            self.array.clear();
            if let Err(e) = array(names, &mut self.array) {
                // Nothing half-written is kept.
                self.array.clear();
                return Err(e);
            }
            names.clone_into(&mut self.names);
        }
        out.extend_from_slice(&self.array);
        Ok(())
    }
}

/// The JSON array of `names`.
fn array(names: &[String], out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.push(b'[');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, name)?;
    }
    out.push(b']');
    Ok(())
}

/// Whether `a` and `b` are the same names: short ones compared as one word each ([`short_word`]),
/// not through a comparison call per name.
fn same_names(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let (x, y) = (x.as_bytes(), y.as_bytes());
            x.len() == y.len()
                && if x.len() < 8 {
                    short_word(x) == short_word(y)
                } else {
                    x == y
                }
        })
}

/// The fields after `candidates`, and the closing brace.
fn rest(r: &SolveReport<'_>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(b",\"policy\":[");
    for (i, &p) in r.policy.0.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        exact(out, p);
    }
    out.extend_from_slice(b"],\"iterations\":");
    uint(out, u64::from(r.iterations));
    out.extend_from_slice(b",\"method\":");
    string(out, r.method)?;
    out.extend_from_slice(b",\"route\":");
    string(out, r.route)?;
    out.extend_from_slice(b",\"vector\":");
    string(out, r.vector)?;
    out.extend_from_slice(b",\"threads\":");
    uint(out, r.threads as u64);
    out.extend_from_slice(b",\"converged\":");
    boolean(out, r.converged);
    if let Some(warm) = r.warm {
        out.extend_from_slice(b",\"warm\":");
        boolean(out, warm);
    }
    if let Some(rounds) = r.rounds {
        out.extend_from_slice(b",\"rounds\":");
        uint(out, u64::from(rounds));
    }
    out.extend_from_slice(b",\"deployed\":");
    string(out, r.deployed)?;
    if let Some(bound) = r.regret_bound {
        out.extend_from_slice(b",\"regret_bound\":");
        float(out, bound)?;
    }
    if let Some(c) = &r.average_policy_certificate {
        out.extend_from_slice(b",\"average_policy_certificate\":");
        certificate(out, c)?;
    }
    out.extend_from_slice(b",\"certificate\":");
    certificate(out, &r.certificate)?;
    out.push(b'}');
    Ok(())
}

/// A [`CertJson`] object.
fn certificate(out: &mut Vec<u8>, c: &CertJson) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"worst_case_win_rate\":");
    float(out, c.worst_case_win_rate)?;
    out.extend_from_slice(b",\"exploitability\":");
    float(out, c.exploitability)?;
    out.extend_from_slice(b",\"worst_opponent\":");
    string(out, &c.worst_opponent)?;
    out.extend_from_slice(b",\"worst_opponent_index\":");
    uint(out, c.worst_opponent_index as u64);
    out.extend_from_slice(b",\"bound\":");
    float(out, c.bound)?;
    out.push(b'}');
    Ok(())
}

/// An unsigned integer in decimal, as serde_json writes it.
fn uint(out: &mut Vec<u8>, x: u64) {
    // One or two digits (most of a report's counts and indices) as a constant-size write.
    if x < 10 {
        out.push(b'0' + x as u8);
        return;
    }
    if x < 100 {
        out.extend_from_slice(&[b'0' + (x / 10) as u8, b'0' + (x % 10) as u8]);
        return;
    }
    // `u64::MAX` has 20 digits.
    let mut digits = [0u8; 20];
    let mut rest = x;
    let mut from = digits.len();
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
        from -= 1;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(from..).unwrap_or_default());
}

/// A number as serde_json writes it: most of a policy's are `0.0`, written at once; the
/// others (and `-0.0`, and `null` for what is not finite) by serde_json.
fn float(out: &mut Vec<u8>, x: f64) -> serde_json::Result<()> {
    if x == 0.0 && x.is_sign_positive() {
        out.extend_from_slice(b"0.0");
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, &x)
    }
}

/// A string as serde_json writes it: between quotes as it is when no byte needs an escape
/// (`"`, `\` or a control character below `0x20`, serde_json's list), otherwise by
/// serde_json.
fn string(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    let len = s.len();
    if len < 8 {
        // A short name (the usual candidate's) as one word: its bytes, zero above them, need
        // no escape when the first byte that would ([`plain_len`]) is the first zero. Written
        // as the quote and the whole word, cut back to the name: no loop and no copy call.
        let word = short_word(s.as_bytes());
        if plain_len(word) == len {
            out.push(b'"');
            out.extend_from_slice(&word.to_le_bytes());
            out.truncate(out.len() - (8 - len));
            out.push(b'"');
            return Ok(());
        }
    }
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        serde_json::to_writer(&mut *out, s)
    }
}

/// `true` or `false`.
fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Masses;

    /// serde_json's bytes for the report, and a fresh writer's.
    fn both(r: &SolveReport<'_>) -> (String, String) {
        with(&mut Writer::default(), r)
    }

    /// serde_json's bytes for the report, and `writer`'s.
    fn with(writer: &mut Writer, r: &SolveReport<'_>) -> (String, String) {
        let want = serde_json::to_string(r).unwrap();
        let mut got = Vec::new();
        writer.write(r, &mut got).unwrap();
        (want, String::from_utf8(got).unwrap())
    }

    fn cert(name: &str, x: f64) -> CertJson {
        CertJson {
            worst_case_win_rate: x,
            exploitability: -x,
            worst_opponent: name.into(),
            worst_opponent_index: 7,
            bound: 0.8,
        }
    }

    /// Every optional field absent and present, names that need each kind of escape (and
    /// ones that do not: non-ASCII, DEL), short and long (seven bytes and eight), and numbers
    /// of every kind: zeros of both signs, integers, the extremes, subnormals, and what is not
    /// finite (serde_json's `null`).
    #[test]
    fn the_bytes_of_serde_json() {
        let names: Vec<String> = [
            "c0",
            "",
            "a\"b",
            "back\\slash",
            "a\\b",
            "seven77",
            "eight888",
            "tab\t",
            "nl\n",
            "\u{1}",
            "\u{1f}",
            " ",
            "é",
            "\u{7f}",
            "日本",
            "x/y",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let numbers = [
            0.0,
            -0.0,
            1.0,
            -2.0,
            0.1,
            0.4029315114021301,
            1e-300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e21,
            123456789.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut checked = 0;
        for (i, &x) in numbers.iter().enumerate() {
            let optional = i % 2 == 0;
            let name = &names[i % names.len()];
            let report = SolveReport {
                line: optional.then_some(i * 1_000_003),
                k: i as u32,
                n: names.len(),
                m: usize::MAX - i,
                candidates: &names,
                policy: Masses(
                    numbers
                        .iter()
                        .map(|&y| (y * (i as f64 + 1.0)) as f32)
                        .collect(),
                ),
                iterations: u32::MAX - i as u32,
                method: "optimistic",
                route: "population",
                vector: "baseline",
                threads: i,
                converged: optional,
                warm: (i % 3 != 0).then_some(optional),
                // Counts at the edges of one and two digits.
                rounds: optional.then_some([0, 9, 10, 99, 100][i % 5]),
                deployed: if optional { "time_mixture" } else { "policy" },
                regret_bound: optional.then_some(x),
                average_policy_certificate: optional.then(|| cert(name, x)),
                certificate: cert(name, -x),
            };
            let (want, got) = both(&report);
            assert_eq!(got, want);
            checked += 1;
        }
        assert_eq!(checked, numbers.len());
        // Empty lists.
        let report = SolveReport {
            line: None,
            k: 1,
            n: 0,
            m: 0,
            candidates: &[],
            policy: Masses::default(),
            iterations: 0,
            method: "hedge",
            route: "margins",
            vector: "avx2",
            threads: 1,
            converged: false,
            warm: None,
            rounds: None,
            deployed: "policy",
            regret_bound: None,
            average_policy_certificate: None,
            certificate: cert("", 0.5),
        };
        let (want, got) = both(&report);
        assert_eq!(got, want);
    }

    /// One writer over reports whose candidates (none at first) repeat, change in one name
    /// (short or long, in any byte), grow, shrink and come back: serde_json's bytes every time,
    /// so the kept array is copied only for the very names it was written from.
    #[test]
    fn kept_candidates_are_those_of_the_report() {
        // A fresh writer keeps no array, not an empty one.
        let lists: Vec<Vec<&str>> = vec![
            vec![],
            vec!["c0", "c1", "c2"],
            vec!["c0", "c1", "c2"],
            vec!["c0", "c1", "c3"],
            vec!["c0", "c1", "c2"],
            vec!["c0", "c1"],
            vec!["c0", "c1", "c2", "c3"],
            vec!["c0", "c1", "c2", "c3"],
            vec!["c0", "c1", "c2", "c"],
            vec!["c0", "c1", "c2", "c33"],
            vec!["c0", "c1", "c2", "c3\u{0}"],
            vec!["candidate eight", "seven77"],
            vec!["candidate eight", "seven77"],
            vec!["candidate eighT", "seven77"],
            vec!["candidate eight", "seven7"],
            vec!["candidate eight", "seven77", "a\"b"],
            vec!["candidate eight", "seven77", "a\"b"],
            vec![],
            vec!["c0", "c1", "c2"],
        ];
        let mut writer = Writer::default();
        for list in &lists {
            let names: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            let report = SolveReport {
                line: Some(1),
                k: 2,
                n: names.len(),
                m: 3,
                candidates: &names,
                policy: Masses(vec![0.5; names.len()]),
                iterations: 4,
                method: "optimistic",
                route: "population",
                vector: "baseline",
                threads: 1,
                converged: true,
                warm: None,
                rounds: None,
                deployed: "policy",
                regret_bound: None,
                average_policy_certificate: None,
                certificate: cert("c0", 0.25),
            };
            let (want, got) = with(&mut writer, &report);
            assert_eq!(got, want, "{list:?}");
        }
    }

    /// Reports of solved instances, by both methods: what `batch` writes for a line.
    #[test]
    fn a_solved_line() {
        let text = r#"{"candidates": ["a", "b", "c", "d"], "users": [
            {"ranking": [["a"], ["b"], ["c"], ["d"]]},
            {"ranking": [["b"], ["c"], ["a"], ["d"]]},
            {"weight": 2, "ranking": [["c"], ["a", "b"]]}]}"#;
        let inst = crate::formats::json::parse(text, "t").unwrap();
        let mut store = crate::instance::Store::default();
        let pop = inst.population(&mut store).unwrap();
        for method in [
            crate::analysis::Method::Optimistic,
            crate::analysis::Method::Hedge,
        ] {
            let settings = crate::analysis::Settings::new(2, method);
            let sol = crate::analysis::solve(&pop, &settings).unwrap();
            let mut report = crate::analysis::report(&inst, &pop, &settings, &sol).unwrap();
            report.line = Some(3);
            let (want, got) = both(&report);
            assert_eq!(got, want);
        }
    }
}
