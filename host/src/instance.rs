//! One parsed preference instance: candidate names and weighted user types, whatever the input
//! format, and its conversion into a core [`Population`].

use ualign::{Population, Storage, population::COUNT_MAX};

use crate::error::{Error, Result};
use crate::order_set::OrderSet;

/// Candidate capacity of every population the tool builds.
pub const CAPACITY: usize = 1024;

/// The population type the tool works with.
pub type Pop<'a> = Population<'a, CAPACITY>;

/// In a [`Prefs::Order`], set on a candidate that ties with the next one in the list: core's
/// own flag, so that a whole order is the row core stores (`PopulationBuilder::push_order`).
pub const TIES_NEXT: u16 = ualign::population::TIE_NEXT;

/// What one user type says about the candidates.
#[derive(Debug, Clone, PartialEq)]
pub enum Prefs {
    /// One utility per candidate (higher is better, equal is a tie); kept as given so the
    /// reward-model baseline can average them.
    Scores(Vec<f64>),
    /// Tie groups of candidate indices, best first; unlisted candidates tie at the bottom.
    Ranking(Vec<Vec<u16>>),
    /// A ranking as one list (one allocation instead of one per group): candidate indices best
    /// first, each with [`TIES_NEXT`] set when it ties with the next one in the list (the flag
    /// on the last one means nothing); unlisted candidates tie at the bottom. The parsers give
    /// rankings in this form, canonical: every candidate listed, each tie group sorted.
    Order(Vec<u16>),
}

impl Prefs {
    /// The tie groups of a ranking in either form, best first (`None` for scores).
    pub fn groups(&self) -> Option<Vec<Vec<u16>>> {
        match self {
            Prefs::Scores(_) => None,
            Prefs::Ranking(g) => Some(g.clone()),
            Prefs::Order(o) => Some(
                order_groups(o)
                    .map(|g| g.iter().map(|&e| e & !TIES_NEXT).collect())
                    .collect(),
            ),
        }
    }
}

/// The tie groups of a [`Prefs::Order`], as slices of its entries (flags kept).
fn order_groups(order: &[u16]) -> impl Iterator<Item = &[u16]> {
    order.split_inclusive(|&e| e & TIES_NEXT == 0)
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
#[derive(Debug, Clone, Default, PartialEq)]
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
                            Some(s) if *s != j + 1 => *s = j + 1,
                            _ => return Err(self.listed_error(c, u.line, &stamp)),
                        }
                    }
                }
                Prefs::Order(o) => {
                    for &e in o {
                        let c = e & !TIES_NEXT;
                        match stamp.get_mut(c as usize) {
                            Some(s) if *s != j + 1 => *s = j + 1,
                            _ => return Err(self.listed_error(c, u.line, &stamp)),
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

    /// The error for candidate `c` of a ranking on `line` that is unknown or listed twice.
    #[cold]
    fn listed_error(&self, c: u16, line: usize, stamp: &[usize]) -> Error {
        if stamp.get(c as usize).is_none() {
            Error::at(&self.source, line, format!("unknown candidate {c}"))
        } else {
            Error::at(
                &self.source,
                line,
                format!("candidate {} ranked twice", self.name(c as usize)),
            )
        }
    }

    /// Merges user types with identical rankings (tie groups compared as sets, unlisted
    /// candidates as one bottom group) into one, adding their weights. Every ranking, in either
    /// form, is left as a canonical [`Prefs::Order`] (each tie group sorted, unlisted candidates
    /// as a last group). Score rows are kept. In place and in linear time: orders already
    /// canonical (as the parsers give them) are not copied, identical ones meet through one
    /// comparison or hash each (as in [`MergedUsers`]), and the user types kept move down over
    /// the ones merged into them.
    pub fn merge_duplicate_rankings(&mut self) {
        let n = self.n();
        let mut stamp = vec![0usize; n];
        let mut distinct = Distinct::with_capacity(self.users.len(), n);
        // In place: `users[..kept]` are the user types kept, in the order of their first
        // appearance; `users[kept..j]` the ones merged into them, dropped at the end.
        let mut kept = 0usize;
        for j in 0..self.users.len() {
            let (head, rest) = self.users.split_at_mut(j);
            let Some(u) = rest.first_mut() else {
                break;
            };
            let order = match std::mem::replace(&mut u.prefs, Prefs::Order(Vec::new())) {
                Prefs::Scores(s) => {
                    u.prefs = Prefs::Scores(s);
                    self.users.swap(kept, j);
                    kept += 1;
                    continue;
                }
                Prefs::Ranking(groups) => {
                    canonical(groups.iter().map(|g| g.as_slice()), n, &mut stamp, j + 1)
                }
                Prefs::Order(o) if is_canonical(&o, n, &mut stamp, j + 1) => o,
                Prefs::Order(o) => canonical(
                    order_groups(&o).map(|g| g.iter().map(|&e| e & !TIES_NEXT)),
                    n,
                    &mut stamp,
                    j + 1,
                ),
            };
            let kept_users = head.get_mut(..kept).unwrap_or(&mut []);
            if !distinct.merge(kept_users, &order, u.weight) {
                u.prefs = Prefs::Order(order);
                self.users.swap(kept, j);
                kept += 1;
            }
        }
        self.users.truncate(kept);
    }

    /// The utility row of user type `j`: its scores, or for a ranking the Borda-style utility
    /// `n - 1 - position`, with tied candidates getting the average of their positions
    /// (unlisted candidates tie at the bottom).
    pub fn utilities(&self, j: usize) -> Vec<f64> {
        let n = self.n();
        match self.users.get(j).map(|u| &u.prefs) {
            Some(Prefs::Scores(s)) => s.clone(),
            Some(prefs @ (Prefs::Ranking(_) | Prefs::Order(_))) => {
                let mut u = vec![f64::NAN; n];
                let mut pos = 0usize;
                for g in prefs
                    .groups()
                    .unwrap_or_default()
                    .iter()
                    .filter(|g| !g.is_empty())
                {
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

    /// The reward-model pick: the candidate with the highest weighted mean utility
    /// ([`Instance::utilities`]; the lowest index on ties).
    ///
    /// The means are compared as weighted sums with every weight divided by the largest
    /// weight's power of two and every utility by the largest utility's: the sums cannot
    /// overflow (scores near the largest `f64` summed to infinity, and two infinite means tied),
    /// and since the divisions are by powers of two, they are exact: the sums order the
    /// candidates as the unscaled ones would wherever those are finite, unless a scaled term
    /// falls below the normal `f64` range (a weight `2^-1000` of the largest).
    pub fn reward_model_pick(&self) -> usize {
        let n = self.n();
        let largest_utility = (0..self.m())
            .flat_map(|j| self.utilities(j))
            .fold(0.0f64, |a, u| a.max(u.abs()));
        let largest_weight = self.users.iter().fold(0.0f64, |a, u| a.max(u.weight));
        let (su, sw) = (power_of_two(largest_utility), power_of_two(largest_weight));
        let mut sum = vec![0.0f64; n];
        for (j, user) in self.users.iter().enumerate() {
            let w = user.weight / sw;
            for (s, u) in sum.iter_mut().zip(self.utilities(j)) {
                *s += w * (u / su);
            }
        }
        let mut best = 0usize;
        for (y, &x) in sum.iter().enumerate() {
            if sum.get(best).is_some_and(|&b| x > b) {
                best = y;
            }
        }
        best
    }

    /// Builds the core population in `store`. The weights go to core as given, and core
    /// normalises them (`PopulationBuilder::finish`).
    ///
    /// Errors: [`Instance::validate`]'s, with its messages. Core's builder rejects every
    /// instance `validate` rejects (the same weights, candidates, score rows and rankings, and
    /// more: a weight that is zero as an `f32`), so `validate` runs only when the builder fails,
    /// to name the problem; a line read once is not checked twice. Should `validate` find
    /// nothing, the builder's error is the message.
    pub fn population<'s>(&self, store: &'s mut Store) -> Result<Pop<'s>> {
        match self.build(store) {
            Ok(pop) => Ok(pop),
            Err(e) => {
                self.validate()?;
                Err(e)
            }
        }
    }

    /// [`Instance::population`] without its messages: core's errors, with the file and the
    /// line.
    ///
    /// The weights go to core as given, which keeps counts (whole numbers below
    /// [`COUNT_MAX`]) exact for certificates and uses any other weights as `f32` values
    /// (docs/certificates.md). When every weight is a whole number and some are [`COUNT_MAX`]
    /// or more, each of those goes as several user types with its preferences, of fewer than
    /// [`COUNT_MAX`] each ([`count_parts`]): the same population, with every count exact.
    fn build<'s>(&self, store: &'s mut Store) -> Result<Pop<'s>> {
        let n = self.n();
        let file = self.source.as_str();
        let split = self.splits_counts();
        let rows = if split { self.count_rows()? } else { self.m() };
        let cells = rows
            .checked_mul(n)
            .ok_or_else(|| Error::in_file(file, "population too large"))?;
        // Cleared and resized: a store kept across instances (`batch`'s, per thread) keeps
        // its allocations.
        store.weights.clear();
        store.weights.resize(rows, 0.0);
        store.order.clear();
        store.order.resize(cells, 0);
        let mut b =
            Population::<CAPACITY>::builder(n, Storage::new(&mut store.weights, &mut store.order))
                .map_err(|e| Error::in_file(file, e))?;
        for u in &self.users {
            // Core takes a positive weight that is zero as an `f32` as zero: refused here.
            if zero_as_f32(u.weight) {
                return Err(Error::at(file, u.line, weight_error(u.weight)));
            }
            if !split {
                push_user(&mut b, u, u.weight, n).map_err(|e| Error::at(file, u.line, e))?;
                continue;
            }
            let (parts, size) = count_parts(u.weight);
            for i in 0..parts {
                // The first `w - parts * size` parts take one more.
                let w = if (i as f64) < u.weight - parts as f64 * size {
                    size + 1.0
                } else {
                    size
                };
                push_user(&mut b, u, w, n).map_err(|e| Error::at(file, u.line, e))?;
            }
        }
        b.finish().map_err(|e| match e {
            // Not split: core's user types are the instance's, in order.
            ualign::Error::NegligibleWeight { user } if !split => match self.users.get(user) {
                Some(u) => Error::at(
                    file,
                    u.line,
                    format!(
                        "weight {} is negligible: at most about 2^-150 of the total weight, it \
                         would count as zero",
                        shown(u.weight)
                    ),
                ),
                None => Error::in_file(file, e),
            },
            e => Error::in_file(file, e),
        })
    }

    /// Whether the population splits counts ([`Instance::population`]): every weight is a
    /// whole number and some are [`COUNT_MAX`] or more.
    fn splits_counts(&self) -> bool {
        self.users.iter().any(|u| u.weight >= f64::from(COUNT_MAX))
            && self.users.iter().all(|u| is_count(u.weight))
    }

    /// How many user types of the population each user type of the instance became, in order:
    /// one each, or more for a count that [`Instance::population`] splits.
    pub fn population_rows(&self) -> impl Iterator<Item = usize> + '_ {
        let split = self.splits_counts();
        self.users
            .iter()
            .map(move |u| if split { count_parts(u.weight).0 } else { 1 })
    }

    /// The user types of the population when counts of [`COUNT_MAX`] and more are split
    /// ([`count_parts`]): at most [`SPLIT_CELLS`] more entries than the instance's own.
    fn count_rows(&self) -> Result<usize> {
        let extra_max = SPLIT_CELLS / self.n().max(1);
        let mut extra = 0usize;
        for u in &self.users {
            extra = extra.saturating_add(count_parts(u.weight).0 - 1);
            if extra > extra_max {
                return Err(Error::at(
                    self.source.as_str(),
                    u.line,
                    format!(
                        "weight {}: whole-number weights are counts, kept exact as user types \
                         of at most {} each, and these counts need more than {extra_max} more \
                         of them; scale the weights down",
                        shown(u.weight),
                        COUNT_MAX - 1
                    ),
                ));
            }
        }
        Ok(self.m() + extra)
    }
}

/// Pushes user type `u`'s preferences with weight `w` (`n` candidates).
#[inline(always)]
fn push_user(
    b: &mut ualign::population::PopulationBuilder<'_, CAPACITY>,
    u: &UserType,
    w: f64,
    n: usize,
) -> std::result::Result<(), ualign::Error> {
    match &u.prefs {
        Prefs::Scores(s) => b.push_scores(w, s),
        Prefs::Ranking(g) => b.push_ranking(w, g.iter().map(|g| g.iter().map(|&c| c as usize))),
        // A whole order is the row core stores: handed over as it is.
        Prefs::Order(o) if o.len() == n => b.push_order(w, o),
        Prefs::Order(o) => b.push_ranking(
            w,
            order_groups(o).map(|g| g.iter().map(|&e| (e & !TIES_NEXT) as usize)),
        ),
    }
}

/// The most population entries (user types x candidates) that splitting counts
/// ([`count_parts`]) may add: 32 MiB of orders.
const SPLIT_CELLS: usize = 1 << 24;

/// Whether `w` is a whole number, as a count is (finite, not negative).
fn is_count(w: f64) -> bool {
    w >= 0.0 && w.is_finite() && w.fract() == 0.0
}

/// A count `w` as `parts` user types of `size` or `size + 1` each, all below [`COUNT_MAX`]
/// (one part for a smaller count; `parts` saturates for counts no population could hold).
fn count_parts(w: f64) -> (usize, f64) {
    let most = f64::from(COUNT_MAX - 1);
    if w < f64::from(COUNT_MAX) {
        return (1, w);
    }
    let parts = (w / most).ceil();
    let size = (w / parts).floor();
    (parts.min(usize::MAX as f64) as usize, size)
}

/// A weight as a message shows it: a whole number below `1e16` in full, anything else in
/// Rust's shortest exponent form (`1e-50`, `3e38`, `2.5e0`).
fn shown(w: f64) -> String {
    if w.fract() == 0.0 && w.abs() < 1e16 {
        format!("{w}")
    } else {
        format!("{w:e}")
    }
}

/// Checks one weight: finite, non-negative, representable as `f32` (a positive weight that is
/// zero as an `f32` would be dropped, so it is refused too).
#[inline]
pub fn check_weight(w: f64) -> std::result::Result<(), String> {
    let fits = w >= 0.0 && w <= f64::from(f32::MAX) && !zero_as_f32(w);
    if fits { Ok(()) } else { Err(weight_error(w)) }
}

/// The power of two at or below the finite, non-negative `x` (its exponent bits alone), or 1
/// for zero and subnormal `x`: dividing by it is exact and leaves `x` below 2.
fn power_of_two(x: f64) -> f64 {
    let p = f64::from_bits(x.to_bits() & 0x7FF0_0000_0000_0000);
    if p == 0.0 || !p.is_finite() { 1.0 } else { p }
}

/// Whether `w` is positive but zero as an `f32` (core would drop its user type).
fn zero_as_f32(w: f64) -> bool {
    w > 0.0 && w as f32 == 0.0
}

/// What [`check_weight`] says of a weight it refuses.
#[cold]
fn weight_error(w: f64) -> String {
    if !w.is_finite() {
        format!("weight {} is not finite", shown(w))
    } else if w < 0.0 {
        format!("weight {} is negative", shown(w))
    } else if zero_as_f32(w) {
        format!(
            "weight {} is too small: below the smallest positive f32, it would count as zero",
            shown(w)
        )
    } else {
        format!("weight {} is too large", shown(w))
    }
}

/// Whether `order` is a canonical [`Prefs::Order`] over `n` candidates: every candidate
/// listed once, each tie group sorted, no flag on the last entry. `stamp` (length `n`) is
/// scratch, marked with the non-zero `mark`.
fn is_canonical(order: &[u16], n: usize, stamp: &mut [usize], mark: usize) -> bool {
    if order.len() != n || order.last().is_some_and(|&e| e & TIES_NEXT != 0) {
        return false;
    }
    let mut prev: Option<u16> = None;
    for &e in order {
        let c = e & !TIES_NEXT;
        match stamp.get_mut(c as usize) {
            Some(s) if *s != mark => *s = mark,
            _ => return false,
        }
        if prev.is_some_and(|p| p & TIES_NEXT != 0 && p & !TIES_NEXT > c) {
            return false;
        }
        prev = Some(e);
    }
    true
}

/// The canonical [`Prefs::Order`] of tie groups (candidate indices, best first): empty groups
/// dropped, each group sorted, the candidates they leave out (of `n`) as a last group. `stamp`
/// (length `n`) is scratch, marked with the non-zero `mark`.
fn canonical<G, I>(groups: G, n: usize, stamp: &mut [usize], mark: usize) -> Vec<u16>
where
    G: Iterator<Item = I>,
    I: IntoIterator,
    I::Item: std::borrow::Borrow<u16>,
{
    let mut out: Vec<u16> = Vec::with_capacity(n);
    for g in groups {
        let from = out.len();
        for c in g {
            let c = *std::borrow::Borrow::borrow(&c);
            if let Some(s) = stamp.get_mut(c as usize) {
                *s = mark;
            }
            out.push(c);
        }
        close_group(&mut out, from);
    }
    let from = out.len();
    for c in 0..n {
        if stamp.get(c).is_some_and(|&s| s != mark) {
            out.push(c as u16);
        }
    }
    close_group(&mut out, from);
    out
}

/// A growing list of user types, at most one per canonical [`Prefs::Order`].
///
/// User types are added one at a time, identical rankings merged: the second user type with a
/// canonical order adds its weight to the first, which keeps its place and its line. The rank
/// tables' readers build their user types so, and [`Instance::merge_duplicate_rankings`]
/// merges a list in place the same way (one `Distinct` finds the first of each order for both).
#[derive(Debug, Default)]
pub struct MergedUsers {
    distinct: Distinct,
    users: Vec<UserType>,
}

/// Distinct orders up to which [`Distinct`] compares a new order with each one kept rather
/// than hash it: a small rerank's user types (a JSON line's few reward heads or personas) are
/// compared in fewer instructions than a table takes to make and fill.
const LINEAR: usize = 16;

impl MergedUsers {
    /// An empty list with room for `m` user types whose rankings order `n` candidates; `n == 0`
    /// when none is a ranking (rows of scores only: [`MergedUsers::keep`]), which reserves no
    /// room for orders.
    pub fn with_capacity(m: usize, n: usize) -> Self {
        MergedUsers {
            distinct: Distinct::with_capacity(m, n),
            users: Vec::with_capacity(m),
        }
    }

    /// Adds a user type of `weight` ranking by `order`, a canonical [`Prefs::Order`]: to the
    /// weight of the one with that order if there is one, else as a new user type from `line`.
    /// `order` is copied only when it is new (and not at all when it is a `Vec`). Past
    /// `u32::MAX - 1` distinct orders the rest are kept unmerged, which is the same population.
    pub fn add<O: AsRef<[u16]> + Into<Vec<u16>>>(&mut self, order: O, weight: f64, line: usize) {
        if !self.distinct.merge(&mut self.users, order.as_ref(), weight) {
            self.users.push(UserType {
                weight,
                prefs: Prefs::Order(order.into()),
                line,
            });
        }
    }

    /// Keeps `user` as it is, merged with nothing (a row of scores).
    pub fn keep(&mut self, user: UserType) {
        self.users.push(user);
    }

    /// The user types, in the order of their first addition.
    pub fn into_users(self) -> Vec<UserType> {
        self.users
    }
}

/// User types merged as a reader reads them, in place in a list whose storage is kept from one
/// instance to the next (`json::Lines`'s): the list [`Instance::merge_duplicate_rankings`] makes
/// of the same user types, without its second pass over them or its check that each order is
/// canonical (a reader's orders are). `users[..kept]` are the user types kept so far; the entries
/// past them are spare (the last instance's, or an order merged away), and the next user types
/// take their orders' storage.
#[derive(Debug, Default)]
pub(crate) struct Merging {
    distinct: Distinct,
    kept: usize,
}

impl Merging {
    /// Starts the user types of a new instance.
    pub(crate) fn start(&mut self) {
        self.distinct.at.clear();
        self.distinct.set = None;
        self.kept = 0;
    }

    /// The storage for the next user type's order (its contents left for the reader to clear):
    /// the order of the entry it will take, or a new list.
    pub(crate) fn spare(&self, users: &mut [UserType]) -> Vec<u16> {
        match users.get_mut(self.kept).map(|u| &mut u.prefs) {
            Some(Prefs::Order(o)) => std::mem::take(o),
            _ => Vec::new(),
        }
    }

    /// Adds `user` (a ranking as a canonical [`Prefs::Order`], or scores) after the user types
    /// kept: to the weight of the first with its order if there is one (its order's storage
    /// left for the next), else as the next kept.
    pub(crate) fn add(&mut self, users: &mut Vec<UserType>, user: UserType) {
        let kept = self.kept;
        if let Prefs::Order(order) = &user.prefs {
            let head = users.get_mut(..kept).unwrap_or(&mut []);
            if self.distinct.merge(head, order, user.weight) {
                if let Some(slot) = users.get_mut(kept) {
                    slot.prefs = user.prefs;
                }
                return;
            }
        }
        match users.get_mut(kept) {
            Some(slot) => *slot = user,
            None => users.push(user),
        }
        self.kept += 1;
    }

    /// Ends the instance: the entries past the user types kept go.
    pub(crate) fn finish(&self, users: &mut Vec<UserType>) {
        users.truncate(self.kept);
    }
}

/// The distinct canonical orders of a list of user types, and where in the list the first user
/// type of each is.
#[derive(Debug, Default)]
struct Distinct {
    /// The distinct orders, hashed: built from them once there are more than [`LINEAR`].
    set: Option<OrderSet>,
    /// The room the set is made with: orders, and their entries in all.
    room: (usize, usize),
    /// `at[i]` is the place in the list of the `i`-th distinct order (the set's order `i`).
    at: Vec<usize>,
}

impl Distinct {
    /// Room for `m` user types whose rankings order `n` candidates (none when `n == 0`).
    fn with_capacity(m: usize, n: usize) -> Self {
        let orders = if n == 0 { 0 } else { m };
        Distinct {
            set: None,
            room: (orders, orders.saturating_mul(n)),
            at: Vec::with_capacity(orders),
        }
    }

    /// Adds `weight` to the first user type of `users` (the user types kept so far) with
    /// `order`, and returns `true`; or, when there is none, returns `false` with `order` noted
    /// as a new one, whose user type the caller places next, at `users.len()`. A sum above the
    /// largest `f32` weight is not formed: that user type is placed next too (`false`), so that
    /// merging never makes a weight the input does not hold too large.
    fn merge(&mut self, users: &mut [UserType], order: &[u16], weight: f64) -> bool {
        match self.find(users, order) {
            Some((i, false)) => match self.at.get(i).and_then(|&f| users.get_mut(f)) {
                Some(first) if first.weight + weight <= f64::from(f32::MAX) => {
                    first.weight += weight;
                    true
                }
                _ => false,
            },
            new => {
                if new.is_some() {
                    self.at.push(users.len());
                }
                false
            }
        }
    }

    /// The number of `order` among the distinct orders of `users` (the list so far), and
    /// whether it is new (as [`OrderSet::insert`] numbers them; a new one is the caller's to
    /// place in the list and in `at`): through the set once there is one, else
    /// [`Distinct::find_linear`].
    #[inline(always)]
    fn find(&mut self, users: &[UserType], order: &[u16]) -> Option<(usize, bool)> {
        match self.set.as_mut() {
            Some(set) => set.insert(order),
            None => self.find_linear(users, order),
        }
    }

    /// [`Distinct::find`] while there is no set: by comparison with each distinct order while
    /// there are at most [`LINEAR`]; at the next new one, the set is made from them.
    fn find_linear(&mut self, users: &[UserType], order: &[u16]) -> Option<(usize, bool)> {
        let kept = |u: &usize| match users.get(*u) {
            Some(UserType {
                prefs: Prefs::Order(o),
                ..
            // The first entries first: orders that differ mostly differ there, and the
            // comparison of the whole slices is a library call.
            }) => o.first() == order.first() && o.as_slice() == order,
            _ => false,
        };
        if let Some(i) = self.at.iter().position(kept) {
            return Some((i, false));
        }
        if self.at.len() < LINEAR {
            return Some((self.at.len(), true));
        }
        let mut set = OrderSet::with_capacity(self.room.0, self.room.1);
        for u in &self.at {
            if let Some(UserType {
                prefs: Prefs::Order(o),
                ..
            }) = users.get(*u)
            {
                set.insert(o);
            }
        }
        self.set.insert(set).insert(order)
    }
}

/// Sorts the group `order[from..]` (candidate indices without flags) and sets [`TIES_NEXT`] on
/// all its entries but the last.
pub(crate) fn close_group(order: &mut [u16], from: usize) {
    if let Some(g) = order.get_mut(from..) {
        g.sort_unstable();
        let len = g.len();
        for e in g.iter_mut().take(len.saturating_sub(1)) {
            *e |= TIES_NEXT;
        }
    }
}

/// The canonical order of a ranking's tie groups over `n` candidates, by brute force for the
/// tests: each group sorted and flagged, the candidates no group lists as a last group.
#[cfg(test)]
pub(crate) fn brute_canonical(groups: impl IntoIterator<Item = Vec<u16>>, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    let mut listed = vec![false; n];
    let close = |mut g: Vec<u16>, out: &mut Vec<u16>| {
        g.sort_unstable();
        let last = g.len().saturating_sub(1);
        out.extend(
            g.iter()
                .enumerate()
                .map(|(i, &c)| if i < last { c | TIES_NEXT } else { c }),
        );
    };
    for g in groups {
        for &c in &g {
            listed[usize::from(c)] = true;
        }
        close(g, &mut out);
    }
    let unlisted = (0..n).filter(|&c| !listed[c]).map(|c| c as u16).collect();
    close(unlisted, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A count's parts add up to it, each below `COUNT_MAX`, as few as that allows: around
    /// every multiple of `COUNT_MAX - 1` up to a hundred, and at random up to `2^46`.
    #[test]
    fn count_parts_add_up_below_count_max() {
        let most = u64::from(COUNT_MAX - 1);
        let mut ws: Vec<u64> = (0..=100u64)
            .flat_map(|i| [i * most, i * most + 1, (i * most).saturating_sub(1)])
            .collect();
        let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
        ws.extend((0..10_000).map(|_| rng.below(1 << 46)));
        for w in ws {
            let (parts, size) = count_parts(w as f64);
            let parts = parts as u64;
            let size = size as u64;
            let extra = w - parts * size;
            assert!(extra < parts, "{w}");
            assert!(size + u64::from(extra > 0) < u64::from(COUNT_MAX), "{w}");
            assert_eq!(parts, w.div_ceil(most).max(1), "{w}");
        }
    }

    /// `population` checks by building, and asks `validate` only when the builder fails: on
    /// random instances with defects of every kind `validate` knows (no candidates, no user
    /// types, weights not finite, negative, too large or all zero, score rows of the wrong
    /// length or not finite, rankings and orders with unknown or repeated candidates), it gives
    /// what validating first gave: a population, or the same message. A builder that
    /// let one of these through would build where validating first refused.
    #[test]
    fn building_first_refuses_what_validating_first_refused() {
        let weights = [
            1.0,
            0.5,
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.5e38,
            1e-300,
        ];
        let scores = [0.0, 1.0, -2.5, f64::NAN, f64::INFINITY];
        let mut rng = crate::test_rng::XorShift(0x2545_f491_4f6c_dd1d);
        let (mut refused, mut built) = (0usize, 0usize);
        for _ in 0..20_000 {
            let n = rng.below(5) as usize;
            let m = rng.below(4) as usize;
            let mut pick = |k: usize| rng.below(k as u64) as usize;
            let users: Vec<UserType> = (0..m)
                .map(|j| {
                    // Mostly valid weights and preferences, so that defects come one or two
                    // at a time.
                    let weight = if pick(3) == 0 {
                        weights[pick(weights.len())]
                    } else {
                        1.0
                    };
                    // Entries past the end name an unknown candidate; repeats come from the
                    // draws.
                    let len = n + usize::from(pick(4) == 0);
                    let prefs = match pick(3) {
                        0 => Prefs::Scores(
                            (0..(n + pick(3)).saturating_sub(1))
                                .map(|_| if pick(8) == 0 { scores[pick(5)] } else { 1.0 })
                                .collect(),
                        ),
                        1 => Prefs::Ranking(
                            (0..pick(3))
                                .map(|_| (0..pick(3)).map(|_| pick(len.max(1)) as u16).collect())
                                .collect(),
                        ),
                        _ => {
                            let mut o: Vec<u16> = (0..n as u16).collect();
                            for i in (1..o.len()).rev() {
                                o.swap(i, pick(i + 1));
                            }
                            if pick(4) == 0 && !o.is_empty() {
                                let i = pick(o.len());
                                o[i] = pick(len.max(1)) as u16;
                            }
                            if pick(4) == 0 {
                                o.pop();
                            }
                            for e in o.iter_mut() {
                                if pick(3) == 0 {
                                    *e |= TIES_NEXT;
                                }
                            }
                            Prefs::Order(o)
                        }
                    };
                    UserType {
                        weight,
                        prefs,
                        line: j + 1,
                    }
                })
                .collect();
            let inst = Instance {
                source: "t".into(),
                candidates: (0..n).map(|c| format!("c{c}")).collect(),
                users,
            };
            let (mut first, mut then) = (Store::default(), Store::default());
            let before = inst.validate().and_then(|()| inst.build(&mut first));
            let now = inst.population(&mut then);
            match (before, now) {
                // One builder made both.
                (Ok(_), Ok(_)) => built += 1,
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string(), "{inst:?}");
                    refused += 1;
                }
                (a, b) => panic!(
                    "{inst:?}: validating first {:?}, now {:?}",
                    a.err(),
                    b.err()
                ),
            }
        }
        // Both outcomes, often.
        assert!(
            refused > 5_000 && built > 2_000,
            "{refused} refused, {built} built"
        );
    }

    /// Weights add up on the first user type of each order, in place, past kept rows; a
    /// brute force (a linear search for the first equal order) gives the same list. Then 400
    /// orders drawn from 60 (with ties), so that both the comparisons with each kept order and
    /// the set that takes over past `LINEAR` distinct ones (and the handover) run, against the
    /// brute force again.
    #[test]
    fn identical_orders_add_up_on_the_first() {
        let orders: [&[u16]; 6] = [
            &[0, 1],
            &[1, 0],
            &[0, 1],
            &[1, 0x8000 | 2],
            &[1, 0],
            &[0, 1],
        ];
        let (got, _) = merged_and_brute(orders.iter().map(|o| o.to_vec()), Some(3));
        let weights: Vec<f64> = got.iter().map(|u| u.weight).collect();
        assert_eq!(weights, vec![1.0 + 3.0 + 6.0, 2.0 + 5.0, 4.0, 4.0]);
        let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
        let pool: Vec<Vec<u16>> = (0..60)
            .map(|_| {
                let mut o: Vec<u16> = (0..5).collect();
                for i in (1..5).rev() {
                    o.swap(i, (rng.next() % (i as u64 + 1)) as usize);
                }
                if rng.next().is_multiple_of(3) {
                    o[0] |= TIES_NEXT;
                }
                o
            })
            .collect();
        let draws: Vec<Vec<u16>> = (0..400)
            .map(|_| pool[(rng.next() % 60) as usize].clone())
            .collect();
        let (got, distinct) = merged_and_brute(draws.into_iter(), Some(17));
        assert!(distinct > LINEAR + 10, "{distinct} distinct orders");
        assert!(got.len() < 400);
    }

    /// `merge_duplicate_rankings` in place against a brute force: each ranking put in canonical
    /// form by its groups (each sorted, the unlisted candidates as a last group), then added to
    /// the first user type with the same form or kept as a new one. Rankings drawn from a pool
    /// of 60 over 5 candidates, as groups, as canonical orders and as orders with an unsorted
    /// first tie group, with rows of scores among them; 3 to 400 user types, so that both the
    /// comparisons and the set (past `LINEAR` distinct orders) run.
    #[test]
    fn merging_in_place_is_merging_one_by_one() {
        let mut rng = crate::test_rng::XorShift(0x5851_f42d_4c95_7f2d);
        let n = 5u16;
        let pool: Vec<Vec<Vec<u16>>> = (0..60)
            .map(|_| {
                let mut p: Vec<u16> = (0..n).collect();
                for i in (1..p.len()).rev() {
                    p.swap(i, (rng.next() % (i as u64 + 1)) as usize);
                }
                p.truncate(1 + (rng.next() % u64::from(n)) as usize);
                let mut groups: Vec<Vec<u16>> = Vec::new();
                for c in p {
                    match groups.last_mut() {
                        Some(g) if rng.next().is_multiple_of(3) => g.push(c),
                        _ => groups.push(vec![c]),
                    }
                }
                groups
            })
            .collect();
        for m in [3usize, 12, 40, 400] {
            let mut users = Vec::new();
            let mut brute: Vec<UserType> = Vec::new();
            for j in 0..m {
                let weight = (j + 1) as f64;
                let line = j + 1;
                if rng.next().is_multiple_of(7) {
                    let u = UserType {
                        weight,
                        prefs: Prefs::Scores(vec![0.0; usize::from(n)]),
                        line,
                    };
                    users.push(u.clone());
                    brute.push(u);
                    continue;
                }
                let groups = &pool[(rng.next() % pool.len() as u64) as usize];
                let canonical = brute_canonical(groups.iter().cloned(), usize::from(n));
                let prefs = match rng.next() % 3 {
                    0 => Prefs::Ranking(groups.clone()),
                    1 => Prefs::Order(canonical.clone()),
                    // The first group's candidates in reverse: the same ranking, not canonical.
                    _ => {
                        let mut o = canonical.clone();
                        let end = o.iter().position(|&e| e & TIES_NEXT == 0).unwrap_or(0);
                        let mut first: Vec<u16> =
                            o[..=end].iter().map(|&e| e & !TIES_NEXT).collect();
                        first.reverse();
                        for (i, c) in first.into_iter().enumerate() {
                            o[i] = if i < end { c | TIES_NEXT } else { c };
                        }
                        Prefs::Order(o)
                    }
                };
                users.push(UserType {
                    weight,
                    prefs,
                    line,
                });
                brute_add(&mut brute, canonical, weight, line);
            }
            let mut inst = Instance {
                source: "t".into(),
                candidates: (0..n).map(|c| format!("c{c}")).collect(),
                users,
            };
            inst.merge_duplicate_rankings();
            assert_eq!(inst.users, brute, "m = {m}");
        }
    }

    /// The users `MergedUsers` makes of `orders` (weights 1, 2, ...; a row of scores kept
    /// before order `keep_at`), checked against a linear search for the first equal order;
    /// and how many distinct orders there were.
    fn merged_and_brute(
        orders: impl Iterator<Item = Vec<u16>>,
        keep_at: Option<usize>,
    ) -> (Vec<UserType>, usize) {
        let mut merged = MergedUsers::with_capacity(2, 2);
        let mut brute: Vec<UserType> = Vec::new();
        for (j, o) in orders.enumerate() {
            let weight = (j + 1) as f64;
            if Some(j) == keep_at {
                let scores = UserType {
                    weight,
                    prefs: Prefs::Scores(vec![1.0, 2.0]),
                    line: 100,
                };
                merged.keep(scores.clone());
                brute.push(scores);
            }
            merged.add(o.as_slice(), weight, j + 1);
            brute_add(&mut brute, o, weight, j + 1);
        }
        let got = merged.into_users();
        assert_eq!(got, brute);
        let distinct = brute
            .iter()
            .filter(|u| matches!(u.prefs, Prefs::Order(_)))
            .count();
        (got, distinct)
    }

    /// A user type of `order` added to `brute` by a linear search: to the weight of the first
    /// with the same order, else as a new one from `line`.
    fn brute_add(brute: &mut Vec<UserType>, order: Vec<u16>, weight: f64, line: usize) {
        match brute
            .iter_mut()
            .find(|u| matches!(&u.prefs, Prefs::Order(o) if *o == order))
        {
            Some(u) => u.weight += weight,
            None => brute.push(UserType {
                weight,
                prefs: Prefs::Order(order),
                line,
            }),
        }
    }
}
