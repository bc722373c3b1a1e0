//! `ualign._ualign`: the native half of the `ualign` Python package.
//!
//! A thin layer over the `ualign_host` library (input formats, instances, solving, the JSON
//! reports of the command line) and the `ualign` core crate. Every computation here is the one
//! the `ualign` command runs, so the package and the command give the same bits. The Python half
//! (`ualign/__init__.py`) turns array-likes into the plain values these functions take and
//! wraps their results in classes.
//!
//! Errors: bad input raises `ualign.InputError` (a `ValueError`) with the message the command
//! line prints after `ualign: `; anything else raises `ualign.InternalError`. Every entry point
//! runs under `catch_unwind`, so no Rust panic reaches Python as `PanicException`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::builder::{Float32Builder, Int32Builder, ListBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use arrow_data::ArrayData;
use arrow_pyarrow::{FromPyArrow, ToPyArrow};
use arrow_schema::{DataType, Field, Schema};
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use ualign_accel::route::{MAX_THREADS, cores};
use ualign_host::analysis::{
    self, CertJson, Method, Settings, certify_policy, check_k, check_policy_input, check_settings,
};
use ualign_host::formats::{self, Header, Options, Values};
use ualign_host::instance::{CAPACITY, Pop, check_weight};
use ualign_host::{Error, Format, Instance, Prefs, Store, UserType};

create_exception!(
    ualign,
    InputError,
    PyValueError,
    "Bad input: a malformed file, array or table, or an invalid option. The message is the one \
     the `ualign` command prints for the same problem."
);
create_exception!(
    ualign,
    InternalError,
    PyRuntimeError,
    "A defect in ualign (or an environment failure such as an unwritable output); please report \
     it."
);

/// What a panic becomes: the command line's words for it.
const PANIC: &str = "internal error (a panic; please report it)";

/// A host error as a Python exception: input errors with the command line's message.
fn py_err(e: Error) -> PyErr {
    match e {
        Error::Input { .. } => InputError::new_err(e.to_string()),
        Error::Internal(_) | Error::Unsupported(_) => InternalError::new_err(e.to_string()),
    }
}

/// Runs `f`, turning a panic into [`InternalError`].
fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(InternalError::new_err(PANIC)))
}

/// A parsed preference instance (the host's [`Instance`]); `ualign.Population` wraps one.
#[pyclass(frozen, module = "ualign._ualign", name = "NativePopulation")]
pub struct NativePopulation {
    inst: Instance,
}

#[pymethods]
impl NativePopulation {
    /// Number of candidates.
    #[getter]
    fn n(&self) -> usize {
        self.inst.n()
    }

    /// Number of user types (identical rankings merged into one).
    #[getter]
    fn m(&self) -> usize {
        self.inst.m()
    }

    /// Candidate names, in input order.
    #[getter]
    fn candidates(&self) -> Vec<String> {
        self.inst.candidates.clone()
    }

    /// The weight of every user type, as given (merged rankings: the sum).
    #[getter]
    fn weights(&self) -> Vec<f64> {
        self.inst.users.iter().map(|u| u.weight).collect()
    }

    /// Where the instance came from: a file name, `scores` or `rankings`.
    #[getter]
    fn source(&self) -> String {
        self.inst.source.clone()
    }
}

impl NativePopulation {
    /// Builds the core population and runs `f` on it.
    fn with_pop<T>(&self, f: impl FnOnce(&Pop<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let mut store = Store::default();
        let pop = self.inst.population(&mut store)?;
        f(&pop)
    }
}

/// Checks weights (one per user type) with messages naming `weights[j]`.
fn check_weights(weights: &[f64], m: usize, rows: &str) -> Result<(), String> {
    if weights.len() != m {
        return Err(format!(
            "weights has {} entries for {m} {rows}",
            weights.len()
        ));
    }
    for (j, &w) in weights.iter().enumerate() {
        check_weight(w).map_err(|e| format!("weights[{j}]: {e}"))?;
    }
    if !weights.iter().any(|&w| w > 0.0) {
        return Err("empty population: all weights are zero".into());
    }
    Ok(())
}

/// Checks candidate names: `n` of them, none listed twice.
fn check_names(names: &[String], n: usize, what: &str) -> Result<(), String> {
    if names.len() != n {
        return Err(format!(
            "candidates has {} names for {n} {what}",
            names.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for c in names {
        if !seen.insert(c.as_str()) {
            return Err(format!("candidates: \"{c}\" listed twice"));
        }
    }
    Ok(())
}

/// `c1, c2, ...`: the names the score-table reader gives columns without a header.
fn default_names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("c{i}")).collect()
}

/// An instance of `m` score rows of `n` (row-major in `values`), with messages naming
/// `scores[j][y]` and `weights[j]`.
fn scores_instance(
    values: &[f64],
    m: usize,
    n: usize,
    weights: Option<&[f64]>,
    candidates: Option<Vec<String>>,
) -> Result<Instance, String> {
    if m == 0 {
        return Err("empty population: scores has no rows".into());
    }
    if n == 0 {
        return Err("no candidates: the rows of scores are empty".into());
    }
    if n > CAPACITY {
        return Err(format!("{n} candidates exceed the capacity of {CAPACITY}"));
    }
    if m.checked_mul(n) != Some(values.len()) {
        return Err(format!(
            "scores: {} values for {m} rows of {n}",
            values.len()
        ));
    }
    let candidates = match candidates {
        Some(c) => {
            check_names(&c, n, "columns of scores")?;
            c
        }
        None => default_names(n),
    };
    if let Some(w) = weights {
        check_weights(w, m, "rows of scores")?;
    }
    let mut users = Vec::with_capacity(m);
    for (j, row) in values.chunks_exact(n).enumerate() {
        if let Some(y) = row.iter().position(|x| !x.is_finite()) {
            return Err(format!("scores[{j}][{y}] is not finite"));
        }
        users.push(UserType {
            weight: weights.and_then(|w| w.get(j).copied()).unwrap_or(1.0),
            prefs: Prefs::Scores(row.to_vec()),
            line: j + 1,
        });
    }
    let inst = Instance {
        source: "scores".into(),
        candidates,
        users,
    };
    inst.validate().map_err(|e| e.message().to_string())?;
    Ok(inst)
}

/// A population from `m` rows of `n` scores (`data`: native-endian `f64`, row-major).
#[pyfunction]
#[pyo3(signature = (data, m, n, weights=None, candidates=None))]
fn population_from_scores(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    m: usize,
    n: usize,
    weights: Option<Vec<f64>>,
    candidates: Option<Vec<String>>,
) -> PyResult<NativePopulation> {
    guard(|| {
        // The bytes object is immutable and `data` keeps it alive while the GIL is released.
        let bytes = data.as_bytes();
        let inst = py
            .detach(|| {
                let values: Vec<f64> = bytes
                    .chunks_exact(8)
                    .map(|b| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        f64::from_ne_bytes(a)
                    })
                    .collect();
                scores_instance(&values, m, n, weights.as_deref(), candidates)
            })
            .map_err(InputError::new_err)?;
        Ok(NativePopulation { inst })
    })
}

/// A population from rankings already turned into tie groups of candidate indices, best first.
/// Identical rankings are merged, as the JSON reader does.
#[pyfunction]
#[pyo3(signature = (rankings, candidates, weights=None))]
fn population_from_rankings(
    py: Python<'_>,
    rankings: Vec<Vec<Vec<usize>>>,
    candidates: Vec<String>,
    weights: Option<Vec<f64>>,
) -> PyResult<NativePopulation> {
    guard(|| {
        let m = rankings.len();
        let n = candidates.len();
        let checked = py.detach(|| -> Result<Instance, String> {
            if m == 0 {
                return Err("empty population: rankings is empty".into());
            }
            if n == 0 {
                return Err("no candidates".into());
            }
            if n > CAPACITY {
                return Err(format!("{n} candidates exceed the capacity of {CAPACITY}"));
            }
            check_names(&candidates, n, "candidates")?;
            if let Some(w) = &weights {
                check_weights(w, m, "rankings")?;
            }
            let mut users = Vec::with_capacity(m);
            for (j, groups) in rankings.into_iter().enumerate() {
                let mut seen = vec![false; n];
                let mut out = Vec::with_capacity(groups.len());
                for g in groups {
                    let mut og = Vec::with_capacity(g.len());
                    for c in g {
                        match seen.get_mut(c) {
                            None => return Err(format!("rankings[{j}]: unknown candidate {c}")),
                            Some(s) if *s => {
                                return Err(format!(
                                    "rankings[{j}]: candidate \"{}\" ranked twice",
                                    candidates.get(c).map_or("?", String::as_str)
                                ));
                            }
                            Some(s) => *s = true,
                        }
                        og.push(u16::try_from(c).map_err(|_| "too many candidates".to_string())?);
                    }
                    out.push(og);
                }
                users.push(UserType {
                    weight: weights
                        .as_ref()
                        .and_then(|w| w.get(j).copied())
                        .unwrap_or(1.0),
                    prefs: Prefs::Ranking(out),
                    line: j + 1,
                });
            }
            let mut inst = Instance {
                source: "rankings".into(),
                candidates,
                users,
            };
            inst.merge_duplicate_rankings();
            inst.validate().map_err(|e| e.message().to_string())?;
            Ok(inst)
        });
        let inst = checked.map_err(InputError::new_err)?;
        Ok(NativePopulation { inst })
    })
}

/// The format named `name` (as `--format` takes it).
fn format_named(name: &str) -> Result<Format, Error> {
    match name.to_ascii_lowercase().as_str() {
        "preflib" => Ok(Format::Preflib),
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        "table" => Ok(Format::Table),
        _ => Err(Error::usage(format!(
            "invalid value '{name}' for '--format <FORMAT>': use preflib, json, csv or table"
        ))),
    }
}

/// What a score table's numbers are, named `name` (`values=`, the command's `--values`).
fn values_named(name: &str) -> Result<Values, Error> {
    match name {
        "scores" => Ok(Values::Scores),
        "ranks" => Ok(Values::Ranks),
        _ => Err(Error::usage(format!(
            "values {name:?}: use \"scores\" (higher is better) or \"ranks\" (1 is best)"
        ))),
    }
}

/// Whether a score table's first row names its candidates, named `name` (`header=`, the
/// command's `--header`).
fn header_named(name: &str) -> Result<Header, Error> {
    match name {
        "first-row" => Ok(Header::FirstRow),
        "none" => Ok(Header::None),
        _ => Err(Error::usage(format!(
            "header {name:?}: use \"first-row\" (it names the candidates) or \"none\" (no header)"
        ))),
    }
}

/// A reader's error in the words of `ualign.read`: the command's `--values`, `--header` and
/// `--format` flags are the `values=`, `header=` and `format=` arguments here.
fn read_err(e: Error) -> PyErr {
    match e {
        Error::Input {
            file,
            line,
            message,
        } => {
            let mut message = message
                .replace("say --values ranks", "pass values=\"ranks\"")
                .replace("or --values scores", "or values=\"scores\"")
                .replace(
                    "--values applies to score tables (--format csv or table)",
                    "values applies to score tables (format=\"csv\" or \"table\")",
                )
                .replace("say --header first-row", "pass header=\"first-row\"")
                .replace("or --header none", "or header=\"none\"")
                .replace(
                    "--header applies to score tables (--format csv or table)",
                    "header applies to score tables (format=\"csv\" or \"table\")",
                )
                .replace(
                    "--format preflib|json|csv|table",
                    "format=\"preflib\", \"json\", \"csv\" or \"table\"",
                );
            for name in ["preflib", "json", "csv", "table"] {
                message =
                    message.replace(&format!("--format {name}"), &format!("format=\"{name}\""));
            }
            py_err(Error::Input {
                file,
                line,
                message,
            })
        }
        e => py_err(e),
    }
}

/// Reads a file in any format the command line reads (the format from `format` or else the
/// extension; a score table's numbers as `values` says, as `--values` does, and its header as
/// `header` says, as `--header` does).
#[pyfunction]
#[pyo3(signature = (path, format=None, values=None, header=None))]
fn read(
    py: Python<'_>,
    path: std::path::PathBuf,
    format: Option<String>,
    values: Option<String>,
    header: Option<String>,
) -> PyResult<NativePopulation> {
    guard(|| {
        let format = format
            .as_deref()
            .map(format_named)
            .transpose()
            .map_err(py_err)?;
        let opts = Options {
            values: values
                .as_deref()
                .map(values_named)
                .transpose()
                .map_err(py_err)?,
            header: header
                .as_deref()
                .map(header_named)
                .transpose()
                .map_err(py_err)?,
        };
        let inst = py
            .detach(|| formats::load_with(&path, format, &opts).map(formats::report))
            .map_err(read_err)?;
        Ok(NativePopulation { inst })
    })
}

/// The method named `name` (as `--method` takes it).
fn method_named(name: &str) -> Result<Method, Error> {
    match name {
        "optimistic" => Ok(Method::Optimistic),
        "hedge" => Ok(Method::Hedge),
        _ => Err(Error::usage(format!(
            "invalid value '{name}' for '--method <METHOD>': use optimistic or hedge"
        ))),
    }
}

/// JSON text of a value (the command line's serialiser).
fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("JSON output: {e}")))
}

/// Checks a warm start over `n` candidates (`n` finite, non-negative masses with a positive
/// sum, as `ualign::solver::optimistic_hedge_warm` takes them) for `method`; returns it as `f32`
/// (scaled first when its entries are beyond `f32`'s range).
fn warm_start(start: &[f64], n: usize, method: Method) -> Result<Vec<f32>, Error> {
    if method != Method::Optimistic {
        return Err(Error::usage(
            "start applies to method=\"optimistic\" (Hedge takes no start)",
        ));
    }
    if start.len() != n {
        return Err(Error::usage(format!(
            "the start has {} entries, the instance has {n} candidates",
            start.len()
        )));
    }
    if start.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return Err(Error::usage("the start needs finite, non-negative entries"));
    }
    let max = start.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return Err(Error::usage("the start sums to 0"));
    }
    let plain: Vec<f32> = start.iter().map(|&p| p as f32).collect();
    if plain.iter().all(|p| p.is_finite()) && plain.iter().any(|&p| p > 0.0) {
        // As `ualign batch` passes a policy on: the same bits.
        return Ok(plain);
    }
    // Beyond `f32`'s range (1e300 overflows, 1e-50 rounds to 0): only the start's direction
    // matters (core normalises it by its sum), so scale it in `f64` to a largest entry of 1.
    Ok(start.iter().map(|&p| (p / max) as f32).collect())
}

/// Solves: returns the `solve` report as JSON text (exactly what `ualign solve` prints), the
/// policy's `f32` masses, and the route (`margins`, `tally` or `population`). With `start`,
/// optimistic Hedge starts from it (a warm start; the margin matrix's simplex ignores it).
#[pyfunction]
#[pyo3(signature = (pop, k, eps, max_iter, method, threads, reference, start=None))]
#[allow(clippy::too_many_arguments)]
fn solve(
    py: Python<'_>,
    pop: &NativePopulation,
    k: u32,
    eps: f32,
    max_iter: u32,
    method: &str,
    threads: usize,
    reference: bool,
    start: Option<Vec<f64>>,
) -> PyResult<(String, Vec<f32>, &'static str)> {
    guard(|| {
        let method = method_named(method).map_err(py_err)?;
        let mut settings = Settings::new(k, method);
        settings.eps = eps;
        settings.max_iter = max_iter;
        check_threads(threads)?;
        settings.threads = threads;
        settings.reference = reference;
        py.detach(|| {
            check_settings(&settings)?;
            pop.with_pop(|p| {
                let start = start
                    .as_deref()
                    .map(|s| warm_start(s, p.n(), method))
                    .transpose()?;
                let sol = analysis::solve_from(p, &settings, start.as_deref())?;
                let report = analysis::report(&pop.inst, p, &settings, &sol)?;
                Ok((json(&report)?, sol.policy, sol.route.sum.name()))
            })
        })
        .map_err(py_err)
    })
}

/// The policy as `f32`, as `ualign eval` reads `--policy` (each number rounded to `f32`).
fn policy_f32(policy: &[f64]) -> Vec<f32> {
    policy.iter().map(|&p| p as f32).collect()
}

/// Certifies a policy: the `certificate` object of `ualign eval`, as JSON text.
#[pyfunction]
fn certify(py: Python<'_>, pop: &NativePopulation, policy: Vec<f64>, k: u32) -> PyResult<String> {
    guard(|| {
        let pi = policy_f32(&policy);
        py.detach(|| {
            check_k(k)?;
            pop.with_pop(|p| json(&CertJson::new(&certify_policy(p, &pi, k)?, &pop.inst)))
        })
        .map_err(py_err)
    })
}

/// The share `g(y)` of every candidate against `k` draws from the policy (renormalised in `f64`
/// as `certify` does), by the population's oracle.
#[pyfunction]
fn shares(py: Python<'_>, pop: &NativePopulation, policy: Vec<f64>, k: u32) -> PyResult<Vec<f32>> {
    guard(|| {
        let pi = policy_f32(&policy);
        py.detach(|| {
            check_k(k)?;
            pop.with_pop(|p| {
                let sum = check_policy_input(&pi, p.n())?;
                let pi: Vec<f32> = pi.iter().map(|&x| (x as f64 / sum) as f32).collect();
                let mut g = vec![0.0f32; p.n()];
                ualign::share::shares(p, &pi, k, &mut g).map_err(Error::internal)?;
                Ok(g)
            })
        })
        .map_err(py_err)
    })
}

/// The test-time scaling table of `ualign curve`, as JSON text.
#[pyfunction]
fn curve(
    py: Python<'_>,
    pop: &NativePopulation,
    k_max: u32,
    eps: f32,
    max_iter: u32,
) -> PyResult<String> {
    guard(|| {
        let mut settings = Settings::new(1, Method::Optimistic);
        settings.eps = eps;
        settings.max_iter = max_iter;
        py.detach(|| {
            if k_max == 0 {
                return Err(Error::usage("--k-max 0: must be at least 1"));
            }
            pop.with_pop(|p| json(&analysis::curve_with(&pop.inst, p, k_max, &settings)?))
        })
        .map_err(py_err)
    })
}

/// Refuses a policy longer than core's [`ualign::MAX_CANDIDATES`], the most candidates a draw
/// can name (core's message would call it invalid).
fn check_pick_len(len: usize) -> Result<(), Error> {
    if len > ualign::MAX_CANDIDATES {
        return Err(Error::usage(format!(
            "the policy has {len} entries: pick draws from at most {} candidates \
             (MAX_CANDIDATES)",
            ualign::MAX_CANDIDATES
        )));
    }
    Ok(())
}

/// `k` draws from the policy with the seeded Xoshiro128++ generator of `ualign pick`.
#[pyfunction]
fn pick(py: Python<'_>, policy: Vec<f64>, k: u32, seed: u64) -> PyResult<Vec<u16>> {
    guard(|| {
        py.detach(|| {
            check_k(k)?;
            if policy.is_empty() {
                return Err(Error::usage("the policy is empty"));
            }
            check_pick_len(policy.len())?;
            let pi = policy_f32(&policy);
            check_policy_input(&pi, pi.len())?;
            let (drawn, _) =
                analysis::seeded_picks(&pi, k, seed).map_err(|e| Error::usage(e.to_string()))?;
            Ok(drawn)
        })
        .map_err(py_err)
    })
}

/// The rows of `solve --explain` for a policy, as JSON text.
#[pyfunction]
fn explain(py: Python<'_>, pop: &NativePopulation, policy: Vec<f64>, k: u32) -> PyResult<String> {
    guard(|| {
        let pi = policy_f32(&policy);
        py.detach(|| {
            check_k(k)?;
            pop.with_pop(|p| json(&ualign_host::explain::explain(&pop.inst, p, &pi, k)?))
        })
        .map_err(py_err)
    })
}

/// One solved row of a batch.
struct RowOut {
    policy: Vec<f32>,
    worst_case_win_rate: f64,
    exploitability: f64,
    iterations: u32,
    converged: bool,
    picks: Option<Vec<i32>>,
}

/// The `list<float64>` value of `list` at `i`, or `None` when the list is null.
fn floats_at(list: &ListArray, i: usize) -> Result<Option<Float64Array>, String> {
    if list.is_null(i) {
        return Ok(None);
    }
    let v = list.value(i);
    v.as_any()
        .downcast_ref::<Float64Array>()
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("expected float values, found {}", v.data_type()))
}

/// Solves row `i` of a batch.
fn batch_row(
    scores: &ListArray,
    weights: Option<&ListArray>,
    i: usize,
    settings: &Settings,
    seed: Option<u64>,
) -> Result<RowOut, String> {
    if scores.is_null(i) {
        return Err("scores is null".into());
    }
    let rows = scores.value(i);
    let rows = rows.as_any().downcast_ref::<ListArray>().ok_or_else(|| {
        format!(
            "scores: expected a list of lists, found {}",
            rows.data_type()
        )
    })?;
    let m = rows.len();
    let mut n = 0;
    let mut values = Vec::new();
    for r in 0..m {
        let row = floats_at(rows, r)?.ok_or_else(|| format!("scores[{r}] is null"))?;
        if r == 0 {
            n = row.len();
            values.reserve(m.saturating_mul(n));
        } else if row.len() != n {
            return Err(format!(
                "scores[{r}] has {} entries, scores[0] has {n}",
                row.len()
            ));
        }
        if let Some(y) = (0..row.len()).find(|&y| row.is_null(y)) {
            return Err(format!("scores[{r}][{y}] is null"));
        }
        values.extend_from_slice(row.values());
    }
    let w = match weights {
        Some(list) => match floats_at(list, i)? {
            Some(w) => {
                if let Some(j) = (0..w.len()).find(|&j| w.is_null(j)) {
                    return Err(format!("weights[{j}] is null"));
                }
                Some(w.values().to_vec())
            }
            None => None,
        },
        None => None,
    };
    let inst = scores_instance(&values, m, n, w.as_deref(), None)?;
    let mut store = Store::default();
    let pop = inst
        .population(&mut store)
        .map_err(|e| e.message().to_string())?;
    let sol = analysis::solve(&pop, settings).map_err(|e| e.message().to_string())?;
    let picks = match seed {
        Some(seed) => {
            let (drawn, _) = analysis::seeded_picks(&sol.policy, settings.k, seed)
                .map_err(|e| format!("sampling: {e}"))?;
            Some(drawn.iter().map(|&y| i32::from(y)).collect())
        }
        None => None,
    };
    let cert = CertJson::new(&sol.certificate, &inst);
    Ok(RowOut {
        worst_case_win_rate: cert.worst_case_win_rate,
        exploitability: cert.exploitability,
        iterations: sol.iterations,
        converged: sol.converged,
        policy: sol.policy,
        picks,
    })
}

/// Solves every row on `threads` threads (rows handed out in small chunks, in order); each row
/// under `catch_unwind`.
fn batch_rows(
    scores: &ListArray,
    weights: Option<&ListArray>,
    settings: &Settings,
    seed: Option<u64>,
    threads: usize,
) -> Vec<Result<RowOut, String>> {
    let rows = scores.len();
    let chunk = (rows / (threads * 16)).clamp(1, 64);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        loop {
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= rows {
                break;
            }
            for i in start..(start + chunk).min(rows) {
                let r = catch_unwind(AssertUnwindSafe(|| {
                    batch_row(scores, weights, i, settings, seed)
                }))
                .unwrap_or_else(|_| Err(PANIC.to_string()));
                out.push((i, r));
            }
        }
        out
    };
    let mut results: Vec<Option<Result<RowOut, String>>> = (0..rows).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
            .collect();
        let mine = work();
        let theirs = handles.into_iter().filter_map(|h| h.join().ok()).flatten();
        for (i, r) in mine.into_iter().chain(theirs) {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("internal error: not processed".into())))
        .collect()
}

/// The output columns of `solve_batch`, in order.
fn batch_schema() -> Schema {
    let list = |t: DataType| DataType::List(Arc::new(Field::new("item", t, true)));
    Schema::new(vec![
        Field::new("policy", list(DataType::Float32), true),
        Field::new("worst_case_win_rate", DataType::Float64, true),
        Field::new("exploitability", DataType::Float64, true),
        Field::new("iterations", DataType::Int64, true),
        Field::new("converged", DataType::Boolean, true),
        Field::new("picks", list(DataType::Int32), true),
        Field::new("error", DataType::Utf8, true),
    ])
}

/// The results as a record batch of [`batch_schema`].
fn batch_output(results: &[Result<RowOut, String>]) -> Result<RecordBatch, Error> {
    let mut policy = ListBuilder::new(Float32Builder::new());
    let mut picks = ListBuilder::new(Int32Builder::new());
    for r in results {
        match r {
            Ok(o) => {
                policy.values().append_slice(&o.policy);
                policy.append(true);
                match &o.picks {
                    Some(p) => {
                        picks.values().append_slice(p);
                        picks.append(true);
                    }
                    None => picks.append(false),
                }
            }
            Err(_) => {
                policy.append(false);
                picks.append(false);
            }
        }
    }
    let ok = |f: &dyn Fn(&RowOut) -> f64| -> Float64Array {
        results.iter().map(|r| r.as_ref().ok().map(f)).collect()
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(policy.finish()),
        Arc::new(ok(&|o| o.worst_case_win_rate)),
        Arc::new(ok(&|o| o.exploitability)),
        Arc::new(
            results
                .iter()
                .map(|r| r.as_ref().ok().map(|o| i64::from(o.iterations)))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            results
                .iter()
                .map(|r| r.as_ref().ok().map(|o| o.converged))
                .collect::<BooleanArray>(),
        ),
        Arc::new(picks.finish()),
        Arc::new(
            results
                .iter()
                .map(|r| r.as_ref().err().map(String::as_str))
                .collect::<StringArray>(),
        ),
    ];
    RecordBatch::try_new(Arc::new(batch_schema()), columns)
        .map_err(|e| Error::internal(format!("output batch: {e}")))
}

/// Imports a pyarrow array of type `want` (named `what` in messages).
fn list_column(obj: &Bound<'_, PyAny>, want: &DataType, what: &str) -> PyResult<ListArray> {
    let data = ArrayData::from_pyarrow_bound(obj)?;
    if data.data_type() != want {
        return Err(InputError::new_err(format!(
            "{what} has type {}, expected {want}",
            data.data_type()
        )));
    }
    Ok(ListArray::from(data))
}

/// Solves every row of `scores` (`list<list<float64>>`, with optional `weights`,
/// `list<float64>`); returns the output columns as a pyarrow `RecordBatch`.
#[pyfunction]
#[pyo3(signature = (scores, weights, k, eps, max_iter, seed, threads))]
#[allow(clippy::too_many_arguments)]
fn solve_batch<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyAny>,
    weights: Option<&Bound<'py, PyAny>>,
    k: u32,
    eps: f32,
    max_iter: u32,
    seed: Option<u64>,
    threads: usize,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let mut settings = Settings::new(k, Method::Optimistic);
        settings.eps = eps;
        settings.max_iter = max_iter;
        check_settings(&settings).map_err(py_err)?;
        let float = |name: &str| Arc::new(Field::new(name, DataType::Float64, true));
        let inner = DataType::List(float("item"));
        let outer = DataType::List(Arc::new(Field::new("item", inner.clone(), true)));
        let scores = list_column(scores, &outer, "scores")?;
        let weights = weights
            .map(|w| list_column(w, &inner, "weights"))
            .transpose()?;
        if let Some(w) = &weights
            && w.len() != scores.len()
        {
            return Err(InputError::new_err(format!(
                "weights has {} rows, scores has {}",
                w.len(),
                scores.len()
            )));
        }
        check_threads(threads)?;
        // As `ualign batch --threads`: every thread counts, as many rows at once as there are
        // threads (at most one per row), and each row's share of them for its own solve (the
        // answers do not depend on either).
        let budget = match threads {
            0 => cores(),
            t => t,
        }
        .max(1);
        let workers = budget.min(scores.len().max(1));
        match threads {
            0 => settings.cores = (budget / workers).max(1),
            _ => settings.threads = (budget / workers).max(1),
        }
        let threads = workers;
        let results = py.detach(|| batch_rows(&scores, weights.as_ref(), &settings, seed, threads));
        batch_output(&results).map_err(py_err)?.to_pyarrow(py)
    })
}

/// `threads` as `ualign --threads` takes it: at most [`MAX_THREADS`] (0: every core).
fn check_threads(threads: usize) -> PyResult<()> {
    if threads > MAX_THREADS {
        return Err(InputError::new_err(format!(
            "threads {threads}: must be at most {MAX_THREADS} (0: one per core)"
        )));
    }
    Ok(())
}

/// The native module.
#[pymodule]
fn _ualign(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add("InternalError", m.py().get_type::<InternalError>())?;
    m.add("MAX_K", ualign::MAX_K)?;
    m.add("CAPACITY", CAPACITY)?;
    m.add("MAX_THREADS", MAX_THREADS)?;
    m.add(
        "WEIGHT_COLUMN_NAMES",
        formats::table::WEIGHT_COLUMN_NAMES.to_vec(),
    )?;
    m.add("MAX_CANDIDATES", ualign::MAX_CANDIDATES)?;
    m.add_class::<NativePopulation>()?;
    m.add_function(wrap_pyfunction!(population_from_scores, m)?)?;
    m.add_function(wrap_pyfunction!(population_from_rankings, m)?)?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(certify, m)?)?;
    m.add_function(wrap_pyfunction!(shares, m)?)?;
    m.add_function(wrap_pyfunction!(curve, m)?)?;
    m.add_function(wrap_pyfunction!(pick, m)?)?;
    m.add_function(wrap_pyfunction!(explain, m)?)?;
    m.add_function(wrap_pyfunction!(solve_batch, m)?)?;
    Ok(())
}
