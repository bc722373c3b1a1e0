//! `ualign pick`.

use serde::Serialize;

use super::{PickArgs, to_json};
use crate::analysis::{CertJson, check_settings, seeded_picks, solve};
use crate::decimal::Masses;
use crate::error::{Error, Result};
use crate::instance::Store;

#[derive(Serialize)]
struct PickReport {
    k: u32,
    seed: u64,
    picks: Vec<String>,
    pick_indices: Vec<u16>,
    distinct: Vec<String>,
    distinct_indices: Vec<u16>,
    policy: Masses,
    certificate: CertJson,
}

/// Runs `pick`.
pub fn run(a: &PickArgs) -> Result<String> {
    let settings = a.solver.optimistic(a.picks.k);
    check_settings(&settings)?;
    let inst = a.picks.input.load()?;
    let mut store = Store::default();
    let pop = inst.population(&mut store)?;
    let sol = solve(&pop, &settings)?;
    let (drawn, unique) = seeded_picks(&sol.policy, a.picks.k, a.picks.seed)
        .map_err(|e| Error::internal(format!("sampling: {e}")))?;
    to_json(&PickReport {
        k: a.picks.k,
        seed: a.picks.seed,
        picks: drawn.iter().map(|&y| inst.name(y as usize)).collect(),
        pick_indices: drawn,
        distinct: unique.iter().map(|&y| inst.name(y as usize)).collect(),
        distinct_indices: unique,
        policy: Masses(sol.policy.clone()),
        certificate: CertJson::new(&sol.certificate, &inst),
    })
}
