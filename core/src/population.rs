//! Weighted user types over `n` candidates: validation, orders and tie classes.
//!
//! A user type is a weak order over the candidates (docs/maths.md §1). It is stored as the list of
//! candidates from best to worst, one `u16` per position, with the top bit set when the candidate
//! at that position ties with the one at the next position. Weights are normalised to sum to 1 at
//! [`PopulationBuilder::finish`]. Both live in a [`Storage`] the caller owns, so a population of
//! 100,000 user types costs no stack and no allocator.

use crate::{
    Error, MAX_CANDIDATES,
    score::{NARROW_LOW, Score},
};

/// Set on a position whose candidate ties with the candidate at the next position (an order
/// row's entry is the candidate's index, with this bit when it ties with the next entry:
/// [`PopulationBuilder::push_order`]).
pub const TIE_NEXT: u16 = 0x8000;
/// Extracts the candidate index from an order entry.
pub(crate) const INDEX: u16 = 0x7fff;

/// `self.f::<M, T..>(args)` with `M` the scratch class of the builder's `n`
/// ([`scratch_class`]): one copy of `f` per class, each with scratch arrays of `M` entries.
macro_rules! in_class {
    ($this:ident . $f:ident :: <$($t:ty),*> ($($arg:expr),*)) => {
        match scratch_class::<N>($this.n) {
            16 => $this.$f::<16, $($t),*>($($arg),*),
            64 => $this.$f::<64, $($t),*>($($arg),*),
            256 => $this.$f::<256, $($t),*>($($arg),*),
            _ => $this.$f::<N, $($t),*>($($arg),*),
        }
    };
}

/// Caller-owned storage for the user types: one weight and `n` order entries per type.
///
/// ```
/// use ualign::Storage;
/// let mut weights = [0.0f32; 4];
/// let mut order = [0u16; 4 * 10]; // up to 4 user types over 10 candidates
/// let storage = Storage::new(&mut weights, &mut order);
/// ```
#[derive(Debug)]
pub struct Storage<'a> {
    weights: &'a mut [f32],
    order: &'a mut [u16],
}

impl<'a> Storage<'a> {
    /// Storage for `min(weights.len(), order.len() / n)` user types over `n` candidates.
    pub fn new(weights: &'a mut [f32], order: &'a mut [u16]) -> Self {
        Storage { weights, order }
    }
}

/// A validated population of weighted user types over `n <= N` candidates.
///
/// `N` is the candidate capacity: the share oracle and the solvers keep a few `[f32; N]` scratch
/// arrays on the stack. Build one with [`Population::builder`].
#[derive(Clone, Copy, Debug)]
pub struct Population<'a, const N: usize> {
    n: usize,
    weights: &'a [f32],
    order: &'a [u16],
    /// No order has a tie (false when unknown, as for a part of a population with ties).
    strict: bool,
    /// The total of the weights as given (before normalising).
    total: Total,
    /// The sum of the weights as given, when every one was a whole number below
    /// [`COUNT_MAX`]: the normalised weights and this total then determine the counts exactly
    /// (see [`Population::count`]).
    count_total: Option<u64>,
}

pub use crate::limits::COUNT_MAX;

/// Adds user types one by one, then [`finish`](PopulationBuilder::finish)es the population.
#[derive(Debug)]
pub struct PopulationBuilder<'a, const N: usize> {
    n: usize,
    m: usize,
    capacity: usize,
    /// Some order pushed so far has a tie.
    ties: bool,
    /// The sum of the weights pushed so far, while every one is a count (a whole number below
    /// [`COUNT_MAX`]).
    count_total: Option<u64>,
    storage: Storage<'a>,
}

impl<'a, const N: usize> Population<'a, N> {
    /// Starts a population over `n` candidates in `storage`.
    ///
    /// Errors: [`Error::NoCandidates`] when `n == 0`, [`Error::TooManyCandidates`] when
    /// `n > N` or `n > MAX_CANDIDATES`.
    pub fn builder(n: usize, storage: Storage<'a>) -> Result<PopulationBuilder<'a, N>, Error> {
        if n == 0 {
            return Err(Error::NoCandidates);
        }
        let capacity = if N < MAX_CANDIDATES {
            N
        } else {
            MAX_CANDIDATES
        };
        if n > capacity {
            return Err(Error::TooManyCandidates { n, max: capacity });
        }
        let users = storage.weights.len().min(storage.order.len() / n);
        Ok(PopulationBuilder {
            n,
            m: 0,
            capacity: users,
            ties: false,
            count_total: Some(0),
            storage,
        })
    }

    /// Number of candidates.
    pub fn n(&self) -> usize {
        // `1 <= n <= MAX_CANDIDATES` by construction; the clamp tells the optimiser so, which
        // removes the division by zero, zero chunk size and overflow panic paths of everything
        // that divides, chunks or multiplies by `n` (see ROBUSTNESS.md).
        self.n.clamp(1, MAX_CANDIDATES)
    }

    /// Number of user types.
    pub fn m(&self) -> usize {
        self.weights.len()
    }

    /// Normalised weight of user type `j` (the weights sum to 1), or `None` past the end.
    pub fn weight(&self, j: usize) -> Option<f32> {
        self.weights.get(j).copied()
    }

    /// The normalised weights, one per user type.
    pub fn weights(&self) -> &'a [f32] {
        self.weights
    }

    /// The order of user type `j`, best first: `(candidate, ties_with_next)` per position.
    pub fn order(&self, j: usize) -> Option<impl Iterator<Item = (usize, bool)> + 'a> {
        let row = self.order.get(j * self.n..(j + 1) * self.n)?;
        Some(
            row.iter()
                .map(|&e| ((e & INDEX) as usize, e & TIE_NEXT != 0)),
        )
    }

    /// The user types `range` as a population of their own, keeping the weights of the whole
    /// (so the shares of the parts add up to the share of the whole). Used by the host to split
    /// the users across threads. `None` when the range is empty or out of bounds.
    pub fn users(&self, range: core::ops::Range<usize>) -> Option<Population<'a, N>> {
        if range.is_empty() {
            return None;
        }
        let weights = self.weights.get(range.clone())?;
        let order = self
            .order
            .get(range.start * self.n..range.end.checked_mul(self.n)?)?;
        Some(Population {
            n: self.n,
            weights,
            order,
            strict: self.strict,
            total: self.total,
            count_total: self.count_total,
        })
    }

    /// The total of the weights as they were given (as `f32`s), before normalising: their
    /// exact sum (see [`PopulationBuilder::finish`]) rounded to the nearest `f64`.
    pub fn total_weight(&self) -> f64 {
        self.total.to_f64()
    }

    /// The sum of the weights as given, when every one was a count (see [`Self::count`]).
    pub(crate) fn count_total(&self) -> Option<u64> {
        self.count_total
    }

    /// The weight of user type `j` as given, when every weight was a count (a whole number
    /// below [`COUNT_MAX`]): recovered exactly from the normalised weight. `None` otherwise
    /// or past the end.
    pub fn count(&self, j: usize) -> Option<u32> {
        let total = self.count_total?;
        let (m, e) = crate::fixed::parts(*self.weights.get(j)?);
        // |w total - c| < 1/4 (see COUNT_MAX), so c = floor(w total + 1/2), exactly in
        // integers: w = m 2^e, and m total < 2^24 2^64.
        let p = u128::from(m) * u128::from(total);
        let c = if e >= 0 {
            p.checked_shl(e.unsigned_abs()).unwrap_or(u128::MAX)
        } else {
            let d = e.unsigned_abs();
            let half = crate::fixed::shl(1, d - 1);
            crate::fixed::shr(p.saturating_add(half), d)
        };
        Some(u32::try_from(c).unwrap_or(u32::MAX))
    }

    /// Whether no order has a tie (then the share oracle need not look for them, and the wide
    /// layout can hold the orders). A view from [`Population::users`] answers for the whole.
    pub fn all_strict(&self) -> bool {
        self.strict
    }

    /// The raw order rows (internal layout), `m * n` entries.
    pub(crate) fn order_rows(&self) -> &'a [u16] {
        self.order
    }
}

impl<'a, const N: usize> PopulationBuilder<'a, N> {
    /// Number of candidates.
    pub fn n(&self) -> usize {
        self.n
    }

    /// User types pushed so far.
    pub fn len(&self) -> usize {
        self.m
    }

    /// Whether no user type was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.m == 0
    }

    /// How many user types the storage holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds a user type from one score per candidate: higher is better, equal scores tie.
    /// Scores and weight are `f64` or `f32` ([`Score`]); an `f32` gives the population its
    /// `f64` value would.
    ///
    /// Errors (nothing is added): [`Error::TooManyUsers`], [`Error::LengthMismatch`],
    /// [`Error::NonFiniteScore`], [`Error::NonFiniteWeight`], [`Error::NegativeWeight`].
    pub fn push_scores<S: Score>(&mut self, weight: S, scores: &[S]) -> Result<(), Error> {
        let user = self.m;
        if scores.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: scores.len(),
            });
        }
        if let Some(candidate) = scores.iter().position(|s| !s.finite()) {
            return Err(Error::NonFiniteScore { user, candidate });
        }
        self.push_validated(weight, scores)
    }

    /// Adds a user type from a ranking with tie groups, best group first.
    ///
    /// Candidates the ranking leaves out tie below every listed one (PrefLib's convention for
    /// incomplete orders). An empty group is allowed and means nothing.
    ///
    /// ```
    /// # use ualign::{Population, Storage};
    /// # let (mut w, mut o) = ([0.0f32; 1], [0u16; 4]);
    /// let mut b = Population::<4>::builder(4, Storage::new(&mut w, &mut o))?;
    /// b.push_ranking(3.0, [&[2usize][..], &[0, 1]])?; // 2 > {0, 1} > 3
    /// # Ok::<(), ualign::Error>(())
    /// ```
    ///
    /// Errors (nothing is added): [`Error::TooManyUsers`], [`Error::UnknownCandidate`],
    /// [`Error::DuplicateCandidate`], [`Error::NonFiniteWeight`], [`Error::NegativeWeight`].
    pub fn push_ranking<S: Score, G, I>(&mut self, weight: S, groups: G) -> Result<(), Error>
    where
        G: IntoIterator<Item = I>,
        I: IntoIterator,
        I::Item: core::borrow::Borrow<usize>,
    {
        // Scratch sized for `n`, not for the capacity `N` (see `scratch_class`).
        in_class!(self.push_ranking_in::<S, G, I>(weight, groups))
    }

    /// [`push_ranking`](Self::push_ranking) with scratch arrays of `M >= n` entries.
    ///
    /// The row is written straight from the groups: each group's candidates in index order,
    /// then the unlisted ones in index order as a last group. That is the order [`rank_scores`]
    /// gives scores that rank group `g` at level `g` and the unlisted below every group, ties
    /// broken by index, so the row is the same; a test checks the two against each other. A
    /// ranking needs no sort but of a tie group.
    fn push_ranking_in<const M: usize, S: Score, G, I>(
        &mut self,
        weight: S,
        groups: G,
    ) -> Result<(), Error>
    where
        G: IntoIterator<Item = I>,
        I: IntoIterator,
        I::Item: core::borrow::Borrow<usize>,
    {
        let (user, n) = (self.m, self.n);
        let mut listed = [false; M];
        let listed = listed
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?;
        let mut row = [0u16; M];
        let row = row.get_mut(..n).unwrap_or(&mut []);
        // Positions filled; every candidate is placed at most once, so `len <= n`.
        let mut len = 0usize;
        let mut ties = false;
        for group in groups {
            let from = len;
            for c in group {
                let c = *core::borrow::Borrow::borrow(&c);
                let seen = listed
                    .get_mut(c)
                    .ok_or(Error::UnknownCandidate { user, candidate: c })?;
                if *seen {
                    return Err(Error::DuplicateCandidate { user, candidate: c });
                }
                *seen = true;
                if let Some(slot) = row.get_mut(len) {
                    // `c < n <= MAX_CANDIDATES = 2^15`: no bit of `TIE_NEXT`.
                    *slot = c as u16;
                }
                len += 1;
            }
            ties |= tie_group::<M>(row.get_mut(from..len).unwrap_or(&mut []));
        }
        let from = len;
        for (c, _) in listed.iter().enumerate().filter(|(_, seen)| !**seen) {
            if let Some(slot) = row.get_mut(len) {
                *slot = c as u16;
            }
            len += 1;
        }
        ties |= tie_group::<M>(row.get_mut(from..len).unwrap_or(&mut []));
        self.push_row(weight, row, ties)
    }

    /// Adds a user type from an order row as the population stores it: every candidate once,
    /// best first, each entry the candidate's index with [`TIE_NEXT`] set when it ties with the
    /// next entry (on the last entry the bit ties with nothing and is ignored). Each tie group
    /// is stored in index order. The same user type as [`push_ranking`](Self::push_ranking) of
    /// the row's tie groups, without walking them as iterators: a parser that has the row
    /// already (a canonical order) hands it over as it is.
    ///
    /// ```
    /// # use ualign::{Population, Storage, population::TIE_NEXT};
    /// # let (mut w, mut o) = ([0.0f32; 2], [0u16; 8]);
    /// let mut b = Population::<4>::builder(4, Storage::new(&mut w, &mut o))?;
    /// b.push_order(3.0, &[2, 1 | TIE_NEXT, 0, 3])?; // 2 > {0, 1} > 3
    /// b.push_ranking(3.0, [&[2usize][..], &[0, 1]])?; // the same user type
    /// let pop = b.finish()?;
    /// assert!(pop.order(0).unwrap().eq(pop.order(1).unwrap()));
    /// # Ok::<(), ualign::Error>(())
    /// ```
    ///
    /// Errors (nothing is added): [`Error::TooManyUsers`], [`Error::LengthMismatch`] when the
    /// row does not have `n` entries, [`Error::UnknownCandidate`],
    /// [`Error::DuplicateCandidate`], [`Error::NonFiniteWeight`], [`Error::NegativeWeight`].
    pub fn push_order<S: Score>(&mut self, weight: S, order: &[u16]) -> Result<(), Error> {
        if order.len() != self.n {
            return Err(Error::LengthMismatch {
                expected: self.n,
                found: order.len(),
            });
        }
        in_class!(self.push_order_in::<S>(weight, order))
    }

    /// [`push_order`](Self::push_order) (of `n` entries) with scratch arrays of `M >= n`
    /// entries.
    fn push_order_in<const M: usize, S: Score>(
        &mut self,
        weight: S,
        order: &[u16],
    ) -> Result<(), Error> {
        let (user, n) = (self.m, self.n);
        let mut listed = [false; M];
        let listed = listed
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: N })?;
        let mut row = [0u16; M];
        let row = row.get_mut(..n).unwrap_or(&mut []);
        // The entries' flags, all together: none (a strict order, the usual row) leaves one
        // candidate per group, which needs no sort and no mark.
        let mut flags = 0u16;
        for (slot, &e) in row.iter_mut().zip(order) {
            flags |= e;
            let c = e & INDEX;
            let seen = listed
                .get_mut(usize::from(c))
                .ok_or(Error::UnknownCandidate {
                    user,
                    candidate: usize::from(c),
                })?;
            if *seen {
                return Err(Error::DuplicateCandidate {
                    user,
                    candidate: usize::from(c),
                });
            }
            *seen = true;
            *slot = c;
        }
        // The tie groups, each ended by an entry without the bit (or by the row's end).
        let mut ties = false;
        if flags & TIE_NEXT != 0 {
            let mut from = 0usize;
            for (p, &e) in order.iter().enumerate() {
                if e & TIE_NEXT == 0 || p + 1 == n {
                    ties |= tie_group::<M>(row.get_mut(from..=p).unwrap_or(&mut []));
                    from = p + 1;
                }
            }
        }
        self.push_row(weight, row, ties)
    }

    /// Adds the user type of order `row` (as stored, `ties` when it has a tie) and `weight`,
    /// checked first: nothing is added on an error.
    fn push_row<S: Score>(&mut self, weight: S, row: &[u16], ties: bool) -> Result<(), Error> {
        let w = self.check_push(weight)?;
        for (slot, &e) in self.next_row()?.iter_mut().zip(row) {
            *slot = e;
        }
        self.commit(w, ties);
        Ok(())
    }

    fn push_validated<S: Score>(&mut self, weight: S, scores: &[S]) -> Result<(), Error> {
        in_class!(self.push_validated_in::<S>(weight, scores))
    }

    /// [`push_validated`](Self::push_validated) with scratch arrays of `M >= n` entries.
    fn push_validated_in<const M: usize, S: Score>(
        &mut self,
        weight: S,
        scores: &[S],
    ) -> Result<(), Error> {
        let w = self.check_push(weight)?;
        let ties = rank_scores::<M, S>(scores, self.next_row()?, false);
        self.commit(w, ties);
        Ok(())
    }

    /// The weight of the next user type as an `f32`, after checking that there is room for it.
    fn check_push<S: Score>(&self, weight: S) -> Result<f32, Error> {
        if self.m >= self.capacity {
            return Err(Error::TooManyUsers {
                capacity: self.capacity,
            });
        }
        weight.weight(self.m)
    }

    /// The storage's order row for the next user type (`n` entries), to be written best first
    /// with [`TIE_NEXT`] on a tie with the next position.
    fn next_row(&mut self) -> Result<&mut [u16], Error> {
        let (user, n) = (self.m, self.n);
        self.storage
            .order
            .get_mut(user * n..(user + 1) * n)
            .ok_or(Error::TooManyUsers {
                capacity: self.capacity,
            })
    }

    /// Counts in the next user type, its row written: its weight `w`, and `ties` when its row
    /// has a tie.
    fn commit(&mut self, w: f32, ties: bool) {
        let user = self.m;
        self.ties |= ties;
        if let Some(slot) = self.storage.weights.get_mut(user) {
            *slot = w;
        }
        self.count_total = self
            .count_total
            .zip(count_of(w))
            .map(|(t, c)| t.saturating_add(u64::from(c)));
        self.m += 1;
    }

    /// Validates the total weight and normalises the weights to sum to 1.
    ///
    /// The total `T` is the exact sum of the weights as `f32`s (computed in integers; only the
    /// bits of a weight below `2^-62` of the largest are truncated there). Each weight `w`
    /// becomes the `f32` division `w / f32(T)`, with `T` rounded to the nearest `f32`: one
    /// rounding when `T` is an `f32`, as for counts totalling below `2^24`. Counts with a larger
    /// total become the `f32` nearest to `w / T` instead, so [`Population::count`] recovers them
    /// exactly. Integer and `f32` arithmetic only: every target gives the same bits, with or
    /// without a double-precision FPU.
    ///
    /// Errors: [`Error::NoUsers`], [`Error::ZeroTotalWeight`], [`Error::NegligibleWeight`]
    /// (a positive weight whose normalised value would be zero; the weights before it in the
    /// storage are normalised by then: a check beforehand would not fit the Cortex-M0's flash).
    pub fn finish(self) -> Result<Population<'a, N>, Error> {
        if self.m == 0 {
            return Err(Error::NoUsers);
        }
        let Storage { weights, order } = self.storage;
        let weights = weights.get_mut(..self.m).ok_or(Error::NoUsers)?;
        let total = Total::of(weights).ok_or(Error::ZeroTotalWeight)?;
        match self.count_total {
            Some(t) if t >= 1 << 24 => {
                for w in weights.iter_mut() {
                    let c = count_of(*w).unwrap_or(0);
                    *w = crate::fixed::ratio_nearest(u128::from(c), u128::from(t));
                }
            }
            _ => {
                let t = crate::fixed::to_f32(total.sum);
                // `w 2^shift`, exactly: a weight with bits below the total's unit keeps them
                // (it is not the truncated term of the total), and is 0 only when its
                // normalised value is below the smallest `f32` (`t >= 2^39`).
                let normalised = |w: f32| {
                    let (m, e) = crate::fixed::parts(w);
                    crate::fixed::compose(m, -(e.saturating_add(total.shift))) / t
                };
                for (user, w) in weights.iter_mut().enumerate() {
                    let x = normalised(*w);
                    // Non-negative `f32`s: zero exactly when their bits are (`-0.0` aside).
                    if x.to_bits() == 0 && w.to_bits() & 0x7FFF_FFFF != 0 {
                        return Err(Error::NegligibleWeight { user });
                    }
                    *w = x;
                }
            }
        }
        let order = order.get(..self.m * self.n).ok_or(Error::NoUsers)?;
        Ok(Population {
            n: self.n,
            weights,
            order,
            strict: !self.ties,
            total,
            count_total: self.count_total,
        })
    }
}

/// The total of the weights: `sum 2^-shift`, each weight scaled by `2^shift` (the largest to
/// below `2^63`) and truncated, so it is exact unless a weight has bits below `2^-shift` (`2^-62`
/// of the largest weight's leading power of two). The weights are normalised by it, each from its
/// own exact value (docs/maths.md §8.2).
#[derive(Clone, Copy, Debug)]
struct Total {
    sum: u128,
    shift: i32,
}

impl Total {
    /// The total of non-negative `weights`, `None` when it is zero.
    fn of(weights: &[f32]) -> Option<Total> {
        // Non-negative `f32`s order as their bits (`-0.0` counted as `0.0`).
        let largest = weights.iter().map(|w| w.to_bits() & 0x7FFF_FFFF).max()?;
        if largest == 0 {
            return None;
        }
        // largest = m 2^e with m < 2^24: scaled by 2^(39 - e) it is below 2^63.
        let (_, e) = crate::fixed::parts(f32::from_bits(largest));
        let shift = 39 - e;
        let sum = weights.iter().fold(0u128, |t, &w| {
            t + u128::from(crate::fixed::scaled(w, shift).0)
        });
        Some(Total { sum, shift })
    }

    /// The total, rounded to the nearest `f64` (`2^-shift` is exact: `|shift| < 200`).
    fn to_f64(self) -> f64 {
        let scale = f64::from_bits(((1023 - i64::from(self.shift)) as u64) << 52);
        self.sum as f64 * scale
    }
}

/// `w` as an integer, when it is a whole number below [`COUNT_MAX`] (read off its bits).
fn count_of(w: f32) -> Option<u32> {
    let (m, e) = crate::fixed::parts(w);
    if m == 0 {
        return Some(0);
    }
    if w.is_sign_negative() {
        return None;
    }
    let c = if e >= 0 {
        m.checked_shl(e.unsigned_abs())
            .filter(|&c| c.checked_shr(e.unsigned_abs()) == Some(m))?
    } else {
        let c = m.checked_shr(e.unsigned_abs()).unwrap_or(0);
        if c.checked_shl(e.unsigned_abs()) != Some(m) {
            return None;
        }
        c
    };
    (c < COUNT_MAX).then_some(c)
}

/// The scratch size for `n` candidates under capacity `N`: 16 when `n` fits and `N` is larger,
/// 64 or 256 when `n` fits and `N` is larger than 64, else `N`. The per-user scratch arrays of
/// the builder (levels, keys, sort items) are zero-filled stack arrays: sizing them for `n`
/// makes a push cost time in proportion to `n`, not to the capacity (a host capacity of 1024
/// candidates filled 36 KB per push; the Cortex-M4F's 32 filled 1 KiB per push of 16). The
/// Cortex-M0's capacity, 16, keeps one size and one copy of the code.
const fn scratch_class<const N: usize>(n: usize) -> usize {
    if N <= 16 {
        N
    } else if n <= 16 {
        16
    } else if N <= 64 {
        N
    } else if n <= 64 {
        64
    } else if n <= 256 && N > 256 {
        256
    } else {
        N
    }
}

/// Sorts one tie group of a ranking (candidates, no flags) by index and marks every entry but
/// the last as tying with the next; whether it marked any.
fn tie_group<const M: usize>(group: &mut [u16]) -> bool {
    if group.len() > 1 {
        crate::sort_by::<M, _, _>(group, |a, b| a.cmp(b));
    }
    let last = group.len().saturating_sub(1);
    for e in group.iter_mut().take(last) {
        *e |= TIE_NEXT;
    }
    last > 0
}

/// Writes `row` (the candidates best first by `scores`, equal scores tied and in index order,
/// [`TIE_NEXT`] on each entry that ties with the next) and says whether it has a tie.
///
/// Each candidate becomes one integer, its complemented [`Score::order_key`] above its index, so
/// the sort is a plain ascending sort of integers and equal keys keep index order. When every
/// key's [`NARROW_LOW`] bits are zero (at most 24 significant bits in every score, as for
/// integers and `f32` inputs), the key keeps its 35 high bits and shares a `u64` with the index,
/// which a 32-bit core sorts much faster than a `u128`. `wide` takes the `u128` path regardless
/// (for the test that compares the two). `M >= row.len() = scores.len()` sizes the scratch.
fn rank_scores<const M: usize, S: Score>(scores: &[S], row: &mut [u16], wide: bool) -> bool {
    let mut items = [0u64; M];
    let items = items.get_mut(..row.len()).unwrap_or(&mut []);
    let mut narrow = !wide;
    for (i, (item, &x)) in items.iter_mut().zip(scores).enumerate() {
        let k = x.order_key();
        narrow &= k & NARROW_LOW == 0;
        *item = (!(k >> 29) << 16) | i as u64;
    }
    if !narrow {
        return rank_wide::<M, S>(scores, row);
    }
    crate::sort_by::<M, u64, _>(items, u64::cmp);
    write_row(items, row, |item| item >> 16, |item| item as u16)
}

/// [`rank_scores`] with the whole key in a `u128`. Not inlined, so that the narrow path's
/// frame does not hold this scratch.
#[inline(never)]
fn rank_wide<const M: usize, S: Score>(scores: &[S], row: &mut [u16]) -> bool {
    let mut items = [0u128; M];
    let items = items.get_mut(..row.len()).unwrap_or(&mut []);
    for (i, (item, &x)) in items.iter_mut().zip(scores).enumerate() {
        *item = (u128::from(!x.order_key()) << 16) | i as u128;
    }
    crate::sort_by::<M, _, _>(items, |a, b| a.cmp(b));
    write_row(items, row, |item| item >> 16, |item| item as u16)
}

/// `row[p]` = the candidate of sorted `items[p]`, with [`TIE_NEXT`] when the next item has the
/// same level; whether any has it.
fn write_row<T: Copy, L: PartialEq>(
    items: &[T],
    row: &mut [u16],
    level: impl Fn(T) -> L,
    candidate: impl Fn(T) -> u16,
) -> bool {
    let mut ties = false;
    for (slot, pair) in row.iter_mut().zip(items.windows(2)) {
        let &[item, next] = pair else {
            break;
        };
        let tie = level(next) == level(item);
        *slot = candidate(item) | if tie { TIE_NEXT } else { 0 };
        ties |= tie;
    }
    // The last position ties with nothing.
    if let (Some(slot), Some(&last)) = (row.get_mut(items.len().wrapping_sub(1)), items.last()) {
        *slot = candidate(last);
    }
    ties
}

#[cfg(test)]
mod tests {
    use super::{COUNT_MAX, NARROW_LOW, TIE_NEXT, count_of, rank_scores};
    use crate::score::Score;
    extern crate std;
    use std::vec::Vec;

    /// A ranking's row, written from its groups, against the sort of keys: scores of `-g` for
    /// group `g` and below every group for the unlisted, through `push_scores`. Random
    /// rankings with ties, empty groups and unlisted candidates.
    #[test]
    fn rankings_store_the_rows_their_levels_sort_to() {
        use crate::{Population, Storage};
        let mut next = crate::xorshift32(0x2545_f491);
        let cases = if cfg!(miri) { 20 } else { 2000 };
        for case in 0..cases {
            let n = 1 + (next() % 40) as usize;
            let mut perm: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                perm.swap(i, (next() as usize) % (i + 1));
            }
            let listed = (next() as usize) % (n + 1);
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut at = 0;
            while at < listed {
                let len = if next().is_multiple_of(5) {
                    0
                } else {
                    1 + (next() as usize) % 3
                };
                let end = (at + len).min(listed);
                groups.push(perm[at..end].to_vec());
                at = end;
            }
            let mut scores = std::vec![-(groups.len() as f64); n];
            for (g, group) in groups.iter().enumerate() {
                for &c in group {
                    scores[c] = -(g as f64);
                }
            }
            let (mut w1, mut o1) = ([0.0f32; 1], std::vec![0u16; n]);
            let mut a = Population::<64>::builder(n, Storage::new(&mut w1, &mut o1)).unwrap();
            a.push_ranking(2.0, groups.iter().map(|g| g.iter()))
                .unwrap();
            let a = a.finish().unwrap();
            let (mut w2, mut o2) = ([0.0f32; 1], std::vec![0u16; n]);
            let mut b = Population::<64>::builder(n, Storage::new(&mut w2, &mut o2)).unwrap();
            b.push_scores(2.0, &scores).unwrap();
            let b = b.finish().unwrap();
            assert_eq!(
                a.order_rows(),
                b.order_rows(),
                "case {case}: {groups:?} of {n}"
            );
            assert_eq!(a.all_strict(), b.all_strict(), "case {case}");
        }
    }

    /// An order row pushed as it is against `push_ranking` of its tie groups: random
    /// permutations of 1 to 300 candidates (so every scratch class) cut into groups of 1 to 3
    /// (or, one case in three, all of 1: a strict order, which skips the groups), each group's
    /// entries in random order and a bit on the last entry now and then. Then the
    /// refusals, each adding nothing: a short row, an unknown candidate, a repeated one.
    #[test]
    fn order_rows_are_the_rankings_of_their_groups() {
        use crate::{Error, Population, Storage};
        let mut next = crate::xorshift32(0x9e37_79b9);
        let cases = if cfg!(miri) { 20 } else { 2000 };
        for case in 0..cases {
            let n = 1 + (next() % 300) as usize;
            let mut perm: Vec<u16> = (0..n as u16).collect();
            for i in (1..n).rev() {
                perm.swap(i, (next() as usize) % (i + 1));
            }
            let mut groups: Vec<Vec<u16>> = Vec::new();
            let mut row: Vec<u16> = Vec::new();
            let mut at = 0;
            let strict = case % 3 == 0;
            while at < n {
                let more = if strict { 0 } else { (next() as usize) % 3 };
                let end = (at + 1 + more).min(n);
                let group = perm[at..end].to_vec();
                for (i, &c) in group.iter().enumerate() {
                    row.push(if i + 1 < group.len() { c | TIE_NEXT } else { c });
                }
                groups.push(group);
                at = end;
            }
            if next().is_multiple_of(4) {
                *row.last_mut().unwrap() |= TIE_NEXT;
            }
            let (mut w1, mut o1) = ([0.0f32; 2], std::vec![0u16; 2 * n]);
            let mut a = Population::<512>::builder(n, Storage::new(&mut w1, &mut o1)).unwrap();
            a.push_order(2.0, &row).unwrap();
            let (mut w2, mut o2) = ([0.0f32; 2], std::vec![0u16; 2 * n]);
            let mut b = Population::<512>::builder(n, Storage::new(&mut w2, &mut o2)).unwrap();
            let ranks = groups.iter().map(|g| g.iter().map(|&c| usize::from(c)));
            b.push_ranking(2.0, ranks).unwrap();
            if n >= 2 {
                let short = &row[..n - 1];
                assert_eq!(
                    a.push_order(1.0, short),
                    Err(Error::LengthMismatch {
                        expected: n,
                        found: n - 1
                    })
                );
                let mut bad = row.clone();
                bad[0] = n as u16;
                assert_eq!(
                    a.push_order(1.0, &bad),
                    Err(Error::UnknownCandidate {
                        user: 1,
                        candidate: n
                    })
                );
                let mut twice = row.clone();
                twice[n - 1] = twice[0] & !TIE_NEXT;
                assert_eq!(
                    a.push_order(1.0, &twice),
                    Err(Error::DuplicateCandidate {
                        user: 1,
                        candidate: usize::from(twice[0] & !TIE_NEXT)
                    })
                );
            }
            let (a, b) = (a.finish().unwrap(), b.finish().unwrap());
            assert_eq!(a.m(), 1, "case {case}: a refused row was added");
            assert_eq!(a.order_rows(), b.order_rows(), "case {case}: {row:?}");
            assert_eq!(a.all_strict(), b.all_strict(), "case {case}");
        }
    }

    /// `all_strict` is whether some order has a tie, read off the stored rows; a part of the
    /// population keeps the whole's answer (true stays true; false only means "look").
    #[test]
    fn all_strict_says_whether_any_order_has_a_tie() {
        use crate::{Population, Storage};
        let has_tie =
            |p: &Population<'_, 8>| p.order_rows().iter().any(|&e| e & super::TIE_NEXT != 0);
        for tie_at in [None, Some(0usize), Some(2)] {
            let (mut w, mut o) = ([0.0f32; 3], [0u16; 12]);
            let mut b = Population::<8>::builder(4, Storage::new(&mut w, &mut o)).unwrap();
            for u in 0..3 {
                let mut scores = [4.0, 1.0, 3.0, 2.0];
                if tie_at == Some(u) {
                    scores[3] = 3.0;
                }
                // A rejected push (wrong length) leaves no trace in the answer.
                assert!(b.push_scores(1.0, &[1.0, 1.0]).is_err());
                b.push_scores(1.0, &scores).unwrap();
            }
            let pop = b.finish().unwrap();
            assert_eq!(pop.all_strict(), tie_at.is_none());
            assert_eq!(pop.all_strict(), !has_tie(&pop));
            let part = pop.users(1..3).unwrap();
            assert_eq!(part.all_strict(), pop.all_strict());
        }
    }

    /// The `u64` path of `rank_scores` writes the row of the `u128` path whenever it applies.
    #[test]
    fn narrow_rows_match_the_wide_ones() {
        let mut next = crate::xorshift32(0x9e37_79b9);
        for case in 0..if cfg!(miri) { 40 } else { 300 } {
            let n = 1 + case % 40;
            let mut scores = [0.0f64; 40];
            for x in scores.iter_mut().take(n) {
                // Integers and halves of both signs, few distinct values: ties are common.
                let y = (next() % 9) as f64 * 0.5 - 2.0;
                *x = if case % 3 == 0 { -y } else { y };
                assert_eq!(x.order_key() & NARROW_LOW, 0);
            }
            let (mut narrow, mut wide) = ([0u16; 40], [0u16; 40]);
            let ties = rank_scores::<40, f64>(&scores[..n], &mut narrow[..n], false);
            assert_eq!(
                rank_scores::<40, f64>(&scores[..n], &mut wide[..n], true),
                ties
            );
            assert_eq!(narrow, wide, "case {case}");
            assert_eq!(ties, narrow.iter().any(|&e| e & TIE_NEXT != 0));
        }
    }

    /// `rank_scores` writes what the standard sort gives: best first, equal scores (`-0.0` and
    /// `0.0` too) tied and in index order. Scores with few and with many significant bits (the
    /// narrow and the wide path), and lengths past the insertion sort's.
    #[test]
    fn score_rows_are_the_standard_sort() {
        let mut next = crate::xorshift32(0x2545_f491);
        for case in 0..if cfg!(miri) { 20 } else { 400 } {
            let n = 1 + (next() % if case % 4 == 0 { 120 } else { 30 }) as usize;
            let scores: Vec<f64> = (0..n)
                .map(|_| match (case % 3, next() % 4) {
                    (0, _) | (_, 0) => (next() % 7) as f64 - 3.0,
                    (1, _) => -0.0,
                    _ => {
                        let x = f64::from_bits(u64::from(next()) << 32 | u64::from(next()));
                        if x.is_finite() { x % 1e6 } else { 0.1 }
                    }
                })
                .collect();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b)));
            let expected: Vec<u16> = (0..n)
                .map(|p| {
                    let tie = p + 1 < n && scores[order[p]] == scores[order[p + 1]];
                    order[p] as u16 | if tie { TIE_NEXT } else { 0 }
                })
                .collect();
            let mut row = [0u16; 120];
            let ties = rank_scores::<120, f64>(&scores, &mut row[..n], false);
            assert_eq!(&row[..n], &expected[..], "case {case}");
            assert_eq!(ties, expected.iter().any(|&e| e & TIE_NEXT != 0));
        }
    }

    /// `count_of` is "a whole number in `[0, COUNT_MAX)`", by `f32` arithmetic, over every
    /// exponent and the edges.
    #[test]
    fn count_of_takes_the_whole_numbers_below_count_max() {
        let reference =
            |w: f32| (w >= 0.0 && w.trunc() == w && w < COUNT_MAX as f32).then_some(w as u32);
        let mut values = std::vec![
            0.0f32,
            -0.0,
            0.5,
            1.0,
            1.5,
            -1.0,
            f32::MIN_POSITIVE,
            1e-45,
            (COUNT_MAX - 1) as f32,
            COUNT_MAX as f32,
            COUNT_MAX as f32 + 2.0,
            3e9,
            f32::MAX,
            f32::INFINITY,
        ];
        let mut next = crate::xorshift32(17);
        // Miri runs this about a million times slower: fewer values there.
        for _ in 0..if cfg!(miri) { 200 } else { 100_000 } {
            let x = f32::from_bits(next());
            if x.is_finite() {
                values.push(x);
            }
            values.push((next() % (2 * COUNT_MAX)) as f32 / (1 << (next() % 4)) as f32);
        }
        for w in values {
            assert_eq!(count_of(w), reference(w), "{w:e}");
        }
    }

    /// `f32` scores and weights give the population their `f64` values give: the same order
    /// rows and the same normalised weights, bit for bit (ties, signed zeros and non-count
    /// weights included).
    #[test]
    fn f32_input_gives_the_f64_population() {
        use crate::{Population, Storage};
        let mut next = crate::xorshift32(23);
        for round in 0..if cfg!(miri) { 4 } else { 200 } {
            let (n, m) = (1 + (next() % 12) as usize, 1 + (next() % 20) as usize);
            let draw = |next: &mut dyn FnMut() -> u32| match next() % 4 {
                0 => (next() % 5) as f32 - 2.0,
                1 => -0.0,
                2 => f32::from_bits(next() & 0x7FFF_FFFF) * 0.5,
                _ => (next() as f32) * 1e-3,
            };
            let (mut w32, mut o32) = (std::vec![0.0f32; m], std::vec![0u16; m * n]);
            let (mut w64, mut o64) = (std::vec![0.0f32; m], std::vec![0u16; m * n]);
            let mut b32 = Population::<12>::builder(n, Storage::new(&mut w32, &mut o32)).unwrap();
            let mut b64 = Population::<12>::builder(n, Storage::new(&mut w64, &mut o64)).unwrap();
            for _ in 0..m {
                let scores: std::vec::Vec<f32> = (0..n).map(|_| draw(&mut next)).collect();
                let weight = draw(&mut next).abs();
                let wide: std::vec::Vec<f64> = scores.iter().map(|&x| f64::from(x)).collect();
                let a = b32.push_scores(weight, &scores);
                let b = b64.push_scores(f64::from(weight), &wide);
                assert_eq!(a, b, "round {round}");
            }
            match (b32.finish(), b64.finish()) {
                (Ok(p32), Ok(p64)) => {
                    assert_eq!(p32.order_rows(), p64.order_rows(), "round {round}");
                    let bits = |p: &Population<'_, 12>| {
                        p.weights()
                            .iter()
                            .map(|w| w.to_bits())
                            .collect::<std::vec::Vec<_>>()
                    };
                    assert_eq!(bits(&p32), bits(&p64), "round {round}");
                }
                (a, b) => assert_eq!(a.err(), b.err(), "round {round}"),
            }
        }
    }

    /// Counts with a total below `2^24` are normalised by one `f32` division, which is the
    /// nearest `f32` to `c / T` (the integer long division of `fixed::ratio_nearest` agrees).
    #[test]
    fn small_count_totals_give_the_nearest_weights() {
        use crate::{Population, Storage};
        let mut next = crate::xorshift32(29);
        for round in 0..if cfg!(miri) { 4 } else { 300 } {
            let m = 1 + (next() % 40) as usize;
            let (mut w, mut o) = (std::vec![0.0f32; m], std::vec![0u16; m]);
            let mut b = Population::<1>::builder(1, Storage::new(&mut w, &mut o)).unwrap();
            let given: std::vec::Vec<u32> = (0..m).map(|_| next() % (1 << (next() % 18))).collect();
            for &c in &given {
                b.push_scores(c as f32, &[0.0f32]).unwrap();
            }
            let total: u64 = given.iter().map(|&c| u64::from(c)).sum();
            let Ok(pop) = b.finish() else {
                assert_eq!(total, 0);
                continue;
            };
            assert!(total < 1 << 24);
            for (j, &c) in given.iter().enumerate() {
                let nearest = crate::fixed::ratio_nearest(u128::from(c), u128::from(total));
                assert_eq!(
                    pop.weights()[j],
                    nearest,
                    "round {round}, user {j}: {c}/{total}"
                );
            }
        }
    }

    /// Weights that are not counts are normalised as docs/maths.md §8.2 says: `f32(w) / f32(T)`
    /// with `T` the sum of the weights, each truncated to a multiple of `2^(e - 39)` (`e` the
    /// largest weight's exponent as `fixed::parts` gives it), computed here from the exact
    /// integers of the scaled weights. A weight far below the others is kept, not made 0 with
    /// its truncated term (1e-30 beside 1 was dropped).
    #[test]
    fn fractional_weights_are_normalised_by_the_documented_total() {
        use crate::{Population, Storage};
        let weights_of = |given: &[f32]| {
            let m = given.len();
            let (mut w, mut o) = (std::vec![0.0f32; m], std::vec![0u16; m]);
            let mut b = Population::<1>::builder(1, Storage::new(&mut w, &mut o)).unwrap();
            for &x in given {
                b.push_scores(x, &[0.0f32]).unwrap();
            }
            b.finish().map(|p| p.weights().to_vec()).unwrap_or_default()
        };
        assert_eq!(weights_of(&[1.0, 1e-30]), [1.0, 1e-30]);
        assert_eq!(weights_of(&[0.5, 1e-40, 0.5]), [0.5, 1e-40, 0.5]);
        let mut next = crate::xorshift32(31);
        for round in 0..if cfg!(miri) { 4 } else { 400 } {
            let m = 1 + (next() % 12) as usize;
            // Mantissas of 24 bits, exponents spanning 2^-70..2^40 (some far below the rest).
            let given: std::vec::Vec<f32> = (0..m)
                .map(|_| {
                    let mant = (next() % (1 << 24)) as f32 + 0.5;
                    mant * f32::from_bits((127 - 94 + (next() % 110)) << 23)
                })
                .collect();
            let largest = given.iter().copied().fold(0.0f32, f32::max);
            let (_, e) = crate::fixed::parts(largest);
            let unit = 39 - e;
            let scaled = |x: f32| {
                let (mant, ex) = crate::fixed::parts(x);
                let s = ex + unit;
                if s >= 0 {
                    u128::from(mant) << s
                } else {
                    u128::from(mant).checked_shr(-s as u32).unwrap_or(0)
                }
            };
            let total: u128 = given.iter().map(|&x| scaled(x)).sum();
            // f32(T) in the scaled units: `as f32` rounds to nearest.
            let t = total as f32;
            let power = |k: i32| {
                // 2^k by halves, each step exact in f32.
                let (mut p, step) = (1.0f32, if k >= 0 { 2.0f32 } else { 0.5f32 });
                for _ in 0..k.unsigned_abs() {
                    p *= step;
                }
                p
            };
            let got = weights_of(&given);
            for (j, &x) in given.iter().enumerate() {
                // f32(w) / f32(T) with both scaled by 2^unit, which changes neither quotient
                // nor rounding in the normal range.
                let want = (x * power(unit / 2) * power(unit - unit / 2)) / t;
                assert_eq!(got[j].to_bits(), want.to_bits(), "round {round}, {given:?}");
            }
        }
    }

    /// Counts come back exactly from the normalised weights, as the `f64` formula
    /// `round(w total)` gives them, for populations of every size up to large totals; any
    /// weight that is not a count leaves none.
    #[test]
    fn counts_come_back_exactly() {
        use crate::{Population, Storage};
        let mut next = crate::xorshift32(19);
        let (rounds, most) = if cfg!(miri) { (4, 40) } else { (60, 3000) };
        for round in 0..rounds {
            let m = 1 + (next() % most) as usize;
            let (mut w, mut o) = (std::vec![0.0f32; m], std::vec![0u16; 2 * m]);
            let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o)).unwrap();
            let mut given = std::vec::Vec::new();
            for _ in 0..m {
                let c = match next() % 4 {
                    0 => next() % COUNT_MAX,
                    1 => COUNT_MAX - 1 - next() % 16,
                    2 => 0,
                    _ => next() % 10,
                };
                given.push(c);
                b.push_scores(f64::from(c), &[1.0, 0.0]).unwrap();
            }
            if given.iter().all(|&c| c == 0) {
                continue;
            }
            let pop = b.finish().unwrap();
            let total: u64 = given.iter().map(|&c| u64::from(c)).sum();
            assert_eq!(pop.count_total(), Some(total), "round {round}");
            for (j, &c) in given.iter().enumerate() {
                assert_eq!(pop.count(j), Some(c), "round {round}, user {j}");
                let w = f64::from(pop.weights()[j]);
                assert_eq!((w * pop.total_weight() + 0.5) as u32, c, "the f64 formula");
            }
        }
        let (mut w, mut o) = ([0.0f32; 2], [0u16; 4]);
        let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o)).unwrap();
        b.push_scores(2.0, &[1.0, 0.0]).unwrap();
        b.push_scores(0.5, &[0.0, 1.0]).unwrap();
        let pop = b.finish().unwrap();
        assert_eq!((pop.count(0), pop.count_total()), (None, None));
    }
}
