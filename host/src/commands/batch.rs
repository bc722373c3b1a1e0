//! `ualign batch`: one JSON instance per line, solved in parallel, printed in input order.
//!
//! The input is read a window of whole blocks at a time, straight into the window's buffer
//! (`Window`, `Stream`). Each window's blocks are solved by the calling thread and worker
//! threads that live as long as the batch (`Worker`, `work`), `--threads` in all at most and
//! never more than a window has blocks (a worker starts when a window first has a block for
//! it), into buffers kept from window to window: the calling thread first writes the window
//! before (`Solved`) and reads the next, then takes its share of the blocks. A line that is not
//! UTF-8, not JSON or not a valid instance is that line's error object; the batch goes on.
//!
//! With `--warm`, the lines are chained in fixed blocks of [`WARM_BLOCK`] (or `--warm-block`, at
//! most [`MAX_WARM_BLOCK`]) consecutive lines: a block's first line starts cold, and each later
//! line starts from the policy the line before deployed when that line was solved and has as
//! many candidates. Blocks run in parallel and a block's lines in order, so the chains, and the
//! output, are the same for any `--threads`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use ualign_accel::route::MAX_THREADS;

use super::BatchArgs;
use crate::analysis::{Method, Settings, check_settings, report, solve_from};
use crate::error::{Error, Result};
use crate::formats::{Input, NOT_UTF8, io_message, json};
use crate::instance::Store;
use crate::json_line;

#[derive(Serialize)]
struct LineError {
    line: usize,
    error: String,
}

/// Lines per warm chain of `batch --warm` unless `--warm-block` says otherwise.
pub const WARM_BLOCK: usize = 16;

/// The largest `--warm-block`: a window of the input is whole blocks (`Window::read`), so it
/// holds fewer than `WINDOW_LINES` lines plus one block. Up to this, a window holds at most
/// twice `WINDOW_LINES` lines, and lines are printed as their window is solved; a block as
/// long as the input would hold the whole input and print nothing until its end.
pub const MAX_WARM_BLOCK: usize = WINDOW_LINES;

/// Solves one line and appends its output object (a solve report or an error object, without
/// newline) to `out`, parsing with `lines`, building its population in `store` and writing with
/// `writer` (all kept by the caller from line to line, for their storage, the last line's
/// candidate table and its written `candidates` array); returns the policy deployed (for the
/// next line of a warm chain). With `warm`, the solve starts from `start` when it has as many
/// entries as the line has candidates, and the report says whether it did.
fn one(
    text: &[u8],
    line: usize,
    source: &str,
    settings: &Settings,
    (warm, start): (bool, Option<&[f32]>),
    (lines, store, writer, out): Scratch<'_>,
) -> Option<Vec<f32>> {
    let from = out.len();
    let result = (|| -> Result<Vec<f32>> {
        // The line's errors print their message alone, under `line`: the source names the
        // file only. The line is read unchecked ([`json::Lines::parse_bytes`]); when that
        // fails, the error is the first of: not UTF-8, empty, the parser's.
        let inst = lines
            .parse_bytes(text, source)
            .map_err(|e| text_error(text).unwrap_or(e))?;
        // `population` validates the instance first.
        let pop = inst.population(store)?;
        let start = start.filter(|s| warm && s.len() == pop.n());
        let sol = solve_from(&pop, settings, start)?;
        let mut report = report(inst, &pop, settings, &sol)?;
        report.line = Some(line);
        report.warm = warm.then_some(sol.warm);
        writer.write(&report, out)?;
        Ok(sol.policy)
    })();
    match result {
        Ok(policy) => Some(policy),
        Err(e) => {
            // Whatever the failed report wrote goes: the line's object is the error.
            out.truncate(from);
            line_error(line, e.message(), out);
            None
        }
    }
}

/// What a thread keeps from line to line for [`one`]: its reader, store and writer, and its
/// output buffer.
type Scratch<'a> = (
    &'a mut json::Lines,
    &'a mut Store,
    &'a mut json_line::Writer,
    &'a mut Vec<u8>,
);

/// What is wrong with a line as text, if anything: it is not UTF-8, or it is empty (or
/// whitespace only).
#[cold]
fn text_error(text: &[u8]) -> Option<Error> {
    match std::str::from_utf8(text) {
        Err(_) => Some(Error::usage(NOT_UTF8)),
        Ok(t) if t.trim().is_empty() => Some(Error::usage("empty line")),
        Ok(_) => None,
    }
}

/// Where a worker wrote one line's output (its object and a newline): its index in the window
/// and the bytes' range in the worker's buffer.
type Span = (usize, std::ops::Range<usize>);

/// A window ends at the first block's end once it holds this many lines or [`WINDOW_BYTES`]
/// bytes of input, whichever comes first (or at the input's end): the memory a batch holds
/// does not grow with its length. Small enough that a window's text is still in cache when
/// its lines are parsed: windows of 4,096 lines and 8 MiB took about 3% longer on the batch
/// benchmark of benches/README.md, and 4% longer on lines seven times as long; windows of 256
/// lines, four times the handovers, 3% longer too.
const WINDOW_LINES: usize = 1024;
/// The lines of the first window, read before any line is solved: the windows after it grow
/// fourfold up to [`WINDOW_LINES`], each read while the one before is solved.
const FIRST_WINDOW_LINES: usize = 64;
/// See [`WINDOW_LINES`].
const WINDOW_BYTES: usize = 2 << 20;

/// The lines of one window of the input: its bytes, and each line's range (without its line
/// ending) in them. A line is not checked as UTF-8 before it is read: the reader checks what it
/// keeps as text ([`json::Lines::parse_bytes`]), and only a line that fails is checked whole
/// ([`one`]).
#[derive(Default)]
struct Window {
    /// The window's bytes, `text[..filled]`. Past them, bytes of earlier windows: the buffer
    /// keeps its length from window to window, so a read into it zeroes only what it has never
    /// held (safe code reads into initialised bytes only).
    text: Vec<u8>,
    filled: usize,
    lines: Vec<std::ops::Range<usize>>,
}

impl Window {
    /// Reads the next window of up to `lines` lines ([`WINDOW_LINES`]), whole blocks of
    /// `block` lines, from `stream`, and returns the bytes it consumed. A line ends at `\n`,
    /// and a `\r` before it goes too (`str::lines`).
    fn read(
        &mut self,
        stream: &mut Stream,
        (lines, block): (usize, usize),
        source: &str,
    ) -> Result<u64> {
        self.lines.clear();
        // The bytes read past the window before come first.
        self.filled = 0;
        self.append(&stream.rest);
        stream.rest.clear();
        // The next line's start, and how far the bytes have been searched for line ends.
        let (mut start, mut searched) = (0usize, 0usize);
        'read: loop {
            let text = self.text.get(..self.filled).unwrap_or_default();
            for i in memchr::memchr_iter(b'\n', text.get(searched..).unwrap_or_default()) {
                let end = searched + i;
                let body = if end > start && text.get(end - 1) == Some(&b'\r') {
                    end - 1
                } else {
                    end
                };
                self.lines.push(start..body);
                start = end + 1;
                let full = self.lines.len() >= lines || start >= WINDOW_BYTES;
                if full && self.lines.len().is_multiple_of(block) {
                    break 'read;
                }
            }
            searched = self.filled;
            if stream.ended {
                // The last line, without a line end.
                if start < self.filled {
                    self.lines.push(start..self.filled);
                    start = self.filled;
                }
                break;
            }
            let into = self.room(self.filled + CHUNK);
            let read = stream
                .read(into)
                .map_err(|e| Error::in_file(source, io_message(&e)))?;
            self.filled += read;
            stream.ended = read == 0;
        }
        // The bytes past the window's last line are the next window's.
        let past = self.text.get(start..self.filled).unwrap_or_default();
        stream.rest.extend_from_slice(past);
        self.filled = start;
        Ok(start as u64)
    }

    /// Appends `bytes` to the window's bytes.
    fn append(&mut self, bytes: &[u8]) {
        let end = self.filled + bytes.len();
        self.room(end).copy_from_slice(bytes);
        self.filled = end;
    }

    /// The buffer from the window's end to `end`, to write into: zeroed only where the buffer
    /// has never reached.
    fn room(&mut self, end: usize) -> &mut [u8] {
        if self.text.len() < end {
            self.text.resize(end, 0);
        }
        self.text.get_mut(self.filled..end).unwrap_or_default()
    }

    /// Line `i` of the window (`None` when there is no such line), not checked as UTF-8:
    /// [`one`] reads it as [`json::Lines::parse_bytes`] reads.
    fn line(&self, i: usize) -> Option<&[u8]> {
        let range = self.lines.get(i)?.clone();
        self.text.get(..self.filled)?.get(range)
    }
}

/// The most bytes one read appends to a window's buffer ([`Stream::read`]).
const CHUNK: usize = 256 << 10;

/// `batch`'s input: read straight into each window's buffer (no copy through a read buffer),
/// with the bytes read past one window's last line kept for the next.
struct Stream {
    /// The input, opened without a buffer of its own.
    input: Box<dyn BufRead>,
    /// The bytes read past the last window.
    rest: Vec<u8>,
    /// Whether the input has ended.
    ended: bool,
}

impl Stream {
    /// One read into `into` (again when interrupted): how many bytes it gave, 0 at the input's
    /// end. One read, not as many as fill `into`: from a pipe, a window is solved once its
    /// lines have come, not once a chunk's worth has.
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.input.read(into) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                result => return result,
            }
        }
    }
}

/// One worker's output over a window: its lines (each object and its newline) end to end, and
/// where each went.
#[derive(Default)]
struct Written {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

/// Runs `batch`, writing each window's output to standard output as soon as it is solved
/// (the returned string is empty).
pub fn run(a: &BatchArgs) -> Result<String> {
    let stdout = std::io::stdout();
    // A run of lines at least the buffer's size (one thread's whole window) goes to stdout
    // without a copy into it; shorter ones (a few lines each, from several threads) gather in it.
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    if run_to(a, &mut out)? {
        written(out.flush())?;
    }
    Ok(String::new())
}

/// `Ok(true)` when a write went through, `Ok(false)` when the reader has gone (a closed pipe:
/// there is nothing more to do, as `main` treats it), or the error.
fn written(result: std::io::Result<()>) -> Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::internal(format!("cannot write to stdout: {e}"))),
    }
}

/// `batch` into `out`: the input is read a window at a time ([`Window::read`]), each
/// window's blocks are solved in parallel by this thread and the workers ([`Worker`], [`work`])
/// into buffers kept from window to window, and the window's lines are written in input order
/// ([`Solved::write`]) while the next window is solved. No buffer grows with the input. `false`
/// when the output's reader went away ([`written`]).
fn run_to(a: &BatchArgs, out: &mut dyn Write) -> Result<bool> {
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
        (true, Some(b)) if (1..=MAX_WARM_BLOCK).contains(&b) => b,
        (true, Some(b)) => {
            return Err(Error::usage(format!(
                "--warm-block {b}: must be in 1..={MAX_WARM_BLOCK}"
            )));
        }
    };
    // JSON lines is the one format here: `-` (standard input) needs no --format. The size of a
    // file is the progress bar's length.
    // No read buffer: `Stream` reads into the windows.
    let Input {
        reader: input,
        source,
        size,
    } = Input::open(&a.file, 0)?;
    let mut input = Stream {
        input,
        rest: Vec::new(),
        ended: false,
    };
    // --threads counts every thread: as many blocks at once as there are threads (at most one
    // per block), and each line's share of the threads for its own solve (the answers do not
    // depend on either).
    let budget = match a.play.solver.threads {
        0 => ualign_accel::route::cores(),
        t => t,
    }
    .clamp(1, MAX_THREADS);
    // On a terminal: the bytes of the file done (a spinner for standard input), and the
    // instances, a window at a time.
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
        let template = match size {
            Some(_) => "{bar:40} {percent}% {msg} {elapsed} (eta {eta})",
            None => "{spinner} {msg} {elapsed}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    // This thread and up to `budget - 1` workers share each window's blocks, one thread per
    // block at most: a worker is started when a window first has a block for it. The workers
    // live as long as the batch: one window after another comes to them as a task (a thread
    // spawned for each window often starts late), and each keeps its reader and store from line
    // to line. This thread first writes the window before and reads the next, then takes its
    // own share of the blocks: no more threads run than `--threads` says.
    let source = source.as_str();
    std::thread::scope(|s| -> Result<bool> {
        let (answers, answered) = mpsc::channel::<Answer>();
        let mut tasks: Vec<SyncSender<(Task<'_>, Written)>> = Vec::new();
        let mut own = Worker::default();
        // The workers' buffers between windows, and the window read next (storage reused).
        let mut buffers: Vec<Written> = Vec::new();
        let mut window = FIRST_WINDOW_LINES;
        let mut this = Window::default();
        let mut consumed = this.read(&mut input, (window, block), source)?;
        let mut spare = Window::default();
        // The window before, solved and not yet written.
        let mut solved: Option<Solved> = None;
        let mut before = 0usize;
        // Lines a worker's panic left unprocessed (none should be).
        let mut lost = 0usize;
        loop {
            let lines = this.lines.len();
            if lines == 0 {
                break;
            }
            let blocks = lines.div_ceil(block);
            let threads = budget.min(blocks);
            while tasks.len() + 1 < threads {
                let worker = (tasks.len() + 2, budget);
                let asked = a.play.solver.threads;
                let builder = std::thread::Builder::new();
                tasks.push(start_worker(s, builder, &answers, worker, asked)?);
            }
            match a.play.solver.threads {
                0 => settings.cores = (budget / threads).max(1),
                _ => settings.threads = (budget / threads).max(1),
            }
            let task = Task {
                window: Arc::new(this),
                next: Arc::new(AtomicUsize::new(0)),
                blocks: (blocks, block),
                before,
                warm: a.warm,
                settings,
                source,
            };
            let mut given = 0usize;
            for worker in tasks.iter().take(threads - 1) {
                let written = buffers.pop().unwrap_or_default();
                // A worker that is gone (none should be) leaves its lines to the others.
                if worker.send((task.clone(), written)).is_ok() {
                    given += 1;
                }
            }
            window = (window * 4).min(WINDOW_LINES);
            // Meanwhile: the window before out, the next one in.
            let io = (|| -> Result<Option<u64>> {
                if let Some(done) = solved.take() {
                    let kept = done.write(out)?;
                    buffers.extend(done.workers.into_iter().map(|(w, _)| w));
                    if !kept {
                        return Ok(None);
                    }
                }
                spare.read(&mut input, (window, block), source).map(Some)
            })();
            // Then this thread's share: the blocks the workers have not taken.
            let mut workers = Vec::with_capacity(given + 1);
            let mut written = buffers.pop().unwrap_or_default();
            let finished = own.run(&task, &mut written);
            workers.push((written, finished));
            for _ in 0..given {
                match answered.recv() {
                    Ok(answer) => workers.push(answer),
                    Err(_) => break,
                }
            }
            // Every worker has let go of the window: its storage is the next one's to read into.
            this = std::mem::take(&mut spare);
            spare = Arc::try_unwrap(task.window).unwrap_or_default();
            let done = Solved {
                lines,
                workers,
                before,
            };
            lost += done.lost();
            solved = Some(done);
            let Some(next_consumed) = io? else {
                return Ok(false);
            };
            before += lines;
            bar.inc(consumed);
            bar.set_message(format!("{before} instances"));
            consumed = next_consumed;
        }
        if let Some(done) = solved
            && !done.write(out)?
        {
            return Ok(false);
        }
        bar.finish_and_clear();
        if lost > 0 {
            // Every line is written, those lines saying so; the exit code says it too.
            return Err(Error::internal(format!(
                "{lost} lines were not processed (a panic in ualign: please report it); their \
                 output lines say so"
            )));
        }
        Ok(true)
    })
}

/// Starts thread `i` of `budget` (the calling thread is the first) in `s` with `builder`, a
/// worker ([`work`]) answering to `answers`; returns its task channel. A thread the system
/// cannot start is an error of `--threads` (`asked`: 0 is automatic, every core).
fn start_worker<'scope, 'a: 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    builder: std::thread::Builder,
    answers: &Sender<Answer>,
    (i, budget): (usize, usize),
    asked: usize,
) -> Result<SyncSender<(Task<'a>, Written)>> {
    let (task, tasked) = mpsc::sync_channel(1);
    let answers = answers.clone();
    match builder.spawn_scoped(s, move || work(&tasked, &answers)) {
        Ok(_) => Ok(task),
        Err(e) => {
            let count = match asked {
                0 => format!("--threads 0 (every core, {budget} threads)"),
                t => format!("--threads {t}"),
            };
            Err(Error::usage(format!(
                "{count}: the system cannot start thread {i} of {budget} ({e}); give fewer"
            )))
        }
    }
}

/// One thread's share of a window: the blocks it takes from `next` in turn, each block's lines
/// in order.
#[derive(Clone)]
struct Task<'a> {
    window: Arc<Window>,
    /// The next block to take (shared by the window's workers).
    next: Arc<AtomicUsize>,
    /// The window's blocks, and the lines of a block.
    blocks: (usize, usize),
    /// The lines before the window.
    before: usize,
    warm: bool,
    /// The settings of the window's lines.
    settings: Settings,
    source: &'a str,
}

/// A worker's answer for a window: its buffer, and whether it finished (not after a panic).
type Answer = (Written, bool);

/// A thread that solves lines: its reader, store and writer, kept from line to line.
#[derive(Default)]
struct Worker {
    reader: json::Lines,
    store: Store,
    writer: json_line::Writer,
}

impl Worker {
    /// Runs `task` into `written`; `false` after a panic (none should happen), which leaves the
    /// reader, the store and the writer afresh, and the window's lines this thread held say they
    /// were not processed.
    fn run(&mut self, task: &Task<'_>, written: &mut Written) -> bool {
        let run = || task.run(written, self);
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_ok();
        if !finished {
            *self = Worker::default();
        }
        finished
    }
}

/// A worker thread: each task's blocks solved into the buffer that comes with it ([`Worker`]),
/// sent back once the worker has let go of the window.
fn work(tasks: &Receiver<(Task<'_>, Written)>, answers: &Sender<Answer>) {
    let mut worker = Worker::default();
    while let Ok((task, mut written)) = tasks.recv() {
        let finished = worker.run(&task, &mut written);
        drop(task);
        if answers.send((written, finished)).is_err() {
            return;
        }
    }
}

/// The lines a thread takes from a window at once, in whole blocks ([`Task::run`]): a quarter
/// of the handovers of the shared counter, and runs of lines next to each other in one
/// buffer, which go out in one write ([`Solved::write`]).
const CLAIM_LINES: usize = 4;

impl Task<'_> {
    /// Solves blocks into `w` (cleared first), [`CLAIM_LINES`] at a time, until none is left,
    /// with `worker`'s reader, store and writer.
    fn run(&self, w: &mut Written, worker: &mut Worker) {
        w.bytes.clear();
        w.spans.clear();
        let (blocks, block) = self.blocks;
        let claim = CLAIM_LINES.div_ceil(block);
        loop {
            let first = self.next.fetch_add(claim, Ordering::Relaxed);
            if first >= blocks {
                break;
            }
            for b in first..(first + claim).min(blocks) {
                self.block(b, w, worker);
            }
        }
    }

    /// Solves block `b` into `w`, each line (its object and a newline) from the policy of the
    /// one before.
    fn block(&self, b: usize, w: &mut Written, worker: &mut Worker) {
        let (_, block) = self.blocks;
        let lines = self.window.lines.len();
        let mut previous: Option<Vec<f32>> = None;
        for i in b * block..((b + 1) * block).min(lines) {
            let from = w.bytes.len();
            let line = self.before + i + 1;
            let chain = (self.warm, previous.as_deref());
            // Every line of the window is there (`unwrap_or_default`: an empty line's error).
            let text = self.window.line(i).unwrap_or_default();
            let scratch = (
                &mut worker.reader,
                &mut worker.store,
                &mut worker.writer,
                &mut w.bytes,
            );
            previous = one(text, line, self.source, &self.settings, chain, scratch);
            w.bytes.push(b'\n');
            w.spans.push((i, from..w.bytes.len()));
        }
    }
}

/// A window solved: its number of lines, each worker's output and whether it finished, and
/// the number of lines before the window. Kept until its output is written.
struct Solved {
    lines: usize,
    workers: Vec<Answer>,
    before: usize,
}

impl Solved {
    /// The lines a worker that did not finish held: written as not processed.
    fn lost(&self) -> usize {
        let kept: usize = self
            .workers
            .iter()
            .filter(|(_, finished)| *finished)
            .map(|(written, _)| written.spans.len())
            .sum();
        self.lines.saturating_sub(kept)
    }

    /// Writes the window's lines in input order and flushes them (`false` when the output's
    /// reader went away, [`written`]). The lines of a worker that did not finish (a panic; none
    /// should) say so.
    fn write(&self, out: &mut dyn Write) -> Result<bool> {
        // Line `i` of the window: the worker and the range.
        let mut at: Vec<Option<(usize, std::ops::Range<usize>)>> = vec![None; self.lines];
        for (w, (written, finished)) in self.workers.iter().enumerate() {
            if !finished {
                continue;
            }
            for (i, range) in &written.spans {
                if let Some(slot) = at.get_mut(*i) {
                    *slot = Some((w, range.clone()));
                }
            }
        }
        // Runs of lines next to each other in one worker's buffer go out in one write.
        let mut run: Option<(usize, std::ops::Range<usize>)> = None;
        let mut missing = Vec::new();
        for (i, slot) in at.into_iter().enumerate() {
            if let (Some((w, range)), Some((run_w, run_range))) = (&slot, &mut run)
                && w == run_w
                && range.start == run_range.end
            {
                run_range.end = range.end;
                continue;
            }
            if !self.put(run.take(), out)? {
                return Ok(false);
            }
            match slot {
                Some(next) => run = Some(next),
                None => {
                    missing.clear();
                    let line = self.before + i + 1;
                    line_error(line, "internal error: not processed", &mut missing);
                    missing.push(b'\n');
                    if !written(out.write_all(&missing))? {
                        return Ok(false);
                    }
                }
            }
        }
        if !self.put(run, out)? {
            return Ok(false);
        }
        // The window's lines go to the reader now, not when the output's buffer fills: a
        // stream's consumer waits for one window at most.
        written(out.flush())
    }

    /// Writes `piece` (a worker's range of bytes), if any ([`written`]).
    fn put(
        &self,
        piece: Option<(usize, std::ops::Range<usize>)>,
        out: &mut dyn Write,
    ) -> Result<bool> {
        let bytes = piece.and_then(|(w, range)| self.workers.get(w)?.0.bytes.get(range));
        written(out.write_all(bytes.unwrap_or_default()))
    }
}

/// Appends the error object of `line` to `out`.
fn line_error(line: usize, error: &str, out: &mut Vec<u8>) {
    let from = out.len();
    let err = LineError {
        line,
        error: error.to_string(),
    };
    if serde_json::to_writer(&mut *out, &err).is_err() {
        out.truncate(from);
        out.extend_from_slice(format!("{{\"line\":{line},\"error\":\"?\"}}").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input handed out at most `cap` bytes a read, so that lines span many reads.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        cap: usize,
    }

    impl std::io::Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let now = &self.data[self.at..];
            let n = self.cap.min(buf.len()).min(now.len());
            buf[..n].copy_from_slice(&now[..n]);
            self.at += n;
            Ok(n)
        }
    }

    /// The windows `Window::read` makes of random text (newlines, carriage returns, empty
    /// lines, bytes that are not UTF-8, no newline at the end), read a few bytes at a time,
    /// against the text split by hand: the same lines in order, each window whole blocks up to
    /// its size (the last may be short), and every byte consumed once.
    #[test]
    fn windows_are_the_lines_in_order() {
        let mut rng = crate::test_rng::XorShift(0x6a09_e667_f3bc_c909);
        for case in 0..500 {
            let len = rng.below(300) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| match rng.below(12) {
                    0 | 1 => b'\n',
                    2 => b'\r',
                    3 => 0xff,
                    _ => b'a' + rng.below(26) as u8,
                })
                .collect();
            // The lines as `batch` takes them: `\r\n` ends a line too, and a last line without
            // a line end keeps a `\r`.
            let mut want: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            let last = want.pop().unwrap_or_default();
            for line in &mut want {
                *line = line.strip_suffix(b"\r").unwrap_or(line);
            }
            if !last.is_empty() {
                want.push(last);
            }
            let cap = if case % 10 == 0 { 4096 } else { 1 + case % 9 };
            let trickle = Trickle {
                data: text.clone(),
                at: 0,
                cap,
            };
            let mut stream = Stream {
                input: Box::new(std::io::BufReader::with_capacity(0, trickle)),
                rest: Vec::new(),
                ended: false,
            };
            let (lines, block) = (1 + rng.below(6) as usize, 1 + rng.below(3) as usize);
            let (mut got, mut consumed) = (Vec::new(), 0u64);
            let mut window = Window::default();
            loop {
                consumed += window.read(&mut stream, (lines, block), "t").unwrap();
                let n = window.lines.len();
                if n == 0 {
                    break;
                }
                assert!(
                    n <= lines.next_multiple_of(block),
                    "{n} lines of {lines}, {block}"
                );
                if !n.is_multiple_of(block) {
                    assert!(
                        stream.ended && stream.rest.is_empty(),
                        "a short window not last"
                    );
                }
                for i in 0..n {
                    let line = window.text[..window.filled][window.lines[i].clone()].to_vec();
                    assert_eq!(window.line(i), Some(&line[..]), "case {case}");
                    got.push(line);
                }
            }
            assert_eq!(got, want, "case {case}: {text:?} through {cap}");
            assert_eq!(consumed, text.len() as u64);
        }
    }

    /// Output that counts the writes it takes.
    #[derive(Default)]
    struct Counted {
        bytes: Vec<u8>,
        writes: usize,
        /// Writes before each flush.
        flushed_at: Vec<usize>,
    }

    impl Write for Counted {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.flushed_at.push(self.writes);
            Ok(())
        }
    }

    /// A solved window goes out in input order, each run of lines next to each other in one
    /// worker's buffer in one write, then a flush, and the lines of a worker that did not finish
    /// say so.
    #[test]
    fn solved_lines_go_out_in_order_in_runs() {
        let solved = |finished: bool| {
            // Lines 0, 1 and 3 from the first worker (0 and 1 next to each other), 2 and 4
            // from the second; the window follows 10 lines.
            let first = Written {
                bytes: b"a\nb\nd\n".to_vec(),
                spans: vec![(0, 0..2), (1, 2..4), (3, 4..6)],
            };
            let second = Written {
                bytes: b"c\ne\n".to_vec(),
                spans: vec![(2, 0..2), (4, 2..4)],
            };
            Solved {
                lines: 5,
                workers: vec![(first, true), (second, finished)],
                before: 10,
            }
        };
        let mut out = Counted::default();
        assert!(solved(true).write(&mut out).unwrap());
        assert_eq!(
            (out.bytes.as_slice(), out.writes),
            (&b"a\nb\nc\nd\ne\n"[..], 4)
        );
        // Flushed once, after its last write: the window reaches the reader as it is written.
        assert_eq!(out.flushed_at, [4]);
        let mut out = Counted::default();
        assert!(solved(false).write(&mut out).unwrap());
        let lost =
            |line| format!("{{\"line\":{line},\"error\":\"internal error: not processed\"}}");
        let want = format!("a\nb\n{}\nd\n{}\n", lost(13), lost(15));
        assert_eq!(String::from_utf8(out.bytes).unwrap(), want);
        // Counted, so that the run ends with an error after writing every line.
        assert_eq!((solved(true).lost(), solved(false).lost()), (0, 2));
    }

    /// The threads named `name` in this process (Linux): a thread started without a name takes
    /// the name of the thread that starts it.
    #[cfg(target_os = "linux")]
    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
            })
            .count()
    }

    /// Output that counts, at each write, the threads named `ualign-probe`.
    #[cfg(target_os = "linux")]
    #[derive(Default)]
    struct ThreadProbe {
        most: usize,
    }

    #[cfg(target_os = "linux")]
    impl Write for ThreadProbe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.most = self.most.max(threads_named("ualign-probe"));
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A batch starts no more threads than its windows have blocks, whatever --threads allows:
    /// the threads counted while the output is written (the workers live until the batch ends)
    /// are one per line of a short batch, up to --threads.
    #[cfg(target_os = "linux")]
    #[test]
    fn threads_are_started_only_for_blocks() {
        use clap::Parser;
        let dir = std::env::temp_dir().join(format!("ualign-batch-threads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = r#"{"candidates":["a","b"],"users":[{"weight":1,"scores":[1,0]}]}"#;
        for (lines, threads, want) in [(1, "64", 1), (3, "64", 3), (5, "2", 2)] {
            let file = dir.join(format!("{lines}.jsonl"));
            std::fs::write(&file, format!("{line}\n").repeat(lines)).unwrap();
            let args = ["ualign", "batch", file.to_str().unwrap(), "--k", "2"];
            let cli =
                super::super::Cli::try_parse_from(args.into_iter().chain(["--threads", threads]))
                    .unwrap();
            let super::super::Command::Batch(a) = cli.command else {
                panic!("not batch");
            };
            let most = std::thread::Builder::new()
                .name("ualign-probe".into())
                .spawn(move || {
                    let mut probe = ThreadProbe::default();
                    assert!(run_to(&a, &mut probe).unwrap());
                    probe.most
                })
                .unwrap()
                .join()
                .unwrap();
            assert_eq!(most, want, "{lines} lines, --threads {threads}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A worker the system cannot start (here: asked for a stack of a pebibyte) is an input
    /// error of --threads (exit code 2), not a panic.
    #[test]
    fn a_thread_that_cannot_start_is_an_error_of_threads() {
        let (answers, _answered) = mpsc::channel::<Answer>();
        std::thread::scope(|s| {
            for (asked, count) in [
                (8, "--threads 8:"),
                (0, "--threads 0 (every core, 8 threads):"),
            ] {
                let builder = std::thread::Builder::new().stack_size(1 << 50);
                let started: Result<SyncSender<(Task<'static>, Written)>> =
                    start_worker(s, builder, &answers, (2, 8), asked);
                let e = started.expect_err("a pebibyte stack");
                assert_eq!(e.exit_code(), 2, "{e}");
                assert!(e.message().starts_with(count), "{e}");
                assert!(e.message().contains("cannot start thread 2 of 8"), "{e}");
            }
        });
    }

    /// Long lines end a window by its bytes: at the first block's end from [`WINDOW_BYTES`]
    /// on, well before [`WINDOW_LINES`] lines, and every line is read once.
    #[test]
    fn long_lines_end_a_window_at_its_bytes() {
        let (line, lines, block) = (100_000usize, 70usize, 3usize);
        let text: Vec<u8> = (0..lines)
            .flat_map(|i| {
                let mut l = vec![b'a' + (i % 26) as u8; line - 1];
                l.push(b'\n');
                l
            })
            .collect();
        let trickle = Trickle {
            data: text,
            at: 0,
            cap: usize::MAX,
        };
        let mut stream = Stream {
            input: Box::new(std::io::BufReader::with_capacity(0, trickle)),
            rest: Vec::new(),
            ended: false,
        };
        let mut window = Window::default();
        let mut sizes = Vec::new();
        loop {
            let consumed = window
                .read(&mut stream, (WINDOW_LINES, block), "t")
                .unwrap();
            let n = window.lines.len();
            if n == 0 {
                break;
            }
            assert_eq!(consumed, (n * line) as u64);
            assert_eq!(window.line(n - 1).map(<[u8]>::len), Some(line - 1));
            sizes.push(n);
        }
        // 2 MiB is 20.97 lines of 100,000 bytes: the 21st line reaches it and closes a block
        // of three, so each full window is 21 lines.
        let first = WINDOW_BYTES.div_ceil(line).next_multiple_of(block);
        assert_eq!(sizes, [first, first, first, lines - 3 * first]);
    }
}
