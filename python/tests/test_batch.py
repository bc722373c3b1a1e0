"""solve_batch: bad rows mixed with good ones, each good row equal to its own solve, order and
ids kept, every input shape pyarrow offers, threads giving the same bits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import ualign

COLUMNS = [
    "policy",
    "worst_case_win_rate",
    "exploitability",
    "iterations",
    "converged",
    "picks",
    "error",
]


def prompts(count: int, seed: int = 0, m: int = 4, n: int = 6):
    rng = np.random.default_rng(seed)
    return [np.round(rng.normal(size=(m, n)), 1).tolist() for _ in range(count)]


def one(scores, k: int, weights=None, seed=None):
    """A row solved on its own: Population.from_scores and solve with threads=1 (the batch's
    per-row computation)."""
    pop = ualign.Population.from_scores(scores, weights=weights)
    sol = ualign.solve(pop, k, threads=1)
    picks = None if seed is None else ualign.pick(sol.policy, k, seed).tolist()
    return sol, picks


def test_schema_and_rows_equal_single_solves() -> None:
    ps = prompts(40)
    t = pa.table({"scores": ps})
    out = ualign.solve_batch(t, 3, seed=5)
    assert isinstance(out, pa.Table)
    assert out.column_names == COLUMNS
    assert out.schema.field("policy").type == pa.list_(pa.float32())
    assert out.schema.field("picks").type == pa.list_(pa.int32())
    assert out.schema.field("error").type == pa.string()
    for row, s in zip(out.to_pylist(), ps):
        sol, picks = one(s, 3, seed=5)
        assert row["error"] is None
        assert row["policy"] == sol.policy.tolist()
        assert row["worst_case_win_rate"] == sol.certificate.worst_case_win_rate
        assert row["exploitability"] == sol.certificate.exploitability
        assert row["iterations"] == sol.iterations
        assert row["converged"] == sol.converged
        assert row["picks"] == picks and len(picks) == 3


def test_bad_rows_mixed_in_leave_the_others_untouched() -> None:
    good = prompts(6, seed=1)
    bad = [
        (None, None, "scores is null"),
        ([[1.0, 2.0], [3.0]], None, "scores[1] has 1 entries, scores[0] has 2"),
        ([[1.0, float("nan")]], None, "scores[0][1] is not finite"),
        ([[1.0, None]], None, "scores[0][1] is null"),
        ([None], None, "scores[0] is null"),
        ([], None, "empty population: scores has no rows"),
        ([[]], None, "no candidates: the rows of scores are empty"),
        ([[1.0, 0.0]], [-1.0], "weights[0]: weight -1 is negative"),
        ([[1.0, 0.0]], [0.0], "empty population: all weights are zero"),
        ([[1.0, 0.0]], [1.0, 2.0], "weights has 2 entries for 1 rows of scores"),
        ([[1.0, 0.0]], [None], "weights[0] is null"),
        ([[0.0] * 1025], None, "1025 candidates exceed the capacity of 1024"),
    ]
    rows, weights, ids, expect = [], [], [], []
    for i, (s, w, msg) in enumerate(bad):
        rows += [good[i % 6], s]
        weights += [None, w]
        ids += [f"good{i}", f"bad{i}"]
        expect += [None, msg]
    t = pa.table({"id": ids, "scores": rows, "weights": weights, "other": list(range(len(ids)))})
    out = ualign.solve_batch(t, 2, seed=0)
    assert out.column_names == ["id"] + COLUMNS
    assert out.column("id").to_pylist() == ids
    reference = {i: r for i, r in enumerate(ualign.solve_batch(pa.table({"scores": good}), 2, seed=0).to_pylist())}
    for i, (row, msg) in enumerate(zip(out.to_pylist(), expect)):
        assert row["error"] == msg, row["id"]
        if msg is None:
            want = dict(reference[(i // 2) % 6])
            assert {c: row[c] for c in COLUMNS} == want
        else:
            assert all(row[c] is None for c in COLUMNS if c != "error")


def test_null_weights_mean_ones_and_weights_matter() -> None:
    s = [[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]
    t = pa.table({"scores": [s, s, s], "weights": [None, [1.0, 1.0], [3.0, 1.0]]})
    out = ualign.solve_batch(t, 2).to_pylist()
    assert out[0] == out[1]
    sol, _ = one(s, 2, weights=[3.0, 1.0])
    assert out[2]["policy"] == sol.policy.tolist()
    assert out[2]["policy"] != out[0]["policy"]


def test_threads_give_the_same_bits() -> None:
    t = pa.table({"id": np.arange(300), "scores": prompts(300, seed=2)})
    base = ualign.solve_batch(t, 4, seed=1, threads=1)
    for threads in (0, 2, 7):
        assert ualign.solve_batch(t, 4, seed=1, threads=threads).equals(base)


def test_input_shapes() -> None:
    ps = prompts(10, seed=3)
    base = ualign.solve_batch(pa.table({"scores": ps}), 2)
    # A RecordBatch, several chunks, a sliced table, float32 and integer scores, large lists.
    assert ualign.solve_batch(pa.RecordBatch.from_pydict({"scores": ps}), 2).equals(base)
    chunked = pa.concat_tables([pa.table({"scores": ps[:3]}), pa.table({"scores": ps[3:]})])
    assert chunked.column("scores").num_chunks == 2
    assert ualign.solve_batch(chunked, 2).equals(base)
    sliced = pa.table({"scores": [[[9.0]]] + ps}).slice(1)
    assert ualign.solve_batch(sliced, 2).equals(base)
    f32 = pa.array(ps, type=pa.list_(pa.list_(pa.float32())))
    out = ualign.solve_batch(pa.table({"scores": f32}), 2)
    assert out.column("error").null_count == 10
    ints = [[[int(10 * x) for x in r] for r in p] for p in ps]
    a = ualign.solve_batch(pa.table({"scores": pa.array(ints, type=pa.list_(pa.list_(pa.int64())))}), 2)
    b = ualign.solve_batch(pa.table({"scores": [[[float(x) for x in r] for r in p] for p in ints]}), 2)
    assert a.equals(b)
    large = pa.array(ps, type=pa.large_list(pa.large_list(pa.float64())))
    assert ualign.solve_batch(pa.table({"scores": large}), 2).equals(base)
    # Struct and other id types pass through untouched.
    ids = pa.array([{"p": i, "q": str(i)} for i in range(10)])
    out = ualign.solve_batch(pa.table({"id": ids, "scores": ps}), 2)
    assert out.column("id").combine_chunks().equals(ids)
    # No rows: no rows out, same columns.
    empty = ualign.solve_batch(pa.table({"scores": pa.array([], type=pa.list_(pa.list_(pa.float64())))}), 2)
    assert empty.num_rows == 0 and empty.column_names == COLUMNS


def test_list_views() -> None:
    """pyarrow's cast of a list view to a list gave an invalid array (read as no rows, or an
    ArrowException); list views at any level are rebuilt as lists, nulls and slices kept."""
    ps = prompts(6, seed=4)
    ps[2] = None
    base = ualign.solve_batch(pa.table({"scores": ps}), 2)
    for t in (
        pa.list_view(pa.list_view(pa.float64())),
        pa.list_(pa.list_view(pa.float64())),
        pa.large_list_view(pa.list_(pa.float32())),
    ):
        col = pa.array(ps, type=t)
        out = ualign.solve_batch(pa.table({"scores": col}), 2)
        if t.value_type.value_type == pa.float32():
            assert out.column("error").to_pylist() == base.column("error").to_pylist()
            continue
        assert out.equals(base), t
        assert ualign.solve_batch(pa.table({"scores": col.slice(1)}), 2).equals(base.slice(1))
    weights = pa.array([[1.0] * len(p) if p else None for p in ps], type=pa.list_view(pa.float64()))
    assert ualign.solve_batch(pa.table({"scores": ps, "weights": weights}), 2).equals(base)


def test_tensor_columns() -> None:
    """A column of tensors, one (m, n) array per row (pyarrow's fixed_shape_tensor; Ray's types
    are in test_engines.py), is read as the lists of its rows: it failed with "Unsupported cast
    from double to list"."""
    s = np.round(np.random.default_rng(6).normal(size=(5, 4, 6)), 1)
    base = ualign.solve_batch(pa.table({"scores": [x.tolist() for x in s]}), 2, seed=3)
    tensors = pa.FixedShapeTensorArray.from_numpy_ndarray(s)
    assert ualign.solve_batch(pa.table({"scores": tensors}), 2, seed=3).equals(base)
    assert ualign.solve_batch(pa.table({"scores": tensors.slice(2)}), 2, seed=3).equals(base.slice(2))
    chunked = pa.chunked_array([tensors.slice(0, 2), tensors.slice(2)])
    assert ualign.solve_batch(pa.table({"scores": chunked}), 2, seed=3).equals(base)
    weights = pa.FixedShapeTensorArray.from_numpy_ndarray(np.ones((5, 4)))
    assert ualign.solve_batch(pa.table({"scores": tensors, "weights": weights}), 2, seed=3).equals(base)
    # float32 tensors, and a null row.
    t = pa.fixed_shape_tensor(pa.float32(), [4, 6])
    storage = pa.array([s[0].ravel().tolist(), None, s[2].ravel().tolist()], pa.list_(pa.float32(), 24))
    out = ualign.solve_batch(pa.table({"scores": pa.ExtensionArray.from_storage(t, storage)}), 2)
    assert out.column("error").to_pylist()[1] == "scores is null"
    assert out.column("error").null_count == 2
    # Tensors of another rank, or stored column-major, are refused.
    cube = pa.FixedShapeTensorArray.from_numpy_ndarray(np.ones((2, 2, 2, 2)))
    with pytest.raises(ualign.InputError, match=r"scores holds tensors of shape \(2, 2, 2\), expected 2"):
        ualign.solve_batch(pa.table({"scores": cube}), 1)
    t = pa.fixed_shape_tensor(pa.float64(), [2, 3], permutation=[1, 0])
    permuted = pa.ExtensionArray.from_storage(t, pa.array([[1.0] * 6], pa.list_(pa.float64(), 6)))
    with pytest.raises(ualign.InputError, match="permutation"):
        ualign.solve_batch(pa.table({"scores": permuted}), 1)


def test_picks_null_without_seed() -> None:
    out = ualign.solve_batch(pa.table({"scores": prompts(3)}), 2)
    assert out.column("picks").null_count == 3


@pytest.mark.parametrize(
    "table, kwargs, match",
    [
        (pa.table({"x": [1]}), {}, "no `scores` column"),
        (pa.table({"scores": ["a"]}), {}, "scores has type string"),
        (pa.table({"scores": [[1.0]]}), {}, "scores has type"),
        (pa.table({"scores": [[[1.0]]], "weights": ["x"]}), {}, "weights has type string"),
        (pa.table({"scores": [[[1.0]]]}), {"k": 0}, "--k 0"),
        (pa.table({"scores": [[[1.0]]]}), {"eps": -1}, "--eps -1"),
        (pa.table({"scores": [[[1.0]]]}), {"seed": -2}, "--seed"),
        (pa.table({"scores": [[[1.0]]]}), {"threads": -1}, "threads"),
        (pa.table({"scores": [[[1.0]]]}), {"max_iter": 0}, "--max-iter 0"),
    ],
)
def test_bad_tables(table, kwargs, match: str) -> None:
    args = {"k": 2, **kwargs}
    with pytest.raises(ualign.InputError, match=match):
        ualign.solve_batch(table, **args)
