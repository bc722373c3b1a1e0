"""Exact rational arithmetic for docs/maths.md §2, §3 and §5: shares, certificates, margins, opponents.

Everything here is exact: integers and `fractions.Fraction`, never a float. A *population* is a
list of `(weight, levels)` pairs, where `levels[y]` is candidate `y`'s level for that user type
(0 = best; equal levels are a tie; candidates a ballot leaves out share the level below all the
listed ones, i.e. unlisted candidates tie at the bottom, as ualign reads them).

Numbers printed by the ualign CLI are f32 values, each written as a decimal that reads back as
it: a policy's masses as their exact values, a bound as the shortest decimal on its safe side,
other figures as the shortest decimal. `f32_of` rounds an exact decimal to the nearest f32 (ties
to even), which recovers the f32 the tool held.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations_with_replacement, product
from math import comb

# ---------------------------------------------------------------------------------------------
# f32


def f32_of(q) -> Fraction:
    """The f32 nearest to the exact rational `q` (round half to even), as an exact Fraction.

    Raises OverflowError beyond the f32 range (no infinities here).
    """
    q = Fraction(q)
    if q == 0:
        return Fraction(0)
    sign = -1 if q < 0 else 1
    a = abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    # Make 2^e <= a < 2^(e+1).
    if Fraction(2) ** e > a:
        e -= 1
    elif Fraction(2) ** (e + 1) <= a:
        e += 1
    ulp = Fraction(2) ** (max(e, -126) - 23)
    m = a / ulp
    r = m.numerator // m.denominator
    rem = m - r
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and r % 2 == 1):
        r += 1
    v = r * ulp
    if v > Fraction(2) ** 128 - Fraction(2) ** 104:
        raise OverflowError(f"{float(q)} is outside the f32 range")
    return sign * v


def decimal(value) -> Fraction:
    """The exact value of a number in the CLI's JSON (parsed with `parse_float=str`)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{value!r} is not a JSON number read with parse_float=str")
    return Fraction(value)


def printed(value) -> Fraction:
    """A number in the CLI's JSON as the f32 it denotes (every decimal the CLI prints for an f32
    rounds back to that f32)."""
    return f32_of(decimal(value))


# ---------------------------------------------------------------------------------------------
# Populations


def levels_of(n: int, groups) -> tuple[int, ...]:
    """Levels for a ballot given as tie groups (best first) of 0-based candidates; the candidates
    the ballot leaves out get the level below the last group."""
    lv = [len(groups)] * n
    for i, g in enumerate(groups):
        for y in g:
            if lv[y] != len(groups):
                raise ValueError(f"candidate {y} listed twice")
            lv[y] = i
    return tuple(lv)


def normalise(policy) -> list[Fraction]:
    """The distribution proportional to the given non-negative masses (exact)."""
    p = [Fraction(x) for x in policy]
    if any(x < 0 for x in p):
        raise ValueError("negative mass")
    s = sum(p)
    if s <= 0:
        raise ValueError("policy sums to zero")
    return [x / s for x in p]


def _common_denominator(values) -> tuple[list[int], int]:
    """Integers `a_i` and `D > 0` with `values_i = a_i / D`."""
    fr = [Fraction(v) for v in values]
    d = 1
    for v in fr:
        d = d * v.denominator // _gcd(d, v.denominator)
    return [int(v * d) for v in fr], d


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


COUNT_MAX = 1 << 22


def ualign_weights(population):
    """The weights ualign certifies against (docs/certificates.md): counts exactly when every
    weight is a whole number below 2^22, otherwise the population's normalised f32 weights
    (`normalised_weights`), each an exact binary fraction."""
    ws = [Fraction(w) for w, _ in population]
    if all(w.denominator == 1 and 0 <= w < COUNT_MAX for w in ws):
        return population
    return [(w, lv) for w, (_, lv) in zip(normalised_weights(ws), population)]


def normalised_weights(ws):
    """The normalised f32 weights of non-negative weights `ws`, as `PopulationBuilder::finish`
    defines them: each weight as an f32, times 2^s and truncated to an integer (s = 39 - e for
    the largest weight m 2^e, m < 2^24), the total of those integers rounded to the nearest f32,
    and each integer divided by it in f32 (the f32 nearest to the exact quotient)."""
    as_f32 = [f32_of(Fraction(w)) for w in ws]
    largest = max(as_f32)
    if largest >= Fraction(2) ** -126:
        e = largest.numerator.bit_length() - largest.denominator.bit_length()
        if Fraction(2) ** e > largest:
            e -= 1
        e -= 23
    else:
        e = -149
    scale = Fraction(2) ** (39 - e)
    scaled = [(w * scale).numerator // (w * scale).denominator for w in as_f32]
    total = f32_of(sum(scaled))
    return [f32_of(Fraction(x) / total) for x in scaled]


def shares(n: int, population, policy, k: int) -> list[Fraction]:
    """Exact g(y) for every candidate (docs/maths.md §2), with the policy normalised by its exact sum.

    Uses the closed form `((B+C)^(k+1) - B^(k+1)) / ((k+1) C)` (`B^k` when `C = 0`) in integers:
    with integer masses P (sum S), `b = B/S`, `c = C/S`, and
    `(k+1) S^k g_j = ((B+C)^(k+1) - B^(k+1)) / C`, an exact integer division.
    """
    if k < 1:
        raise ValueError("k >= 1")
    population = ualign_weights(population)
    masses, _ = _common_denominator(policy)
    if any(x < 0 for x in masses):
        raise ValueError("negative mass")
    s = sum(masses)
    if s <= 0:
        raise ValueError("policy sums to zero")
    weights, _ = _common_denominator([w for w, _ in population])
    total_w = sum(weights)
    if total_w <= 0:
        raise ValueError("total weight is zero")
    acc = [0] * n
    for wj, (_, lv) in zip(weights, population):
        if wj == 0:
            continue
        top = max(lv) + 1
        mass_at = [0] * (top + 1)
        for y in range(n):
            mass_at[lv[y]] += masses[y]
        below = [0] * (top + 1)  # mass strictly below level L
        run = 0
        for level in range(top, -1, -1):
            below[level] = run
            run += mass_at[level]
        term = {}
        for level in set(lv):
            c, b = mass_at[level], below[level]
            if c > 0:
                num = (b + c) ** (k + 1) - b ** (k + 1)
                t, r = divmod(num, c)
                assert r == 0
            else:
                t = (k + 1) * b**k
            term[level] = t
        for y in range(n):
            acc[y] += wj * term[lv[y]]
    den = total_w * (k + 1) * s**k
    return [Fraction(a, den) for a in acc]


@dataclass
class Certificate:
    """The exact certificate of a policy (docs/maths.md §2)."""

    k: int
    shares: list[Fraction]
    worst_case_win_rate: Fraction
    exploitability: Fraction
    worst: list[int]  # every argmax of g


def certify(n: int, population, policy, k: int) -> Certificate:
    g = shares(n, population, policy, k)
    gmax = max(g)
    return Certificate(
        k=k,
        shares=g,
        worst_case_win_rate=1 - gmax,
        exploitability=gmax - Fraction(1, k + 1),
        worst=[y for y in range(n) if g[y] == gmax],
    )


def brute_force_shares(n: int, population, policy, k: int) -> list[Fraction]:
    """g(y) by enumerating all n^k draws with the choice rule of docs/maths.md §1 (tiny cases only)."""
    p = normalise(policy)
    total = sum(Fraction(w) for w, _ in population)
    out = []
    for y in range(n):
        g = Fraction(0)
        for w, lv in population:
            gj = Fraction(0)
            for draw in product(range(n), repeat=k):
                prob = Fraction(1)
                for x in draw:
                    prob *= p[x]
                if prob == 0:
                    continue
                slots = (y,) + draw
                best = min(lv[x] for x in slots)
                tops = sum(1 for x in slots if lv[x] == best)
                if lv[y] == best:
                    gj += prob / tops
            g += Fraction(w) * gj
        out.append(g / total)
    return out


# ---------------------------------------------------------------------------------------------
# k = 1: margins and maximal lotteries


def margins(n: int, population) -> list[list[Fraction]]:
    """M[x][y] = weight preferring x to y minus weight preferring y to x (unlisted at the
    bottom, as in `levels`)."""
    m = [[Fraction(0)] * n for _ in range(n)]
    for w, lv in ualign_weights(population):
        w = Fraction(w)
        for x in range(n):
            for y in range(n):
                if lv[x] < lv[y]:
                    m[x][y] += w
                elif lv[x] > lv[y]:
                    m[x][y] -= w
    return m


def margin_excess(m, p) -> Fraction:
    """max_y (M p)_y = -min_y (p^T M)_y for a skew-symmetric M: how far `p` is from being a
    maximal lottery (0 exactly when it is one)."""
    n = len(p)
    return max(sum(m[y][x] * p[x] for x in range(n)) for y in range(n))


def _nullspace_dim_and_vector(a):
    """Rank-nullity for a small exact matrix: (dimension of the null space, one null vector)."""
    rows = [list(r) for r in a]
    ncols = len(rows[0]) if rows else 0
    pivots = []
    r = 0
    for c in range(ncols):
        piv = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if piv is None:
            continue
        rows[r], rows[piv] = rows[piv], rows[r]
        inv = 1 / rows[r][c]
        rows[r] = [v * inv for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][c] != 0:
                f = rows[i][c]
                rows[i] = [vi - f * vr for vi, vr in zip(rows[i], rows[r])]
        pivots.append(c)
        r += 1
        if r == len(rows):
            break
    free = [c for c in range(ncols) if c not in pivots]
    if not free:
        return 0, None
    v = [Fraction(0)] * ncols
    v[free[0]] = Fraction(1)
    for i, c in enumerate(pivots):
        v[c] = -rows[i][free[0]]
    return len(free), v


def unique_maximal_lottery(m, support) -> list[Fraction] | None:
    """The maximal lottery of skew-symmetric `m` if it is provably unique with the given support.

    Proof obligations checked exactly: the lottery q solving `M_SS q_S = 0`, `sum q = 1` is
    positive on S; `(q^T M)_y > 0` off S (strict complementarity); and M_SS has a one-dimensional
    null space. Then any maximal lottery p has `p^T M q = 0`, so p puts no mass where
    `(q^T M)_y > 0`, and `(p^T M)_x = 0` on S; with a one-dimensional null space p = q.
    Returns None when these do not all hold (the lottery may still be unique).
    """
    n = len(m)
    s = sorted(support)
    if not s:
        return None
    sub = [[m[i][j] for j in s] for i in s]
    dim, v = _nullspace_dim_and_vector(sub)
    if dim != 1:
        return None
    tot = sum(v)
    if tot == 0:
        return None
    v = [x / tot for x in v]
    if any(x <= 0 for x in v):
        return None
    q = [Fraction(0)] * n
    for i, x in zip(s, v):
        q[i] = x
    cols = [sum(q[x] * m[x][y] for x in range(n)) for y in range(n)]
    for y in range(n):
        if y in s:
            if cols[y] != 0:
                return None
        elif cols[y] <= 0:
            return None
    return q


# ---------------------------------------------------------------------------------------------
# docs/maths.md §5: opponents that show l responses


def opponent_win(n: int, population, policy, k: int, z) -> Fraction:
    """Exact chance that the multiset `z` of l slots wins against k draws from the policy."""
    p = normalise(policy)
    population = ualign_weights(population)
    total = sum(Fraction(w) for w, _ in population)
    out = Fraction(0)
    for w, lv in population:
        best = min(lv[y] for y in z)
        t = sum(1 for y in z if lv[y] == best)
        c = sum(p[x] for x in range(n) if lv[x] == best)
        b = sum(p[x] for x in range(n) if lv[x] > best)
        win = sum(comb(k, i) * c**i * b ** (k - i) * Fraction(t, t + i) for i in range(k + 1))
        out += Fraction(w) * win
    return out / total


def worst_opponent(n: int, population, policy, k: int, l: int):
    """(max over l-multisets of the opponent's win chance, every multiset attaining it)."""
    best, arg = None, []
    for z in combinations_with_replacement(range(n), l):
        v = opponent_win(n, population, policy, k, z)
        if best is None or v > best:
            best, arg = v, [z]
        elif v == best:
            arg.append(z)
    return best, arg
