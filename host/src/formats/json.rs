//! JSON instances:
//!
//! ```json
//! {"candidates": ["a", "b", "c"],
//!  "users": [{"weight": 0.6, "scores": [2, 0, 1]},
//!            {"weight": 0.4, "ranking": [["b"], ["c", "a"]]}]}
//! ```
//!
//! `weight` defaults to 1. A ranking lists tie groups best first and names candidates by name;
//! a group may also be written as a bare name. Unlisted candidates tie at the bottom.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::instance::{Instance, Prefs, UserType, check_weight};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance<'a> {
    candidates: Vec<String>,
    #[serde(borrow)]
    users: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    weight: Option<f64>,
    scores: Option<Vec<f64>>,
    ranking: Option<Vec<Group>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Group {
    One(String),
    Many(Vec<String>),
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map(|t| t.bytes().filter(|&b| b == b'\n').count() + 1)
        .unwrap_or(1)
}

/// Parses a JSON instance; errors name the line of the offending user object.
pub fn parse(text: &str, source: &str) -> Result<Instance> {
    let raw: RawInstance<'_> = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        // serde_json appends " at line L column C"; keep the message, report the line.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::at(source, e.line().max(1), msg)
    })?;
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, c) in raw.candidates.iter().enumerate() {
        if by_name.insert(c.as_str(), i).is_some() {
            return Err(Error::in_file(
                source,
                format!("candidate \"{c}\" listed twice"),
            ));
        }
    }
    let n = raw.candidates.len();
    if n == 0 {
        return Err(Error::in_file(source, "no candidates"));
    }
    let mut users = Vec::with_capacity(raw.users.len());
    for (j, u) in raw.users.iter().enumerate() {
        let offset = (u.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        let line = line_of(text, offset);
        let at = |m: String| Error::at(source, line, format!("users[{j}]: {m}"));
        let user: RawUser = serde_json::from_str(u.get()).map_err(|e| {
            let msg = e.to_string();
            at(msg.split(" at line ").next().unwrap_or(&msg).to_string())
        })?;
        let weight = user.weight.unwrap_or(1.0);
        check_weight(weight).map_err(at)?;
        let prefs = match (user.scores, user.ranking) {
            (Some(s), None) => {
                if s.len() != n {
                    return Err(at(format!("expected {n} scores, found {}", s.len())));
                }
                Prefs::Scores(s)
            }
            (None, Some(groups)) => {
                let mut seen = vec![false; n];
                let mut out = Vec::with_capacity(groups.len());
                for g in groups {
                    let names = match g {
                        Group::One(s) => vec![s],
                        Group::Many(v) => v,
                    };
                    let mut og = Vec::with_capacity(names.len());
                    for name in names {
                        let Some(&c) = by_name.get(name.as_str()) else {
                            return Err(at(format!("unknown candidate \"{name}\"")));
                        };
                        match seen.get_mut(c) {
                            Some(s) if !*s => *s = true,
                            _ => return Err(at(format!("candidate \"{name}\" ranked twice"))),
                        }
                        og.push(u16::try_from(c).map_err(|_| at("too many candidates".into()))?);
                    }
                    out.push(og);
                }
                Prefs::Ranking(out)
            }
            (Some(_), Some(_)) => {
                return Err(at("give either `scores` or `ranking`, not both".into()));
            }
            (None, None) => return Err(at("needs `scores` or `ranking`".into())),
        };
        users.push(UserType {
            weight,
            prefs,
            line,
        });
    }
    if users.is_empty() {
        return Err(Error::in_file(source, "empty population: no users"));
    }
    let mut inst = Instance {
        source: source.to_string(),
        candidates: raw.candidates,
        users,
    };
    inst.merge_duplicate_rankings();
    Ok(inst)
}
