"""The exact checker against independent routes, and the peers' tie conventions.

Nothing here runs ualign: these tests establish that the checker the other files trust computes
docs/maths.md §2 exactly, and that the peers' margins in their tie-at-bottom mode are ualign's semantics.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

import corpus
import exact

F = Fraction


def random_population(rng, n, m, truncate=True):
    pop = []
    for _ in range(m):
        order = list(range(n))
        rng.shuffle(order)
        if truncate and rng.random() < 0.5:
            order = order[: rng.randint(1, n)]
        groups, i = [], 0
        while i < len(order):
            size = rng.randint(1, min(3, len(order) - i))
            groups.append(tuple(order[i:i + size]))
            i += size
        pop.append((rng.randint(1, 5), exact.levels_of(n, groups)))
    return pop


def random_policy(rng, n):
    p = [F(rng.randint(0, 6), rng.choice([1, 3, 8, 7])) for _ in range(n)]
    if sum(p) == 0:
        p[rng.randrange(n)] = F(1)
    return p


@pytest.mark.parametrize("seed", range(40))
def test_closed_form_equals_brute_force(seed):
    rng = random.Random(seed)
    n, k = rng.randint(1, 4), rng.randint(1, 4)
    pop = random_population(rng, n, rng.randint(1, 4))
    pol = random_policy(rng, n)
    assert exact.shares(n, pop, pol, k) == exact.brute_force_shares(n, pop, pol, k)


@pytest.mark.parametrize("seed", range(20))
def test_slots_are_picked_equally_often(seed):
    rng = random.Random(100 + seed)
    n, k = rng.randint(2, 8), rng.randint(1, 16)
    pop = random_population(rng, n, rng.randint(1, 9))
    pol = exact.normalise(random_policy(rng, n))
    g = exact.shares(n, pop, pol, k)
    assert sum(p * x for p, x in zip(pol, g)) == F(1, k + 1)


@pytest.mark.parametrize("seed", range(20))
def test_opponent_of_one_slot_is_the_share(seed):
    rng = random.Random(200 + seed)
    n, k = rng.randint(2, 6), rng.randint(1, 6)
    pop = random_population(rng, n, rng.randint(1, 6))
    pol = random_policy(rng, n)
    g = exact.shares(n, pop, pol, k)
    assert [exact.opponent_win(n, pop, pol, k, (y,)) for y in range(n)] == g


def test_spec_exact_cases():
    # Unanimous top choice: the point mass is an equilibrium for every k.
    pop = [(2, (0, 1, 2)), (1, (0, 2, 1))]
    for k in range(1, 17):
        c = exact.certify(3, pop, [1, 0, 0], k)
        assert c.exploitability == 0 and c.worst_case_win_rate == F(k, k + 1)
    # Cyclic profile: uniform is an equilibrium and every share is 1/(k+1).
    for n in (3, 4, 5):
        cyc = [(1, exact.levels_of(n, [((i + j) % n,) for j in range(n)])) for i in range(n)]
        for k in range(1, 17):
            assert exact.shares(n, cyc, [1] * n, k) == [F(1, k + 1)] * n
    # Majority/minority: (0.8, 0.2, 0) is the k = 2 equilibrium, worst-case win rate 2/3.
    mm = [(3, exact.levels_of(3, [(0,), (2,), (1,)])), (2, exact.levels_of(3, [(1,), (2,), (0,)]))]
    c = exact.certify(3, mm, [F(4, 5), F(1, 5), 0], 2)
    assert c.exploitability == 0 and c.worst_case_win_rate == F(2, 3)
    # NLHF (the point mass on a) wins 0.6 for every k >= 2 (at k = 1, a copy of a gets 1/2).
    for k in range(1, 17):
        assert exact.certify(3, mm, [1, 0, 0], k).worst_case_win_rate == min(F(3, 5), F(k, k + 1))
    # Two candidates, 1/2 + d prefer a: NLHF's win rate is 1/2 + d.
    two = [(51, (0, 1)), (49, (1, 0))]
    for k in range(1, 17):
        assert exact.certify(2, two, [1, 0], k).worst_case_win_rate == min(F(51, 100), F(k, k + 1))


def test_f32_rounding():
    assert exact.f32_of(F(1, 10)) == F(13421773, 2**27)
    assert exact.f32_of(F(1, 3)) == F(11184811, 2**25)
    assert exact.f32_of(F(2**24 + 1)) == 2**24  # halfway: to even
    assert exact.f32_of(F(2**24 + 3)) == 2**24 + 4  # halfway: to even
    assert exact.f32_of(F(1, 2**149)) == F(1, 2**149)  # smallest subnormal
    assert exact.f32_of(F(1, 2**150)) == 0  # halfway to zero: to even
    assert exact.f32_of(F(3, 2**151)) == F(1, 2**149)
    assert exact.f32_of(-F(1, 10)) == -F(13421773, 2**27)
    with pytest.raises(OverflowError):
        exact.f32_of(F(2**128))
    # The shortest decimals ualign prints come back to the f32 they were printed from.
    for text, value in (("0.50000024", F(2**23 + 4, 2**24)), ("0.6666667", F(11184811, 2**24)),
                        ("3.6358833e-6", None)):
        v = exact.printed(text)
        if value is not None:
            assert v == value
        assert exact.f32_of(v) == v


def test_unique_maximal_lottery():
    n = 3
    cyc = [(1, exact.levels_of(n, [((i + j) % n,) for j in range(n)])) for i in range(n)]
    m = exact.margins(n, cyc)
    assert exact.unique_maximal_lottery(m, [0, 1, 2]) == [F(1, 3)] * 3
    assert exact.unique_maximal_lottery(m, [0, 1]) is None
    cw = [(2, (0, 1, 2)), (1, (1, 2, 0))]
    m = exact.margins(n, cw)
    assert exact.unique_maximal_lottery(m, [0]) == [1, 0, 0]
    # A tie between a and b in every ballot: many maximal lotteries, none proven unique.
    tied = [(1, (0, 0, 1))]
    assert exact.unique_maximal_lottery(exact.margins(3, tied), [0]) is None


# ---------------------------------------------------------------------------------------------
# The peers' margins


def test_peer_margins_in_tie_at_bottom_mode_are_ualigns(profile):
    """pref_voting's margins with `use_extended_strict_preference()` equal the margins of the
    population as ualign reads it (unlisted candidates tied at the bottom), and at k = 1 the
    exact exploitability is max_y (M p)_y / (2W) for any policy."""
    pop = profile.population()
    m = profile.peer_margins()
    assert exact.margins(profile.n, pop) == m
    rng = random.Random(profile.name)
    pol = exact.normalise(random_policy(rng, profile.n))
    c = exact.certify(profile.n, pop, pol, 1)
    assert c.exploitability == exact.margin_excess(m, pol) / (2 * profile.total_weight())


@corpus.select(lambda p: p.os is not None)
def test_openspiel_margins(profile):
    """OpenSpiel's `margin_matrix()` counts only pairs a vote lists both of. On complete votes
    that is the tie-at-bottom margin; on truncated votes it is not."""
    mine = exact.margins(profile.n, profile.population())
    theirs = corpus.openspiel_margins(profile)
    if profile.complete():
        assert theirs == mine
    else:
        assert theirs != mine


def test_pref_voting_default_mode_differs_on_truncated_ballots():
    """pref_voting's default (strict preference) counts only co-ranked pairs: on truncated
    ballots it gives other margins than its extended mode (and than ualign)."""
    p = next(q for q in corpus.generated_truncated() if q.name.startswith("pv_truncated_IC_n5"))
    ext = p.peer_margins()
    p.pv.use_strict_preference()
    try:
        default = [[F(int(p.pv.margin(a, b))) for b in p.pv.candidates] for a in p.pv.candidates]
    finally:
        p.pv.use_extended_strict_preference()
    assert default != ext
