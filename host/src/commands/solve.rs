//! `ualign solve`.

use super::{SolveArgs, to_json};
use crate::analysis::{check_settings, solve_report};
use crate::error::Result;
use crate::instance::Store;

/// Runs `solve`.
pub fn run(a: &SolveArgs) -> Result<String> {
    let settings = a.settings();
    check_settings(&settings)?;
    let inst = a.input.load()?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    to_json(&solve_report(&inst, &pop, &settings)?)
}
