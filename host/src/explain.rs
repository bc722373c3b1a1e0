//! Who a policy serves: for every user type, the chance that its favourite is among the `k`
//! responses shown, and its own win rate against the certificate's worst opponent.
//!
//! The certificate (docs/maths.md §2) is a weighted average over user types: the worst-case win
//! rate `1 - g(y*)` is `sum_j (w_j / W) (1 - g_j(y*))`. One row per type splits that average, so a
//! policy that serves the majority well and a minority badly shows it. `solve --explain` and the
//! Python package's `explain` both call [`explain`].

use serde::Serialize;

use crate::analysis::certify_policy;
use crate::error::Result;
use crate::instance::{Instance, Pop};

/// One user type's view of `k` draws from a policy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExplainRow {
    /// The user type (0-based, in the order of the instance's user types).
    pub user: usize,
    /// Its share of the population (the normalised weight the computation uses).
    pub weight: f64,
    /// Its favourite candidates: its top tie class, by name, in its order.
    pub favourite: Vec<String>,
    /// The probability that at least one of the `k` draws is a favourite: `1 - (1 - c)^k`, with
    /// `c` the policy's mass on the top tie class.
    pub favourite_shown: f64,
    /// Its win rate against the worst opponent `y*` of the certificate: `1 - g_j(y*)`, the
    /// probability that this user type's pick (docs/maths.md §1) is not the opponent's slot.
    pub win_rate: f64,
}

/// The rows of `explain` for `k` draws from `policy` on `pop` (built from `inst`). The policy is
/// checked and renormalised as `eval` does; the worst opponent is its certificate's. Masses and
/// sums are in `f64`.
pub fn explain(inst: &Instance, pop: &Pop<'_>, policy: &[f32], k: u32) -> Result<Vec<ExplainRow>> {
    let cert = certify_policy(pop, policy, k)?;
    let sum: f64 = policy.iter().map(|&p| p as f64).sum();
    let pi: Vec<f64> = policy.iter().map(|&p| p as f64 / sum).collect();
    let mass = |y: usize| pi.get(y).copied().unwrap_or(0.0);
    let worst = cert.worst_opponent;
    let mut rows = Vec::with_capacity(inst.m());
    // The population's first user type of each of the instance's (a count split into several,
    // `Instance::population_rows`, has one row here, with the parts' weights added).
    let mut first = 0usize;
    for (user, parts) in inst.population_rows().enumerate() {
        let j = first;
        first = first.saturating_add(parts);
        let weight: f64 = (j..first)
            .filter_map(|r| pop.weight(r))
            .map(f64::from)
            .sum();
        let order: Vec<(usize, bool)> = pop.order(j).map(Iterator::collect).unwrap_or_default();
        // Tie classes, best first: (first position, one past the last).
        let mut classes = Vec::new();
        let mut start = 0;
        for (pos, &(_, tie_next)) in order.iter().enumerate() {
            if !tie_next {
                classes.push(start..pos + 1);
                start = pos + 1;
            }
        }
        let class_mass = |r: &std::ops::Range<usize>| -> f64 {
            order
                .get(r.clone())
                .map_or(0.0, |c| c.iter().map(|&(y, _)| mass(y)).sum())
        };
        let top = classes.first().cloned().unwrap_or(0..0);
        let c_top = class_mass(&top).min(1.0);
        let favourite = order
            .get(top)
            .map(|c| c.iter().map(|&(y, _)| inst.name(y)).collect())
            .unwrap_or_default();
        // The worst opponent's class: its mass c and the mass b strictly below it.
        let (mut b, mut c) = (0.0f64, 0.0f64);
        for (i, class) in classes.iter().enumerate() {
            let holds = order
                .get(class.clone())
                .is_some_and(|cl| cl.iter().any(|&(y, _)| y == worst));
            if holds {
                c = class_mass(class);
                b = classes
                    .get(i + 1..)
                    .map_or(0.0, |rest| rest.iter().map(&class_mass).sum());
                break;
            }
        }
        rows.push(ExplainRow {
            user,
            weight,
            favourite,
            favourite_shown: 1.0 - (1.0 - c_top).powi(k.min(i32::MAX as u32) as i32),
            win_rate: 1.0 - share(b.min(1.0), c.min(1.0), k),
        });
    }
    Ok(rows)
}

/// `g_j(y) = (1/(k+1)) sum_{i=0..k} (b+c)^i b^(k-i)` (docs/maths.md §2) by the recurrence
/// `s_0 = 1`, `s_i = (b+c) s_{i-1} + b^i`: no cancellation, no division by `c`.
fn share(b: f64, c: f64, k: u32) -> f64 {
    let a = (b + c).min(1.0);
    let (mut s, mut bi) = (1.0f64, 1.0f64);
    for _ in 0..k {
        bi *= b;
        s = a * s + bi;
    }
    s / (k as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Store;

    fn instance(json: &str) -> Instance {
        match crate::formats::parse(json, "test.json", crate::formats::Format::Json) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        }
    }

    /// The closed form `((b+c)^(k+1) - b^(k+1)) / ((k+1) c)` of docs/maths.md §2.
    fn closed(b: f64, c: f64, k: i32) -> f64 {
        ((b + c).powi(k + 1) - b.powi(k + 1)) / ((k + 1) as f64 * c)
    }

    /// docs/maths.md §7, majority and minority at k = 2, policy (0.8, 0.2, 0): each row by the
    /// closed form of the share, and the rows' weighted average is the certificate's win rate.
    #[test]
    fn majority_and_minority() -> Result<()> {
        let inst = instance(
            r#"{"candidates": ["a", "b", "c"], "users": [
                {"weight": 3, "ranking": [["a"], ["c"], ["b"]]},
                {"weight": 2, "ranking": [["b"], ["c"], ["a"]]}]}"#,
        );
        let mut store = Store::default();
        let pop = inst.population(&mut store)?;
        let pi = [0.8f32, 0.2, 0.0];
        let rows = explain(&inst, &pop, &pi, 2)?;
        let cert = certify_policy(&pop, &pi, 2)?;
        let sum = 0.8f32 as f64 + 0.2f32 as f64;
        let (pa, pb) = (0.8f32 as f64 / sum, 0.2f32 as f64 / sum);
        // The majority ranks a > c > b, the minority b > c > a; c has no mass.
        let (maj, min) = match cert.worst_opponent {
            0 => (closed(pb, pa, 2), closed(0.0, pa, 2)),
            1 => (closed(0.0, pb, 2), closed(pa, pb, 2)),
            y => panic!("worst opponent {y}"),
        };
        let near = |x: f64, want: f64| assert!((x - want).abs() < 1e-12, "{x} vs {want}");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].user, rows[1].user), (0, 1));
        assert_eq!(rows[0].favourite, ["a"]);
        assert_eq!(rows[1].favourite, ["b"]);
        near(rows[0].favourite_shown, 1.0 - (1.0 - pa).powi(2));
        near(rows[1].favourite_shown, 1.0 - (1.0 - pb).powi(2));
        near(rows[0].win_rate, 1.0 - maj);
        near(rows[1].win_rate, 1.0 - min);
        near(rows[0].weight, 0.6f32 as f64);
        let avg: f64 = rows.iter().map(|r| r.weight * r.win_rate).sum();
        assert!((avg - cert.worst_case_win_rate as f64).abs() < 1e-6);
        assert!((avg - 2.0 / 3.0).abs() < 1e-6);
        Ok(())
    }

    /// A count of `2^22` or more, which the population holds as several user types, is one row
    /// (the instance's user type), with the parts' weights added: the majority/minority case
    /// with counts 12,582,912 and 8,388,608 (3 : 2, each split), against the same case with
    /// counts 3 and 2, row by row.
    #[test]
    fn a_split_count_is_one_row() -> Result<()> {
        let case = |w: [u64; 2]| {
            instance(&format!(
                r#"{{"candidates": ["a", "b", "c"], "users": [
                {{"weight": {}, "ranking": [["a"], ["c"], ["b"]]}},
                {{"weight": {}, "ranking": [["b"], ["c"], ["a"]]}}]}}"#,
                w[0], w[1]
            ))
        };
        let (big, small) = (case([12_582_912, 8_388_608]), case([3, 2]));
        assert_eq!(big.population_rows().collect::<Vec<_>>(), [4, 3]);
        let (mut sb, mut ss) = (Store::default(), Store::default());
        let (pb, ps) = (big.population(&mut sb)?, small.population(&mut ss)?);
        assert_eq!((pb.m(), ps.m()), (7, 2));
        let pi = [0.8f32, 0.2, 0.0];
        let (rb, rs) = (explain(&big, &pb, &pi, 2)?, explain(&small, &ps, &pi, 2)?);
        assert_eq!(rb.len(), 2);
        for (b, s) in rb.iter().zip(&rs) {
            assert_eq!((b.user, &b.favourite), (s.user, &s.favourite));
            assert_eq!(
                (b.favourite_shown, b.win_rate),
                (s.favourite_shown, s.win_rate)
            );
            assert!(
                (b.weight - s.weight).abs() < 1e-6,
                "{} vs {}",
                b.weight,
                s.weight
            );
        }
        Ok(())
    }

    /// Ties: a user who ties a and b at the top has both as favourites, and a point mass on c
    /// below them never shows a favourite.
    #[test]
    fn tied_favourites() -> Result<()> {
        let inst = instance(r#"{"candidates": ["a", "b", "c"], "users": [{"scores": [1, 1, 0]}]}"#);
        let mut store = Store::default();
        let pop = inst.population(&mut store)?;
        let rows = explain(&inst, &pop, &[0.0, 0.0, 1.0], 3)?;
        assert_eq!(rows[0].favourite, ["a", "b"]);
        assert_eq!(rows[0].favourite_shown, 0.0);
        // The worst opponent is a (lowest index of the top class): the user always picks it.
        assert_eq!(rows[0].win_rate, 0.0);
        Ok(())
    }
}
