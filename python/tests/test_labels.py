"""Inputs a reader could take two ways: pandas labels, integer names, 1-based indices, numbers a
float64 rounds, parameters of the wrong type. Each is read as its labels say or refused with a
message naming the argument that decides; none is read by position in silence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ualign
from ualign import Population as P

pd = pytest.importorskip("pandas")

SCORES = [[0.9, 0.2, 0.5], [0.1, 0.8, 0.6], [0.4, 0.3, 0.9]]


def test_a_frames_columns_name_the_candidates() -> None:
    df = pd.DataFrame(SCORES, columns=["gpt", "claude", "llama"], index=["u1", "u2", "u3"])
    pop = P.from_scores(df)
    assert pop.candidates == ["gpt", "claude", "llama"]
    # The same population as its values under those names.
    plain = P.from_scores(np.array(SCORES), candidates=["gpt", "claude", "llama"])
    assert ualign.solve(pop, 2).to_dict() == ualign.solve(plain, 2).to_dict()
    assert P.from_scores(df, candidates=["gpt", "claude", "llama"]).candidates == pop.candidates
    with pytest.raises(ualign.InputError, match="not candidates"):
        P.from_scores(df, candidates=["a", "b", "c"])


def test_a_weight_column_is_refused_not_a_candidate() -> None:
    df = pd.DataFrame(SCORES, columns=["gpt", "claude", "llama"])
    df["weight"] = [1.0, 1.0, 5.0]
    with pytest.raises(ualign.InputError, match=r'weights=frame.pop\("weight"\)'):
        P.from_scores(df)
    w = df.pop("weight")
    pop = P.from_scores(df, weights=w)
    assert pop.weights.tolist() == [1.0, 1.0, 5.0]
    # Carol (weight 5) likes llama best: the k = 1 answer is hers.
    assert ualign.solve(pop, 1).policy.tolist() == [0.0, 0.0, 1.0]


def test_weights_are_matched_by_label_or_refused() -> None:
    df = pd.DataFrame(SCORES, columns=["a", "b", "c"], index=["u1", "u2", "u3"])
    shuffled = pd.Series({"u3": 10.0, "u1": 1.0, "u2": 1.0})
    with pytest.raises(ualign.InputError, match=r"in another order.*reindex"):
        P.from_scores(df, weights=shuffled)
    pop = P.from_scores(df, weights=shuffled.reindex(df.index))
    assert pop.weights.tolist() == [1.0, 1.0, 10.0]
    # Positions are positions: a default index, or a Series of the frame's own labels.
    assert P.from_scores(df, weights=pd.Series([1.0, 2.0, 3.0])).weights.tolist() == [1, 2, 3]
    # Integer labels that are not 0, 1, 2, ... beside rankings could be their positions.
    with pytest.raises(ualign.InputError, match="to_numpy"):
        P.from_rankings([[0, 1], [1, 0]], weights=pd.Series([1, 5], index=[1, 0]))


def test_rows_as_series_must_share_their_labels() -> None:
    rows = [pd.Series({"a": 1.0, "b": 2.0, "c": 0.0}), pd.Series({"c": 5.0, "b": 0.0, "a": 1.0})]
    with pytest.raises(ualign.InputError, match="different orders"):
        P.from_scores(rows)
    same = [r.reindex(["a", "b", "c"]) for r in rows]
    pop = P.from_scores(same)
    assert pop.candidates == ["a", "b", "c"]
    assert ualign.explain(pop, [1 / 3] * 3, 1)[1]["favourite"] == ["c"]


def test_a_policy_series_is_matched_by_the_candidates_names() -> None:
    pop = P.from_scores(SCORES + [[0.2, 0.9, 0.1]], candidates=list("abc"))
    sol = ualign.solve(pop, 2)
    by_name = pd.Series(sol.policy, index=pop.candidates)
    assert ualign.certify(pop, by_name, 2) == ualign.certify(pop, sol.policy, 2)
    for f in (ualign.certify, ualign.shares, ualign.explain):
        with pytest.raises(ualign.InputError, match="in another order"):
            f(pop, by_name[["c", "b", "a"]], 2)
    with pytest.raises(ualign.InputError, match="in another order"):
        ualign.solve(pop, 2, start=by_name[["c", "b", "a"]])


def test_integers_a_float64_rounds_are_refused() -> None:
    with pytest.raises(ualign.InputError, match="not a float64"):
        P.from_scores([[2**53, 2**53 + 1]], candidates=["a", "b"])
    with pytest.raises(ualign.InputError, match="not a float64"):
        P.from_scores(np.array([[10**18, 10**18 + 1]], dtype=np.int64))
    # Integers a float64 holds exactly are fine, however large.
    pop = P.from_scores([[2**60, 2**61]], candidates=["a", "b"])
    assert ualign.solve(pop, 1).policy.tolist() == [0.0, 1.0]


def test_dates_are_not_numbers() -> None:
    when = {"a": pd.to_datetime(["2024-01-01", None]), "b": pd.to_datetime(["2024", "2025"])}
    t = pd.DataFrame(when)
    with pytest.raises(ualign.InputError, match="dates or durations"):
        P.from_scores(t)


def test_one_column_is_refused() -> None:
    column = pd.Series({"gpt": 0.9, "claude": 0.2, "llama": 0.5}).to_frame()
    with pytest.raises(ualign.InputError, match=r"one column.*scores\.T"):
        P.from_scores(column)
    assert P.from_scores(column.T).candidates == ["gpt", "claude", "llama"]


def test_integer_rankings_of_numbered_names_are_refused() -> None:
    with pytest.raises(ualign.InputError, match="could be a name or a 0-based index"):
        P.from_rankings([[2, 1], [2, 1], [1, 2]], candidates=["1", "2", "3"])
    by_name = P.from_rankings([["2", "1"], ["2", "1"], ["1", "2"]], candidates=["1", "2", "3"])
    assert ualign.solve(by_name, 1).policy.tolist() == [0.0, 1.0, 0.0]


def test_indices_without_a_zero_are_refused() -> None:
    with pytest.raises(ualign.InputError, match="numbered from 1"):
        P.from_rankings([[1, 2, 3], [2, 3, 1], [3, 1, 2]])
    zero_based = P.from_rankings([[0, 1, 2], [1, 2, 0], [2, 0, 1]])
    assert zero_based.candidates == ["c1", "c2", "c3"]
    # With the names given, an index no ranking lists is a candidate nobody ranks.
    given = P.from_rankings([[1, 2], [2, 1]], candidates=["x", "y", "z"])
    assert given.n == 3


def test_parameters_of_the_wrong_type_are_refused() -> None:
    pop = P.from_scores(SCORES)
    with pytest.raises(ualign.InputError, match="reference must be True or False"):
        ualign.solve(pop, 2, reference="False")
    with pytest.raises(ualign.InputError, match="must be a number"):
        ualign.solve(pop, 2, eps=True)
    with pytest.raises(ualign.InputError, match="below the smallest f32, not 0"):
        ualign.solve(pop, 2, eps=1e-50)
    with pytest.raises(ualign.InputError, match="past the largest f32"):
        ualign.solve(pop, 2, eps=1e40)
    with pytest.raises(ualign.InputError, match="not a name"):
        P.from_scores(SCORES, candidates=[["a"], ["b"], ["c"]])
    with pytest.raises(ualign.InputError, match="not a name"):
        P.from_scores(SCORES, candidates=[b"a", b"b", b"c"])
    # A dict's keys keep their order: they name the candidates.
    names = {"a": 0, "b": 1, "c": 2}.keys()
    assert P.from_scores(SCORES, candidates=names).candidates == ["a", "b", "c"]


def test_batch_columns_named_almost_like_the_inputs_are_refused() -> None:
    pa = pytest.importorskip("pyarrow")
    for name in ("weight", "Weights", "ID", "Scores"):
        t = pa.table({"scores": [SCORES], name: [[0.0, 0.0, 1.0]]})
        with pytest.raises(ualign.InputError, match=f"a column `{name}`"):
            ualign.solve_batch(t, 2)
    t = pa.table({"scores": [SCORES], "weights": [[0.0, 0.0, 1.0]], "note": ["x"]})
    assert ualign.solve_batch(t, 1).column("error").to_pylist() == [None]


def test_a_frame_and_its_csv_give_one_answer(cli, tmp_path: Path) -> None:
    """The frame's labels name what the command's table reader names: the same answer."""
    df = pd.DataFrame(SCORES, columns=["gpt", "claude", "llama"], index=["u1", "u2", "u3"])
    f = tmp_path / "frame.csv"
    df.to_csv(f)
    want = cli.json("solve", f, "--k", 2)
    got = ualign.solve(P.from_scores(df), 2).to_dict()
    assert got["candidates"] == want["candidates"] == ["gpt", "claude", "llama"]
    assert got["policy"] == want["policy"] and got["certificate"] == want["certificate"]
    assert json.loads(json.dumps(got)) == got
