"""Same bits as the command line: `ualign.solve(ualign.read(f), k).to_dict()` equals
`ualign solve f --k k` field for field, and likewise certify/eval, curve, pick and explain, on
every input format and on the shared real data; bad files give the command's message."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List

import numpy as np
import pytest

import ualign

FILES = {
    "majmin.json": json.dumps(
        {
            "candidates": ["a", "b", "c"],
            "users": [
                {"weight": 0.6, "ranking": [["a"], ["c"], ["b"]]},
                {"weight": 0.4, "ranking": [["b"], ["c"], ["a"]]},
            ],
        }
    ),
    "mixed.json": json.dumps(
        {
            "candidates": ["w", "x", "y", "z", "v"],
            "users": [
                {"weight": 2, "scores": [0.5, 0.1, 0.9, 0.9, -1]},
                {"ranking": [["x", "z"], "w"]},
                {"weight": 0.25, "ranking": [["v"], ["w"], ["x"], ["y"], ["z"]]},
                {"ranking": [["x", "z"], ["w"]]},
            ],
        }
    ),
    "cycle.soc": "\n".join(
        [
            "# FILE NAME: cycle.soc",
            "# DATA TYPE: soc",
            "# NUMBER ALTERNATIVES: 3",
            "# ALTERNATIVE NAME 1: a",
            "# ALTERNATIVE NAME 2: b",
            "# ALTERNATIVE NAME 3: c",
            "# NUMBER VOTERS: 6",
            "# NUMBER UNIQUE ORDERS: 3",
            "2: 1,2,3",
            "2: 2,3,1",
            "2: 3,1,2",
            "",
        ]
    ),
    "ties.toi": "\n".join(
        [
            "# ALTERNATIVE NAME 1: p",
            "# ALTERNATIVE NAME 2: q",
            "# ALTERNATIVE NAME 3: r",
            "# ALTERNATIVE NAME 4: s",
            "3: 1,{2,3}",
            "1: 4,3,2,1",
            "2: {3,4},1",
            "",
        ]
    ),
    "heads.csv": "weight,alpha,beta,gamma,delta\n1,0.3,0.7,0.2,0.5\n2,0.9,0.1,0.4,0.4\n1.5,0.2,0.8,0.8,0.1\n",
    "agents.txt": "# game dqn a3c ppo\nbreakout 10 20 30\npong 3 -1 2\nqbert 7 7 1\n",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> List[Path]:
    d = tmp_path_factory.mktemp("inputs")
    out = []
    for name, text in FILES.items():
        p = d / name
        p.write_text(text)
        out.append(p)
    return out


def same_as_cli(cli, f: Path, ks=(1, 2, 5), seed: int = 7) -> None:
    pop = ualign.read(f)
    assert pop.n == len(pop.candidates)
    for k in ks:
        sol = ualign.solve(pop, k)
        want = cli.json("solve", f, "--k", k)
        assert sol.to_dict() == want, f"{f.name} k={k}"
        assert [pop.n, pop.m, pop.candidates] == [want["n"], want["m"], want["candidates"]]
        # The float32 policy is the one printed.
        assert [float(np.float32(p)) for p in want["policy"]] == sol.policy.tolist()
        assert sol.certificate.to_dict() == want["certificate"]
        assert sol.certificate.worst_opponent == want["certificate"]["worst_opponent_index"]
        # eval of the solved policy, given as the CLI's printed JSON.
        policy = json.dumps(want["policy"])
        ev = cli.json("eval", f, "--k", k, "--policy", policy)
        cert = ualign.certify(pop, want["policy"], k)
        assert cert.to_dict() == ev["certificate"]
        assert [ev["k"], ev["n"], ev["m"], ev["candidates"]] == [k, pop.n, pop.m, pop.candidates]
        # eval of another policy: uniform, written with few digits.
        uniform = [round(1 / pop.n, 4)] * pop.n
        ev = cli.json("eval", f, "--k", k, "--policy", json.dumps(uniform))
        assert ualign.certify(pop, uniform, k).to_dict() == ev["certificate"]
        # pick: the same indices with the same seed.
        pk = cli.json("pick", f, "--k", k, "--seed", seed)
        assert ualign.pick(sol.policy, k, seed).tolist() == pk["pick_indices"]
        # explain: the rows of solve --explain.
        ex = cli.json("solve", f, "--k", k, "--explain")
        assert ualign.explain(pop, sol.policy, k) == ex["explain"]
        # hedge too.
        h = cli.json("solve", f, "--k", k, "--method", "hedge", "--max-iter", 300)
        assert ualign.solve(pop, k, method="hedge", max_iter=300).to_dict() == h
        # --threads 1 and other eps; --reference.
        t = cli.json("solve", f, "--k", k, "--threads", 1, "--eps", 1e-3)
        assert ualign.solve(pop, k, eps=1e-3, threads=1).to_dict() == t
        r = cli.json("solve", f, "--k", k, "--reference")
        ref = ualign.solve(pop, k, reference=True)
        assert ref.to_dict() == r and ref.route == r["route"] == "population"
        assert sol.route == want["route"]
    assert ualign.curve(pop, 4) == cli.json("curve", f, "--k-max", 4)


def test_every_format_gives_the_cli_bits(cli, files: List[Path]) -> None:
    for f in files:
        same_as_cli(cli, f)


def test_format_override(cli, files: List[Path], tmp_path: Path) -> None:
    src = next(f for f in files if f.name == "heads.csv")
    odd = tmp_path / "heads.scores"
    odd.write_text(src.read_text())
    sol = ualign.solve(ualign.read(odd, format="csv"), 3)
    assert sol.to_dict() == cli.json("solve", odd, "--k", 3, "--format", "csv")
    assert sol.to_dict() == ualign.solve(ualign.Population.read(src), 3).to_dict()


def test_values_reads_tables_of_ranks_as_the_cli(cli, tmp_path: Path) -> None:
    """A table that looks like ranks is refused without values= (the message names values=,
    not the command's flag), and read as `--values ranks` or `--values scores` reads it."""
    p = tmp_path / "ranks.csv"
    p.write_text("a,b,c\n1,2,3\n3,1,2\n")
    with pytest.raises(ualign.InputError) as e:
        ualign.read(p)
    assert "the values look like ranks" in str(e.value)
    assert 'pass values="ranks"' in str(e.value) and 'or values="scores"' in str(e.value)
    assert "--values" not in str(e.value)
    for values in ("ranks", "scores"):
        want = cli.json("solve", p, "--k", 2, "--values", values)
        assert ualign.solve(ualign.read(p, values=values), 2).to_dict() == want
        assert ualign.solve(ualign.Population.read(p, "csv", values), 2).to_dict() == want
    ranks = ualign.solve(ualign.read(p, values="ranks"), 1).policy
    scores = ualign.solve(ualign.read(p, values="scores"), 1).policy
    assert ranks.tolist() != scores.tolist()


@pytest.mark.parametrize(
    "arg, good, bad, first",
    [("values", "ranks", "rank", "scores"), ("header", "none", "first", "first-row")],
)
def test_table_arguments_are_checked(tmp_path: Path, arg: str, good: str, bad: str, first: str) -> None:
    """`values=` and `header=` apply to tables only, and take only their own words."""
    p = tmp_path / "t.csv"
    p.write_text("a,b\n0.5,0.2\n")
    j = tmp_path / "x.json"
    j.write_text('{"candidates": ["a"], "users": [{"scores": [1]}]}')
    with pytest.raises(ualign.InputError, match=rf'{arg} applies to score tables \(format="csv"'):
        ualign.read(j, **{arg: good})
    with pytest.raises(ualign.InputError, match=f'{arg} "{bad}": use "{first}"'):
        ualign.read(p, **{arg: bad})
    with pytest.raises(ualign.InputError, match=f"{arg} must be a string"):
        ualign.read(p, **{arg: 1})


def test_header_decides_pandas_column_numbers(cli, tmp_path: Path) -> None:
    """pandas writes a frame's default columns as the numbers 0, 1, 2, ...: such a first row
    could name the candidates or be a user type's scores, so it is refused without header= (the
    message names header=, not the command's flag), and read as `--header` reads it."""
    import pandas as pd

    scores = [[0.5, 0.2, 0.1], [0.3, 0.9, 0.4], [0.1, 0.8, 0.9]]
    frame = pd.DataFrame(scores)
    named = tmp_path / "named.csv"
    frame.set_axis(["a", "b", "c"], axis=1).to_csv(named, index=False)
    for index in (False, True):
        p = tmp_path / f"index_{index}.csv"
        frame.to_csv(p, index=index)
        with pytest.raises(ualign.InputError) as e:
            ualign.read(p)
        assert "could name the candidates" in str(e.value)
        assert 'pass header="first-row"' in str(e.value) and 'or header="none"' in str(e.value)
        assert "--header" not in str(e.value)
        pop = ualign.read(p, header="first-row")
        assert pop.candidates == ["0", "1", "2"] and pop.m == 3
        # The scores are the frame's: the same answer as the same frame under text names, and
        # as the command's.
        want = ualign.solve(ualign.read(named), 2).to_dict()
        got = ualign.solve(pop, 2).to_dict()
        assert got == cli.json("solve", p, "--k", 2, "--header", "first-row")
        assert got["certificate"].pop("worst_opponent") == "0"
        assert want["certificate"].pop("worst_opponent") == "a"
        assert got["policy"] == want["policy"] and got["certificate"] == want["certificate"]
    # Without an index column, `none` makes the numbers a fourth user type's scores: the
    # command's answer, and the answer for those four rows of scores given as JSON.
    p = tmp_path / "index_False.csv"
    as_json = tmp_path / "four.json"
    users = [{"scores": row} for row in [[0, 1, 2]] + scores]
    as_json.write_text(json.dumps({"candidates": ["c1", "c2", "c3"], "users": users}))
    none = ualign.solve(ualign.read(p, header="none"), 2).to_dict()
    assert ualign.read(p, header="none").m == 4
    assert none == cli.json("solve", p, "--k", 2, "--header", "none")
    assert none == ualign.solve(ualign.read(as_json), 2).to_dict()


def test_format_errors_name_the_format_argument(tmp_path: Path) -> None:
    """A reader's message that names `--format` names `format=` here, as it names `values=`."""
    p = tmp_path / "scores.txt"
    p.write_text("a,b,c\n850,920,780\n900,810,870\n")
    with pytest.raises(ualign.InputError) as e:
        ualign.read(p)
    assert 'say format="csv"' in str(e.value) and "--format" not in str(e.value)
    assert ualign.read(p, format="csv").candidates == ["a", "b", "c"]
    q = tmp_path / "instance.csv"
    q.write_text('{"candidates": ["a"], "users": [{"scores": [1]}]}\n')
    with pytest.raises(ualign.InputError) as e:
        ualign.read(q)
    assert 'format="json"' in str(e.value) and "--format" not in str(e.value)


def test_real_data_gives_the_cli_bits(cli, data_dir: Path) -> None:
    files = sorted(
        p
        for p in data_dir.rglob("*")
        if p.suffix in (".soc", ".soi", ".toc", ".toi", ".txt", ".csv")
        and not p.name.endswith("-info.txt")
        and not p.name.startswith("LICENSE")
    )
    assert files, f"no data files under {data_dir}"
    for f in files:
        pop = ualign.read(f)
        for k in (2, 4):
            assert ualign.solve(pop, k).to_dict() == cli.json("solve", f, "--k", k), f.name
        pk = cli.json("pick", f, "--k", 4, "--seed", 11)
        sol = ualign.solve(pop, 4)
        assert ualign.pick(sol.policy, 4, 11).tolist() == pk["pick_indices"]


BAD = {
    "empty.json": "",
    "syntax.json": '{"candidates": ["a", "b"], "users": [{"scores": [1, 0]},]}',
    "twice.json": '{"candidates": ["a", "a"], "users": [{"scores": [1, 0]}]}',
    "unknown.json": '{"candidates": ["a", "b"],\n "users": [\n{"ranking": [["a"], ["z"]]}]}',
    "short.json": '{"candidates": ["a", "b"], "users": [{"scores": [1]}]}',
    "negative.json": '{"candidates": ["a", "b"], "users": [{"weight": -1, "scores": [1, 0]}]}',
    "zero.json": '{"candidates": ["a", "b"], "users": [{"weight": 0, "scores": [1, 0]}]}',
    "both.json": '{"candidates": ["a"], "users": [{"scores": [1], "ranking": [["a"]]}]}',
    "nousers.json": '{"candidates": ["a"], "users": []}',
    "bad.soc": "# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\n1: 1,3\n",
    "count.soc": "# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\nx: 1,2\n",
    "ragged.csv": "a,b,c\n1,2,3\n4,5\n",
    "nan.csv": "a,b\n1,nan\n",
    "weights.csv": "weight,a,b\n-2,1,0\n",
    "utf8.txt": b"a b\n1 \xff\n",
    "noext.data": "a,b\n1,0\n",
}


def in_python_words(message: str) -> str:
    """The command's message with `--format X` as `ualign.read`'s argument, `format="X"`."""
    message = message.replace(
        "--format preflib|json|csv|table", 'format="preflib", "json", "csv" or "table"'
    )
    return re.sub(r"--format (preflib|json|csv|table)", r'format="\1"', message)


def test_bad_files_give_the_cli_message(cli, tmp_path: Path) -> None:
    for name, text in BAD.items():
        p = tmp_path / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)
        want = cli.error("solve", p, "--k", 2)
        with pytest.raises(ualign.InputError) as e:
            ualign.solve(ualign.read(p), 2)
        assert str(e.value) == in_python_words(want), name
        assert "--format" not in str(e.value), name
    missing = tmp_path / "missing.json"
    with pytest.raises(ualign.InputError) as e:
        ualign.read(missing)
    assert str(e.value) == cli.error("solve", missing, "--k", 2)


def test_bad_options_give_the_cli_message(cli, files: List[Path]) -> None:
    f = next(f for f in files if f.name == "majmin.json")
    pop = ualign.read(f)
    cases = [
        (lambda: ualign.solve(pop, 0), ["solve", f, "--k", 0]),
        (lambda: ualign.solve(pop, 1025), ["solve", f, "--k", 1025]),
        (lambda: ualign.solve(pop, 2, eps=-1), ["solve", f, "--k", 2, "--eps", -1]),
        (lambda: ualign.solve(pop, 2, eps=float("nan")), ["solve", f, "--k", 2, "--eps", "NaN"]),
        (lambda: ualign.solve(pop, 2, max_iter=0), ["solve", f, "--k", 2, "--max-iter", 0]),
        (
            lambda: ualign.solve(pop, 2, method="hedge", max_iter=30_000_000),
            ["solve", f, "--k", 2, "--method", "hedge", "--max-iter", 30_000_000],
        ),
        (lambda: ualign.curve(pop, 0), ["curve", f, "--k-max", 0]),
        (lambda: ualign.certify(pop, [0.5, 0.5], 2), ["eval", f, "--k", 2, "--policy", "[0.5,0.5]"]),
        (
            lambda: ualign.certify(pop, [0.5, 0.6, 0.0], 2),
            ["eval", f, "--k", 2, "--policy", "[0.5,0.6,0.0]"],
        ),
        (
            lambda: ualign.certify(pop, [1.5, -0.5, 0.0], 2),
            ["eval", f, "--k", 2, "--policy", "[1.5,-0.5,0.0]"],
        ),
        (lambda: ualign.certify(pop, [1, 0, 0], 0), ["eval", f, "--k", 0, "--policy", "[1,0,0]"]),
        (
            lambda: ualign.solve(pop, 2, method="nope"),
            None,
        ),
    ]
    for call, args in cases:
        with pytest.raises(ualign.InputError) as e:
            call()
        if args is not None:
            # The CLI names where a policy came from (`--policy: `); certify's argument is one.
            want = cli.error(*args)
            if "--policy" in args:
                want = want.removeprefix("--policy: ")
            assert str(e.value) == want, args
        else:
            assert "--method" in str(e.value)


def test_batch_matches_ualign_batch(cli, tmp_path: Path) -> None:
    import pyarrow as pa

    rng = np.random.default_rng(5)
    prompts, lines = [], []
    for i in range(60):
        m, n = int(rng.integers(1, 6)), int(rng.integers(1, 9))
        s = np.round(rng.normal(size=(m, n)), 1)
        w = rng.integers(0, 4, size=m).astype(float)
        if i % 7 == 3:
            w[:] = 0.0  # a bad row: all weights zero
        prompts.append((s.tolist(), w.tolist()))
        lines.append(
            json.dumps(
                {
                    "candidates": [f"c{j + 1}" for j in range(n)],
                    "users": [{"weight": wj, "scores": row} for wj, row in zip(w.tolist(), s.tolist())],
                }
            )
        )
    jl = tmp_path / "prompts.jsonl"
    jl.write_text("\n".join(lines) + "\n")
    for k in (1, 3):
        r = cli.run("batch", jl, "--k", k)
        assert r.returncode == 0, r.stderr
        want = [json.loads(x) for x in r.stdout.splitlines()]
        table = pa.table({"scores": [p[0] for p in prompts], "weights": [p[1] for p in prompts]})
        got = ualign.solve_batch(table, k).to_pylist()
        assert len(got) == len(want) == 60
        for g, w in zip(got, want):
            if "error" in w:
                assert g["error"] is not None and g["policy"] is None
                continue
            assert g["error"] is None
            assert g["policy"] == [float(np.float32(p)) for p in w["policy"]]
            assert g["worst_case_win_rate"] == w["certificate"]["worst_case_win_rate"]
            assert g["exploitability"] == w["certificate"]["exploitability"]
            assert g["iterations"] == w["iterations"]
            assert g["converged"] == w["converged"]
