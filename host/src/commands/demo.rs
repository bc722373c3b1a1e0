//! `ualign demo`: built-in instances, no files needed.

use rand_xoshiro::{Xoshiro128PlusPlus, rand_core::SeedableRng};
use serde::Serialize;
use ualign::{Population, Storage, synthetic};

use super::{DemoArgs, to_json};
use crate::analysis::{CurveRow, curve, curve_table};
use crate::error::{Error, Result};
use crate::instance::{CAPACITY, Instance, Prefs, Store, UserType};
use crate::plot::{curves_svg, write_atomic};

fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            u8::try_from(i)
                .ok()
                .filter(|&b| b < 26)
                .map(|b| char::from(b'a' + b).to_string())
                .unwrap_or_else(|| format!("y{i}"))
        })
        .collect()
}

/// An instance from strict rankings with weights.
pub fn from_rankings(source: &str, n: usize, users: &[(f64, &[u16])]) -> Instance {
    Instance {
        source: source.to_string(),
        candidates: names(n),
        users: users
            .iter()
            .enumerate()
            .map(|(j, (w, r))| UserType {
                weight: *w,
                prefs: Prefs::Ranking(r.iter().map(|&c| vec![c]).collect()),
                line: j + 1,
            })
            .collect(),
    }
}

/// docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
pub fn majority_minority() -> Instance {
    from_rankings(
        "majority/minority",
        3,
        &[(0.6, &[0, 2, 1]), (0.4, &[1, 2, 0])],
    )
}

/// A Condorcet winner `a` that 48% of users rank below `b` (and 48% below `c`).
pub fn condorcet_winner() -> Instance {
    from_rankings(
        "Condorcet winner",
        4,
        &[
            (0.30, &[0, 1, 2, 3]),
            (0.22, &[0, 3, 2, 1]),
            (0.28, &[1, 2, 3, 0]),
            (0.20, &[2, 1, 0, 3]),
        ],
    )
}

/// A Mallows population around `a > b > ...` from `ualign::synthetic`.
pub fn mallows(n: usize, m: usize, phi: f32, seed: u64) -> Result<Instance> {
    let mut w = vec![0.0f32; m];
    let mut o = vec![0u16; m * n];
    let core = |e: ualign::Error| Error::internal(format!("synthetic population: {e}"));
    let mut b = Population::<CAPACITY>::builder(n, Storage::new(&mut w, &mut o)).map_err(core)?;
    synthetic::mallows(&mut b, m, phi, &mut Xoshiro128PlusPlus::seed_from_u64(seed))
        .map_err(core)?;
    let pop = b.finish().map_err(core)?;
    let mut users = Vec::with_capacity(m);
    for j in 0..pop.m() {
        let mut groups: Vec<Vec<u16>> = Vec::new();
        let mut tie_prev = false;
        for (c, tie_next) in pop.order(j).into_iter().flatten() {
            let c = u16::try_from(c).map_err(|_| Error::internal("candidate index"))?;
            match groups.last_mut() {
                Some(g) if tie_prev => g.push(c),
                _ => groups.push(vec![c]),
            }
            tie_prev = tie_next;
        }
        users.push(UserType {
            weight: 1.0,
            prefs: Prefs::Ranking(groups),
            line: j + 1,
        });
    }
    let mut inst = Instance {
        source: format!("Mallows (n={n}, m={m}, phi={phi})"),
        candidates: names(n),
        users,
    };
    inst.merge_duplicate_rankings();
    Ok(inst)
}

#[derive(Serialize)]
struct DemoPanel {
    instance: String,
    rows: Vec<CurveRow>,
}

/// Runs `demo`.
pub fn run(a: &DemoArgs) -> Result<String> {
    crate::analysis::check_k(a.k_max).map_err(|_| {
        Error::usage(format!(
            "--k-max {}: must be in 1..={}",
            a.k_max,
            ualign::MAX_K
        ))
    })?;
    let instances = [
        majority_minority(),
        condorcet_winner(),
        mallows(8, 1000, 0.9, 7)?,
    ];
    let mut panels = Vec::new();
    for inst in &instances {
        let mut store = Store::default();
        let pop = inst.population(&mut store)?;
        panels.push((
            inst.source.clone(),
            curve(inst, &pop, a.k_max, 1e-4, 10_000)?,
        ));
    }
    let svg = curves_svg(&panels)?;
    write_atomic(&a.svg, &svg)?;
    eprintln!("ualign: wrote {}", a.svg.display());
    if a.json {
        let out: Vec<DemoPanel> = panels
            .into_iter()
            .map(|(instance, rows)| DemoPanel { instance, rows })
            .collect();
        return to_json(&out);
    }
    let mut s = String::from(
        "Worst-case win rate of showing k responses, against any single rival response.\n\
         NLHF (the k = 1 equilibrium) sampled k times stays where it is; the k-aware equilibrium\n\
         climbs to the bound k/(k+1).\n",
    );
    for (title, rows) in &panels {
        s.push('\n');
        s.push_str(title);
        s.push('\n');
        s.push_str(&curve_table(rows));
    }
    Ok(s)
}
