//! `ualign eval`.

use serde::{Deserialize, Serialize};

use super::{EvalArgs, to_json};
use crate::analysis::{CertJson, certify_policy, check_k, check_policy_input};
use crate::decimal::Masses;
use crate::error::{Error, Result};
use crate::instance::{Instance, Store};

#[derive(Serialize)]
struct EvalReport {
    k: u32,
    n: usize,
    m: usize,
    candidates: Vec<String>,
    policy: Masses,
    certificate: CertJson,
}

/// An object `--policy` reads (`solve`'s output, say): its policy, and the candidates it names,
/// when it names them. Other fields are passed over; a repeated `policy` or `candidates` and
/// candidates that are not an array of names are errors.
#[derive(Deserialize)]
struct PolicyObject {
    candidates: Option<Vec<String>>,
    policy: Vec<f64>,
    deployed: Option<String>,
}

/// Reads `--policy`: a JSON array given inline (text starting with `[`), or a file holding an
/// array or an object with a `policy` array (`solve`'s output), whose `candidates`, if present,
/// must be the instance's. The policy's checks (length, finite non-negative entries, a sum of 1)
/// name where it came from. A `[...]` that is also the name of a file is refused: `./NAME`
/// names the file.
pub fn read_policy(arg: &str, inst: &Instance) -> Result<Vec<f32>> {
    let inline = arg.trim_start().starts_with('[');
    if inline && std::path::Path::new(arg).exists() {
        return Err(Error::usage(format!(
            "--policy `{arg}` is both JSON text and a file's name: write `./{arg}` for the file"
        )));
    }
    let (text, source) = if inline {
        (arg.to_string(), "--policy".to_string())
    } else {
        let text = std::fs::read_to_string(arg)
            .map_err(|e| Error::in_file(arg, crate::formats::io_message(&e)))?;
        (text, arg.to_string())
    };
    // serde_json's message without its own " at line L column C", which the error places.
    let syntax = |e: serde_json::Error| {
        let m = e.to_string();
        let m = m.split(" at line ").next().unwrap_or(&m).to_string();
        if inline {
            Error::in_file(&source, format!("{m} (at column {})", e.column()))
        } else {
            Error::at(&source, e.line(), m)
        }
    };
    let policy: Vec<f64> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(&text).map_err(syntax)?,
        Some(b'{') => {
            let o: PolicyObject = serde_json::from_str(&text).map_err(syntax)?;
            if o.candidates.is_some_and(|c| c != inst.candidates) {
                return Err(Error::in_file(
                    &source,
                    format!("its candidates do not match those of {}", inst.source),
                ));
            }
            // `solve --method hedge` deploys the time mixture of its iterates (its
            // `certificate`), and its `policy` is their average, a different policy.
            if o.deployed.as_deref() == Some("time_mixture") {
                return Err(Error::in_file(
                    &source,
                    "its `deployed` is `time_mixture`: what it certifies is a draw from one of \
                     the dynamics' iterates, and its `policy` is their average, another policy; \
                     to certify the average, give its `policy` array on its own",
                ));
            }
            o.policy
        }
        _ => {
            return Err(Error::in_file(
                &source,
                "expected a JSON array of probabilities, or an object with a `policy` array",
            ));
        }
    };
    if let Some((i, p)) = policy
        .iter()
        .enumerate()
        .find(|&(_, &p)| p.is_finite() && p.abs() > f64::from(f32::MAX))
    {
        return Err(Error::in_file(
            &source,
            format!("entry {i} of the policy, {p:e}, is too large for an f32"),
        ));
    }
    // `-0.0` is 0 (and prints as `0.0`).
    let pi: Vec<f32> = policy.iter().map(|&p| p as f32 + 0.0).collect();
    check_policy_input(&pi, inst.n()).map_err(|e| Error::in_file(&source, e.message()))?;
    Ok(pi)
}

/// Runs `eval`.
pub fn run(a: &EvalArgs) -> Result<String> {
    check_k(a.k)?;
    let inst = a.input.load()?;
    let pi = read_policy(&a.policy, &inst)?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    let cert = certify_policy(&pop, &pi, a.k)?;
    to_json(&EvalReport {
        k: a.k,
        n: inst.n(),
        m: inst.m(),
        candidates: inst.candidates.clone(),
        policy: Masses(pi.clone()),
        certificate: CertJson::new(&cert, &inst),
    })
}
