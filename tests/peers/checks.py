"""The soundness checks on one printed certificate, and the tallies printed after the run."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import exact

TOL = Fraction(1, 10**6)  # "within 1e-6 of exact" (issue 13)
EPS_DEFAULT = exact.f32_of(Fraction(1, 10**4))  # solve's default --eps, as the f32 it parses to


class Tally:
    """What the run saw, printed by conftest's terminal summary."""

    def __init__(self):
        self.count = defaultdict(int)
        self.worst = {}  # name -> (value, where)
        self.examples = defaultdict(list)

    def add(self, key, n=1):
        self.count[key] += n

    def high(self, key, value, where):
        if key not in self.worst or value > self.worst[key][0]:
            self.worst[key] = (value, where)

    def example(self, key, text, limit=5):
        if len(self.examples[key]) < limit:
            self.examples[key].append(text)


TALLY = Tally()


def exact_policy(printed_policy) -> list[Fraction]:
    """The printed policy as the f32 masses it denotes, normalised by their exact sum."""
    return exact.normalise([exact.printed(x) for x in printed_policy])


def check_certificate(profile, k: int, printed_policy, cert: dict, where: str,
                      command: str) -> tuple[list[str], exact.Certificate]:
    """Checks one printed certificate against exact arithmetic (docs/maths.md §2). Returns the failures
    (empty when sound and tight) and the exact certificate."""
    fails = []
    n = profile.n
    pol = exact_policy(printed_policy)
    ex = exact.certify(n, profile.population(), pol, k)
    # The checker's own identity: sum_y pi(y) g(y) = 1/(k+1) exactly.
    assert sum(p * g for p, g in zip(pol, ex.shares)) == Fraction(1, k + 1), where

    f_p = exact.printed(cert["worst_case_win_rate"])
    e_p = exact.printed(cert["exploitability"])
    f, e = ex.worst_case_win_rate, ex.exploitability
    TALLY.add(f"{command}: certificates checked")
    tag = f"{where} k={k}"

    if f_p > f:
        d = f_p - f
        fails.append(f"k={k}: printed worst_case_win_rate {cert['worst_case_win_rate']} is above "
                     f"the exact {float(f):.10f} by {float(d):.3e}")
        TALLY.add(f"{command}: worst_case_win_rate above exact")
        TALLY.high(f"{command}: largest excess of printed worst_case_win_rate over exact",
                   float(d), tag)
    if e_p < e:
        d = e - e_p
        fails.append(f"k={k}: printed exploitability {cert['exploitability']} is below the exact "
                     f"{float(e):.6e} by {float(d):.3e}")
        TALLY.add(f"{command}: exploitability below exact")
        TALLY.high(f"{command}: largest shortfall of printed exploitability under exact",
                   float(d), tag)
    if k == 1 and f_p > Fraction(1, 2):
        fails.append(f"k=1: printed worst_case_win_rate {cert['worst_case_win_rate']} > 1/2")
        TALLY.add(f"{command}: k=1 worst_case_win_rate above 1/2")
        TALLY.high(f"{command}: largest k=1 worst_case_win_rate", float(f_p), tag)
    if k == 1:
        assert f <= Fraction(1, 2), f"exact f > 1/2 at k=1 is impossible ({where})"
    for label, pv, xv in (("worst_case_win_rate", f_p, f), ("exploitability", e_p, e)):
        gap = abs(pv - xv)
        TALLY.high(f"{command}: largest |printed - exact| {label}", float(gap), tag)
        if gap > TOL:
            fails.append(f"k={k}: printed {label} {cert[label]} is {float(gap):.3e} from the exact "
                         f"{float(xv):.10f} (more than 1e-6)")
            TALLY.add(f"{command}: {label} not within 1e-6")
    # What a JSON reader sees: the decimal itself (not asserted; see the README).
    if exact.decimal(cert["worst_case_win_rate"]) > f:
        TALLY.add(f"{command}: (info) printed decimal of worst_case_win_rate above exact")
    if exact.decimal(cert["exploitability"]) < e:
        TALLY.add(f"{command}: (info) printed decimal of exploitability below exact")

    idx = cert["worst_opponent_index"]
    if not (isinstance(idx, int) and 0 <= idx < n):
        fails.append(f"k={k}: worst_opponent_index {idx!r} out of range")
    else:
        if cert["worst_opponent"] != profile.names[idx]:
            fails.append(f"k={k}: worst_opponent {cert['worst_opponent']!r} is not candidate "
                         f"{idx} ({profile.names[idx]!r})")
        short = max(ex.shares) - ex.shares[idx]
        if short > TOL:
            fails.append(f"k={k}: worst_opponent {idx} has share {float(ex.shares[idx]):.8f}, "
                         f"{float(short):.3e} below the largest (candidates {ex.worst})")
    bound = exact.printed(cert["bound"])
    if abs(bound - Fraction(k, k + 1)) > Fraction(1, 2**24):
        fails.append(f"k={k}: bound {cert['bound']} is not k/(k+1)")
    if fails:
        TALLY.example(f"{command}: failing runs", f"{where}: " + fails[0])
    return fails, ex
