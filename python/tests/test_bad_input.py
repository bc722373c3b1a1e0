"""Every class of bad input raises ualign.InputError (a ValueError) with a message that names
the problem; nothing else escapes, and no Rust panic reaches Python."""

from __future__ import annotations

import numpy as np
import pytest

import ualign

POP = ualign.Population.from_scores([[1, 0, 2], [0, 1, 2]])


def raises(match: str, call, *args, **kwargs) -> None:
    with pytest.raises(ualign.InputError, match=match):
        call(*args, **kwargs)


def test_input_error_is_a_value_error() -> None:
    assert issubclass(ualign.InputError, ValueError)
    assert issubclass(ualign.InternalError, RuntimeError)
    with pytest.raises(ValueError):
        ualign.solve(POP, 0)


@pytest.mark.parametrize(
    "scores, match",
    [
        ([1, 2, 3], "2-D"),
        ([[[1]]], "2-D"),
        ([[1, 2], [3]], "not an array of numbers"),
        ([["a", "b"]], "not an array of numbers"),
        (np.zeros((0, 3)), "no rows"),
        (np.zeros((2, 0)), "no candidates"),
        ([[1, float("nan")]], r"scores\[0\]\[1\] is not finite"),
        ([[1, 2], [float("inf"), 0]], r"scores\[1\]\[0\] is not finite"),
        (np.zeros((1, 1025)), "1025 candidates exceed the capacity of 1024"),
        ([[10**400, 1]], "scores: a number is too large for a float64"),
        (np.array([[1 + 5j, 1, 0.5]]), r"scores: complex numbers \(dtype complex128\)"),
        ([[1 + 5j, 1]], "scores: complex numbers"),
        (np.ma.masked_array([[1.0, 2, 3]], mask=[[0, 1, 0]]), "scores: a masked array with masked entries"),
    ],
)
def test_bad_scores(scores, match: str) -> None:
    raises(match, ualign.Population.from_scores, scores)


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1], "weights has 1 entries for 2 rows"),
        ([[1, 1]], "1-D"),
        ([1, -1], r"weights\[1\]: weight -1 is negative"),
        ([float("nan"), 1], r"weights\[0\]: weight NaN is not finite"),
        ([1, 1e39], r"weights\[1\]: weight .* is too large"),
        ([0, 0], "all weights are zero"),
        (["x", 1], "not an array of numbers"),
        ([10**400, 1], "weights: a number is too large for a float64"),
        (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), "weights: a masked array with masked entries"),
    ],
)
def test_bad_weights(weights, match: str) -> None:
    raises(match, ualign.Population.from_scores, [[1, 0], [0, 1]], weights=weights)


def test_bad_candidates() -> None:
    raises("candidates has 3 names for 2 columns", ualign.Population.from_scores, [[1, 0]], candidates=["a", "b", "c"])
    raises('"a" listed twice', ualign.Population.from_scores, [[1, 0]], candidates=["a", "a"])
    raises("not one string", ualign.Population.from_scores, [[1, 0]], candidates="ab")
    raises("candidates must be a sequence of names, got int", ualign.Population.from_scores, [[1, 0]], candidates=3)
    raises("candidates: a set has no order", ualign.Population.from_scores, [[1, 0]], candidates={"a", "b"})


@pytest.mark.parametrize(
    "rankings, kwargs, match",
    [
        ([], {}, "rankings is empty"),
        ("abc", {}, "not a string"),
        ([["a"], ["b", "z"]], {"candidates": ["a", "b"]}, r'rankings\[1\]: unknown candidate "z"'),
        ([[0], [1, 5]], {"candidates": ["a", "b"]}, r"rankings\[1\]: unknown candidate 5"),
        ([[["a"], ["a"]]], {}, r'rankings\[0\]: candidate "a" ranked twice'),
        ([[0, 0]], {}, r'rankings\[0\]: candidate "c1" ranked twice'),
        ([["a", 1]], {}, "mix candidate names and indices"),
        ([[-1, 0]], {}, "negative"),
        ([[1.5]], {}, "neither a candidate name nor an index"),
        ([5], {}, "a ranking is a list of tie groups"),
        ([["a"], ["b"]], {"weights": [1, -2]}, r"weights\[1\]: weight -2 is negative"),
        ([["a"], ["b"]], {"weights": [1]}, "weights has 1 entries for 2 rankings"),
        ([["a"], ["b"]], {"candidates": ["a", "b", "b"]}, '"b" listed twice'),
        (None, {}, "rankings must be a list of rankings, got NoneType"),
        # Unordered containers: a set's iteration order changes from one process to the next.
        ([{"a", "b", "c", "d"}], {"candidates": list("abcd")}, r"rankings\[0\]: a set has no order"),
        ([frozenset({"a", "b"})], {}, r"rankings\[0\]: a frozenset has no order"),
        ([{"a": 1, "b": 2}], {}, r"rankings\[0\]: a dict is a mapping, not a sequence"),
        ([[{"a", "b"}, "c"]], {}, r"rankings\[0\]: tie group .*: a set has no order"),
        ([[frozenset({"a"}), "c"]], {}, r"rankings\[0\]: tie group .*: a frozenset has no order"),
        ({("a", "b"), ("b", "a")}, {}, "rankings: a set has no order"),
        ([["a"]], {"candidates": {"a"}}, "candidates: a set has no order"),
        # Integers are indices, but these candidates are named by integers.
        ([[2, 0, 1]], {"candidates": [2, 0, 1]}, "an integer could be a name or a 0-based index"),
        ([[np.int64(1)]], {"candidates": np.array([5, 6])}, "integer 1 and candidates holds names"),
        ([["2"], [0]], {"candidates": [2, 0, 1]}, "pass the names as strings"),
        # The capacity is checked before anything as large as the index is built.
        ([[10**12]], {}, "index 1000000000000 means 1000000000001 candidates, which exceed the capacity of 1024"),
        ([[1024]], {}, "index 1024 means 1025 candidates, which exceed the capacity of 1024"),
        ([["a"]], {"candidates": range(10**12)}, "candidates has more than 1024 names"),
    ],
)
def test_bad_rankings(rankings, kwargs, match: str) -> None:
    raises(match, ualign.Population.from_rankings, rankings, **kwargs)


def test_rankings_accepted_forms() -> None:
    # Names or indices, bare or grouped, unlisted candidates at the bottom, merged duplicates.
    a = ualign.Population.from_rankings([[["a"], ["b", "c"]], ["c"], [["c"]]], weights=[1, 2, 3])
    assert a.candidates == ["a", "b", "c"] and a.m == 2
    assert a.weights.tolist() == [1.0, 5.0]
    b = ualign.Population.from_rankings([[[0], [1, 2]], [2], [[2]]], weights=[1, 2, 3], candidates=list("abc"))
    assert b.candidates == ["a", "b", "c"]
    pi = [0.2, 0.3, 0.5]
    assert ualign.certify(a, pi, 3) == ualign.certify(b, pi, 3)
    # Indices without names: c1 .. c(max+1), up to the capacity (index 0 among them).
    c = ualign.Population.from_rankings([[np.int64(3), 0]])
    assert c.candidates == ["c1", "c2", "c3", "c4"] and c.n == 4
    assert ualign.Population.from_rankings([[ualign.CAPACITY - 1, 0]]).n == ualign.CAPACITY
    # Names that are integers: ranked by their strings, or by index with other names.
    by_name = ualign.Population.from_rankings([["2", "0", "1"]], candidates=[2, 0, 1])
    by_index = ualign.Population.from_rankings([[0, 1, 2]], candidates=["x", "y", "z"])
    assert by_name.candidates == ["2", "0", "1"]
    named, indexed = (ualign.certify(p, [0.2, 0.3, 0.5], 2).to_dict() for p in (by_name, by_index))
    assert named.pop("worst_opponent") == "2" and indexed.pop("worst_opponent") == "x"
    assert named == indexed
    # Integers beside names that are numbers could be either: refused.
    raises("could be a name or a 0-based index", ualign.Population.from_rankings, [[0, 1, 2]], candidates=["2", "0", "1"])
    # Any ordered iterable: tuples, generators, numpy rows.
    d = ualign.Population.from_rankings(iter([("b", "a"), np.array(["a", "b"])]), candidates=("a", "b"))
    assert d.candidates == ["a", "b"] and d.m == 2


def test_bad_read_arguments(tmp_path) -> None:
    raises("no such file", ualign.read, tmp_path / "nothing.json")
    p = tmp_path / "x.json"
    p.write_text('{"candidates": ["a"], "users": [{"scores": [1]}]}')
    raises("invalid value 'yaml' for '--format <FORMAT>'", ualign.read, p, format="yaml")
    raises("format must be a string", ualign.read, p, format=3)
    raises("path must be", ualign.read, 3.5)
    raises("unknown file extension", ualign.read, tmp_path / "x.what")
    assert ualign.read(str(p)).n == 1 and ualign.read(bytes(p)).n == 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ualign.solve(POP, 0), "--k 0: k must be at least 1"),
        (lambda: ualign.solve(POP, 2.0), "must be an integer"),
        (lambda: ualign.solve(POP, -3), "--k -3: k must be at least 1"),
        (lambda: ualign.solve(POP, 2**40), "k must be at most 1024"),
        (lambda: ualign.solve(POP, 2, eps=-0.5), r"--eps -0.5: must be 0 \(an exact equilibrium\) or finite"),
        (lambda: ualign.solve(POP, 2, eps=1e-8), r"--eps 0.00000001: must be 0 \(an exact equilibrium\) or finite and at least 1e-7"),
        (lambda: ualign.solve(POP, 2, eps="x"), "--eps 'x': must be a number"),
        (lambda: ualign.solve(POP, 2, max_iter=0), "--max-iter 0: must be at least 1"),
        (lambda: ualign.solve(POP, 2, max_iter=-1), "--max-iter -1"),
        (lambda: ualign.solve(POP, 2, method="adam"), "invalid value 'adam' for '--method"),
        (lambda: ualign.solve(POP, 2, method=None), "method must be a string"),
        (lambda: ualign.solve(POP, 2, threads=-1), "threads -1: must be at least 0"),
        (lambda: ualign.solve([[1, 0]], 2), "expected a ualign.Population, got list"),
        (lambda: ualign.certify(POP, [0.5, 0.5], 2), "the policy has 2 entries, the instance has 3 candidates"),
        (lambda: ualign.certify(POP, [0.5, 0.5, 0.5], 2), "the policy sums to"),
        (lambda: ualign.certify(POP, [1, float("nan"), 0], 2), "finite, non-negative"),
        (lambda: ualign.certify(POP, [[1, 0, 0]], 2), "1-D"),
        (lambda: ualign.certify(POP, ["a", 0, 0], 2), "not an array of numbers"),
        (lambda: ualign.shares(POP, [1.2, -0.2, 0], 2), "finite, non-negative"),
        (lambda: ualign.shares(POP, [1, 0, 0], 0), "--k 0"),
        (lambda: ualign.explain(POP, [1, 0], 2), "the policy has 2 entries"),
        (lambda: ualign.curve(POP, 0), "--k-max 0: must be at least 1"),
        (lambda: ualign.curve(POP, 2000), "--k-max 2000: must be in 1..=1024"),
        (lambda: ualign.pick([], 2), "the policy is empty"),
        (lambda: ualign.pick([0.5, 0.6], 2), "sums to"),
        (lambda: ualign.pick([1.0], 0), "--k 0"),
        (lambda: ualign.pick([1.0], 2, seed=-1), "--seed"),
        (lambda: ualign.pick([1.0], 2, seed=2**64), "--seed"),
        (lambda: ualign.solve_batch({"scores": []}, 2), "needs a pyarrow.Table"),
        (lambda: ualign.certify(POP, np.array([1, 0, 0], dtype=complex), 2), "policy: complex numbers"),
        (lambda: ualign.shares(POP, [1, 1e-300j, 0], 2), "policy: complex numbers"),
        (lambda: ualign.pick(np.ma.masked_array([0.5, 0.5], mask=[1, 0]), 1), "policy: a masked array"),
        (lambda: ualign.certify(POP, np.ma.masked_array([0, 1, 0.0], mask=[1, 0, 0]), 1), "policy: a masked array"),
        (lambda: ualign.solve(POP, 2, start=np.ma.masked_array([1, 0, 0.0], mask=[0, 0, 1])), "start: a masked array"),
        (lambda: ualign.solve(POP, 2, start=[[1, 0, 0]]), "the start must be 1-D"),
        (
            lambda: ualign.Population.from_rankings(np.ma.masked_array([[1, 0, 2], [0, 1, 2]], mask=[[0, 0, 0], [0, 1, 0]])),
            "rankings: a masked array with masked entries",
        ),
        (lambda: ualign.Population.from_rankings([[np.ma.masked, 1]]), r"rankings\[0\]: a masked array"),
    ],
)
def test_bad_arguments(call, match: str) -> None:
    with pytest.raises(ualign.InputError, match=match):
        call()


def test_unmasked_masked_arrays_are_their_values() -> None:
    s = np.ma.masked_array([[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]], mask=False)
    assert ualign.solve(ualign.Population.from_scores(s), 2).to_dict() == ualign.solve(POP, 2).to_dict()


def test_pick_names_its_length_limit() -> None:
    """Core draws from at most MAX_CANDIDATES = 2^15 candidates; a longer policy was refused as
    one that does not sum to 1."""
    from ualign import _ualign

    assert _ualign.MAX_CANDIDATES == 2**15
    longest = np.full(2**15, 2.0**-15)
    assert ualign.pick(longest, 3, seed=1).shape == (3,)
    too_long = np.zeros(2**15 + 1)
    too_long[-1] = 1.0
    want = "the policy has 32769 entries: pick draws from at most 32768 candidates"
    raises(want, ualign.pick, too_long, 3)
    raises(want, _ualign.pick, too_long.tolist(), 3, 0)


def test_garbage_never_escapes_as_anything_but_input_error(tmp_path) -> None:
    """Random bytes under every extension, random arrays and policies: each call either succeeds
    or raises InputError (a Rust panic would surface as InternalError or PanicException)."""
    rng = np.random.default_rng(0)
    for i in range(200):
        ext = [".json", ".soc", ".toi", ".csv", ".txt"][i % 5]
        p = tmp_path / f"g{i}{ext}"
        body = rng.integers(0, 256, size=int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
        if i % 2:
            body = bytes(b % 128 for b in body).replace(b"\x00", b"1")
        p.write_bytes(body)
        try:
            pop = ualign.read(p)
            ualign.solve(pop, int(rng.integers(1, 5)), max_iter=50)
        except ualign.InputError:
            pass
    for _ in range(200):
        m, n = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        s = rng.choice([0.0, 1.0, -1e308, 1e308, np.nan, np.inf, 3.5], size=(m, n))
        w = rng.choice([0.0, 1.0, -1.0, 1e-45, 3e38, np.nan], size=m)
        pi = rng.choice([0.0, 1.0, 0.5, -0.1, np.nan, 1e-40], size=n)
        k = int(rng.choice([0, 1, 2, 7, 1024, 1025]))
        try:
            pop = ualign.Population.from_scores(s, weights=w)
            ualign.certify(pop, pi, k)
        except ualign.InputError:
            pass
        try:
            ualign.pick(pi, k, 1)
        except ualign.InputError:
            pass


def test_thread_counts_past_the_bound() -> None:
    """As ``ualign --threads``: at most 1024 (each thread's stack and mappings would otherwise
    run the process out of memory); the bound itself is taken."""
    import pyarrow as pa

    raises("threads 1025: must be at most 1024", ualign.solve, POP, 2, threads=1025)
    table = pa.table({"scores": [[[1.0, 0.0], [0.0, 1.0]]]})
    raises("threads 20000: must be at most 1024", ualign.solve_batch, table, 1, threads=20000)
    assert ualign.solve(POP, 2, threads=1024).converged
    assert ualign.solve_batch(table, 1, threads=1024).num_rows == 1
    # Beyond a machine word too (pyo3 raised OverflowError).
    raises("threads 18446744073709551616: must be at most 1024", ualign.solve, POP, 2, threads=2**64)
    raises("threads 18446744073709551616: must be at most 1024", ualign.solve_batch, table, 1, threads=2**64)
    raises(r"--eps 10{400}", ualign.solve, POP, 2, eps=10**400)


def test_tables_with_two_columns_of_one_name_are_refused() -> None:
    import pyarrow as pa

    good = [[[1.0, 0.0], [0.0, 1.0]]]
    two_scores = pa.Table.from_arrays([pa.array(good), pa.array(good)], names=["scores", "scores"])
    raises("the table has 2 columns named `scores`: which one to read is ambiguous", ualign.solve_batch, two_scores, 1)
    two_ids = pa.Table.from_arrays([pa.array(good), pa.array([1]), pa.array([2])], names=["scores", "id", "id"])
    raises("2 columns named `id`", ualign.solve_batch, two_ids, 1)
    weights = pa.array([[1.0, 1.0]])
    two_weights = pa.Table.from_arrays([pa.array(good), weights, weights], names=["scores", "weights", "weights"])
    raises("2 columns named `weights`", ualign.solve_batch, two_weights, 1)
