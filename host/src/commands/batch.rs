//! `ualign batch`: one JSON instance per line, solved in parallel, printed in input order.
//!
//! With `--warm`, the lines are chained in fixed blocks of [`WARM_BLOCK`] (or `--warm-block`)
//! consecutive lines: a block's first line starts cold, and each later line starts from the
//! policy the line before deployed when that line was solved and has as many candidates. Blocks
//! run in parallel and a block's lines in order, so the chains, and the output, are the same
//! for any `--threads`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{BatchArgs, to_json};
use crate::analysis::{Method, Settings, check_settings, report, solve_from};
use crate::error::{Error, Result};
use crate::formats::json;
use crate::instance::Store;

#[derive(Serialize)]
struct LineError {
    line: usize,
    error: String,
}

/// Lines per warm chain of `batch --warm` unless `--warm-block` says otherwise.
pub const WARM_BLOCK: usize = 16;

/// Solves one line and appends its output object (a solve report or an error object, without
/// newline) to `out`; returns the policy deployed (for the next line of a warm chain). With
/// `warm`, the solve starts from `start` when it has as many entries as the line has candidates,
/// and the report says whether it did.
fn one(
    text: &str,
    line: usize,
    source: &str,
    settings: &Settings,
    (warm, start): (bool, Option<&[f32]>),
    out: &mut Vec<u8>,
) -> Option<Vec<f32>> {
    let from = out.len();
    let result = (|| -> Result<Vec<f32>> {
        if text.trim().is_empty() {
            return Err(Error::usage("empty line"));
        }
        let inst = json::parse(text, &format!("{source}:{line}"))?;
        // `population` validates the instance first.
        let mut store = Store::default();
        let pop = inst.population(&mut store)?;
        let start = start.filter(|s| warm && s.len() == pop.n());
        let sol = solve_from(&pop, settings, start)?;
        let mut report = report(&inst, &pop, settings, &sol)?;
        report.line = Some(line);
        report.warm = warm.then_some(sol.warm);
        serde_json::to_writer(&mut *out, &report).map_err(|e| Error::internal(e.to_string()))?;
        Ok(sol.policy)
    })();
    match result {
        Ok(policy) => Some(policy),
        Err(e) => {
            // Whatever the failed report wrote goes: the line's object is the error.
            out.truncate(from);
            let err = LineError {
                line,
                error: e.message().to_string(),
            };
            if serde_json::to_writer(&mut *out, &err).is_err() {
                out.truncate(from);
                out.extend_from_slice(format!("{{\"line\":{line},\"error\":\"?\"}}").as_bytes());
            }
            None
        }
    }
}

/// Where a worker wrote one line's output: its line (0-based) and the bytes' range in the
/// worker's buffer.
type Span = (usize, std::ops::Range<usize>);

/// Runs `batch`.
pub fn run(a: &BatchArgs) -> Result<String> {
    let mut settings = a.play.settings();
    check_settings(&settings)?;
    if a.warm && settings.method != Method::Optimistic {
        return Err(Error::usage(
            "--warm applies to --method optimistic (Hedge takes no start)",
        ));
    }
    let block = match (a.warm, a.warm_block) {
        (false, None) => 1,
        (false, Some(_)) => return Err(Error::usage("--warm-block applies to --warm")),
        (true, None) => WARM_BLOCK,
        (true, Some(0)) => return Err(Error::usage("--warm-block 0: must be at least 1")),
        (true, Some(b)) => b,
    };
    // JSON lines is the one format here: `-` (standard input) needs no --format.
    let (text, source) = crate::formats::read_input(&a.file, Some(crate::formats::Format::Json))?;
    let lines: Vec<&str> = text.lines().collect();
    // Blocks of `block` consecutive lines, one line each without --warm.
    let blocks = lines.len().div_ceil(block);
    // --threads counts every thread: as many blocks at once as there are threads (at most one
    // per block), and each line's share of the threads for its own solve (the answers do not
    // depend on either).
    let budget = match a.play.solver.threads {
        0 => ualign_accel::route::cores(),
        t => t,
    }
    .max(1);
    let threads = budget.min(blocks.max(1));
    match a.play.solver.threads {
        0 => settings.cores = (budget / threads).max(1),
        _ => settings.threads = (budget / threads).max(1),
    }
    let bar = if std::io::stderr().is_terminal() {
        let b =
            ProgressBar::with_draw_target(Some(lines.len() as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} instances {elapsed}")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    // Each worker appends its lines' output to a buffer of its own and notes where each went;
    // the output is then put together in input order, in one buffer of the right size (no
    // allocation per line, and no growth of the whole).
    let written: Vec<Option<(Vec<u8>, Vec<Span>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut buf, mut spans) = (Vec::new(), Vec::new());
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= blocks {
                            break;
                        }
                        // The block's lines in order, each from the policy of the one before.
                        let mut previous: Option<Vec<f32>> = None;
                        for i in b * block..((b + 1) * block).min(lines.len()) {
                            let Some(text) = lines.get(i) else { break };
                            let from = buf.len();
                            let chain = (a.warm, previous.as_deref());
                            previous = one(text, i + 1, &source, &settings, chain, &mut buf);
                            spans.push((i, from..buf.len()));
                            bar.inc(1);
                        }
                    }
                    (buf, spans)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().ok()).collect()
    });
    bar.finish_and_clear();
    // Line `i`'s output: the worker and the range.
    let mut at: Vec<Option<(usize, std::ops::Range<usize>)>> = vec![None; lines.len()];
    let mut total = lines.len();
    for (w, (_, spans)) in written
        .iter()
        .enumerate()
        .filter_map(|(w, x)| Some((w, x.as_ref()?)))
    {
        for (i, range) in spans {
            total += range.len();
            if let Some(slot) = at.get_mut(*i) {
                *slot = Some((w, range.clone()));
            }
        }
    }
    let mut out = Vec::with_capacity(total);
    for (i, slot) in at.into_iter().enumerate() {
        let bytes = slot.and_then(|(w, range)| {
            written
                .get(w)
                .and_then(|x| x.as_ref())
                .and_then(|(buf, _)| buf.get(range))
        });
        match bytes {
            Some(b) => out.extend_from_slice(b),
            None => out.extend_from_slice(
                to_json(&LineError {
                    line: i + 1,
                    error: "internal error: not processed".into(),
                })?
                .trim_end()
                .as_bytes(),
            ),
        }
        out.push(b'\n');
    }
    let out = String::from_utf8(out).map_err(|e| Error::internal(e.to_string()))?;
    Ok(out)
}
