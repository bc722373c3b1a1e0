"""Check 3: files written by pref_voting itself, read by the CLI as they are.

- `pref_voting.io.writers.write_csv` (its default `candidate_columns` format): a header of
  candidate names and a last column `#` holding counts; each cell is the candidate's rank
  (1 = best), empty when unranked.
- `pref_voting.io.writers.write_preflib` (through preflibtools): PrefLib with alternatives
  numbered from 0. pref_voting's shipped example files are numbered from 0 too.

While the CLI refuses such a file (exit 2 with a message) the test skips and shows the message.
When the CLI reads it (exit 0), the answer must be pref_voting's: the candidates as pref_voting
named them, a k = 1 answer that is a maximal lottery of pref_voting's margins (extended strict
preference, which is ualign's tie-at-bottom reading) within its certificate, and certificates
sound against exact arithmetic at k = 1 and 2. A misread (ranks taken as scores, `#` taken as a
candidate, candidates shifted by one) fails.
"""

from __future__ import annotations

import os

import pytest

import checks
import cli
import corpus
import exact

pytestmark = pytest.mark.interop


def _every_candidate_ranked(p):
    seen = {y for _, gs in p.ballots for g in gs for y in g}
    return len(seen) == p.n


def _generated(p):
    return (p.source.startswith("pref_voting:") and "counts" not in p.source
            and _every_candidate_ranked(p) and p.n >= 2)


_QUOTA = {
    "pref_voting:IC": 1, "pref_voting:MALLOWS": 1, "pref_voting:URN": 1,
    "pref_voting:single_peaked_walsh": 1, "pref_voting:euclidean": 1,
    "pref_voting:generate_truncated_profile(IC)": 2,
    "pref_voting:generate_truncated_profile(RT)": 1,
    "pref_voting:enumerate_anon_profile_with_ties": 2,
    "pref_voting:UtilityProfile.to_ranking_profile": 2,
}
_CASES = None


def interop_case(p):
    """A few generated pref_voting profiles of each kind (strict, truncated, with ties), at
    least 4 candidates where there are, whose candidates are all ranked by someone
    (pref_voting's PrefLib writer leaves a never-ranked candidate out of NUMBER ALTERNATIVES)."""
    global _CASES
    if _CASES is None:
        import conftest

        _CASES, taken = set(), {}
        qs = [q for q in conftest.profiles() if _generated(q) and q.source in _QUOTA]
        for q in sorted(qs, key=lambda q: q.n < 4):
            if taken.get(q.source, 0) < _QUOTA[q.source]:
                taken[q.source] = taken.get(q.source, 0) + 1
                _CASES.add(q.name)
    return p.name in _CASES


def _read(path, extra=()):
    """Runs solve --k 1; skips while the CLI refuses the file. Returns (solve output, stderr,
    the extra flags used)."""
    r = cli.run("solve", path, "--k", "1", *extra)
    if r.rc == 2 and "--values" in r.err and not extra and path.endswith(".csv"):
        extra = ("--values", "ranks")
        r = cli.run("solve", path, "--k", "1", *extra)
    if r.rc == 2:
        pytest.skip(f"the CLI refuses {os.path.basename(path)} today: {r.err.strip()}")
    assert r.rc == 0, r.describe()
    return r.json(), r.err, tuple(extra)


def _check_answer(profile, path, out, extra, what):
    names = profile.names
    assert out["candidates"] == names, (
        f"{what} misread: candidates {out['candidates']}, pref_voting's are {names}")
    assert out["n"] == profile.n
    p = checks.exact_policy(out["policy"])
    m = profile.peer_margins()
    w = profile.total_weight()
    e = exact.printed(out["certificate"]["exploitability"])
    excess = exact.margin_excess(m, p)
    assert excess <= 2 * w * e, (
        f"{what}: the k = 1 answer is not a maximal lottery of pref_voting's margins within its "
        f"certificate (exact exploitability {float(excess / (2 * w)):.6e}, printed "
        f"{out['certificate']['exploitability']}): a misread, or an unsound certificate")
    fails = checks.check_certificate(profile, 1, out["policy"], out["certificate"],
                                     f"{profile.name} [{what}]", "interop")[0]
    out2 = cli.ok("solve", path, "--k", "2", *extra).json()
    fails += checks.check_certificate(profile, 2, out2["policy"], out2["certificate"],
                                      f"{profile.name} [{what}]", "interop")[0]
    assert not fails, f"{what}:\n  " + "\n  ".join(fails)


@corpus.select(interop_case)
def test_pref_voting_csv(profile, workdir):
    from pref_voting.io.writers import write_csv

    d = os.path.join(workdir, "pv_csv")
    os.makedirs(d, exist_ok=True)
    path = write_csv(profile.pv, os.path.join(d, profile.name + ".csv"))
    out, _, extra = _read(path)
    _check_answer(profile, path, out, extra, "pref_voting write_csv")


@corpus.select(interop_case)
def test_values_ranks_on_pref_voting_csv(profile, workdir):
    from pref_voting.io.writers import write_csv

    d = os.path.join(workdir, "pv_csv_ranks")
    os.makedirs(d, exist_ok=True)
    path = write_csv(profile.pv, os.path.join(d, profile.name + ".csv"))
    out, _, extra = _read(path, ("--values", "ranks"))
    _check_answer(profile, path, out, extra, "pref_voting write_csv, --values ranks")


@corpus.select(interop_case)
def test_pref_voting_preflib_numbered_from_zero(profile, workdir):
    from pref_voting.io.writers import write_preflib

    d = os.path.join(workdir, "pv_preflib")
    os.makedirs(d, exist_ok=True)
    # preflibtools adds the type to a name only when the name has no extension, while
    # write_preflib returns the name with the type added: with a dot in the name (`phi0.5`)
    # the file would be written without the type and the returned path would not exist.
    path = write_preflib(profile.pv, os.path.join(d, profile.name.replace(".", "_")))
    out, err, extra = _read(path)
    assert err.strip(), "reading a PrefLib file numbered from 0 must say so on stderr"
    _check_answer(profile, path, out, extra, "pref_voting write_preflib")


@corpus.select(lambda p: p.source.startswith("pref_voting example"))
def test_pref_voting_shipped_example(profile):
    path = next(x.split(": ", 1)[1] for x in profile.notes if x.startswith("shipped file: "))
    out, err, extra = _read(path)
    assert err.strip(), "reading a PrefLib file numbered from 0 must say so on stderr"
    _check_answer(profile, path, out, extra, "pref_voting shipped example")
