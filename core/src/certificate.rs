//! Certificates: what a policy guarantees when `k` of its draws are shown (docs/maths.md §2,
//! docs/certificates.md).
//!
//! A certificate is a guarantee about the exact value. It is not read off the `f32` shares the
//! solvers use, whose rounding can put a printed win rate above the truth. Instead:
//!
//! 1. **The policy** means the distribution proportional to its `f32` masses, normalised by
//!    their exact sum. Each probability is bounded above in fixed point (units of `2^-31`,
//!    rounded up).
//! 2. **The weights** are exact: counts (whole numbers below
//!    [`COUNT_MAX`](crate::population::COUNT_MAX)) as integers, other weights as the binary
//!    value of their normalised `f32`, scaled to integers (rounded up in numerators, down in
//!    the denominator).
//! 3. **Each user's share** `sum_{i=0..k} a^i b^(k-i)` (with `a = b + c`) is a polynomial with
//!    non-negative coefficients in the upper bounds of `a` and `b`, evaluated by the recurrence
//!    `s_i = a s_{i-1} + b^i` with every product rounded up: an upper bound of the exact value.
//! 4. **The sums over users** are exact 128-bit integer sums, the same in any order and on any
//!    number of threads.
//! 5. **The figures** are exact integer ratios rounded to `f32` in the safe direction: the
//!    worst-case win rate down, the exploitability up.
//!
//! Nothing is rounded whose exact result is representable, so a point mass on a Condorcet
//! winner certifies with exploitability exactly 0 and win rate exactly `1/2` at `k = 1`. The
//! bounds are within about `(3k + 2) 2^-32` of the exact shares (docs/certificates.md).

use crate::{
    Error, Population, check_k,
    fixed::{ONE, SHIFT, div_rem, mul_u64, mul_up, mul_wide_up, ratio_down, ratio_up, scaled},
    limits::SMALL_PROFILE,
    policy::check_policy,
    population::{INDEX, TIE_NEXT},
    scratch::with_scratch,
    share::with_usual_k,
};

/// The certificate of `(pi, k)`.
///
/// `worst_case_win_rate` is a lower bound of the exact probability that the user's pick among
/// the `k` draws beats the best single response against `pi`, `1 - max_y g(y)`;
/// `exploitability` an upper bound of the exact `max_y g(y) - 1/(k+1)` (which is never negative);
/// `bound = k/(k+1)` rounded down, the best any product policy can guarantee.
///
/// Fields may be added, so other crates build one with [`Certificate::new`] and the setters
/// (to hold figures read elsewhere, such as a device's reply).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Certificate {
    /// Number of shown responses.
    pub k: u32,
    /// A lower bound of `1 - max_y g(y)`, exact when representable.
    pub worst_case_win_rate: f32,
    /// An upper bound of `max_y g(y) - 1/(k+1)`, exact when representable (0 for an exact
    /// equilibrium).
    pub exploitability: f32,
    /// The candidate whose share bound is largest (the lowest index on ties).
    pub worst_opponent: usize,
    /// `k/(k+1)`, rounded down.
    pub bound: f32,
}

impl Certificate {
    /// The certificate that guarantees nothing at `k`: worst-case win rate 0, exploitability
    /// `k/(k+1)` (rounded up; the worst opponent takes everything), worst opponent 0, and the
    /// bound `k/(k+1)` rounded down. Any estimate improves on it; the setters fill in figures
    /// known otherwise.
    ///
    /// ```
    /// use ualign::Certificate;
    /// let c = Certificate::new(3).worst_case_win_rate(0.7).exploitability(0.05);
    /// assert_eq!((c.k, c.worst_case_win_rate, c.exploitability, c.bound), (3, 0.7, 0.05, 0.75));
    /// ```
    pub fn new(k: u32) -> Certificate {
        Certificate {
            k,
            worst_case_win_rate: 0.0,
            exploitability: ratio_up(u128::from(k), u128::from(k) + 1),
            worst_opponent: 0,
            bound: ratio_down(u128::from(k), u128::from(k) + 1),
        }
    }

    /// Sets the lower bound of the worst-case win rate.
    pub fn worst_case_win_rate(mut self, x: f32) -> Self {
        self.worst_case_win_rate = x;
        self
    }

    /// Sets the upper bound of the exploitability.
    pub fn exploitability(mut self, x: f32) -> Self {
        self.exploitability = x;
        self
    }

    /// Sets the worst opponent.
    pub fn worst_opponent(mut self, y: usize) -> Self {
        self.worst_opponent = y;
        self
    }

    /// Sets the bound `k/(k+1)` as given (rounded down).
    pub fn bound(mut self, x: f32) -> Self {
        self.bound = x;
        self
    }

    /// The exploitability read off `f32` shares `g`, `max g - 1/(k+1)` and at least 0 (no
    /// guarantee): what the solvers steer by between certificates (their `k` checked). An
    /// empty `g` shows nothing: infinity.
    pub(crate) fn estimate(g: &[f32], k: u32) -> f32 {
        let Some(&first) = g.first() else {
            return f32::INFINITY;
        };
        // From `g[0]`: a NaN after the first is passed over, a NaN first stays.
        let max = crate::float::max_from(first, g);
        // `k + 1` exactly for every valid `k` (at most `MAX_K + 1 < 2^24`), and no overflow.
        let e = max - 1.0 / (k as f32 + 1.0);
        if e > 0.0 { e } else { 0.0 }
    }
}

/// Certifies `(pi, k)` on `pop`: guaranteed bounds of the exact worst-case win rate and
/// exploitability of the policy proportional to `pi` (see the [module docs](self)).
///
/// ```
/// use ualign::{Population, Storage, certificate::certify};
/// // 2 of 3 voters rank a first: a is a Condorcet winner, its point mass an exact k = 1
/// // equilibrium.
/// let (mut w, mut o) = ([0.0f32; 2], [0u16; 4]);
/// let mut b = Population::<2>::builder(2, Storage::new(&mut w, &mut o))?;
/// b.push_ranking(2.0, [[0], [1]])?;
/// b.push_ranking(1.0, [[1], [0]])?;
/// let pop = b.finish()?;
/// let c = certify(&pop, &[1.0, 0.0], 1)?;
/// assert_eq!((c.worst_case_win_rate, c.exploitability), (0.5, 0.0));
/// # Ok::<(), ualign::Error>(())
/// ```
///
/// Errors: [`Error::InvalidK`], [`Error::LengthMismatch`], [`Error::InvalidPolicy`],
/// [`Error::TooManyCandidates`].
pub fn certify<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    check_k(k)?;
    check_policy(pi, pop.n())?;
    certify_valid(pop, pi, k)
}

/// [`certify`] of a policy and a `k` already checked (the solvers' snapped policies): the
/// check is a pass over the masses, not needed twice.
pub(crate) fn certify_valid<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    with_scratch!(pop.n(), N, certify_in::<N>(pop, pi, k))
}

/// [`certify`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn certify_in<const N: usize, const C: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    Ok(Bounds::<C>::new::<N, false>(pop, pi, k)?.certificate(k))
}

/// Our win rate when showing `k` draws from `pi` against a mixed single-response opponent `s`,
/// `1 - sum_y s(y) g(y)`: a guaranteed lower bound, both policies normalised exactly.
///
/// Errors: those of [`certify`], and [`Error::InvalidPolicy`] for `opponent`.
pub fn win_rate_against<const N: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    opponent: &[f32],
) -> Result<f32, Error> {
    check_k(k)?;
    check_policy(pi, pop.n())?;
    check_policy(opponent, pop.n())?;
    with_scratch!(pop.n(), N, win_rate_in::<N>(pop, pi, k, opponent))
}

/// [`win_rate_against`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn win_rate_in<const N: usize, const C: usize>(
    pop: &Population<'_, N>,
    pi: &[f32],
    k: u32,
    opponent: &[f32],
) -> Result<f32, Error> {
    let bounds = Bounds::<C>::new::<N, true>(pop, pi, k)?;
    let mut s = [0u64; C];
    let s = s
        .get_mut(..pop.n())
        .ok_or(Error::TooManyCandidates { n: pop.n(), max: C })?;
    masses_up(opponent, s);
    // sum_y s(y) g(y) <= sum_y s_up(y) num(y) / (ONE den), s_up in units of 2^-31. To stay in
    // 128 bits, num and ONE den are scaled by 2^-r (num rounded up, ONE den down); num <= den
    // (g <= 1, up to rounding), so r is set by den's size.
    let den = bounds.den;
    let bits = |x: u128| 128 - x.leading_zeros();
    let r = (bits(den) + SHIFT + bits(pop.n() as u128) + 2).saturating_sub(127);
    let mut acc = 0u128;
    for (&sy, &num) in s.iter().zip(bounds.num.iter()) {
        let lost = num.checked_shl(128 - r).is_some_and(|x| r > 0 && x != 0);
        let num = num.checked_shr(r).unwrap_or(0) + u128::from(lost);
        acc = acc.saturating_add(num.saturating_mul(u128::from(to_fixed(sy))));
    }
    let den = if r <= SHIFT {
        den << (SHIFT - r)
    } else {
        den >> (r - SHIFT)
    };
    Ok(if acc >= den {
        0.0
    } else {
        ratio_down(den - acc, den)
    })
}

/// The certificate of a time mixture (draw one of the `iterates`, `n` masses each, uniformly,
/// then `k` draws from it): its share is the mean of the iterates' shares, bounded by the mean
/// of their bounds.
pub(crate) fn certify_mixture<const N: usize>(
    pop: &Population<'_, N>,
    iterates: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    check_k(k)?;
    with_scratch!(pop.n(), N, certify_mixture_in::<N>(pop, iterates, k))
}

/// [`certify_mixture`] with scratch for `C` candidates ([`crate::scratch`]).
#[cfg_attr(not(target_os = "none"), inline(never))]
fn certify_mixture_in<const N: usize, const C: usize>(
    pop: &Population<'_, N>,
    iterates: &[f32],
    k: u32,
) -> Result<Certificate, Error> {
    let n = pop.n();
    let mut mixture = Bounds::<C> {
        num: [0u128; C],
        excess: [0i128; C],
        den: 0,
        fair: 0,
        n,
    };
    let mut rounds = 0u128;
    let (mut den, mut fair) = (0u128, 0u128);
    for pi in iterates.chunks_exact(n) {
        check_policy(pi, n)?;
        let b = Bounds::<C>::new::<N, false>(pop, pi, k)?;
        // Each bound scaled by 2^-16, rounded up, so that 2^32 rounds cannot overflow; `den` is
        // a multiple of ONE = 2^31, so its scaling is exact. (`-((-x) >> 16)` is the ceiling of
        // `x / 2^16`: the arithmetic shift floors.)
        for (s, &x) in mixture.excess.iter_mut().zip(b.excess.iter()) {
            *s = s.saturating_add(-(x.saturating_neg() >> 16));
        }
        (den, fair) = (b.den >> 16, b.fair >> 16);
        rounds += 1;
    }
    if rounds == 0 {
        return Err(Error::LengthMismatch {
            expected: n,
            found: iterates.len(),
        });
    }
    mixture.den = den.saturating_mul(rounds);
    mixture.fair = fair.saturating_mul(rounds);
    Ok(mixture.certificate(k))
}

/// Upper bounds of the shares of one policy: `g(y) - 1/(k+1) <= excess[y] / den`, exactly, and
/// (when asked for) `g(y) <= num[y] / den`.
///
/// The excess is what certificates use: a user whose share is exactly `1/(k+1)` adds nothing,
/// users above it add with their weights rounded up, users below subtract with their weights
/// rounded down. So an exact equilibrium of exact shares (a unanimous top choice, a Condorcet
/// winner at `k = 1`) certifies exactly whatever the weights.
pub(crate) struct Bounds<const C: usize> {
    /// `sum_j W_j^up s_j(y)` per candidate (zero unless asked for).
    num: [u128; C],
    /// `sum_j W_j^up (s_j(y) - ONE)` over the users with `s_j(y) > ONE`, minus
    /// `sum_j W_j^down (ONE - s_j(y))` over the users with `s_j(y) < ONE`.
    excess: [i128; C],
    /// `(k+1) ONE sum_j W_j^down`.
    den: u128,
    /// `den / (k+1)`, the fair share's numerator (kept, not divided out: 128-bit division is a
    /// library routine of hundreds of instructions on a 32-bit core).
    fair: u128,
    /// Candidates.
    n: usize,
}

impl<const C: usize> Bounds<C> {
    /// The bounds of `(pi, k)` on `pop` (`pi` and `k` already checked), for at most `C`
    /// candidates; `NUM` asks for `num` too.
    pub(crate) fn new<const N: usize, const NUM: bool>(
        pop: &Population<'_, N>,
        pi: &[f32],
        k: u32,
    ) -> Result<Self, Error> {
        let n = pop.n();
        let mut mass = [0u64; C];
        let mass = mass
            .get_mut(..n)
            .ok_or(Error::TooManyCandidates { n, max: C })?;
        masses_up(pi, mass);
        let mut bounds = Bounds {
            num: [0u128; C],
            excess: [0i128; C],
            den: 0,
            fair: 0,
            n,
        };
        let weights = Weights::of(pop);
        let strict = pop.all_strict();
        // Exact weights (counts, or `f32` weights that scale to integers exactly: the usual
        // case) need no sign: the excess is `sum_j W_j s_j(y) - ONE sum_j W_j`, formed from `num`
        // after the last user. When their total `T` keeps `T (k+1) ONE` below `2^64` (counts
        // totalling below `2^22` even at `k = 1024`, far more at the usual `k`), every
        // `sum_j W_j s_j(y)` does too (`s_j(y) <= (k+1) ONE`, see `poly_up`): it is summed in a
        // `u64`, two words where a 32-bit core adds four for a `u128`. The small profile sums
        // every user with its sign, which gives the same integers (a test checks) in less flash.
        let total = if N <= SMALL_PROFILE {
            None
        } else if weights.counts {
            pop.count_total()
        } else {
            (0..pop.m()).try_fold(0u64, |t, j| {
                let (up, down) = weights.get(pop, j);
                (up == down).then(|| t.saturating_add(up))
            })
        };
        let sums = match total {
            None => Sums::Signed,
            Some(t) if t <= u64::MAX / (u64::from(k + 1) * u64::from(ONE)) => Sums::Narrow,
            Some(_) => Sums::Wide,
        };
        let exact = sums != Sums::Signed;
        let mut narrow = [0u64; C];
        let mut total_down = 0u128;
        for (j, row) in pop.order_rows().chunks_exact(n).enumerate() {
            let (up, down) = weights.get(pop, j);
            total_down += u128::from(down);
            if up == 0 {
                continue;
            }
            let user = (up, down, sums);
            add_user::<C, NUM>(row, mass, k, user, strict, (&mut narrow, &mut bounds));
        }
        if sums == Sums::Narrow {
            for (p, &x) in bounds.num.iter_mut().zip(narrow.iter()).take(n) {
                *p = u128::from(x);
            }
        }
        if exact {
            // `num` and `ONE sum_j W_j` are below 2^127: the difference is exact in i128.
            let fair = i128::try_from(u128::from(ONE) * total_down).unwrap_or(i128::MAX);
            for (x, &p) in bounds.excess.iter_mut().zip(bounds.num.iter()).take(n) {
                *x = i128::try_from(p).unwrap_or(i128::MAX).saturating_sub(fair);
            }
        }
        bounds.fair = u128::from(ONE) * total_down;
        bounds.den = u128::from(k + 1) * bounds.fair;
        Ok(bounds)
    }

    /// The certificate these bounds prove.
    pub(crate) fn certificate(&self, k: u32) -> Certificate {
        // The largest excess over the fair share, and where (the lowest index on ties), by
        // selects rather than a branch on each comparison, whose outcomes follow the shares.
        // `i128::MIN`, below every excess, stays when `n = 0`: no excess, as before.
        let mut worst = 0usize;
        let mut best = i128::MIN;
        for (y, &e) in self.excess.iter().take(self.n).enumerate() {
            let larger = e > best;
            best = if larger { e } else { best };
            worst = if larger { y } else { worst };
        }
        let den = self.den;
        let fair_k = self.fair * u128::from(k);
        let (worst_case_win_rate, exploitability) = match best {
            e if e > 0 => {
                let excess = e.unsigned_abs();
                let f = if excess >= fair_k {
                    0.0
                } else {
                    ratio_down(fair_k - excess, den)
                };
                (f, ratio_up(excess.min(den), den))
            }
            // No candidate's share exceeds 1/(k+1): an exact equilibrium.
            _ => (ratio_down(u128::from(k), u128::from(k) + 1), 0.0),
        };
        Certificate {
            k,
            worst_case_win_rate,
            exploitability,
            worst_opponent: worst,
            bound: ratio_down(u128::from(k), u128::from(k) + 1),
        }
    }
}

/// `2^62`: the unit of the masses [`masses_up`] computes.
const MASS_ONE: u64 = 1 << 62;

/// Upper bounds, in units of `2^-62`, of the probabilities `pi(y) / sum pi` (at most `2^62`).
/// Class masses are sums of these, rounded to `2^-31` once per class ([`to_fixed`]), so the
/// bounds of `a` and `b` are within `2^-31 + n 2^-62` of the exact values.
pub(crate) fn masses_up(pi: &[f32], out: &mut [u64]) {
    // Each mass as an integer multiple of 2^-62 (exact for masses of 2^-38 and more; smaller
    // ones bracketed by floor and ceiling), so the total is an exact integer.
    // `out` holds each mass's ceiling until the total is known.
    let mut total_down = 0u128;
    for (o, &p) in out.iter_mut().zip(pi) {
        let (down, up) = scaled(p, 62);
        total_down += u128::from(down);
        *o = up;
    }
    if total_down == 0 {
        // Every mass below 2^-62: no useful bound; the trivial one.
        for o in out.iter_mut() {
            *o = MASS_ONE;
        }
        return;
    }
    let exact_one = total_down == u128::from(MASS_ONE);
    for o in out.iter_mut() {
        let up = *o;
        // ceil(up * 2^62 / total); a total of exactly 1 (the solvers' policies) needs none.
        let q = if exact_one {
            u128::from(up)
        } else {
            let num = u128::from(up) << 62;
            let (q, rest) = div_rem(num, total_down);
            q + u128::from(rest != 0)
        };
        *o = u64::try_from(q.min(u128::from(MASS_ONE))).unwrap_or(MASS_ONE);
    }
}

/// A mass in units of `2^-62` as an upper bound in units of `2^-31`, at most `ONE`.
pub(crate) fn to_fixed(x: u64) -> u32 {
    let q = (x >> SHIFT) + u64::from(x & (u64::from(ONE) - 1) != 0);
    u32::try_from(q.min(u64::from(ONE))).unwrap_or(ONE)
}

/// `sum_{i=0..k} a^i b^(k-i)` in units of `2^-31`, rounded up, for `b <= a <= ONE`: the
/// recurrence `s_i = a s_{i-1} + b^i` from `s_0 = 1` (at most `(k+1) ONE < 2^42`).
///
/// The massless classes at the ends of an order have `a = b = 0` (nothing below) or
/// `a = b = ONE` (everything below), where every step of the recurrence is exact and its result
/// known: `0` (for `k >= 1`) and `(k+1) ONE`. Those return at once (a test compares them with
/// the recurrence).
pub(crate) fn poly_up(a: u32, b: u32, k: u32) -> u64 {
    if a == b && k > 0 {
        if b == 0 {
            return 0;
        }
        if b == ONE {
            return u64::from(k + 1) * u64::from(ONE);
        }
    }
    recurrence_up(a, b, k)
}

/// [`poly_up`] without its shortcuts (the same value for every input): the recurrence itself,
/// with no branch but the loop's, which a constant `k` writes out.
#[inline(always)]
fn recurrence_up(a: u32, b: u32, k: u32) -> u64 {
    let mut s = u64::from(ONE);
    let mut power = ONE;
    for _ in 0..k {
        power = mul_up(power, b);
        s = mul_wide_up(a, s) + u64::from(power);
    }
    s
}

/// Adds one user type's `s_j(y)`, weighted by `(up, down)`, into `bounds` (or `narrow`): each
/// candidate's share bound comes from [`each_share`], and the sum it joins depends on `sums`.
/// With exact weights ([`Sums::Wide`] and [`Sums::Narrow`], `up = down`) it adds `W_j s_j(y)`
/// into `num`, or into `narrow` when the sums fit a `u64`, and the caller forms the excess from
/// them after the last user. Otherwise ([`Sums::Signed`]) it adds the excess over the fair
/// share, choosing the weight and the sign of the data-dependent excess (above or below the fair
/// share) without a branch. Every sum is of integers, exact, so the order of the adds does not
/// matter.
fn add_user<const C: usize, const NUM: bool>(
    row: &[u16],
    mass: &[u64],
    k: u32,
    (up, down, sums): (u64, u64, Sums),
    strict: bool,
    (narrow, bounds): (&mut [u64; C], &mut Bounds<C>),
) {
    match sums {
        Sums::Narrow => each_share(row, mass, k, strict, |y, s| {
            if let Some(x) = narrow.get_mut(y) {
                // Below 2^64 with every sum (`Bounds::new`): the operations cannot wrap.
                *x = x.wrapping_add(s.wrapping_mul(up));
            }
        }),
        Sums::Wide => each_share(row, mass, k, strict, |y, s| {
            if let Some(x) = bounds.num.get_mut(y) {
                *x += mul_u64(s, up);
            }
        }),
        Sums::Signed => {
            let one = u64::from(ONE);
            each_share(row, mass, k, strict, |y, s| {
                // |s - ONE| < 2^42 and the weights are below 2^40: the products are below
                // 2^82, so they and their sums over users are exact in 128 bits. Above the
                // fair share the weight rounded up, below it the weight rounded down, and the
                // product negated.
                let above = s >= one;
                let (d, w) = if above {
                    (s - one, up)
                } else {
                    (one - s, down)
                };
                let negate = -i128::from(!above);
                let excess = (mul_u64(d, w) as i128 ^ negate) - negate;
                if let Some(x) = bounds.excess.get_mut(y) {
                    *x += excess;
                }
                if NUM && let Some(x) = bounds.num.get_mut(y) {
                    *x += mul_u64(s, up);
                }
            });
        }
    }
}

/// Calls `add(y, s)` for each candidate `y` of one user type's order `row` (best first) with
/// its share bound `s`, walking the tie classes from the bottom: every candidate of a class has
/// the same `b` (the mass below the class) and `a = b + c` (`c` the class's mass). `strict`
/// says that `row` has no ties: its classes are its positions, which [`strict_by_position`]
/// walks on a host and [`strict_by_run`] on a microcontroller (the same bounds).
#[inline(always)]
fn each_share(row: &[u16], mass: &[u64], k: u32, strict: bool, mut add: impl FnMut(usize, u64)) {
    if strict {
        if cfg!(target_os = "none") {
            strict_by_run(row, mass, k, &mut add);
        } else {
            with_usual_k!(k, k => strict_by_position(row, mass, k, &mut add));
        }
        return;
    }
    let at = |e: u16| mass.get((e & INDEX) as usize).copied().unwrap_or(0);
    let mut below = 0u64;
    // `to_fixed(below)`: the `a` of the class below (`to_fixed(0) = 0` at the bottom).
    let mut b = 0u32;
    let mut end = row.len();
    while end > 0 {
        // The class is row[start..end]: position p ties with p + 1 when TIE_NEXT is set.
        let mut start = end - 1;
        while start > 0 && row.get(start - 1).is_some_and(|&e| e & TIE_NEXT != 0) {
            start -= 1;
        }
        let class = row.get(start..end).unwrap_or(&[]);
        let c = class.iter().fold(0u64, |c, &e| c.saturating_add(at(e)));
        let a = to_fixed(below.saturating_add(c));
        let s = poly_up(a, b, k);
        for &e in class {
            add((e & INDEX) as usize, s);
        }
        below = below.saturating_add(c);
        b = a;
        end = start;
    }
}

/// [`each_share`] of a strict order on a host: every position takes its own polynomial, with
/// no branch on its mass (the usual `k` each in a copy of its own, the recurrence written out).
/// Which candidates of an order hold mass follows no pattern a branch predictor can learn, and
/// the branches of [`strict_by_run`] cost a host more than the polynomials they save (about 5% of
/// a `batch` line of (16, 8, 4); CHANGELOG.md). A massless position has `a = b`, the value
/// [`strict_by_run`] gives its run, so the bounds are the same.
#[inline(always)]
fn strict_by_position(row: &[u16], mass: &[u64], k: u32, add: &mut impl FnMut(usize, u64)) {
    let (mut below, mut b) = (0u64, 0u32);
    for &e in row.iter().rev() {
        let y = (e & INDEX) as usize;
        below = below.saturating_add(mass.get(y).copied().unwrap_or(0));
        let a = to_fixed(below);
        add(y, recurrence_up(a, b, k));
        b = a;
    }
}

/// [`each_share`] of a strict order on a microcontroller, which pays for every multiplication
/// and little for a branch: a candidate without mass has `a = b`, and so has every candidate of
/// its run of massless neighbours, so the run takes one polynomial (most candidates of an
/// equilibrium have no mass), and [`poly_up`]'s shortcuts take the runs at the ends.
#[inline(always)]
fn strict_by_run(row: &[u16], mass: &[u64], k: u32, add: &mut impl FnMut(usize, u64)) {
    let mut below = 0u64;
    let mut b = 0u32;
    let mut run: Option<u64> = None;
    for &e in row.iter().rev() {
        let m = mass.get((e & INDEX) as usize).copied().unwrap_or(0);
        let s = if m == 0 {
            *run.get_or_insert_with(|| poly_up(b, b, k))
        } else {
            run = None;
            below = below.saturating_add(m);
            let a = to_fixed(below);
            let s = poly_up(a, b, k);
            b = a;
            s
        };
        add((e & INDEX) as usize, s);
    }
}

/// How [`add_user`] sums a user's shares bounds.
#[derive(Clone, Copy, PartialEq)]
enum Sums {
    /// Weights rounded up or down by the sign of each excess, into `Bounds::excess`.
    Signed,
    /// Exact weights, `W_j s_j(y)` into `Bounds::num`.
    Wide,
    /// Exact weights whose sums fit a `u64`, `W_j s_j(y)` into a `u64` per candidate.
    Narrow,
}

/// The exact integer weights of a population: counts when it has them, otherwise the binary
/// values of the normalised `f32` weights scaled so the largest is below `2^40`.
pub(crate) struct Weights {
    counts: bool,
    /// The scale `2^shift` of the `f32` weights (when not counts).
    shift: i32,
}

impl Weights {
    pub(crate) fn of<const N: usize>(pop: &Population<'_, N>) -> Self {
        // Counts: recovered exactly, checked against the exact total.
        let mut counts = pop.count(0).is_some();
        if counts {
            let mut sum = 0u64;
            for j in 0..pop.m() {
                sum = sum.saturating_add(u64::from(pop.count(j).unwrap_or(0)));
            }
            counts = Some(sum) == pop.count_total();
        }
        let max = pop
            .weights()
            .iter()
            .fold(0.0f32, |m, &w| if w > m { w } else { m });
        let (_, e) = crate::fixed::parts(max);
        // max = m 2^e with m < 2^24: scaled by 2^(16 - e) it is below 2^40.
        Weights {
            counts,
            shift: 16 - e,
        }
    }

    /// `(up, down)` integer weights of user type `j` (equal when exact).
    pub(crate) fn get<const N: usize>(&self, pop: &Population<'_, N>, j: usize) -> (u64, u64) {
        if self.counts {
            let c = u64::from(pop.count(j).unwrap_or(0));
            return (c, c);
        }
        let w = pop.weight(j).unwrap_or(0.0);
        let (down, up) = scaled(w, self.shift);
        (up, down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Storage;
    extern crate std;

    /// The fixed-point polynomial brackets the `f64` one and is exact on `{0, 1}`.
    #[test]
    fn poly_up_is_an_upper_bound() {
        // The recurrence itself, without the shortcuts for `a = b` at 0 and `ONE`.
        let recurrence = |a: u32, b: u32, k: u32| {
            (0..k).fold((u64::from(ONE), ONE), |(s, power), _| {
                let power = mul_up(power, b);
                (mul_wide_up(a, s) + u64::from(power), power)
            })
        };
        for k in 0..=16u32 {
            for (a, b) in [
                (0, 0),
                (ONE, ONE),
                (ONE, 0),
                (1, 1),
                (ONE - 1, ONE - 1),
                (1, 0),
            ] {
                assert_eq!(poly_up(a, b, k), recurrence(a, b, k).0, "{a} {b} {k}");
            }
            if k == 0 {
                continue;
            }
            assert_eq!(poly_up(ONE, ONE, k), u64::from(k + 1) * u64::from(ONE));
            assert_eq!(poly_up(ONE, 0, k), u64::from(ONE));
            assert_eq!(poly_up(0, 0, k), 0);
            let mut next = crate::xorshift32(k);
            for _ in 0..if cfg!(miri) { 10 } else { 200 } {
                let a = next() % (ONE + 1);
                let b = next() % (a + 1);
                assert_eq!(poly_up(a, b, k), recurrence(a, b, k).0, "{a} {b} {k}");
                let (af, bf) = (a as f64 / ONE as f64, b as f64 / ONE as f64);
                // Powers by repeated products (basic operations, which miri does not perturb).
                let pow = |x: f64, e: u32| (0..e).fold(1.0, |acc, _| acc * x);
                let exact: f64 = (0..=k).map(|i| pow(af, i) * pow(bf, k - i)).sum();
                let got = poly_up(a, b, k) as f64 / ONE as f64;
                assert!(got >= exact * (1.0 - 1e-12), "{a} {b} {k}");
                // b^i carries up to i units of rounding; s up to sum_i (1 + i) of them.
                assert!(
                    got - exact < ((k + 1) * (k + 2)) as f64 / ONE as f64,
                    "{a} {b} {k}"
                );
            }
        }
    }

    /// A strict order's bounds are the same walked position by position (a host's, through the
    /// copies per `k`) and run by run (a microcontroller's): orders with most candidates
    /// massless, masses at the scale of a solver's policy, at the ends (`0` and all the mass on
    /// one candidate), and every `k` with a copy of its own and others.
    #[test]
    fn strict_orders_walk_alike_by_position_and_by_run() {
        use std::vec::Vec;
        let mut next = crate::xorshift32(0x5eed_c0de);
        for case in 0..if cfg!(miri) { 40 } else { 4_000 } {
            let n = 1 + (next() % 24) as usize;
            let k = [1, 2, 3, 4, 8, 0, 5, 16][case % 8];
            let mut row: Vec<u16> = (0..n as u16).collect();
            for i in (1..n).rev() {
                row.swap(i, (next() as usize) % (i + 1));
            }
            let mass: Vec<u64> = (0..n)
                .map(|_| match next() % 8 {
                    0..=4 => 0,
                    5 => MASS_ONE,
                    _ => u64::from(next()) << (next() % 31),
                })
                .collect();
            let mut by_position = Vec::new();
            each_share(&row, &mass, k, true, |y, s| by_position.push((y, s)));
            let mut by_run = Vec::new();
            strict_by_run(&row, &mass, k, &mut |y, s| by_run.push((y, s)));
            assert_eq!(
                by_position, by_run,
                "case {case}: k = {k}, row {row:?}, mass {mass:?}"
            );
        }
    }

    /// The estimate is `max g - 1/(k+1)` floored at 0, the maximum as one running maximum
    /// takes it (a NaN first stays, a later one is passed over), for every length and order.
    #[test]
    fn estimates_take_the_running_maximum() {
        let mut next = crate::xorshift32(41);
        for case in 0..if cfg!(miri) { 50 } else { 20_000 } {
            let n = 1 + case % 23;
            let g: std::vec::Vec<f32> = (0..n)
                .map(|_| match next() % 16 {
                    0 => f32::NAN,
                    1 => 0.2,
                    _ => (next() % 10_000) as f32 / 9_999.0,
                })
                .collect();
            let k = 1 + next() % 5;
            let max = g
                .iter()
                .skip(1)
                .fold(g[0], |m, &x| if x > m { x } else { m });
            let e = max - 1.0 / (k + 1) as f32;
            let expected = if e > 0.0 { e } else { 0.0 };
            let got = Certificate::estimate(&g, k);
            assert_eq!(got.to_bits(), expected.to_bits(), "{g:?} at k = {k}");
        }
        assert_eq!(Certificate::estimate(&[], 1), f32::INFINITY);
    }

    /// A strict order gives the same sums through its positions as through the walk of its
    /// (one-candidate) tie classes.
    #[test]
    fn strict_orders_add_as_their_classes() {
        let mut next = crate::xorshift32(0x5eed);
        for case in 0..if cfg!(miri) { 4 } else { 200 } {
            let n = 1 + case % 12;
            let k = 1 + (next() % 6);
            let mut row = [0u16; 12];
            for (p, r) in row.iter_mut().enumerate().take(n) {
                *r = p as u16;
            }
            for p in (1..n).rev() {
                row.swap(p, next() as usize % (p + 1));
            }
            let mut mass = [0u64; 12];
            for m in mass.iter_mut().take(n) {
                // Some zeros, as at an equilibrium.
                *m = if next().is_multiple_of(3) {
                    0
                } else {
                    u64::from(next()) << 24
                };
            }
            let weights = (u64::from(next() % 1000) + 1, u64::from(next() % 1000) + 1);
            let empty = || Bounds::<12> {
                num: [0u128; 12],
                excess: [0i128; 12],
                den: 0,
                fair: 0,
                n,
            };
            let (mut by_position, mut by_class) = (empty(), empty());
            let row = &row[..n];
            let user = (weights.0, weights.1, Sums::Signed);
            let mut narrow = [0u64; 12];
            let mut add = |user, strict, num: bool, bounds: &mut Bounds<12>| {
                let out = (&mut narrow, bounds);
                if num {
                    add_user::<12, true>(row, &mass, k, user, strict, out);
                } else {
                    add_user::<12, false>(row, &mass, k, user, strict, out);
                }
            };
            add(user, true, true, &mut by_position);
            add(user, false, true, &mut by_class);
            // With exact weights, `num - ONE w` is the signed path's excess, and the narrow
            // sums are `num`.
            let (mut signed, mut plain) = (empty(), empty());
            let w = weights.0;
            add((w, w, Sums::Signed), true, false, &mut signed);
            add((w, w, Sums::Wide), true, false, &mut plain);
            add((w, w, Sums::Narrow), true, false, &mut empty());
            for (y, (&e, &p)) in signed.excess.iter().zip(plain.num.iter()).enumerate() {
                let fair = i128::from(ONE) * i128::from(w);
                let at = if y < n { p as i128 - fair } else { 0 };
                assert_eq!(e, at, "case {case} candidate {y}");
                assert_eq!(u128::from(narrow[y]), p, "case {case} candidate {y}");
            }
            assert_eq!(by_position.excess, by_class.excess, "case {case}");
            assert_eq!(by_position.num, by_class.num, "case {case}");
        }
    }

    /// At k = 1 a point mass on a Condorcet winner is an exact equilibrium; unequal counts.
    #[test]
    fn condorcet_point_mass_is_exact() {
        let (mut w, mut o) = ([0.0f32; 3], [0u16; 9]);
        let mut b = Population::<4>::builder(3, Storage::new(&mut w, &mut o)).unwrap();
        b.push_ranking(7.0, [[0], [1], [2]]).unwrap();
        b.push_ranking(3.0, [[1], [2], [0]]).unwrap();
        b.push_ranking(3.0, [[2], [0], [1]]).unwrap();
        let pop = b.finish().unwrap();
        let c = certify(&pop, &[1.0, 0.0, 0.0], 1).unwrap();
        assert_eq!((c.worst_case_win_rate, c.exploitability), (0.5, 0.0));
        // At k = 2 candidate 2 takes 6/13 against the point mass on 0: e = 6/13 - 1/3.
        let c = certify(&pop, &[1.0, 0.0, 0.0], 2).unwrap();
        assert!(f64::from(c.worst_case_win_rate) <= 7.0 / 13.0);
        assert!(f64::from(c.worst_case_win_rate) > 7.0 / 13.0 - 1e-7);
        assert!(f64::from(c.exploitability) >= 6.0 / 13.0 - 1.0 / 3.0);
        assert_eq!(c.worst_opponent, 2);
    }
}
