//! The command line: one module per subcommand, each returning what goes to stdout.

pub mod batch;
pub mod curve;
pub mod demo;
#[cfg(unix)]
pub mod device;
pub mod eval;
pub mod opponents;
pub mod pick;
pub mod solve;

use std::num::IntErrorKind;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use ualign_accel::route::MAX_THREADS;

use crate::analysis::{Method, Settings};
use crate::error::{Error, Result};
use crate::formats::{self, Format, Header, Values};
use crate::instance::Instance;

const FORMATS_HELP: &str = "\
INPUT FORMATS (chosen by extension, or --format; a FILE of `-` reads standard input and then
needs --format; docs/conventions.md compares the tie conventions with pref_voting and OpenSpiel).
A UTF-8 byte-order mark at the start is skipped. Text plainly of another format than its
extension says (a PrefLib header such as `# FILE NAME:` in a .txt or .csv, a JSON object in a
.soc or table) is refused, naming --format, which decides.
  PrefLib (.soc .soi .toc .toi): `# ALTERNATIVE NAME i: name` header lines name the candidates
    (each once, no two alike); the header (NUMBER ALTERNATIVES, ALTERNATIVE NAME) comes before
    the data lines, and a second NUMBER ALTERNATIVES or NUMBER VOTERS must agree with the
    first; NUMBER VOTERS must be the counts' sum;
    data lines are `count: a,b,{c,d},e` (candidate numbers, braces = tie group). Candidates an
    incomplete order leaves out tie at the bottom. Identical orders are merged into one weighted
    user type (counts added, overflow checked). Numbered from 1; read as numbered from 0 (as
    pref_voting and preflibtools write) when alternative 0 appears and none is numbered n
    (NUMBER ALTERNATIVES), with a note on stderr; refused when both 0 and n appear.
  JSON (.json): {\"candidates\": [\"a\",\"b\"], \"users\": [{\"weight\": 2, \"scores\": [1, 0]},
    {\"weight\": 1, \"ranking\": [[\"b\"], [\"a\"]]}]}. weight defaults to 1; ranking groups name
    candidates, best first; unlisted candidates tie at the bottom.
  Tables (.csv with commas; .txt .tsv .dat .table with whitespace): one row per user type,
    one column per candidate.
    - blank lines are skipped; `#` lines are comments;
    - the first row is a header if a field other than its first is text (not empty, not a
      number); otherwise the last `#` comment line before the first row is the header if it has
      as many fields as the rows (the Atari tables: `# game dqn a3c ...`; `#,a,b`, or `#` and
      a tab, heads a count column `#`); otherwise candidates are named c1, c2, ...;
    - a first row that could be a header or data is refused unless --header decides: one of
      consecutive whole numbers (0,1,2,... as pandas writes a frame's columns, years) after an
      empty or text first field if any, without a header found otherwise; a header that also
      holds a number past its first field (0.9,NA,0.1: a row with a missing value);
    - in a whitespace table, a first row that is one field holding commas is refused (--format
      csv reads commas);
    - the first column holds row labels (not a candidate) if any row has text there or its
      header field is empty; text in some rows and numbers in others is refused unless that
      header field is empty;
    - a header column named weight, weights, count, counts, votes, frequency, freq or #
      holds row weights (default 1); two such columns are refused;
    - `value±err` and `value+-err` keep the value (err must be a number too); in whitespace
      tables `1,486.5` is 1486.5, and a comma that is not a thousands separator (`0,5`) is
      refused;
    - every value must be finite (negative scores are fine; negative weights are not): inf
      and nan are refused wherever they are.
  --header first-row|none: the first row names the candidates whatever it holds, or the table
    has no header (not even a comment line): every row is data, candidates are c1, c2, ...
  --values scores|ranks: scores are utilities (higher = better, equal = tie, every cell a
    number). ranks: lower = better (1 = best), equal ranks tie, an empty cell is an unranked
    candidate (tied at the bottom); identical rankings merge. pref_voting's CSV (ranks, counts in
    a `#` column) and its rank_columns CSV (headers Rank1,Rank2,...; cells name the candidate at
    each rank, `skipped` for none) are read with --values ranks.
    Without --values a table is read as scores unless it looks like ranks, which is refused:
    a header field `#`; a header field rank, ranks, ranking, rankings, or rank followed by a
    number (Rank1, rank_2; any case);
    an empty candidate cell; or every row's values whole numbers from 1 to the number of
    candidates, not every row constant. Values below 1 (Borda 0..n-1, 0/1, signed), above n, or
    fractional are read as scores.

REWARD-MODEL BASELINE (curve, demo): the candidate with the highest weighted mean utility, shown k
  times. Utilities are the scores as given; for rankings, the Borda-style utility n-1-position,
  tied candidates getting the average of their positions.

EXIT CODES: 0 success; 2 bad input or options (one `ualign: FILE:LINE: problem` line on stderr,
  nothing on stdout); 1 internal error.";

/// ualign: certified k-response policies from preference data (Cai & Zheng, asymptotic
/// universal alignment).
#[derive(Debug, Parser)]
#[command(name = "ualign", version, about, after_long_help = FORMATS_HELP)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Solve the (k+1)-player game and print the policy with its certificate (one JSON object).
    ///
    /// With --method optimistic (default) the printed policy is the iterate with the lowest
    /// exact exploitability, and the certificate is exactly that policy's. With --method hedge
    /// the certified, deployable object is the time mixture of the iterates (draw a round, then
    /// k draws from it): `certificate` is the mixture's exact certificate, `deployed` says
    /// "time_mixture", `rounds` counts the rounds, and `policy` is only the average of the
    /// iterates, whose own (uncertified by the regret argument) certificate is printed as
    /// `average_policy_certificate`.
    #[command(after_long_help = FORMATS_HELP)]
    Solve(SolveArgs),
    /// Certify a given policy: worst-case win rate, exploitability, worst opponent.
    #[command(after_long_help = FORMATS_HELP)]
    Eval(EvalArgs),
    /// Test-time scaling table for k = 1..K: equilibrium vs NLHF vs reward model vs uniform.
    #[command(after_long_help = FORMATS_HELP)]
    Curve(CurveArgs),
    /// Sample k responses (seeded Xoshiro128++) from the k-aware equilibrium.
    #[command(after_long_help = FORMATS_HELP)]
    Pick(PickArgs),
    /// The worst opponent that itself shows L responses, against the k-aware equilibrium.
    #[command(after_long_help = FORMATS_HELP)]
    Opponents(OpponentsArgs),
    /// Solve one JSON instance per line (lines in parallel, --threads in all), one solve object
    /// per line out, printed a window of lines at a time; a bad line gets an error object.
    Batch(BatchArgs),
    /// Built-in instances showing NLHF stuck near 1/2 while the k-aware equilibrium climbs.
    Demo(DemoArgs),
    /// Solve on the firmware under QEMU (the Cortex-M4F, or the core --core names) and print the
    /// device's reply in the `solve` format (plus the device's seeded picks). The device runs
    /// the reference computation, so its answer is bit-identical to `solve --reference`.
    #[command(after_long_help = FORMATS_HELP)]
    Device(DeviceArgs),
    /// The cores the firmware runs on (`device --core NAME`), one per line, tab-separated: name,
    /// processor, Rust target, target CPU, firmware features, capacities n, m and k, flash and
    /// RAM budgets (bytes), tick rate (Hz), the cargo command that builds its image in firmware/,
    /// and the QEMU command that runs it.
    Cores,
    /// Benchmark on a seeded impartial-culture population (or on a preference file with
    /// --input): median share evaluation, roofline probes and their ratio, solve time and
    /// iterations, and the same through a tally when one pays (one JSON object).
    Bench(BenchArgs),
}

/// The input file.
#[derive(Debug, Args)]
pub struct Input {
    /// Input file (PrefLib, JSON, CSV or whitespace table); `-` reads standard input (then
    /// --format is required).
    pub file: PathBuf,
    /// Override the format the extension implies.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// What a score table's numbers are: scores (higher = better) or ranks (1 = best, equal
    /// ranks tie, empty = unranked). Required when a table looks like ranks (see INPUT FORMATS).
    #[arg(long, value_enum)]
    pub values: Option<Values>,
    /// Whether a score table's first row names its candidates (first-row) or is data (none).
    /// Required when it could be either (see INPUT FORMATS).
    #[arg(long, value_enum)]
    pub header: Option<Header>,
}

impl Input {
    /// Loads the instance; notes on how it was read (a PrefLib file numbered from 0) go to
    /// stderr.
    pub fn load(&self) -> Result<Instance> {
        let opts = formats::Options {
            values: self.values,
            header: self.header,
        };
        formats::load_with(&self.file, self.format, &opts).map(formats::report)
    }
}

/// When a solve stops (every command that solves, `device` too).
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Stop once the certified exploitability is at most this: 0 asks for an exact equilibrium,
    /// any other value must be at least 1e-7.
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true, value_parser = eps)]
    pub eps: f32,
    /// Share evaluations at most (for hedge: the horizon T, every iterate is kept).
    #[arg(long, default_value_t = 10_000)]
    pub max_iter: u32,
}

impl StopArgs {
    /// The settings of the firmware's computation for `k`: Optimistic Hedge through the
    /// population, on one thread.
    pub fn reference(&self, k: u32) -> Settings {
        Settings {
            k,
            eps: self.eps,
            max_iter: self.max_iter,
            method: Method::Optimistic,
            threads: 1,
            reference: true,
            cores: 0,
        }
    }
}

/// Solver options.
#[derive(Debug, Args)]
pub struct SolverArgs {
    #[command(flatten)]
    pub stop: StopArgs,
    /// Threads to compute with (0: every core, when the work pays for them), at most 1024.
    /// Only a count: the answer is the same, bit for bit, for any number.
    #[arg(long, default_value_t = 0, value_parser = threads)]
    pub threads: usize,
    /// Compute what the firmware computes, bit for bit: the shares through the population,
    /// never through the margin matrix (k = 1) or a tally. The output's `route` says which
    /// computation ran.
    #[arg(long)]
    pub reference: bool,
}

impl SolverArgs {
    /// Settings for `k` and `method`.
    pub fn settings(&self, k: u32, method: Method) -> Settings {
        Settings {
            k,
            eps: self.stop.eps,
            max_iter: self.stop.max_iter,
            method,
            threads: self.threads,
            reference: self.reference,
            cores: 0,
        }
    }

    /// Optimistic-Hedge settings for `k` (the commands that deploy the last iterate).
    pub fn optimistic(&self, k: u32) -> Settings {
        self.settings(k, Method::Optimistic)
    }
}

/// How `solve` and `batch` play: `k`, the solver's settings and the self-play method.
#[derive(Debug, Args)]
pub struct SelfPlay {
    /// Number of responses shown to the user.
    #[arg(long)]
    pub k: u32,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// Self-play method.
    #[arg(long, value_enum, default_value = "optimistic")]
    pub method: Method,
}

impl SelfPlay {
    /// The solver settings.
    pub fn settings(&self) -> Settings {
        self.solver.settings(self.k, self.method)
    }
}

/// `solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub play: SelfPlay,
    /// Also print `explain`: per user type, the chance that its favourite is among the k
    /// shown and its own win rate against the worst opponent (optimistic only).
    #[arg(long)]
    pub explain: bool,
}

/// `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub input: Input,
    /// Number of responses shown.
    #[arg(long)]
    pub k: u32,
    /// The policy: a JSON array of probabilities in input order, or a file holding one (or
    /// holding `solve`'s output, whose candidates must match). Text starting with `[` is the
    /// array; `./NAME` names a file whose name starts with `[`.
    #[arg(long)]
    pub policy: String,
}

/// `curve`.
#[derive(Debug, Args)]
pub struct CurveArgs {
    #[command(flatten)]
    pub input: Input,
    /// Largest k.
    #[arg(long)]
    pub k_max: u32,
    /// Also draw the curves into this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Print a human-readable table instead of JSON.
    #[arg(long)]
    pub table: bool,
    #[command(flatten)]
    pub solver: SolverArgs,
}

/// What `pick` and `device` both take: the input, `k` and the seed of the picks.
#[derive(Debug, Args)]
pub struct Picks {
    #[command(flatten)]
    pub input: Input,
    /// Number of responses shown.
    #[arg(long)]
    pub k: u32,
    /// Seed of the Xoshiro128++ generator of the picks (`seed_from_u64`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `pick`.
#[derive(Debug, Args)]
pub struct PickArgs {
    #[command(flatten)]
    pub picks: Picks,
    #[command(flatten)]
    pub solver: SolverArgs,
}

/// `opponents`.
#[derive(Debug, Args)]
pub struct OpponentsArgs {
    #[command(flatten)]
    pub input: Input,
    /// Number of responses we show.
    #[arg(long)]
    pub k: u32,
    /// Number of responses the opponent shows.
    #[arg(long)]
    pub l: usize,
    #[command(flatten)]
    pub solver: SolverArgs,
}

/// `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// JSON lines file, one instance (the JSON input format) per line; `-` reads standard
    /// input.
    pub file: PathBuf,
    #[command(flatten)]
    pub play: SelfPlay,
    /// Warm starts (optimistic only): each line's solve starts from the equilibrium of the line
    /// before when both have the same number of candidates, else from uniform. Lines are
    /// chained in fixed blocks of --warm-block consecutive lines, each block's first line cold,
    /// so the output does not depend on --threads. Each output object says `"warm": true` when
    /// its solve started from the line before (never at k = 1 through the margin matrix, whose
    /// simplex takes no start). The certificate is that of the policy printed, as always.
    #[arg(long)]
    pub warm: bool,
    /// Lines per warm chain, with --warm (default 16, at most 1024): blocks run in parallel,
    /// the lines of a block one after the other. A window of the input holds whole blocks, so
    /// the memory a batch holds grows with the block, never with the input.
    #[arg(long, value_parser = warm_block)]
    pub warm_block: Option<usize>,
}

/// `device`: the options of `pick` that the firmware takes (it computes `solve --reference` on
/// one thread: no --threads, no --reference), with `--k` at most the core's capacity.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    #[command(flatten)]
    pub picks: Picks,
    #[command(flatten)]
    pub stop: StopArgs,
    /// Run the firmware under QEMU; the only transport so far.
    #[arg(long)]
    pub qemu: bool,
    /// The core to run on: m0, m3, m4f, m7, m33, rv32imac or rv32imafc (`ualign cores` lists
    /// them with their capacities and QEMU command lines).
    #[arg(long, default_value = "m4f")]
    pub core: String,
    /// The firmware ELF (default: $UALIGN_FIRMWARE_ELF, else the core's release build under
    /// firmware/target, e.g. firmware/target/thumbv7em-none-eabihf/release/ualign-firmware for
    /// m4f; `ualign cores` prints the command that builds it). Checked before QEMU starts: a
    /// 32-bit ELF executable for the core's machine and float ABI.
    #[arg(long)]
    pub elf: Option<PathBuf>,
}

/// `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Candidates (1..=1024) of the impartial-culture population.
    #[arg(long, conflicts_with = "input")]
    pub n: Option<usize>,
    /// User types of the impartial-culture population (--m x --n at most 2^26 = 67108864).
    #[arg(long, conflicts_with = "input")]
    pub m: Option<usize>,
    /// Benchmark this preference file (PrefLib, JSON, CSV or whitespace table; `-` for standard
    /// input, with --format) instead.
    #[arg(long, conflicts_with = "seed")]
    pub input: Option<PathBuf>,
    /// Override the format the extension of --input implies.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// What the numbers of a score table given with --input are (see `solve --help`).
    #[arg(long, value_enum)]
    pub values: Option<Values>,
    /// Whether the first row of a score table given with --input names its candidates (see
    /// `solve --help`).
    #[arg(long, value_enum)]
    pub header: Option<Header>,
    /// Number of responses shown.
    #[arg(long)]
    pub k: u32,
    /// Seed of the impartial-culture population (default 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Threads to compute with (0: every core, when the work pays for them; at most 1024), as
    /// in every command.
    #[arg(long, default_value_t = 0, value_parser = threads)]
    pub threads: usize,
    /// Solves to time, each from a cold start on the same population: `solve_ns` is their
    /// median, `solve_ns_min` and `solve_ns_max` their spread (thousands for small sizes).
    #[arg(long, default_value_t = 1)]
    pub solves: usize,
}

/// `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the plot.
    #[arg(long, default_value = "ualign-demo.svg")]
    pub svg: PathBuf,
    /// Largest k in the table.
    #[arg(long, default_value_t = 8)]
    pub k_max: u32,
    /// Print the rows as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs a parsed command line; returns what goes to stdout (`batch` writes its own output, a
/// window of lines at a time, and returns an empty string).
pub fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Solve(a) => solve::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Curve(a) => curve::run(&a),
        Command::Pick(a) => pick::run(&a),
        Command::Opponents(a) => opponents::run(&a),
        Command::Batch(a) => batch::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Cores => Ok(crate::cores::table()),
        #[cfg(unix)]
        Command::Device(a) => device::run(&a),
        #[cfg(not(unix))]
        Command::Device(_) => Err(Error::unsupported(
            "device is not supported on this platform: the QEMU link reaches the firmware's UART \
             through a Unix socket (run it on Linux or macOS)",
        )),
        Command::Bench(a) => bench(&a),
    }
}

/// `bench`: on the file of --input, else on a seeded impartial-culture population.
fn bench(a: &BenchArgs) -> Result<String> {
    if (a.format.is_some() || a.values.is_some() || a.header.is_some()) && a.input.is_none() {
        return Err(Error::usage(
            "--format, --values and --header apply to --input",
        ));
    }
    let report = match (&a.input, a.n, a.m) {
        (Some(file), _, _) => {
            let opts = formats::Options {
                values: a.values,
                header: a.header,
            };
            let inst = formats::load_with(file, a.format, &opts).map(formats::report)?;
            let mut store = crate::instance::Store::default();
            let pop = inst.population(&mut store)?;
            let mut v = ualign_accel::bench::run_population(pop, a.k, a.threads, a.solves)
                .map_err(Error::usage)?;
            v["input"] = file.display().to_string().into();
            v
        }
        (None, Some(n), Some(m)) => {
            ualign_accel::bench::run(n, m, a.k, a.seed.unwrap_or(1), a.threads, a.solves)
                .map_err(Error::usage)?
        }
        (None, _, _) => {
            return Err(Error::usage(
                "bench needs --n and --m (an impartial-culture population) or --input FILE",
            ));
        }
    };
    to_json(&report)
}

/// `--threads`: 0 (automatic) to [`MAX_THREADS`].
fn threads(text: &str) -> std::result::Result<usize, String> {
    count_in(
        text,
        0..=MAX_THREADS,
        "0: every core, when the work pays for them",
    )
}

/// `--warm-block`: 1 to [`batch::MAX_WARM_BLOCK`].
fn warm_block(text: &str) -> std::result::Result<usize, String> {
    count_in(
        text,
        1..=batch::MAX_WARM_BLOCK,
        "a window of the input holds whole blocks",
    )
}

/// `--eps` as the `f32` the solver takes, read from the text as written: a number past the
/// largest `f32` (`3.5e38`) is not taken as infinity, nor a positive one below the smallest
/// (`1e-50`) as 0, which asks for an exact equilibrium. The rest (negative, NaN, below the
/// solvers' floor) is [`crate::analysis::check_settings`]'s to refuse, in the words the Python
/// package uses too.
fn eps(text: &str) -> std::result::Result<f32, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number".to_string())?;
    let x = v as f32;
    if v.is_finite() && x.is_infinite() {
        Err("past the largest f32 (about 3.4e38)".into())
    } else if v > 0.0 && x == 0.0 {
        Err("below the smallest f32, not 0 (0 asks for an exact equilibrium)".into())
    } else {
        Ok(x)
    }
}

/// A whole number in `range`; out of it, an error that gives the range and `why` it is so.
fn count_in(
    text: &str,
    range: RangeInclusive<usize>,
    why: &str,
) -> std::result::Result<usize, String> {
    let out_of_range = || format!("must be in {}..={} ({why})", range.start(), range.end());
    match text.parse::<usize>() {
        Ok(v) if range.contains(&v) => Ok(v),
        Ok(_) => Err(out_of_range()),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Err(out_of_range()),
        Err(e) => Err(format!("not a whole number ({e})")),
    }
}

/// JSON text of a value, pretty when `pretty`.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| Error::internal(format!("JSON output: {e}")))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks the whole command tree (unique argument names, ...) only when a subcommand
    /// is used; check every subcommand at once.
    #[test]
    fn command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// `parse` takes `low..=high`; past it (even past what a usize holds) its error gives the
    /// range, and text is not a number.
    fn assert_bounded(parse: fn(&str) -> Result<usize, String>, low: usize, high: usize) {
        let range = format!("must be in {low}..={high} (");
        assert_eq!(parse(&low.to_string()), Ok(low));
        assert_eq!(parse(&high.to_string()), Ok(high));
        for bad in [(high + 1).to_string(), "1".repeat(40)] {
            assert!(parse(&bad).is_err_and(|e| e.starts_with(&range)), "{bad}");
        }
        assert!(parse("-1").is_err_and(|e| e.starts_with("not a whole number")));
        if low > 0 {
            assert!(parse("0").is_err_and(|e| e.starts_with(&range)));
        }
    }

    /// --threads takes 0 (automatic) to MAX_THREADS.
    #[test]
    fn thread_counts_are_bounded() {
        assert_bounded(super::threads, 0, super::MAX_THREADS);
    }

    /// --warm-block takes 1 to MAX_WARM_BLOCK.
    #[test]
    fn warm_blocks_are_bounded() {
        assert_bounded(super::warm_block, 1, super::batch::MAX_WARM_BLOCK);
    }

    /// `device` offers the options the firmware takes, not --threads or --reference.
    #[test]
    fn device_takes_no_thread_options() {
        use clap::Parser;
        let base = ["ualign", "device", "x.json", "--qemu", "--k", "2"];
        assert!(super::Cli::try_parse_from(base).is_ok());
        for extra in [["--threads", "2"].as_slice(), &["--reference"]] {
            let e = super::Cli::try_parse_from(base.iter().chain(extra)).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{extra:?}"
            );
        }
    }
}
