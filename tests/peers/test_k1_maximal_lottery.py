"""Check 1: ualign's k = 1 answer is a maximal lottery of the peer's own margins.

The peer's margins are taken in its tie-at-bottom mode (pref_voting's
`ProfileWithTies.use_extended_strict_preference()`; OpenSpiel's own `margin_matrix()` where every
vote is complete, since OpenSpiel has no such mode). With M in voter counts and W the total count,
docs/maths.md §2 gives, at k = 1, `g(y) - 1/2 = (M p)_y / (2W)`. So a policy whose certified
exploitability is e satisfies `min_y (p^T M)_y = -max_y (M p)_y >= -2 W e`: that is the tolerance,
and it is checked exactly, with p the printed f32 masses normalised by their exact sum.

When the maximal lottery is provably unique (exact support, strict complementarity and rank
conditions; see `exact.unique_maximal_lottery`), the peer's own solver
(`pref_voting.probabilistic_methods.maximal_lottery`, and OpenSpiel's
`MaximalLotteriesVoting(iterative=False)`) is compared too: the peer must be within 1e-6 of the
exact lottery, and ualign's answer must lie in the box that holds every lottery whose exact
exploitability is at most the solver's eps (computed by linear programming).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import checks
import cli
import corpus
import exact


def peer_lottery(profile) -> list[float]:
    from pref_voting.probabilistic_methods import maximal_lottery

    d = maximal_lottery(profile.pv)
    return [float(d[c]) for c in profile.pv.candidates]


def openspiel_lottery(profile) -> list[float]:
    from open_spiel.python.voting import maximal_lotteries

    out = maximal_lotteries.MaximalLotteriesVoting(iterative=False).run_election(profile.os)
    idx = {a: i for i, a in enumerate(profile.os.alternatives)}
    q = [0.0] * profile.n
    for a, s in zip(out.ranking, out.scores):
        q[idx[a]] = float(s)
    return q


def box(m, delta: Fraction) -> list[tuple[float, float]]:
    """For each candidate, the least and greatest mass of any lottery p with max_y (M p)_y <=
    delta (linear programs, HiGHS)."""
    from scipy.optimize import linprog

    n = len(m)
    a = np.array([[float(x) for x in row] for row in m])
    b = np.full(n, float(delta) * (1 + 1e-9) + 1e-12)
    out = []
    for i in range(n):
        c = np.zeros(n)
        c[i] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            r = linprog(sign * c, A_ub=a, b_ub=b, A_eq=np.ones((1, n)), b_eq=[1.0],
                        bounds=[(0, None)] * n, method="highs")
            assert r.success, r.message
            bounds.append(float(r.x[i]))
        out.append((bounds[0], bounds[1]))
    return out


def test_k1_answer_is_a_maximal_lottery_of_the_peers_margins(profile, files):
    path, _ = files[profile.name]
    out = cli.cached("solve", path, "--k", "1").json()
    assert out["candidates"] == profile.names
    assert out["n"] == profile.n
    assert out["converged"] is True, f"k = 1 did not converge: {out['certificate']}"
    p = checks.exact_policy(out["policy"])
    e = exact.printed(out["certificate"]["exploitability"])
    assert e <= checks.EPS_DEFAULT
    w = profile.total_weight()
    delta = 2 * w * e

    if profile.os is not None and profile.complete():
        m = corpus.openspiel_margins(profile)
        whose = "OpenSpiel margin_matrix()"
    else:
        m = profile.peer_margins()
        whose = "pref_voting margins (extended strict preference)"
    excess = exact.margin_excess(m, p)  # = -min_y (p^T M)_y
    checks.TALLY.add("k=1 maximal-lottery checks")
    checks.TALLY.high("k=1: largest max_y (M p)_y / (2W) (the exact exploitability)",
                      float(excess / (2 * w)), profile.name)
    if excess > delta:
        checks.TALLY.add("k=1: answers beyond their certificate on the peer's margins")
        checks.TALLY.high("k=1: largest (max_y (M p)_y - 2We)/(2W)",
                          float((excess - delta) / (2 * w)), profile.name)
    assert excess <= delta, (
        f"with {whose}, the exact exploitability max_y (M p)_y / (2W) = "
        f"{float(excess / (2 * w)):.6e} is above the printed {out['certificate']['exploitability']}"
        f" by {float((excess - delta) / (2 * w)):.3e}: the answer is further from a maximal "
        f"lottery than its certificate says")


@corpus.select(lambda p: p.n >= 2)
def test_k1_answer_matches_the_peers_unique_maximal_lottery(profile, files):
    m = profile.peer_margins()
    q_peer = peer_lottery(profile)
    support = [i for i, x in enumerate(q_peer) if x > 1e-6]
    q = exact.unique_maximal_lottery(m, support)
    if q is None:
        pytest.skip("the maximal lottery is not provably unique here")
    checks.TALLY.add("k=1: profiles with a provably unique maximal lottery")
    assert max(abs(a - float(b)) for a, b in zip(q_peer, q)) <= 1e-6, (
        f"pref_voting's maximal_lottery {q_peer} is not the exact unique one "
        f"{[str(x) for x in q]}")
    if profile.os is not None and profile.complete():
        q_os = openspiel_lottery(profile)
        assert max(abs(a - float(b)) for a, b in zip(q_os, q)) <= 1e-6, (
            f"OpenSpiel's maximal lottery {q_os} is not the exact unique one")

    path, _ = files[profile.name]
    out = cli.cached("solve", path, "--k", "1").json()
    p = checks.exact_policy(out["policy"])
    dist = max(abs(float(a - b)) for a, b in zip(p, q))
    checks.TALLY.high("k=1: largest |ualign - unique maximal lottery| (max norm)", dist,
                      profile.name)
    # Every lottery whose exact exploitability is at most --eps (what a converged solve promises)
    # lies in this box; so must ualign's answer, and the unique lottery does.
    delta = 2 * profile.total_weight() * checks.EPS_DEFAULT
    for i, (lo, hi) in enumerate(box(m, delta)):
        assert lo - 1e-9 <= float(q[i]) <= hi + 1e-9, "the exact lottery must lie in the box"
        assert lo - 1e-9 <= float(p[i]) <= hi + 1e-9, (
            f"candidate {i}: ualign's mass {float(p[i])} is outside [{lo}, {hi}], where every "
            f"lottery within eps = 1e-4 of the unique maximal lottery {float(q[i])} lies")
