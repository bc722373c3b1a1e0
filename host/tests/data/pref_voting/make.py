"""Writes the pref_voting fixtures of host/tests/interop.rs with pref_voting's own writers, and
pref_voting's own answers for them in expected.json.

    pip install pref_voting==1.18.2   # preflibtools 2.0.33 comes with it
    cd host/tests/data/pref_voting && python3 make.py

The files are committed; this script documents how they were made (the tests do not run it).
- ic5.csv, ic5-rank-columns.csv, ic5.soc: an impartial-culture profile (pref_voting's
  generate_profile, 5 candidates, 21 voters, seed 2026) through write_csv (both csv_format
  values) and write_preflib (which numbers alternatives from 0).
- ties.csv, ties.toi: a ProfileWithTies with tie groups and truncated ballots, through
  write_csv and write_preflib.
- truncated.csv, truncated.soi: three candidates, truncated ballots on which the conventions
  disagree (see docs/conventions.md).
- minimal_Coombs.soc: one of the examples pref_voting ships (data/examples/condorcet_winner),
  copied as is.
expected.json, per file: the candidates in pref_voting's order (by name), the number of voters,
the margin matrix and pref_voting's maximal_lottery under its default (only pairs both ranked
count) and under use_extended_strict_preference() (unranked candidates below every ranked one:
ualign's convention), and whether the extended lottery is unique (every off-diagonal margin
odd).
"""

import json
import os
import random
import shutil

import pref_voting
from pref_voting.generate_profiles import generate_profile
from pref_voting.io.readers import csv_to_profile, preflib_to_profile
from pref_voting.io.writers import write_csv, write_preflib
from pref_voting.probabilistic_methods import maximal_lottery
from pref_voting.profiles import Profile
from pref_voting.profiles_with_ties import ProfileWithTies


def facts(prof, names, values):
    """pref_voting's margins (both conventions) and maximal lottery, candidates by name."""
    pwt = prof.to_profile_with_ties() if isinstance(prof, Profile) else prof
    cands = list(pwt.candidates)
    pwt.use_strict_preference()
    default = [[int(pwt.margin(a, b)) for b in cands] for a in cands]
    ml_default = maximal_lottery(pwt)
    pwt.use_extended_strict_preference()
    extended = [[int(pwt.margin(a, b)) for b in cands] for a in cands]
    ml = maximal_lottery(pwt)
    unique = all(extended[i][j] % 2 != 0 for i in range(len(cands)) for j in range(len(cands)) if i != j)
    return {
        "values": values,
        "candidates": [names[c] for c in cands],
        "voters": int(pwt.num_voters),
        "margins_default": default,
        "margins_extended": extended,
        "maximal_lottery_default": [float(ml_default.get(c, 0.0)) for c in cands],
        "maximal_lottery_extended": [float(ml.get(c, 0.0)) for c in cands],
        "unique": unique,
    }


def same_margins(a, b):
    a = a.to_profile_with_ties() if isinstance(a, Profile) else a
    b = b.to_profile_with_ties() if isinstance(b, Profile) else b
    a.use_extended_strict_preference()
    b.use_extended_strict_preference()
    return [[a.margin(x, y) for y in a.candidates] for x in a.candidates] == [
        [b.margin(x, y) for y in b.candidates] for x in b.candidates
    ]


def main():
    out = {}
    names5 = {0: "alpha", 1: "bravo", 2: "charlie", 3: "delta", 4: "echo"}
    ic = generate_profile(5, 21, seed=2026)
    ic = Profile(ic.rankings, cmap=names5)
    write_csv(ic, "ic5.csv")
    write_csv(ic, "ic5-rank-columns.csv", csv_format="rank_columns")
    write_preflib(ic, "ic5")
    assert same_margins(ic, csv_to_profile("ic5.csv"))
    out["ic5.csv"] = facts(ic, names5, "ranks")
    # rank_columns: pref_voting's reader sorts the names, which here keeps the order.
    assert same_margins(ic, csv_to_profile("ic5-rank-columns.csv", csv_format="rank_columns"))
    out["ic5-rank-columns.csv"] = facts(ic, names5, "ranks")
    assert same_margins(ic, preflib_to_profile("ic5.soc"))
    out["ic5.soc"] = facts(ic, names5, None)

    rng = random.Random(2026)
    names6 = {c: f"cand{c}" for c in range(6)}
    rankings, counts = [], []
    for _ in range(25):
        order = list(range(6))
        rng.shuffle(order)
        listed = order[: rng.randint(1, 6)]
        ranks, r = {}, 0
        for i, c in enumerate(listed):
            if i == 0 or rng.random() > 0.3:
                r += 1
            ranks[c] = r
        rankings.append(ranks)
        counts.append(rng.randint(1, 4))
    # Every candidate ranked somewhere: write_preflib's NUMBER ALTERNATIVES counts only those.
    rankings.append({c: c + 1 for c in range(6)})
    counts.append(1)
    ties = ProfileWithTies(rankings, rcounts=counts, candidates=list(range(6)), cmap=names6)
    write_csv(ties, "ties.csv")
    write_preflib(ties, "ties")
    assert same_margins(ties, csv_to_profile("ties.csv"))
    assert same_margins(ties, preflib_to_profile("ties.toi"))
    out["ties.csv"] = facts(ties, names6, "ranks")
    out["ties.toi"] = facts(ties, names6, None)

    # Truncated ballots where the conventions disagree: by default (pairs both ranked) c is the
    # Condorcet winner, with unranked candidates at the bottom (ualign) a is.
    names3 = {0: "a", 1: "b", 2: "c"}
    trunc = ProfileWithTies(
        [{0: 1}, {1: 1, 0: 2}, {2: 1, 1: 2, 0: 3}],
        rcounts=[4, 2, 1],
        candidates=[0, 1, 2],
        cmap=names3,
    )
    write_csv(trunc, "truncated.csv")
    write_preflib(trunc, "truncated")  # infers .soi
    assert same_margins(trunc, csv_to_profile("truncated.csv"))
    out["truncated.csv"] = facts(trunc, names3, "ranks")
    out["truncated.soi"] = facts(trunc, names3, None)

    shipped = os.path.join(
        os.path.dirname(pref_voting.__file__),
        "data", "examples", "condorcet_winner", "minimal_Coombs.soc",
    )
    shutil.copy(shipped, "minimal_Coombs.soc")
    coombs = preflib_to_profile("minimal_Coombs.soc")
    out["minimal_Coombs.soc"] = facts(coombs, {c: str(c) for c in coombs.candidates}, None)

    with open("expected.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
