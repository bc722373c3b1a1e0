"""Check 2: every certificate the CLI prints is sound against exact arithmetic (docs/maths.md §2).

For the policy exactly as printed (its f32 masses normalised by their exact sum) and the
population's exact integer counts, the exact shares g(y) give the exact worst-case win rate f and
exploitability e. Every printed certificate must have printed f <= f, printed e >= e, printed
f <= 1/2 at k = 1, and both within 1e-6 of exact; its worst opponent must have a share within
1e-6 of the largest. Printed numbers are read as the f32 values they denote (see the README).
"""

from __future__ import annotations

import json
import os
import random
from fractions import Fraction

import pytest

import checks
import cli
import corpus
import exact

KS = range(1, 17)


def _fail(fails, profile, extra=""):
    if fails:
        head = f"{profile.name} ({profile.source}, n={profile.n}, "
        head += f"{len(profile.ballots)} ballots, W={profile.total_weight()}){extra}"
        pytest.fail(head + ":\n  " + "\n  ".join(fails), pytrace=False)


def test_solve_certificates_are_sound(profile, files):
    path, _ = files[profile.name]
    fails = []
    for k in KS:
        out = cli.cached("solve", path, "--k", str(k)).json()
        assert out["candidates"] == profile.names and out["k"] == k
        f, _ = checks.check_certificate(profile, k, out["policy"], out["certificate"],
                                        profile.name, "solve")
        fails += f
        e_p = exact.printed(out["certificate"]["exploitability"])
        if out["converged"] != (e_p <= checks.EPS_DEFAULT):
            fails.append(f"k={k}: converged is {out['converged']} with exploitability "
                         f"{out['certificate']['exploitability']} and eps 1e-4")
        if sum(exact.printed(x) for x in out["policy"]) != 1:
            checks.TALLY.add("solve: (info) policies whose f32 masses do not sum to exactly 1")
    _fail(fails, profile)


def eval_policies(profile):
    """(label, masses, ks) to certify with `eval`: point masses, uniform, seeded f32 policies
    (with zeros, and with masses near the bottom of the f32 range)."""
    n = profile.n
    rng = random.Random("eval:" + profile.name)
    out = []
    for y in range(n):
        out.append((f"point mass on {y}", [1.0 if i == y else 0.0 for i in range(n)], (1, 3)))
    out.append(("uniform", [1.0] * n, (1, 2, 7, 16)))
    for j in range(2):
        masses = [0.0 if rng.random() < 0.3 else rng.random() for _ in range(n)]
        if not any(masses):
            masses[0] = 0.5
        out.append((f"random {j}", masses, (1, 2, 5, 16)))
    tiny = [rng.random() for _ in range(n)]
    tiny[0] = 1e-45  # the smallest f32 subnormal
    tiny[-1] = 1.2e-38
    out.append(("tiny masses", tiny, (1, 4)))
    # A policy must sum to 1 within 1e-3 (ualign refuses others); what it means is the
    # distribution proportional to its f32 masses, which the checks compute exactly.
    return [(label, [m / sum(masses) for m in masses], ks) for label, masses, ks in out]


def test_eval_certificates_are_sound(profile, files):
    path, _ = files[profile.name]
    fails = []
    for label, masses, ks in eval_policies(profile):
        arg = cli.policy_arg(masses)
        for k in ks:
            out = cli.ok("eval", path, "--k", str(k), "--policy", arg).json()
            sent = [exact.f32_of(Fraction(cli.f32(x))) for x in masses]
            assert [exact.printed(x) for x in out["policy"]] == sent, "eval echoes the policy"
            f, _ = checks.check_certificate(profile, k, out["policy"], out["certificate"],
                                            f"{profile.name} [{label}]", "eval")
            fails += [f"[{label}] {x}" for x in f]
    _fail(fails, profile)


def test_eval_on_the_issue_profile_at_k1_is_at_most_one_half():
    """Issue 13: the 29-ballot `.toi` profile, `eval --k 1 --policy [1,0,0,0,0,0]`."""
    p = corpus.issue_29_ballots()
    path = os.path.join(corpus.FIXTURES, "issue13_29_ballots.toi")
    out = cli.ok("eval", path, "--k", "1", "--policy", "[1,0,0,0,0,0]").json()
    assert out["m"] == 29
    ex = exact.certify(p.n, p.population(), [1, 0, 0, 0, 0, 0], 1)
    f_p = exact.printed(out["certificate"]["worst_case_win_rate"])
    assert ex.worst_case_win_rate <= Fraction(1, 2)
    assert f_p <= Fraction(1, 2), (
        f"printed worst_case_win_rate {out['certificate']['worst_case_win_rate']} > 1/2 "
        f"(exact: {ex.worst_case_win_rate} = {float(ex.worst_case_win_rate):.10f})")
    fails, _ = checks.check_certificate(p, 1, out["policy"], out["certificate"], p.name, "eval")
    _fail(fails, p)


def weak_condorcet_winners(profile):
    m = profile.peer_margins()
    return [y for y in range(profile.n) if all(m[y][x] >= 0 for x in range(profile.n))]


def unanimous_tops(profile):
    return [y for y in range(profile.n)
            if all(y in gs[0] for _, gs in profile.ballots)]


@corpus.select(lambda p: p.n >= 2 and (weak_condorcet_winners(p) or unanimous_tops(p)))
def test_exact_equilibria_certify_exactly(profile, files):
    """A point mass on a (weak) Condorcet winner is an exact k = 1 equilibrium, and a point mass
    on a unanimous top choice is one for every k: exploitability exactly 0, and at k = 1 a
    worst-case win rate of exactly 1/2."""
    path, _ = files[profile.name]
    fails = []
    cases = [(y, (1,)) for y in weak_condorcet_winners(profile)]
    cases += [(y, KS) for y in unanimous_tops(profile)]
    for y, ks in cases:
        masses = [1.0 if i == y else 0.0 for i in range(profile.n)]
        for k in ks:
            ex = exact.certify(profile.n, profile.population(), masses, k)
            assert ex.exploitability == 0
            out = cli.ok("eval", path, "--k", str(k), "--policy", cli.policy_arg(masses)).json()
            c = out["certificate"]
            checks.TALLY.add("eval: exact equilibria checked")
            if exact.printed(c["exploitability"]) != 0:
                checks.TALLY.add("eval: exact equilibria not certified with exploitability 0")
                fails.append(f"point mass on {y} ({profile.names[y]}), k={k}: exploitability "
                             f"{c['exploitability']}, exactly 0")
            if k == 1 and exact.printed(c["worst_case_win_rate"]) != Fraction(1, 2):
                fails.append(f"point mass on {y}, k=1: worst_case_win_rate "
                             f"{c['worst_case_win_rate']}, exactly 1/2")
            fails += checks.check_certificate(profile, k, out["policy"], c,
                                              f"{profile.name} [point mass {y}]", "eval")[0]
    _fail(fails, profile)


# ---------------------------------------------------------------------------------------------
# batch, curve, pick, opponents


def batch_profiles():
    """Every profile whose counts are exact in f32: a JSON `weight` is a number, and whether an
    integer weight beyond 2^24 is a count (exact) or an f32 is not for this suite to decide."""
    import conftest

    return [p for p in conftest.profiles() if all(c <= 2**24 for c, _ in p.ballots)]


@pytest.fixture(scope="session")
def batch_input(workdir):
    path = os.path.join(workdir, "batch_profiles.jsonl")
    with open(path, "w") as f:
        for p in batch_profiles():
            f.write(json.dumps(p.json_obj()) + "\n")
    return path


@pytest.mark.parametrize("k", [1, 2, 5, 16])
def test_batch_certificates_are_sound(k, batch_input):
    """`batch` over the profiles as JSON (so the JSON reader is compared too)."""
    ps = batch_profiles()
    lines = cli.ok("batch", batch_input, "--k", str(k)).lines()
    assert [x["line"] for x in lines] == list(range(1, len(ps) + 1))
    fails = []
    for p, out in zip(ps, lines):
        assert "error" not in out, out
        assert out["candidates"] == p.names
        f, _ = checks.check_certificate(p, k, out["policy"], out["certificate"], p.name, "batch")
        fails += [f"{p.name}: {x}" for x in f]
    if fails:
        pytest.fail(f"{len(fails)} of {len(ps)} lines at k={k}:\n  " + "\n  ".join(fails),
                    pytrace=False)


def reward_model_choice(profile):
    """The candidate with the highest mean Borda-style utility (n-1-position, ties averaged,
    unlisted tied at the bottom), or None unless it leads by 1e-4 of the utility range."""
    n = profile.n
    score = [Fraction(0)] * n
    for count, lv in profile.population():
        pos = 0
        for level in sorted(set(lv)):
            members = [y for y in range(n) if lv[y] == level]
            avg = Fraction(sum(range(pos, pos + len(members))), len(members))
            for y in members:
                score[y] += count * (n - 1 - avg)
            pos += len(members)
    order = sorted(range(n), key=lambda y: score[y], reverse=True)
    # The CLI computes the means in floating point: check only clear winners.
    if n > 1 and score[order[0]] - score[order[1]] <= profile.total_weight() * (n - 1) / 10**4:
        return None
    return order[0]


def test_curve_baselines_are_sound(profile, files):
    """`curve`'s uniform column is the uniform policy's certified win rate and its reward_model
    column the point mass on the best mean utility: both checked exactly for k = 1..16."""
    path, _ = files[profile.name]
    rows = cli.ok("curve", path, "--k-max", "16").json()
    assert [r["k"] for r in rows] == list(KS)
    n = profile.n
    rm = reward_model_choice(profile)
    fails = []
    for r in rows:
        k = r["k"]
        cols = [("uniform", [1] * n)]
        if rm is not None:
            cols.append(("reward_model", [1 if y == rm else 0 for y in range(n)]))
        for col, pol in cols:
            f = exact.certify(n, profile.population(), pol, k).worst_case_win_rate
            v = exact.printed(r[col])
            checks.TALLY.add("curve: baseline figures checked")
            if v > f:
                checks.TALLY.add(f"curve: {col} above exact")
                checks.TALLY.high(f"curve: largest excess of {col} over exact", float(v - f),
                                  f"{profile.name} k={k}")
                fails.append(f"k={k}: {col} {r[col]} is above the exact {float(f):.10f} by "
                             f"{float(v - f):.3e}")
            if abs(v - f) > checks.TOL:
                fails.append(f"k={k}: {col} {r[col]} is not within 1e-6 of {float(f):.10f}")
        if exact.printed(r["equilibrium"]) > Fraction(k, k + 1):
            fails.append(f"k={k}: equilibrium {r['equilibrium']} above k/(k+1)")
        if k == 1 and exact.printed(r["nlhf"]) > Fraction(1, 2):
            fails.append(f"k=1: nlhf {r['nlhf']} above 1/2")
    _fail(fails, profile)


def test_pick_certificate_is_sound(profile, files):
    path, _ = files[profile.name]
    fails = []
    for k in (1, 3):
        out = cli.ok("pick", path, "--k", str(k), "--seed", "7").json()
        assert len(out["picks"]) == k
        fails += checks.check_certificate(profile, k, out["policy"], out["certificate"],
                                          profile.name, "pick")[0]
    _fail(fails, profile)


@corpus.select(lambda p: 2 <= p.n <= 6)
def test_opponents_figures_are_sound(profile, files):
    """`opponents` against the policy `solve` prints with the same flags (`--threads 1`, the
    deterministic route): its win rate must be a lower bound of the exact worst case over all
    l-multisets (docs/maths.md §5), within 1e-6, and its opponent one of the worst."""
    path, _ = files[profile.name]
    pop = profile.population()
    fails = []
    for k, l in ((2, 2), (3, 3), (1, 2)):
        sol = cli.ok("solve", path, "--k", str(k), "--threads", "1").json()
        out = cli.ok("opponents", path, "--k", str(k), "--l", str(l), "--threads", "1").json()
        assert out["exploitability"] == sol["certificate"]["exploitability"], (
            "opponents and solve --threads 1 certify different policies")
        pol = checks.exact_policy(sol["policy"])
        worst, _ = exact.worst_opponent(profile.n, pop, pol, k, l)
        win = 1 - worst
        checks.TALLY.add("opponents: figures checked")
        w_p = exact.printed(out["win_rate"])
        o_p = exact.printed(out["opponent_win_rate"])
        z = tuple(sorted(out["opponent_indices"]))
        z_win = exact.opponent_win(profile.n, pop, pol, k, z)
        if w_p > win:
            checks.TALLY.add("opponents: win_rate above exact")
            checks.TALLY.high("opponents: largest excess of win_rate over exact", float(w_p - win),
                              f"{profile.name} k={k} l={l}")
            fails.append(f"k={k} l={l}: win_rate {out['win_rate']} above the exact "
                         f"{float(win):.10f} by {float(w_p - win):.3e}")
        if o_p < worst:
            fails.append(f"k={k} l={l}: opponent_win_rate {out['opponent_win_rate']} below the "
                         f"exact worst {float(worst):.10f} by {float(worst - o_p):.3e}")
        if abs(w_p - win) > checks.TOL:
            fails.append(f"k={k} l={l}: win_rate {out['win_rate']} not within 1e-6 of "
                         f"{float(win):.10f}")
        if worst - z_win > checks.TOL:
            fails.append(f"k={k} l={l}: opponent {z} wins {float(z_win):.8f}, not one of the "
                         f"worst ({float(worst):.8f})")
        if exact.printed(out["lower_bound_approximate"]) > win:
            fails.append(f"k={k} l={l}: lower_bound_approximate {out['lower_bound_approximate']}"
                         f" is above the exact win rate {float(win):.10f}")
    _fail(fails, profile)
