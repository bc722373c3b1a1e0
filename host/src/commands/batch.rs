//! `ualign batch`: one JSON instance per line, solved in parallel, printed in input order.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{BatchArgs, to_json};
use crate::analysis::{Settings, check_settings, solve_report};
use crate::error::{Error, Result};
use crate::formats::json;
use crate::instance::Store;

#[derive(Serialize)]
struct LineError {
    line: usize,
    error: String,
}

/// Solves one line; the output object (a solve report or an error object) without newline.
fn one(text: &str, line: usize, source: &str, settings: &Settings) -> String {
    let result = (|| -> Result<String> {
        if text.trim().is_empty() {
            return Err(Error::usage("empty line"));
        }
        let inst = json::parse(text, &format!("{source}:{line}"))?;
        inst.validate()?;
        let mut store = Store::default();
        let pop = inst.population(&mut store)?;
        let mut report = solve_report(&inst, &pop, settings)?;
        report.line = Some(line);
        serde_json::to_string(&report).map_err(|e| Error::internal(e.to_string()))
    })();
    match result {
        Ok(s) => s,
        Err(e) => {
            let err = LineError {
                line,
                error: e.message().to_string(),
            };
            serde_json::to_string(&err)
                .unwrap_or_else(|_| format!("{{\"line\":{line},\"error\":\"?\"}}"))
        }
    }
}

/// Runs `batch`.
pub fn run(a: &BatchArgs) -> Result<String> {
    let mut settings = a.play.settings();
    check_settings(&settings)?;
    // JSON lines is the one format here: `-` (standard input) needs no --format.
    let (text, source) = crate::formats::read_input(&a.file, Some(crate::formats::Format::Json))?;
    let lines: Vec<&str> = text.lines().collect();
    // --threads counts every thread: as many lines at once as there are threads (at most one
    // per line), and each line's share of the threads for its own solve (the answers do not
    // depend on either).
    let budget = match a.play.solver.threads {
        0 => ualign_accel::route::cores(),
        t => t,
    }
    .max(1);
    let threads = budget.min(lines.len().max(1));
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
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(text) = lines.get(i) else { break };
                    let out = one(text, i + 1, &source, &settings);
                    if let Ok(mut r) = results.lock()
                        && let Some(slot) = r.get_mut(i)
                    {
                        *slot = Some(out);
                    }
                    bar.inc(1);
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
