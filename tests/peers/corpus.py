"""The peers' own profiles, and files in the formats the ualign CLI reads.

Sources (all deterministic):
- pref_voting's generators (`generate_profile` with each probability model, seeded;
  `generate_truncated_profile`, whose sampler takes no seed, run with its inner
  `generate_profile` call seeded and Python's `random` seeded; `enumerate_anon_profile_with_ties`;
  `UtilityProfile.to_ranking_profile` on coarse utilities, which gives ties and, where a voter
  has no utility for a candidate, truncation);
- the example profiles pref_voting ships (`pref_voting/data/examples/**.soc`, read with
  preflibtools, the reader pref_voting uses);
- OpenSpiel's voting test profiles: every literal list of votes in `open_spiel/python/voting/
  *_test.py` and `examples/example.py`, built with OpenSpiel's `base.PreferenceProfile`, and the
  PrefLib text of `preflib_util_test.py` read with OpenSpiel's `preflib_util`;
- the exact cases of docs/maths.md §7, the 29-ballot profile of issue 13, and heavy-weight copies.

Every profile carries the peer's own object in its tie-at-bottom mode: a pref_voting
`ProfileWithTies` on which `use_extended_strict_preference()` has been called (a ranked candidate
beats every unranked one; unranked candidates tie). OpenSpiel has no such mode (its
`margin_matrix` counts only pairs a vote lists both of, and votes cannot tie), so OpenSpiel
profiles also carry OpenSpiel's object, and its margins are used where every vote is complete.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import random
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import islice

import numpy as np

import exact

MAX_N = 8  # the exact checks run on at most this many candidates


@dataclass
class Profile:
    name: str  # unique, file-safe
    source: str
    names: list[str]  # candidate names, in the peer's candidate order
    ballots: list[tuple[int, tuple[tuple[int, ...], ...]]]  # (count, tie groups best first)
    pv: object  # pref_voting ProfileWithTies, extended strict preference
    os: object = None  # OpenSpiel PreferenceProfile, when the profile is OpenSpiel's
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.names)

    def population(self):
        return [(c, exact.levels_of(self.n, g)) for c, g in self.ballots]

    def total_weight(self) -> int:
        return sum(c for c, _ in self.ballots)

    def complete(self) -> bool:
        return all(sum(len(g) for g in gs) == self.n for _, gs in self.ballots)

    def strict(self) -> bool:
        return all(len(g) == 1 for _, gs in self.ballots for g in gs)

    def peer_margins(self) -> list[list[Fraction]]:
        """pref_voting's margins (extended strict preference), in `names` order."""
        cands = self.pv.candidates
        return [[Fraction(int(self.pv.margin(a, b))) for b in cands] for a in cands]

    def extension(self) -> str:
        return {(True, True): "soc", (False, True): "soi", (True, False): "toc"}.get(
            (self.complete(), self.strict()), "toi"
        )

    def preflib_text(self) -> str:
        """PrefLib text, candidates numbered from 1."""
        ext = self.extension()
        lines = [
            f"# FILE NAME: {self.name}.{ext}",
            f"# TITLE: {self.source}",
            f"# DATA TYPE: {ext}",
            f"# NUMBER ALTERNATIVES: {self.n}",
            f"# NUMBER VOTERS: {self.total_weight()}",
            f"# NUMBER UNIQUE ORDERS: {len({g for _, g in self.ballots})}",
        ]
        lines += [f"# ALTERNATIVE NAME {i + 1}: {nm}" for i, nm in enumerate(self.names)]
        for count, groups in self.ballots:
            parts = []
            for g in groups:
                items = ",".join(str(y + 1) for y in g)
                parts.append(items if len(g) == 1 else "{" + items + "}")
            lines.append(f"{count}: " + ",".join(parts))
        return "\n".join(lines) + "\n"

    def json_obj(self) -> dict:
        return {
            "candidates": self.names,
            "users": [
                {"weight": c, "ranking": [[self.names[y] for y in g] for g in gs]}
                for c, gs in self.ballots
            ],
        }

    def write_preflib(self, directory: str) -> str:
        path = os.path.join(directory, f"{self.name}.{self.extension()}")
        with open(path, "w") as f:
            f.write(self.preflib_text())
        return path

    def write_json(self, directory: str) -> str:
        path = os.path.join(directory, f"{self.name}.json")
        with open(path, "w") as f:
            json.dump(self.json_obj(), f)
        return path


# ---------------------------------------------------------------------------------------------
# From pref_voting objects


def _names(pv) -> list[str]:
    names = [str(pv.cmap.get(c, c)) for c in pv.candidates]
    if len(set(names)) != len(names) or any(not s.strip() for s in names):
        names = [f"c{i}" for i in range(len(names))]
    return names


def from_pref_voting(name: str, source: str, prof, candidates=None) -> Profile:
    """Wraps a pref_voting Profile or ProfileWithTies (converted with its own
    `to_profile_with_ties`), switched to extended strict preference. Ballots that rank nobody
    are left out (they change no margin; PrefLib cannot write them)."""
    from pref_voting.profiles_with_ties import ProfileWithTies

    pv = prof if isinstance(prof, ProfileWithTies) else prof.to_profile_with_ties()
    if candidates is not None and list(pv.candidates) != list(candidates):
        rs, cs = pv.rankings_counts
        pv = ProfileWithTies([r.rmap for r in rs], rcounts=list(cs), candidates=candidates,
                             cmap={c: str(pv.cmap.get(c, c)) for c in candidates})
    pv.use_extended_strict_preference()
    index = {c: i for i, c in enumerate(pv.candidates)}
    ballots = []
    notes = []
    rankings, counts = pv.rankings_counts
    for r, c in zip(rankings, counts):
        groups = tuple(tuple(sorted(index[x] for x in g)) for g in r.to_indiff_list() if len(g))
        if not groups:
            notes.append(f"{int(c)} ballot(s) ranking nobody left out")
            continue
        if int(c) > 0:
            ballots.append((int(c), groups))
    return Profile(name=name, source=source, names=_names(pv), ballots=ballots, pv=pv,
                   notes=notes)


def from_ballots(name: str, source: str, names, ballots) -> Profile:
    """A profile given as (count, groups) with 0-based candidates, wrapped as the peer's
    ProfileWithTies."""
    from pref_voting.profiles_with_ties import ProfileWithTies

    rmaps = [{y: i + 1 for i, g in enumerate(gs) for y in g} for _, gs in ballots]
    pv = ProfileWithTies(rmaps, rcounts=[c for c, _ in ballots], candidates=list(range(len(names))),
                         cmap={i: s for i, s in enumerate(names)})
    return from_pref_voting(name, source, pv)


# ---------------------------------------------------------------------------------------------
# pref_voting's generators

STRICT_MODELS = [
    ("IC", {}),
    ("IAC", {}),
    ("MALLOWS", {"phi": 0.5}),
    ("MALLOWS", {"phi": 0.85}),
    ("MALLOWS-RELPHI", {}),
    ("URN", {"alpha": 0.5}),
    ("URN-R", {}),
    ("plackett_luce", {}),
    ("didi", {}),
    ("stratification", {"weight": 0.5}),
    ("single_peaked_conitzer", {}),
    ("single_peaked_walsh", {}),
    ("single_peaked_circle", {}),
    ("single_crossing", {}),
    ("euclidean", {}),
]

SIZES = [(3, 5), (4, 7), (5, 12), (6, 9), (8, 15), (4, 25), (7, 6)]


def generated_strict() -> list[Profile]:
    from pref_voting.generate_profiles import generate_profile

    out = []
    for mi, (model, kw) in enumerate(STRICT_MODELS):
        for si in (mi % 3, 3 + mi % 4):
            n, v = SIZES[si]
            seed = 1000 + 17 * mi + si
            kwargs = dict(kw)
            if model in ("plackett_luce", "didi"):
                kwargs["alphas"] = [float(2 ** -(i % 4)) + 0.1 * i for i in range(n)]
            prof = generate_profile(n, v, probmodel=model, seed=seed, **kwargs)
            tag = model.lower().replace("-", "_") + "".join(
                f"_{k}{v}" for k, v in kw.items()
            )
            out.append(from_pref_voting(f"pv_{tag}_n{n}_v{v}_s{seed}", f"pref_voting:{model}",
                                        prof))
    return out


def _seeded_truncated(n, v, max_num_ranked, probmod, seed):
    """`generate_truncated_profile` with its randomness seeded: its inner `generate_profile`
    call gets `seed`, and Python's `random` (its truncation levels) is seeded too."""
    import pref_voting.generate_profiles as gp

    original = gp.generate_profile

    def seeded(num_candidates, num_voters, **kw):
        kw.setdefault("seed", seed)
        return original(num_candidates, num_voters, **kw)

    state = random.getstate()
    gp.generate_profile = seeded
    try:
        random.seed(seed)
        return gp.generate_truncated_profile(n, v, max_num_ranked=max_num_ranked,
                                             probmod=probmod)
    finally:
        gp.generate_profile = original
        random.setstate(state)


def generated_truncated() -> list[Profile]:
    out = []
    specs = [(3, 7, 2), (4, 9, 2), (5, 11, 3), (6, 8, 3), (8, 13, 4), (5, 30, 2), (7, 10, 5),
             (4, 6, 1), (6, 21, 4), (8, 9, 7)]
    for i, (n, v, t) in enumerate(specs):
        for probmod in ("IC", "RT"):
            seed = 2000 + 7 * i + (probmod == "RT")
            prof = _seeded_truncated(n, v, t, probmod, seed)
            out.append(from_pref_voting(f"pv_truncated_{probmod}_n{n}_v{v}_t{t}_s{seed}",
                                        f"pref_voting:generate_truncated_profile({probmod})",
                                        prof))
    return out


def generated_ties() -> list[Profile]:
    """Weak orders: strided picks from `enumerate_anon_profile_with_ties`, and coarse utility
    profiles (`UtilityProfile.to_ranking_profile`), some with missing utilities (truncation)."""
    from pref_voting.generate_profiles import enumerate_anon_profile_with_ties
    from pref_voting.utility_profiles import UtilityProfile

    out = []
    for n, v, stride, count in ((3, 3, 37, 6), (3, 5, 401, 5), (4, 3, 1999, 5)):
        gen = enumerate_anon_profile_with_ties(n, v)
        for j, prof in enumerate(islice(gen, 0, stride * count, stride)):
            out.append(from_pref_voting(f"pv_enum_ties_n{n}_v{v}_{j}",
                                        "pref_voting:enumerate_anon_profile_with_ties",
                                        prof, candidates=list(range(n))))
    rng = np.random.default_rng(3000)
    for j, (n, v, grid, drop) in enumerate(
        [(3, 6, 2, 0.0), (4, 8, 3, 0.0), (5, 10, 3, 0.2), (6, 12, 4, 0.25), (8, 9, 3, 0.3),
         (5, 40, 2, 0.1), (7, 14, 5, 0.0), (6, 7, 2, 0.4), (4, 11, 2, 0.3), (8, 20, 4, 0.15)]
    ):
        utils = []
        for _ in range(v):
            u = {c: int(rng.integers(0, grid)) for c in range(n) if rng.random() >= drop}
            if not u:
                u = {int(rng.integers(0, n)): 0}
            utils.append(u)
        prof = UtilityProfile(utils, domain=list(range(n))).to_ranking_profile()
        out.append(from_pref_voting(f"pv_utility_ties_n{n}_v{v}_g{grid}_{j}",
                                    "pref_voting:UtilityProfile.to_ranking_profile", prof,
                                    candidates=list(range(n))))
    return out


def pref_voting_examples() -> list[Profile]:
    """The PrefLib files pref_voting ships, read with preflibtools (they number from 0)."""
    import pref_voting
    from preflibtools.instances import OrdinalInstance
    from pref_voting.profiles_with_ties import ProfileWithTies

    base = os.path.join(os.path.dirname(pref_voting.__file__), "data", "examples")
    out = []
    for path in sorted(glob.glob(os.path.join(base, "**", "*.so[ci]"), recursive=True) +
                       glob.glob(os.path.join(base, "**", "*.to[ci]"), recursive=True)):
        inst = OrdinalInstance()
        inst.parse_file(path)
        cands = sorted(inst.alternatives_name.keys())
        rmaps, counts = [], []
        for order in inst.orders:
            rmaps.append({c: r + 1 for r, g in enumerate(order) for c in g})
            counts.append(inst.multiplicity[order])
        pv = ProfileWithTies(rmaps, rcounts=counts, candidates=cands,
                             cmap={c: str(inst.alternatives_name[c]) for c in cands})
        rel = os.path.relpath(path, base)
        stem = rel.replace(os.sep, "_").rsplit(".", 1)[0]
        p = from_pref_voting(f"pv_example_{_safe(stem)}", f"pref_voting example {rel}", pv)
        p.notes.append(f"shipped file: {path}")
        out.append(p)
    return out


def _safe(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in s)


# ---------------------------------------------------------------------------------------------
# OpenSpiel


def _literal_votes(node):
    """Evaluates a List node of votes (lists of ids, or base.WeightedVote(w, [...])) or None."""
    if not isinstance(node, ast.List) or not node.elts:
        return None
    votes = []
    for e in node.elts:
        if isinstance(e, ast.List):
            try:
                vote = ast.literal_eval(e)
            except ValueError:
                return None
            if not all(isinstance(x, (str, int)) for x in vote):
                return None
            votes.append((1, vote))
        elif (isinstance(e, ast.Call) and getattr(e.func, "attr", getattr(e.func, "id", ""))
              == "WeightedVote" and len(e.args) == 2):
            try:
                w, vote = ast.literal_eval(e.args[0]), ast.literal_eval(e.args[1])
            except ValueError:
                return None
            votes.append((w, vote))
        else:
            return None
    return votes


def openspiel_profiles() -> list[Profile]:
    """OpenSpiel's voting test profiles (see the module doc)."""
    from open_spiel.python.voting import base, preflib_util
    import open_spiel.python.voting as osv

    root = os.path.dirname(osv.__file__)
    found = []  # (file, votes, alternatives or None)
    files = sorted(glob.glob(os.path.join(root, "*_test.py"))) + [
        os.path.join(root, "examples", "example.py")]
    for path in files:
        tree = ast.parse(open(path).read())
        for scope in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] + [tree]:
            inner = list(ast.walk(scope)) if scope is not tree else list(ast.iter_child_nodes(tree))
            alternatives = None
            for n in inner:
                value = None
                if (isinstance(n, ast.Assign) and len(n.targets) == 1 and
                        getattr(n.targets[0], "id", "") == "alternatives"):
                    value = n.value
                elif isinstance(n, ast.keyword) and n.arg == "alternatives":
                    value = n.value
                if value is not None:
                    try:
                        alternatives = ast.literal_eval(value)
                    except ValueError:
                        pass
            for n in inner:
                # A list of votes: the value of a `votes=` keyword, or assigned to `votes` or a
                # module-level `_..._VOTE` name.
                if isinstance(n, ast.keyword) and n.arg == "votes":
                    cand = n.value
                elif (isinstance(n, ast.Assign) and len(n.targets) == 1 and
                      isinstance(n.targets[0], ast.Name) and
                      (n.targets[0].id == "votes" or n.targets[0].id.endswith("_VOTE"))):
                    cand = n.value
                else:
                    continue
                votes = _literal_votes(cand)
                if votes:
                    found.append((os.path.basename(path), votes, alternatives))
        if path.endswith("preflib_util_test.py"):
            text = ast.literal_eval(next(
                n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", "") == "TEST_DATA"))
            prof = preflib_util.parse_preflib_data(text)
            found.append((os.path.basename(path), [(v.weight, list(v.vote)) for v in prof.votes],
                          list(prof.alternatives)))
    out, seen = [], set()
    for fname, votes, alternatives in found:
        ids = []
        for _, v in votes:
            for a in v:
                if a not in ids:
                    ids.append(a)
        alts = alternatives if alternatives and set(ids) <= set(alternatives) else ids
        key = (tuple(map(str, alts)), tuple((w, tuple(map(str, v))) for w, v in votes))
        if key in seen:
            continue
        seen.add(key)
        osp = base.PreferenceProfile(votes=[base.WeightedVote(w, list(v)) for w, v in votes],
                                     alternatives=list(alts))
        idx = {a: i for i, a in enumerate(osp.alternatives)}
        names = [str(a) for a in osp.alternatives]
        ballots = [(w, tuple((idx[a],) for a in v)) for w, v in votes]
        p = from_ballots(f"os_{_safe(fname[:-3])}_{len(out)}", f"OpenSpiel {fname}", names,
                         ballots)
        p.os = osp
        out.append(p)
    return out


def openspiel_margins(p: Profile) -> list[list[Fraction]]:
    """OpenSpiel's own `margin_matrix()` (pairs a vote lists both of), in `names` order."""
    mm = p.os.margin_matrix()
    return [[Fraction(int(x)) for x in row] for row in mm]


# ---------------------------------------------------------------------------------------------
# Exact cases, the issue's profile, heavy weights

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def parse_preflib(path: str):
    """A small PrefLib reader for the fixtures (1-based): (n, names, ballots)."""
    n, names, ballots = None, {}, []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("# NUMBER ALTERNATIVES:"):
                n = int(line.split(":")[1])
            elif line.startswith("# ALTERNATIVE NAME"):
                head, nm = line.split(":", 1)
                names[int(head.split()[-1]) - 1] = nm.strip()
            continue
        count, rest = line.split(":", 1)
        groups, cur, depth = [], [], False
        for tok in rest.replace("{", ",{,").replace("}", ",},").split(","):
            tok = tok.strip()
            if tok == "{":
                depth, cur = True, []
            elif tok == "}":
                depth = False
                groups.append(tuple(cur))
            elif tok:
                (cur.append(int(tok) - 1) if depth else groups.append((int(tok) - 1,)))
        ballots.append((int(count), tuple(groups)))
    return n, [names.get(i, str(i + 1)) for i in range(n)], ballots


def issue_29_ballots() -> Profile:
    path = os.path.join(FIXTURES, "issue13_29_ballots.toi")
    n, names, ballots = parse_preflib(path)
    p = from_ballots("issue13_29_ballots", "issue 13 (fixture)", names, ballots)
    p.notes.append(f"fixture file: {path}")
    return p


def spec_cases() -> list[Profile]:
    """docs/maths.md §7, plus a weak Condorcet winner with ties."""
    b = from_ballots
    return [
        b("spec_unanimous", "docs/maths.md §7 unanimous top", ["a", "b", "c", "d"],
          [(2, ((0,), (1,), (2,), (3,))), (1, ((0,), (3,), (1,))), (3, ((0, 2), (1,)))]),
        b("spec_condorcet_cycle", "docs/maths.md §7 Condorcet cycle", ["a", "b", "c"],
          [(1, ((0,), (1,), (2,))), (1, ((1,), (2,), (0,))), (1, ((2,), (0,), (1,)))]),
        b("spec_cyclic5", "docs/maths.md §7 cyclic n=5", list("abcde"),
          [(1, tuple(((i + j) % 5,) for j in range(5))) for i in range(5)]),
        b("spec_cyclic4", "docs/maths.md §7 cyclic n=4", list("abcd"),
          [(1, tuple(((i + j) % 4,) for j in range(4))) for i in range(4)]),
        b("spec_majority_minority", "docs/maths.md §7 majority/minority", ["a", "b", "c"],
          [(3, ((0,), (2,), (1,))), (2, ((1,), (2,), (0,)))]),
        b("spec_two_candidates", "docs/maths.md §7 two candidates", ["a", "b"],
          [(51, ((0,), (1,))), (49, ((1,), (0,)))]),
        b("spec_weak_condorcet_ties", "weak Condorcet winner with ties", list("abcd"),
          [(2, ((0, 1), (2,))), (1, ((2,), (0,), (1,), (3,))), (1, ((1,), (0,), (3,)))]),
    ]




def heavy_copies(bases: list[Profile]) -> list[Profile]:
    """Copies of some profiles with heavy counts, seeded, whose sums stay below 2^22 (even when
    ualign merges identical ballots), the largest ualign keeps as exact counts
    (docs/certificates.md; larger weights are f32 weights there, a different game from the
    peer's integer counts): counts from 10^5 up to that cap, and counts at the cap."""
    rng = random.Random(4000)
    out = []
    for j, p in enumerate(bases):
        if j % 2 == 0:
            # ualign merges identical ballots: their counts add, and the sums must stay counts.
            cap = ((1 << 22) - 1) // len(p.ballots)
            counts = [rng.randint(min(100_000, cap), cap) for _ in p.ballots]
            tag = "heavy"
        else:
            cap = ((1 << 22) - 1) // len(p.ballots)
            counts = [cap - rng.randint(0, 1000) for _ in p.ballots]
            tag = "huge"
        q = from_ballots(f"{p.name}_{tag}", p.source + f" ({tag} counts)", p.names,
                         [(c, g) for c, (_, g) in zip(counts, p.ballots)])
        out.append(q)
    return out


def build() -> list[Profile]:
    strict = generated_strict()
    trunc = generated_truncated()
    ties = generated_ties()
    profiles = (spec_cases() + [issue_29_ballots()] + strict + trunc + ties +
                pref_voting_examples() + openspiel_profiles())
    heavy = heavy_copies([strict[1], strict[6], trunc[3], trunc[8], ties[4], ties[12],
                          ties[15], strict[20]])
    profiles += heavy
    names = [p.name for p in profiles]
    assert len(names) == len(set(names)), "profile names must be unique"
    return profiles


def select(predicate):
    """Decorates a test taking `profile` so it runs on the profiles `predicate` accepts."""

    def mark(fn):
        fn.select = predicate
        return fn

    return mark
