//! `ualign batch`: one JSON instance per line, solved in parallel, printed in input order.
//!
//! With `--warm`, the lines are chained in fixed blocks of [`WARM_BLOCK`] (or `--warm-block`)
//! consecutive lines: a block's first line starts cold, and each later line starts from the
//! policy the line before deployed when that line was solved and has as many candidates. Blocks
//! run in parallel and a block's lines in order, so the chains, and the output, are the same
//! for any `--threads`.

use std::io::IsTerminal;
use std::sync::Mutex;
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

/// The bytes an output line is given at first: a (16, 8, 4) report takes about 550.
const LINE_BYTES: usize = 1024;

/// Lines per warm chain of `batch --warm` unless `--warm-block` says otherwise.
pub const WARM_BLOCK: usize = 16;

/// Solves one line; the output object (a solve report or an error object) without newline,
/// and the policy deployed (for the next line of a warm chain). With `warm`, the solve starts
/// from `start` when it has as many entries as the line has candidates, and the report says
/// whether it did.
fn one(
    text: &str,
    line: usize,
    source: &str,
    settings: &Settings,
    warm: bool,
    start: Option<&[f32]>,
) -> (String, Option<Vec<f32>>) {
    let result = (|| -> Result<(String, Vec<f32>)> {
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
        // Room for a small rerank's report, which then needs no growth.
        let mut text = Vec::with_capacity(LINE_BYTES);
        serde_json::to_writer(&mut text, &report).map_err(|e| Error::internal(e.to_string()))?;
        let text = String::from_utf8(text).map_err(|e| Error::internal(e.to_string()))?;
        Ok((text, sol.policy))
    })();
    match result {
        Ok((s, policy)) => (s, Some(policy)),
        Err(e) => {
            let err = LineError {
                line,
                error: e.message().to_string(),
            };
            let s = serde_json::to_string(&err)
                .unwrap_or_else(|_| format!("{{\"line\":{line},\"error\":\"?\"}}"));
            (s, None)
        }
    }
}

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
    let results: Mutex<Vec<Option<String>>> = Mutex::new(vec![None; lines.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    if b >= blocks {
                        break;
                    }
                    // The block's lines in order, each from the policy of the one before.
                    let mut previous: Option<Vec<f32>> = None;
                    for i in b * block..((b + 1) * block).min(lines.len()) {
                        let Some(text) = lines.get(i) else { break };
                        let (out, policy) =
                            one(text, i + 1, &source, &settings, a.warm, previous.as_deref());
                        previous = policy;
                        if let Ok(mut r) = results.lock()
                            && let Some(slot) = r.get_mut(i)
                        {
                            *slot = Some(out);
                        }
                        bar.inc(1);
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    let results = results
        .into_inner()
        .map_err(|_| Error::internal("a batch worker failed"))?;
    let mut out = String::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(s) => out.push_str(&s),
            None => out.push_str(
                to_json(&LineError {
                    line: i + 1,
                    error: "internal error: not processed".into(),
                })?
                .trim_end(),
            ),
        }
        out.push('\n');
    }
    Ok(out)
}
