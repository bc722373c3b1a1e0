"""The mathematics: docs/maths.md §7's exact cases, the identities of docs/maths.md §2, brute force, and an
independent numpy computation of shares, certificates and the explain rows."""

from __future__ import annotations

import numpy as np
import pytest

import ualign
from conftest import (
    as_f32_policy,
    brute_force_shares,
    utilities_of_rankings,
    weak_order_shares,
)


def majority_minority() -> ualign.Population:
    # docs/maths.md §7: 60% rank a > c > b, 40% rank b > c > a.
    return ualign.Population.from_rankings(
        [[["a"], ["c"], ["b"]], [["b"], ["c"], ["a"]]],
        weights=[0.6, 0.4],
        candidates=["a", "b", "c"],
    )


@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_unanimous_top_choice_point_mass_is_an_equilibrium(k: int) -> None:
    pop = ualign.Population.from_scores([[3, 1, 2, 0], [5, 4, 0, 1], [1, 0, 0, 0]])
    sol = ualign.solve(pop, k)
    assert sol.converged
    assert np.argmax(sol.policy) == 0 and sol.policy[0] > 1 - 1e-3
    point = [1.0, 0.0, 0.0, 0.0]
    cert = ualign.certify(pop, point, k)
    # Shown k copies of the top choice, a rival gets the user only by showing it too: 1/(k+1).
    assert cert.exploitability == pytest.approx(0.0, abs=1e-6)
    assert cert.worst_case_win_rate == pytest.approx(k / (k + 1), abs=1e-6)
    assert cert.worst_opponent == 0
    g = ualign.shares(pop, point, k)
    np.testing.assert_allclose(g, [1 / (k + 1), 0, 0, 0], atol=1e-7)


@pytest.mark.parametrize("n", [3, 4, 7])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_cyclic_profile_uniform_is_an_equilibrium(n: int, k: int) -> None:
    # User i ranks i, i+1, ..., i+n-1 (mod n); n = 3 is the Condorcet cycle.
    rankings = [[(i + p) % n for p in range(n)] for i in range(n)]
    pop = ualign.Population.from_rankings(rankings)
    uniform = np.full(n, 1 / n)
    np.testing.assert_allclose(ualign.shares(pop, uniform, k), 1 / (k + 1), atol=1e-6)
    cert = ualign.certify(pop, uniform, k)
    assert cert.exploitability <= 1e-6
    # The solver finds an equilibrium (at k = 1 and even n, not only the uniform one).
    sol = ualign.solve(pop, k)
    assert sol.converged and sol.certificate.exploitability <= 1e-4


def test_warm_starts_change_the_path_not_the_certificate() -> None:
    # A stream of related requests: the same users, the candidates re-scored a little.
    rng = np.random.default_rng(7)
    base = rng.random(8)[None, :] + rng.random((12, 8))
    cold_total = warm_total = 0
    start = None
    for r in range(6):
        pop = ualign.Population.from_scores(base + 0.01 * r * rng.random((12, 8)))
        cold = ualign.solve(pop, 3)
        warm = ualign.solve(pop, 3, start=cold.policy if start is None else start)
        assert warm.converged
        assert warm.certificate.to_dict() == ualign.certify(pop, warm.policy, 3).to_dict()
        again = ualign.solve(pop, 3, start=cold.policy if start is None else start)
        assert again.to_dict() == warm.to_dict()
        if r > 0:
            cold_total += cold.iterations
            warm_total += warm.iterations
        start = warm.policy
    assert warm_total < cold_total
    # From the equilibrium itself, no more evaluations than cold.
    pop = majority_minority()
    cold = ualign.solve(pop, 2, eps=1e-6)
    assert ualign.solve(pop, 2, eps=1e-6, start=cold.policy).iterations <= cold.iterations
    # Only the start's direction matters, beyond float32's range too (1e300 overflowed it and
    # 1e-50 rounded to 0: both were refused).
    unit = ualign.solve(pop, 2, start=[1.0, 0.0, 0.0]).to_dict()
    for scaled in ([1e300, 0.0, 0.0], [1e-50, 0.0, 0.0], [5e-324, 0.0, 0.0]):
        assert ualign.solve(pop, 2, start=scaled).to_dict() == unit
    half = ualign.solve(pop, 2, start=[1.0, 1.0, 0.0]).to_dict()
    assert ualign.solve(pop, 2, start=[1e300, 1e300, 0.0]).to_dict() == half
    for bad in ([0.5, 0.5], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [float("nan"), 1.0, 0.0]):
        with pytest.raises(ualign.InputError):
            ualign.solve(pop, 2, start=bad)
    with pytest.raises(ualign.InputError, match="optimistic"):
        ualign.solve(pop, 2, method="hedge", start=[1.0, 0.0, 0.0])


def test_majority_minority_k2_is_exactly_080_020() -> None:
    pop = majority_minority()
    sol = ualign.solve(pop, 2, eps=1e-6)
    np.testing.assert_allclose(sol.policy, [0.8, 0.2, 0.0], atol=1e-4)
    assert sol.certificate.worst_case_win_rate == pytest.approx(2 / 3, abs=1e-5)
    assert sol.certificate.bound == pytest.approx(2 / 3, abs=1e-7)
    # The exact equilibrium's shares: a and b at 1/3, c below.
    g = ualign.shares(pop, [0.8, 0.2, 0.0], 2)
    np.testing.assert_allclose(g[:2], [1 / 3, 1 / 3], atol=1e-6)
    assert g[2] < 1 / 3


def test_majority_minority_nlhf_and_growing_k() -> None:
    pop = majority_minority()
    # NLHF (k = 1): the point mass on a, whose win rate stays 0.6 for every k.
    nlhf = ualign.solve(pop, 1)
    np.testing.assert_allclose(nlhf.policy, [1, 0, 0], atol=1e-6)
    rows = ualign.curve(pop, 6)
    assert [r["k"] for r in rows] == list(range(1, 7))
    assert rows[0]["nlhf"] == pytest.approx(0.5, abs=1e-6)
    for r in rows[1:]:
        assert r["nlhf"] == pytest.approx(0.6, abs=1e-6)
        assert r["equilibrium"] >= r["bound"] - 1e-4
    # As k grows the equilibrium moves towards (0.6, 0.4, 0).
    a = [ualign.solve(pop, k, eps=1e-6).policy[0] for k in (2, 3, 4, 8, 16)]
    assert all(x > y for x, y in zip(a, a[1:])), a
    assert 0.6 <= a[-1] < 0.6 + 1e-3


@pytest.mark.parametrize("d", [0.05, 0.1, 0.2])
def test_two_candidates_nlhf_stays_at_half_plus_d(d: float) -> None:
    # NLHF shows a k times: b wins the 1/2 - d who prefer it, so the win rate is 1/2 + d for
    # every k (capped by k/(k+1), what a rival copying a gets; at k = 1 that is 1/2).
    pop = ualign.Population.from_scores([[1, 0], [0, 1]], weights=[0.5 + d, 0.5 - d])
    for r in ualign.curve(pop, 6):
        k = r["k"]
        assert r["nlhf"] == pytest.approx(min(0.5 + d, k / (k + 1)), abs=1e-6)


def random_weak_orders(rng: np.random.Generator, m: int, n: int, levels: int) -> np.ndarray:
    """Integer utilities in 0..levels: ties whenever levels < n."""
    return rng.integers(0, levels, size=(m, n)).astype(np.float64)


@pytest.mark.parametrize("seed", range(4))
def test_shares_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, k = 4, 3, 3
    utils = random_weak_orders(rng, m, n, 3)
    w = rng.integers(1, 5, size=m).astype(np.float64)
    pi = as_f32_policy(rng.dirichlet(np.ones(n)))
    pop = ualign.Population.from_scores(utils, weights=w)
    g = ualign.shares(pop, pi, k)
    np.testing.assert_allclose(g, brute_force_shares(utils, w, pi, k), atol=2e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 4, 9])
def test_shares_and_certificates_match_numpy(seed: int, k: int) -> None:
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(1, 40)), int(rng.integers(2, 30))
    utils = random_weak_orders(rng, m, n, int(rng.integers(2, n + 2)))
    w = rng.random(m) + 0.01
    pi = rng.dirichlet(np.full(n, 0.5))
    pop = ualign.Population.from_scores(utils, weights=w)
    ref_pi = as_f32_policy(pi)
    ref = weak_order_shares(utils, w, ref_pi, k)
    g = ualign.shares(pop, pi, k)
    assert g.dtype == np.float32 and g.shape == (n,)
    np.testing.assert_allclose(g, ref, atol=1e-5)
    # docs/maths.md §2: sum_y pi(y) g(y) = 1/(k+1).
    assert float(ref_pi @ g) == pytest.approx(1 / (k + 1), abs=1e-5)
    cert = ualign.certify(pop, pi, k)
    assert cert.k == k
    assert cert.worst_case_win_rate == pytest.approx(1 - ref.max(), abs=1e-5)
    assert cert.exploitability == pytest.approx(max(ref.max() - 1 / (k + 1), 0), abs=1e-5)
    assert ref[cert.worst_opponent] == pytest.approx(ref.max(), abs=1e-5)
    assert cert.bound == pytest.approx(k / (k + 1), abs=1e-7)
    # f = k/(k+1) - e, up to float32 rounding.
    assert cert.worst_case_win_rate == pytest.approx(cert.bound - cert.exploitability, abs=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_rankings_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n, m, k = 6, 8, 3
    rankings = []
    for _ in range(m):
        perm = [int(x) for x in rng.permutation(n)][: int(rng.integers(1, n + 1))]
        groups, i = [], 0
        while i < len(perm):
            size = int(rng.integers(1, 3))
            groups.append(perm[i : i + size])
            i += size
        rankings.append(groups)
    w = rng.integers(1, 4, size=m).astype(float)
    pop = ualign.Population.from_rankings(rankings, weights=w, candidates=list("abcdef"))
    pi = rng.dirichlet(np.ones(n))
    ref = weak_order_shares(utilities_of_rankings(rankings, n), w, as_f32_policy(pi), k)
    np.testing.assert_allclose(ualign.shares(pop, pi, k), ref, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_solutions_are_equilibria_by_numpy(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    m, n, k = 12, 10, int(rng.integers(1, 6))
    utils = random_weak_orders(rng, m, n, 6)
    pop = ualign.Population.from_scores(utils)
    sol = ualign.solve(pop, k, eps=1e-4)
    assert sol.policy.dtype == np.float32 and sol.policy.shape == (n,)
    ref = weak_order_shares(utils, np.ones(m), as_f32_policy(sol.policy), k)
    e = ref.max() - 1 / (k + 1)
    assert sol.converged
    assert e <= 1e-4 + 1e-5
    assert sol.certificate.exploitability == pytest.approx(max(e, 0), abs=1e-5)
    assert sol.route in ("margins", "tally", "population")
    assert sol.route == sol.to_dict()["route"]


@pytest.mark.parametrize("seed", range(3))
def test_explain_rows_by_numpy(seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    m, n, k = 7, 5, 3
    utils = random_weak_orders(rng, m, n, 4)
    w = rng.integers(1, 6, size=m).astype(float)
    pop = ualign.Population.from_scores(utils, weights=w, candidates=list("vwxyz"))
    pi = rng.dirichlet(np.ones(n))
    rows = ualign.explain(pop, pi, k)
    cert = ualign.certify(pop, pi, k)
    p = as_f32_policy(pi)
    y = cert.worst_opponent
    assert len(rows) == m
    for j, row in enumerate(rows):
        u = utils[j]
        top = u == u.max()
        assert row["user"] == j
        assert row["weight"] == pytest.approx(w[j] / w.sum(), abs=1e-7)
        assert row["favourite"] == [c for c, t in zip("vwxyz", top) if t]
        assert row["favourite_shown"] == pytest.approx(1 - (1 - p[top].sum()) ** k, abs=1e-9)
        g_j = weak_order_shares(utils[j : j + 1], [1.0], p, k)[y]
        assert row["win_rate"] == pytest.approx(1 - g_j, abs=1e-9)
    # The rows split the certificate: their weighted mean is its worst-case win rate.
    mean = sum(r["weight"] * r["win_rate"] for r in rows)
    assert mean == pytest.approx(cert.worst_case_win_rate, abs=1e-5)


def test_hedge_certifies_the_time_mixture() -> None:
    pop = majority_minority()
    sol = ualign.solve(pop, 2, method="hedge", max_iter=2000)
    d = sol.to_dict()
    assert sol.method == "hedge" and sol.deployed == "time_mixture"
    assert d["rounds"] >= 1 and "average_policy_certificate" in d
    assert sol.certificate.worst_case_win_rate <= 2 / 3 + 1e-6
    assert sol.certificate.worst_case_win_rate >= 2 / 3 - d["regret_bound"] - 1e-6


def test_pick_draws_from_the_policy() -> None:
    # A point mass is drawn every time; picks never land on a zero mass.
    assert ualign.pick([0, 0, 1, 0], 5, seed=3).tolist() == [2] * 5
    picks = ualign.pick([0.5, 0.0, 0.5], 1024, seed=9)
    assert picks.dtype == np.int64 and len(picks) == 1024
    assert set(picks.tolist()) == {0, 2}
    assert abs(np.mean(picks == 0) - 0.5) < 0.1
    # Same seed, same picks; another seed, other picks.
    p = [0.25, 0.25, 0.5]
    assert ualign.pick(p, 16, 1).tolist() == ualign.pick(p, 16, 1).tolist()
    assert ualign.pick(p, 16, 1).tolist() != ualign.pick(p, 16, 2).tolist()
