//! `ualign solve`.

use serde::Serialize;

use super::{SolveArgs, to_json};
use crate::analysis::{Method, SolveReport, check_settings, report, solve};
use crate::error::{Error, Result};
use crate::explain::{ExplainRow, explain};
use crate::instance::Store;

/// The report with `explain` after its fields.
#[derive(Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    report: &'a SolveReport<'a>,
    explain: Vec<ExplainRow>,
}

/// Runs `solve`.
pub fn run(a: &SolveArgs) -> Result<String> {
    let settings = a.play.settings();
    check_settings(&settings)?;
    if a.explain && a.play.method == Method::Hedge {
        return Err(Error::usage(
            "--explain needs --method optimistic: hedge deploys the time mixture of its \
             iterates, not the printed policy",
        ));
    }
    let inst = a.input.load()?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    let sol = solve(&pop, &settings)?;
    let report = report(&inst, &pop, &settings, &sol)?;
    if a.explain {
        let explain = explain(&inst, &pop, &sol.policy, settings.k)?;
        to_json(&Explained {
            report: &report,
            explain,
        })
    } else {
        to_json(&report)
    }
}
