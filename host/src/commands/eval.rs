//! `ualign eval`.

use serde::Serialize;
use serde_json::Value;

use super::{EvalArgs, to_json};
use crate::analysis::{CertJson, certify_policy, check_k};
use crate::error::{Error, Result};
use crate::instance::{Instance, Store};

#[derive(Serialize)]
struct EvalReport {
    k: u32,
    n: usize,
    m: usize,
    candidates: Vec<String>,
    policy: Vec<f64>,
    certificate: CertJson,
}

/// Reads `--policy`: a JSON array, or a file holding an array or `solve`'s output.
pub fn read_policy(arg: &str, inst: &Instance) -> Result<Vec<f32>> {
    let (text, source) = if arg.trim_start().starts_with('[') {
        (arg.to_string(), "--policy".to_string())
    } else {
        let text = std::fs::read_to_string(arg)
            .map_err(|e| Error::in_file(arg, crate::formats::io_message(&e)))?;
        (text, arg.to_string())
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        let m = e.to_string();
        Error::in_file(
            &source,
            m.split(" at line ").next().unwrap_or(&m).to_string(),
        )
    })?;
    let arr = match &v {
        Value::Array(a) => a,
        Value::Object(o) => {
            if let Some(Value::Array(c)) = o.get("candidates") {
                let names: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
                if names.len() != c.len()
                    || names
                        != inst
                            .candidates
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                {
                    return Err(Error::in_file(
                        &source,
                        format!("its candidates do not match those of {}", inst.source),
                    ));
                }
            }
            match o.get("policy") {
                Some(Value::Array(a)) => a,
                _ => return Err(Error::in_file(&source, "no `policy` array")),
            }
        }
        _ => {
            return Err(Error::in_file(
                &source,
                "expected a JSON array of probabilities",
            ));
        }
    };
    arr.iter()
        .map(|x| {
            x.as_f64()
                .map(|f| f as f32)
                .ok_or_else(|| Error::in_file(&source, format!("policy entry {x} is not a number")))
        })
        .collect()
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
        policy: pi.iter().map(|&p| f64::from(p)).collect(),
        certificate: CertJson::new(&cert, &inst),
    })
}
