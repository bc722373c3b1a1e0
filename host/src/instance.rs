//! One parsed preference instance: candidate names and weighted user types, whatever the input
//! format, and its conversion into a core [`Population`].

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use ualign::{Population, Storage};

use crate::error::{Error, Result};

/// Candidate capacity of every population the tool builds.
pub const CAPACITY: usize = 1024;

/// The population type the tool works with.
pub type Pop<'a> = Population<'a, CAPACITY>;

/// What one user type says about the candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum Prefs {
    /// One utility per candidate (higher is better, equal is a tie); kept as given so the
    /// reward-model baseline can average them.
    Scores(Vec<f64>),
    /// Tie groups of candidate indices, best first; unlisted candidates tie at the bottom.
    Ranking(Vec<Vec<u16>>),
}

/// One weighted user type.
#[derive(Debug, Clone, PartialEq)]
pub struct UserType {
    /// Non-negative, finite weight (a count for PrefLib files).
    pub weight: f64,
    /// Its preferences.
    pub prefs: Prefs,
    /// The 1-based input line it came from (the first one, for merged duplicates).
    pub line: usize,
}

/// A parsed instance: `n` candidates, `m` weighted user types.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The file the instance came from, as named on the command line (used in messages).
    pub source: String,
    /// Candidate names in input order.
    pub candidates: Vec<String>,
    /// User types in input order.
    pub users: Vec<UserType>,
}

/// Owned storage for the core population (weights: `m` f32, orders: `m * n` u16).
#[derive(Debug, Default)]
pub struct Store {
    weights: Vec<f32>,
    order: Vec<u16>,
}

impl Instance {
    /// Number of candidates.
    pub fn n(&self) -> usize {
        self.candidates.len()
    }

    /// Number of user types.
    pub fn m(&self) -> usize {
        self.users.len()
    }

    /// The name of candidate `y` (its index as text if out of range).
    pub fn name(&self, y: usize) -> String {
        self.candidates
            .get(y)
            .cloned()
            .unwrap_or_else(|| y.to_string())
    }

    /// Checks what the core population needs, with file and line in every message:
    /// at least one candidate and at most [`CAPACITY`], at least one user type, weights finite,
    /// non-negative and not all zero, score rows of length `n` with finite entries.
    pub fn validate(&self) -> Result<()> {
        let file = self.source.as_str();
        if self.candidates.is_empty() {
            return Err(Error::in_file(file, "no candidates"));
        }
        if self.n() > CAPACITY {
            return Err(Error::in_file(
                file,
                format!("{} candidates exceed the capacity of {CAPACITY}", self.n()),
            ));
        }
        if self.users.is_empty() {
            return Err(Error::in_file(file, "empty population: no user types"));
        }
        let mut total = 0.0f64;
        // `stamp[c] == j + 1` when user type `j` ranks candidate `c`: no clearing per user.
        let mut stamp = vec![0usize; self.n()];
        for (j, u) in self.users.iter().enumerate() {
            check_weight(u.weight).map_err(|m| Error::at(file, u.line, m))?;
            total += u.weight;
            match &u.prefs {
                Prefs::Scores(s) => {
                    if s.len() != self.n() {
                        return Err(Error::at(
                            file,
                            u.line,
                            format!("expected {} scores, found {}", self.n(), s.len()),
                        ));
                    }
                    if let Some(y) = s.iter().position(|x| !x.is_finite()) {
                        return Err(Error::at(
                            file,
                            u.line,
                            format!("the score of candidate {} is not finite", self.name(y)),
                        ));
                    }
                }
                Prefs::Ranking(groups) => {
                    for &c in groups.iter().flatten() {
                        match stamp.get_mut(c as usize) {
                            None => {
                                return Err(Error::at(
                                    file,
                                    u.line,
                                    format!("unknown candidate {c}"),
                                ));
                            }
                            Some(s) if *s == j + 1 => {
                                return Err(Error::at(
                                    file,
                                    u.line,
                                    format!("candidate {} ranked twice", self.name(c as usize)),
                                ));
                            }
                            Some(s) => *s = j + 1,
                        }
                    }
                }
            }
        }
        if !total.is_finite() {
            return Err(Error::in_file(file, "the total weight is not finite"));
        }
        if total <= 0.0 {
            return Err(Error::in_file(
                file,
                "empty population: all weights are zero",
            ));
        }
        Ok(())
    }

    /// Merges user types with identical rankings (tie groups compared as sets, unlisted
    /// candidates as one bottom group) into one, adding their weights; every ranking is left in
    /// canonical form (groups sorted, empty ones dropped, unlisted candidates as a last group).
    /// Score rows are kept. Linear time: rankings already in canonical form are not copied, and
    /// they meet through one Fx hash each.
    pub fn merge_duplicate_rankings(&mut self) {
        let n = self.n();
        let mut stamp = vec![0usize; n];
        let mut first: FxHashMap<u64, usize> = FxHashMap::default();
        // Kept user types with the same hash: `next[i]` follows `i` (`usize::MAX` ends).
        let mut next: Vec<usize> = Vec::new();
        let mut out: Vec<UserType> = Vec::with_capacity(self.users.len());
        for (j, mut u) in self.users.drain(..).enumerate() {
            let Prefs::Ranking(groups) = &mut u.prefs else {
                next.push(usize::MAX);
                out.push(u);
                continue;
            };
            normalise(groups, n, &mut stamp, j + 1);
            let mut h = FxHasher::default();
            groups.hash(&mut h);
            let h = h.finish();
            let mut i = first.get(&h).copied().unwrap_or(usize::MAX);
            while let Some(kept) = out.get_mut(i) {
                if kept.prefs == u.prefs {
                    kept.weight += u.weight;
                    break;
                }
                i = next.get(i).copied().unwrap_or(usize::MAX);
            }
            if i == usize::MAX {
                next.push(first.insert(h, out.len()).unwrap_or(usize::MAX));
                out.push(u);
            }
        }
        self.users = out;
    }

    /// The utility row of user type `j`: its scores, or for a ranking the Borda-style utility
    /// `n - 1 - position`, with tied candidates getting the average of their positions
    /// (unlisted candidates tie at the bottom).
    pub fn utilities(&self, j: usize) -> Vec<f64> {
        let n = self.n();
        match self.users.get(j).map(|u| &u.prefs) {
            Some(Prefs::Scores(s)) => s.clone(),
            Some(Prefs::Ranking(groups)) => {
                let mut u = vec![f64::NAN; n];
                let mut pos = 0usize;
                for g in groups.iter().filter(|g| !g.is_empty()) {
                    let avg = pos as f64 + (g.len() as f64 - 1.0) / 2.0;
                    for &c in g {
                        if let Some(slot) = u.get_mut(c as usize) {
                            *slot = (n as f64 - 1.0) - avg;
                        }
                    }
                    pos += g.len();
                }
                let rest = u.iter().filter(|x| x.is_nan()).count();
                let avg = pos as f64 + (rest as f64 - 1.0) / 2.0;
                for x in u.iter_mut().filter(|x| x.is_nan()) {
                    *x = (n as f64 - 1.0) - avg;
                }
                u
            }
            None => vec![0.0; n],
        }
    }

    /// The weighted mean utility of every candidate (see [`Instance::utilities`]).
    pub fn mean_utilities(&self) -> Vec<f64> {
        let n = self.n();
        let mut sum = vec![0.0f64; n];
        let mut total = 0.0f64;
        for (j, user) in self.users.iter().enumerate() {
            total += user.weight;
            for (s, u) in sum.iter_mut().zip(self.utilities(j)) {
                *s += user.weight * u;
            }
        }
        if total > 0.0 {
            for s in sum.iter_mut() {
                *s /= total;
            }
        }
        sum
    }

    /// The reward-model pick: the candidate with the highest weighted mean utility (lowest
    /// index on ties).
    pub fn reward_model_pick(&self) -> usize {
        let mean = self.mean_utilities();
        let mut best = 0usize;
        for (y, &x) in mean.iter().enumerate() {
            if mean.get(best).is_some_and(|&b| x > b) {
                best = y;
            }
        }
        best
    }

    /// Validates the instance and builds the core population in `store`. Weights are
    /// normalised in `f64` before they are handed to core.
    pub fn population<'s>(&self, store: &'s mut Store) -> Result<Pop<'s>> {
        self.validate()?;
        let (n, m) = (self.n(), self.m());
        let file = self.source.as_str();
        let total: f64 = self.users.iter().map(|u| u.weight).sum();
        let cells = m
            .checked_mul(n)
            .ok_or_else(|| Error::in_file(file, "population too large"))?;
        store.weights = vec![0.0; m];
        store.order = vec![0; cells];
        let mut b =
            Population::<CAPACITY>::builder(n, Storage::new(&mut store.weights, &mut store.order))
                .map_err(|e| Error::in_file(file, e))?;
        for u in &self.users {
            let w = u.weight / total;
            let r = match &u.prefs {
                Prefs::Scores(s) => b.push_scores(w, s),
                Prefs::Ranking(g) => {
                    b.push_ranking(w, g.iter().map(|g| g.iter().map(|&c| c as usize)))
                }
            };
            r.map_err(|e| Error::at(file, u.line, e))?;
        }
        b.finish().map_err(|e| Error::in_file(file, e))
    }
}

/// Checks one weight: finite, non-negative, representable as `f32`.
pub fn check_weight(w: f64) -> std::result::Result<(), String> {
    if !w.is_finite() {
        Err(format!("weight {w} is not finite"))
    } else if w < 0.0 {
        Err(format!("weight {w} is negative"))
    } else if w > f32::MAX as f64 {
        Err(format!("weight {w} is too large"))
    } else {
        Ok(())
    }
}

/// Puts a ranking in canonical form, in place: empty groups dropped, every group sorted, and the
/// candidates it leaves out (of `n`) as a last group; a complete order's bottom singleton is
/// kept as is. `stamp` (length `n`) is scratch, marked with the non-zero `mark`. Costs one pass
/// when the ranking is already canonical (as the parsers make them).
fn normalise(groups: &mut Vec<Vec<u16>>, n: usize, stamp: &mut [usize], mark: usize) {
    if groups.iter().any(|g| g.is_empty()) {
        groups.retain(|g| !g.is_empty());
    }
    let mut listed = 0usize;
    for g in groups.iter_mut() {
        if !g.is_sorted() {
            g.sort_unstable();
        }
        for &c in g.iter() {
            if let Some(s) = stamp.get_mut(c as usize) {
                *s = mark;
            }
        }
        listed += g.len();
    }
    if listed < n {
        let rest: Vec<u16> = (0..n)
            .filter(|&c| stamp.get(c).is_some_and(|&s| s != mark))
            .filter_map(|c| u16::try_from(c).ok())
            .collect();
        if !rest.is_empty() {
            groups.push(rest);
        }
    }
}
