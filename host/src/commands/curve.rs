//! `ualign curve`.

use super::{CurveArgs, to_json};
use crate::analysis::{Method, curve_table, curve_with};
use crate::error::{Error, Result};
use crate::instance::Store;
use crate::plot::{curves_svg, write_atomic};

/// Runs `curve`.
pub fn run(a: &CurveArgs) -> Result<String> {
    if a.k_max == 0 {
        return Err(Error::usage("--k-max 0: must be at least 1"));
    }
    let inst = a.input.load()?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    let settings = a.solver.settings(1, Method::Optimistic);
    let rows = curve_with(&inst, &pop, a.k_max, &settings)?;
    if let Some(path) = &a.svg {
        let title = a
            .input
            .file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| inst.source.clone());
        let svg = curves_svg(&[(title, rows.clone())])?;
        write_atomic(path, &svg)?;
        eprintln!("ualign: wrote {}", path.display());
    }
    if a.table {
        Ok(curve_table(&rows))
    } else {
        to_json(&rows)
    }
}
