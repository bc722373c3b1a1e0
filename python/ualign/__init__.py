"""ualign: certified k-response policies (Cai & Zheng, asymptotic universal alignment).

``n`` candidate responses, ``m`` weighted user types (weak orders over the candidates): show
``k`` draws from the symmetric Nash equilibrium of the (k+1)-player alignment game, and the
user's pick beats any single rival response with probability at least ``k/(k+1)``.

This package is a thin binding over the Rust implementation behind the ``ualign`` command:
the same readers, the same solver and the same certificates, bit for bit.
``ualign.solve(ualign.read(f), k).to_dict()`` equals the JSON of ``ualign solve f --k k``.

Bad input raises :class:`InputError` (a ``ValueError``) with the message the command prints for
the same problem (naming the ``values=``, ``header=`` and ``format=`` arguments where the command
names ``--values``, ``--header`` and ``--format``).
"""

from __future__ import annotations

import collections.abc
import itertools
import json
import numbers
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _ualign
from ._ualign import InputError, InternalError

__all__ = [
    "CAPACITY",
    "Certificate",
    "InputError",
    "InternalError",
    "MAX_K",
    "Population",
    "Solution",
    "certify",
    "curve",
    "explain",
    "pick",
    "read",
    "shares",
    "solve",
    "solve_batch",
]

__version__ = "0.1.0"

#: The largest ``k`` (number of responses shown) accepted.
MAX_K: int = _ualign.MAX_K
#: The largest number of candidates of a population.
CAPACITY: int = _ualign.CAPACITY


#: The names of a score table's weight column (the command's readers, rule 4), any case.
_WEIGHT_NAMES = tuple(_ualign.WEIGHT_COLUMN_NAMES)


def _is_index(x: Any) -> bool:
    return isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, bool)


def _no_masked(x: Any, what: str) -> None:
    """Refuses a numpy masked array with a masked entry (numpy would hand over the value
    underneath the mask)."""
    if isinstance(x, np.ma.MaskedArray) and np.ma.is_masked(x):
        raise InputError(
            f"{what}: a masked array with masked entries (a masked entry has no value here: "
            "fill or drop it)"
        )


def _is_pandas(x: Any, kind: str) -> bool:
    """Whether ``x`` is a pandas object of class ``kind`` (``"DataFrame"``, ``"Series"``),
    without importing pandas."""
    return type(x).__name__ == kind and type(x).__module__.split(".")[0] == "pandas"


def _float_array(x: Any, what: str) -> np.ndarray:
    """``x`` as a float64 array, or InputError naming ``what``."""
    _no_masked(x, what)
    try:
        a = np.asarray(x)
        if a.dtype.kind == "c":
            raise InputError(
                f"{what}: complex numbers (dtype {a.dtype}); pass their real parts if those "
                "are meant"
            )
        if a.dtype.kind in "mM":
            raise InputError(
                f"{what}: dates or durations (dtype {a.dtype}) are not numbers here (a missing "
                "one, NaT, would read as the smallest); convert them to numbers first"
            )
        f = a.astype(np.float64)
        _exact_integers(a, f, what)
        return f
    except OverflowError as e:
        raise InputError(f"{what}: a number is too large for a float64 ({e})") from None
    except (TypeError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"{what}: not an array of numbers ({e})") from None


def _exact_integers(a: np.ndarray, f: np.ndarray, what: str) -> None:
    """Refuses an integer of ``a`` (beyond ``2^53``) that its float64 in ``f`` does not equal:
    two such integers could round to one float64 and tie."""
    if a.dtype.kind not in "iuO" or a.size == 0:
        return
    big = np.abs(f) >= 2.0**53
    if not big.any():
        return
    for x, y in zip(a[big].ravel().tolist(), f[big].ravel().tolist()):
        if isinstance(x, (numbers.Integral, np.integer)) and int(x) != int(y):
            raise InputError(
                f"{what}: the integer {int(x)} is not a float64 (integers beyond 2^53 round, "
                "and two of them could tie): subtract an offset, or pass floats"
            )


def _series_positions(x: Any, what: str, labels: Optional[Any] = None) -> None:
    """Refuses a pandas Series ``x`` whose labels could be matched otherwise than by position:
    against ``labels`` (the labels of what it describes: a frame's index, the candidates'
    names), labels that are not those in that order; without them, integer labels other than
    ``0, 1, 2, ...`` (positions of another order)."""
    if not _is_pandas(x, "Series"):
        return
    index = list(x.index)
    if labels is not None:
        if index == list(labels) or index == list(range(len(index))):
            return
        same = sorted(map(str, index)) == sorted(map(str, labels))
        what_order = "in another order" if same else "other labels"
        raise InputError(
            f"{what} is a Series labelled {_show(index)}, {what_order} than {_show(labels)}: "
            f"pass {what}.reindex(...) to match by label, or {what}.to_numpy() to match by "
            "position"
        )
    if all(_is_index(i) for i in index) and index != list(range(len(index))):
        raise InputError(
            f"{what} is a Series labelled {_show(index)}, not 0, 1, 2, ...: its labels could "
            f"be positions of another order; pass {what}.to_numpy() to match by position"
        )


def _show(items: Any) -> str:
    """The first few of ``items``, for a message."""
    items = list(items)
    shown = ", ".join(map(str, items[:4]))
    return f"({shown}, ...)" if len(items) > 4 else f"({shown})"


def _weights(weights: Any, rows: Optional[Any] = None) -> Optional[List[float]]:
    """The weights as floats; a Series of them is matched with ``rows`` (a frame's index)."""
    if weights is None:
        return None
    _series_positions(weights, "weights", rows)
    w = _float_array(weights, "weights")
    if w.ndim != 1:
        raise InputError(f"weights must be 1-D, got {w.ndim} dimensions")
    return w.tolist()


def _unordered(x: Any) -> Optional[str]:
    """Why ``x`` cannot be read as a sequence when it is a set or a mapping, else None: a set's
    iteration order changes from one process to the next, and a mapping's values would be
    dropped."""
    what = type(x).__name__
    if isinstance(x, collections.abc.Mapping):
        return f"a {what} is a mapping, not a sequence (its values would be ignored)"
    if isinstance(x, type({}.keys())):
        # A dict's keys keep the order they were inserted in.
        return None
    if isinstance(x, collections.abc.Set):
        return f"a {what} has no order (its iteration order changes from one run to the next)"
    return None


def _candidate_list(candidates: Any) -> Optional[List[Any]]:
    """The candidate names as given (at most ``CAPACITY`` of them), or None."""
    if candidates is None:
        return None
    if isinstance(candidates, (str, bytes)):
        raise InputError("candidates must be a sequence of names, not one string")
    why = _unordered(candidates)
    if why:
        raise InputError(f"candidates: {why}; pass a list of names, in the candidates' order")
    try:
        it = iter(candidates)
    except TypeError:
        raise InputError(
            f"candidates must be a sequence of names, got {type(candidates).__name__}"
        ) from None
    names = list(itertools.islice(it, CAPACITY + 1))
    if len(names) > CAPACITY:
        raise InputError(
            f"candidates has more than {CAPACITY} names: more candidates than the capacity of "
            f"{CAPACITY}"
        )
    return names


def _names(candidates: Any) -> Optional[List[str]]:
    given = _candidate_list(candidates)
    return None if given is None else [_name(c) for c in given]


def _name(c: Any) -> str:
    """A candidate's name: a string, or a number written as ``str`` writes it."""
    if isinstance(c, str):
        return c
    if isinstance(c, (numbers.Number, np.number)) and not isinstance(c, (bool, np.bool_)):
        return str(c)
    raise InputError(
        f"candidates: {c!r} is not a name (a candidate is named by a string or a number)"
    )


def _policy(policy: Any, what: str = "policy", names: Optional[List[str]] = None) -> List[float]:
    """A policy as floats; a Series of it is matched with the candidates' ``names``."""
    _series_positions(policy, what, names)
    p = _float_array(policy, what)
    if p.ndim != 1:
        raise InputError(f"the {what} must be 1-D, got {p.ndim} dimensions")
    return p.tolist()


def _int(x: Any, what: str, low: int = 0) -> int:
    if not _is_index(x):
        raise InputError(f"{what} must be an integer, got {x!r}")
    x = int(x)
    if x < low:
        raise InputError(f"{what} {x}: must be at least {low}")
    return x


def _k(k: Any) -> int:
    if not _is_index(k):
        raise InputError(f"--k {k!r}: must be an integer")
    k = int(k)
    if k < 1:
        raise InputError(f"--k {k}: k must be at least 1")
    if k > MAX_K:
        raise InputError(f"--k {k}: k must be at most {MAX_K}")
    return k


def _u32(x: Any, flag: str) -> int:
    if not _is_index(x):
        raise InputError(f"{flag} {x!r}: must be an integer")
    x = int(x)
    if not 0 <= x < 2**32:
        raise InputError(f"{flag} {x}: must be in 0..=4294967295")
    return x


def _eps(eps: Any) -> float:
    """``eps`` as ``--eps`` takes it: a number whose float32 is what it says (the solver's
    target is a float32)."""
    if isinstance(eps, (bool, np.bool_)):
        raise InputError(f"--eps {eps!r}: must be a number")
    try:
        x = float(eps)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"--eps {eps!r}: must be a number") from None
    with np.errstate(over="ignore", under="ignore"):
        single = float(np.float32(x))
    if np.isfinite(x) and not np.isfinite(single):
        raise InputError(f"--eps {eps!r}: past the largest f32 (about 3.4e38)")
    if x > 0.0 and single == 0.0:
        raise InputError(
            f"--eps {eps!r}: below the smallest f32, not 0 (0 asks for an exact equilibrium)"
        )
    return x


def _bool(x: Any, what: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise InputError(f"{what} must be True or False, got {x!r}")
    return bool(x)


def _threads(threads: Any) -> int:
    """``threads`` as ``ualign --threads`` takes it: 0 (every core) to ``MAX_THREADS``."""
    t = _int(threads, "threads")
    if t > _ualign.MAX_THREADS:
        raise InputError(f"threads {t}: must be at most {_ualign.MAX_THREADS} (0: one per core)")
    return t


class Population:
    """A population of weighted user types over ``n`` candidates.

    Build one with :meth:`from_scores`, :meth:`from_rankings` or :func:`read`.
    Each user type is a weak order over the candidates; only the order matters.
    """

    __slots__ = ("_native",)

    def __init__(self, native: "_ualign.NativePopulation") -> None:
        """Wraps a native population; use the class methods or :func:`read` instead."""
        if not isinstance(native, _ualign.NativePopulation):
            raise TypeError("use Population.from_scores, Population.from_rankings or ualign.read")
        self._native = native

    @classmethod
    def from_scores(
        cls,
        scores: Any,
        weights: Any = None,
        candidates: Optional[Sequence[Any]] = None,
    ) -> "Population":
        """A population from a score matrix.

        ``scores`` is a 2-D array-like, one row per user type (a reward head, a persona), one
        column per candidate; higher is better and equal scores tie. ``weights`` has one
        non-negative entry per row (default: all ones). ``candidates`` names the columns
        (default ``c1, c2, ...``, as the score-table reader names unlabelled columns).
        Every row is its own user type (rows are not merged).

        A pandas DataFrame's columns name the candidates (``candidates``, if given, must be
        them, in order), and a Series of ``weights`` must carry the frame's index in order (or
        ``0, 1, 2, ...``). Refused as ambiguous: a frame's column named like the rows'
        weights (``weight``, ``count``, ...: pass ``weights=frame.pop(name)``), rows given as
        Series labelled in different orders, a Series whose labels are not the frame's, one
        column (one candidate: if the rows are candidates, pass ``scores.T``), and integers
        beyond ``2^53`` that a float64 rounds (two of them could tie).

        Arrays here and wherever this package takes numbers (weights, policies, ``start``) are
        real: complex numbers, dates and durations are refused, and so is a numpy masked array
        with a masked entry.
        """
        rows = None
        if _is_pandas(scores, "DataFrame"):
            columns = [_name(c) for c in scores.columns]
            for c in columns:
                if c.lower() in _WEIGHT_NAMES:
                    raise InputError(
                        f'scores: the frame\'s column "{c}" could be a candidate or the rows\' '
                        f'weights: pass weights=frame.pop("{c}") for weights, or rename it for '
                        "a candidate"
                    )
            names = _names(candidates)
            if names is not None and names != columns:
                raise InputError(
                    f"scores is a frame whose columns {_show(columns)} are not candidates "
                    f"{_show(names)}: leave candidates out to name them by the columns, or pass "
                    "the frame's values (scores.to_numpy()) to name them by candidates"
                )
            candidates, rows = columns, list(scores.index)
        elif isinstance(scores, (list, tuple)) and any(_is_pandas(r, "Series") for r in scores):
            labels = [list(r.index) if _is_pandas(r, "Series") else None for r in scores]
            if any(label != labels[0] for label in labels):
                raise InputError(
                    "scores: rows given as Series labelled in different orders (or mixed with "
                    "unlabelled rows) would be stacked by position: reindex them to one order, "
                    "or pass a DataFrame"
                )
            names = _names(candidates)
            columns = [_name(c) for c in labels[0] or []]
            if names is not None and names != columns:
                raise InputError(
                    f"scores: rows given as Series labelled {_show(columns)}, not candidates "
                    f"{_show(names)}: leave candidates out to name them by the labels"
                )
            candidates = columns
        s = _float_array(scores, "scores")
        if s.ndim != 2:
            raise InputError(
                f"scores must be 2-D (one row per user type, one column per candidate), "
                f"got {s.ndim} dimensions"
            )
        m, n = s.shape
        if n == 1 and m > 1:
            raise InputError(
                f"scores has one column: {m} user types and one candidate, which every policy "
                "shows (if the rows are the candidates, pass scores.T: one row per user type)"
            )
        s = np.ascontiguousarray(s)
        native = _ualign.population_from_scores(
            s.tobytes(), m, n, _weights(weights, rows), _names(candidates)
        )
        return cls(native)

    @classmethod
    def from_rankings(
        cls,
        rankings: Iterable[Sequence[Any]],
        weights: Any = None,
        candidates: Optional[Sequence[Any]] = None,
    ) -> "Population":
        """A population from rankings.

        Each ranking lists tie groups, best first; a group is a list of candidate names or
        0-based indices (a bare name or index is a group of one): ``[["a"], ["b", "c"]]``.
        Candidates a ranking leaves out tie at its bottom, as in the command line. Identical
        rankings are merged into one user type, their weights added (as the JSON reader does),
        so ``m`` counts distinct rankings.

        Without ``candidates``: names in order of first appearance when the rankings use
        names; ``c1 .. cN`` with ``N`` one more than the largest index when they use indices
        (at most :data:`CAPACITY`). Rankings that mix names and indices need ``candidates``.

        Refused as ambiguous: a set or a dict where a list is expected (``rankings``, a ranking,
        a tie group, ``candidates``: a set's order changes from one run to the next),
        integers in the rankings when ``candidates`` holds names that are not strings or that
        are numbers (``"1"``: an integer could be a name or an index; write the rankings'
        entries as strings to rank by name), and indices without ``candidates`` when no ranking
        lists the index 0 (numbered from 1?).
        """
        if isinstance(rankings, (str, bytes)):
            raise InputError("rankings must be a list of rankings, not a string")
        why = _unordered(rankings)
        if why:
            raise InputError(f"rankings: {why}; pass a list of rankings")
        _no_masked(rankings, "rankings")
        try:
            rankings = iter(rankings)
        except TypeError:
            raise InputError(
                f"rankings must be a list of rankings, got {type(rankings).__name__}"
            ) from None
        parsed: List[List[List[Any]]] = []
        for j, ranking in enumerate(rankings):
            where = f"rankings[{j}]"
            if isinstance(ranking, (str, bytes)) or _is_index(ranking):
                raise InputError(f"{where}: a ranking is a list of tie groups")
            why = _unordered(ranking)
            if why:
                raise InputError(f"{where}: {why}; a ranking is a list of tie groups, best first")
            _no_masked(ranking, where)
            groups: List[List[Any]] = []
            try:
                ranking = list(ranking)
            except TypeError:
                raise InputError(f"{where}: a ranking is a list of tie groups") from None
            for g in ranking:
                if isinstance(g, str) or _is_index(g):
                    groups.append([g])
                elif isinstance(g, (list, tuple, np.ndarray)):
                    _no_masked(g, where)
                    groups.append(list(g))
                elif _unordered(g):
                    raise InputError(
                        f"{where}: tie group {g!r}: {_unordered(g)}; give a tie group as a list "
                        "or tuple"
                    )
                else:
                    raise InputError(f"{where}: {g!r} is neither a candidate name nor an index")
            parsed.append(groups)
        items = [c for groups in parsed for g in groups for c in g]
        for j, groups in enumerate(parsed):
            for g in groups:
                for c in g:
                    _no_masked(c, f"rankings[{j}]")
                    if not (isinstance(c, str) or _is_index(c)):
                        raise InputError(
                            f"rankings[{j}]: {c!r} is neither a candidate name nor an index"
                        )
        given = _candidate_list(candidates)
        if given is None:
            has_names = any(isinstance(c, str) for c in items)
            has_indices = any(_is_index(c) for c in items)
            if has_names and has_indices:
                raise InputError(
                    "rankings mix candidate names and indices: pass candidates to say which "
                    "names the indices refer to"
                )
            if has_names:
                names = list(dict.fromkeys(items))
            else:
                if any(int(c) < 0 for c in items):
                    raise InputError("rankings: a candidate index is negative")
                top = max((int(c) for c in items), default=-1)
                if top >= CAPACITY:
                    raise InputError(
                        f"rankings: index {top} means {top + 1} candidates, which exceed the "
                        f"capacity of {CAPACITY}"
                    )
                if items and not any(int(c) == 0 for c in items):
                    raise InputError(
                        "rankings: no ranking lists the index 0, so the indices may be "
                        "numbered from 1: indices are 0-based (subtract 1), and candidates "
                        "names a candidate no ranking lists"
                    )
                names = [f"c{i}" for i in range(1, top + 2)]
        else:
            other = [c for c in given if not isinstance(c, str)]
            number = [int(c) for c in items if _is_index(c)]
            if other and number:
                raise InputError(
                    f"rankings hold the integer {number[0]} and candidates holds names that are "
                    f"not strings ({other[0]!r}): an integer could be a name or a 0-based index. "
                    "To rank by name, pass the names as strings, in candidates and in the "
                    "rankings; to rank by index, pass candidates as strings"
                )
            names = [_name(c) for c in given]
            numbered = [c for c in given if isinstance(c, str) and c.strip().lstrip("+-").isdigit()]
            if numbered and number:
                raise InputError(
                    f"rankings hold the integer {number[0]} and candidates holds names that are "
                    f'numbers ("{numbered[0]}"): an integer could be a name or a 0-based index. '
                    "To rank by name, write the rankings' entries as strings; to rank by index, "
                    "name the candidates otherwise"
                )
        index = {name: i for i, name in enumerate(names)}
        out: List[List[List[int]]] = []
        for j, groups in enumerate(parsed):
            og: List[List[int]] = []
            for g in groups:
                idx: List[int] = []
                for c in g:
                    if isinstance(c, str):
                        if c not in index:
                            raise InputError(f'rankings[{j}]: unknown candidate "{c}"')
                        idx.append(index[c])
                    else:
                        i = int(c)
                        if not 0 <= i < len(names):
                            raise InputError(f"rankings[{j}]: unknown candidate {i}")
                        idx.append(i)
                og.append(idx)
            out.append(og)
        return cls(_ualign.population_from_rankings(out, names, _weights(weights)))

    @classmethod
    def read(
        cls,
        path: Union[str, "os.PathLike[str]"],
        format: Optional[str] = None,
        values: Optional[str] = None,
        header: Optional[str] = None,
    ) -> "Population":
        """The same as :func:`ualign.read`."""
        return read(path, format, values, header)

    @property
    def n(self) -> int:
        """Number of candidates."""
        return self._native.n

    @property
    def m(self) -> int:
        """Number of user types (identical rankings count once)."""
        return self._native.m

    @property
    def candidates(self) -> List[str]:
        """Candidate names, in input order (a new list)."""
        return self._native.candidates

    @property
    def weights(self) -> np.ndarray:
        """The weight of every user type as given (float64; merged rankings: the sum)."""
        return np.asarray(self._native.weights, dtype=np.float64)

    def __len__(self) -> int:
        """The number of user types, ``m``."""
        return self.m

    def __repr__(self) -> str:
        return f"<ualign.Population n={self.n} m={self.m} from {self._native.source!r}>"


def _population(pop: Any) -> "_ualign.NativePopulation":
    if not isinstance(pop, Population):
        raise InputError(
            f"expected a ualign.Population, got {type(pop).__name__} "
            "(build one with Population.from_scores, Population.from_rankings or ualign.read)"
        )
    return pop._native


def read(
    path: Union[str, "os.PathLike[str]"],
    format: Optional[str] = None,
    values: Optional[str] = None,
    header: Optional[str] = None,
) -> Population:
    """Reads a preference file in any format the command line reads.

    PrefLib (``.soc .soi .toc .toi``), JSON (``.json``), CSV (``.csv``) and whitespace tables
    (``.txt .tsv .dat .table .tab``), chosen by extension unless ``format`` is one of
    ``"preflib"``, ``"json"``, ``"csv"`` or ``"table"``. Errors name the file and line, as
    ``ualign`` prints them.

    ``values`` says what a table's numbers are, as the command's ``--values``: ``"scores"``
    (higher is better, equal scores tie) or ``"ranks"`` (1 is best, equal ranks tie, an empty
    cell is unranked). Without it a table is read as scores unless it looks like ranks (a
    permutation of ``1..n`` in every row, an empty cell, a ``rank`` header...), which is
    refused with a message that asks for ``values``. Only tables take it.

    ``header`` says whether a table's first row names its candidates, as the command's
    ``--header``: ``"first-row"`` (whatever it holds) or ``"none"`` (every row is data, even
    after a comment line; candidates are ``c1``, ``c2``, ...). Without it a first row with text
    is the header, and a first row of the whole numbers ``0, 1, 2, ...`` or ``1, 2, 3, ...`` in
    order (what pandas' ``to_csv`` writes for a frame's default columns) could be either and is
    refused with a message that asks for ``header``. Only tables take it.
    """
    try:
        p = os.fspath(path)
    except TypeError:
        raise InputError(f"path must be a string or path-like, got {type(path).__name__}") from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if format is not None and not isinstance(format, str):
        raise InputError(f"format must be a string, got {type(format).__name__}")
    if values is not None and not isinstance(values, str):
        raise InputError(f"values must be a string, got {type(values).__name__}")
    if header is not None and not isinstance(header, str):
        raise InputError(f"header must be a string, got {type(header).__name__}")
    return Population(_ualign.read(p, format, values, header))


class Certificate:
    """What a policy guarantees when ``k`` of its draws are shown (docs/maths.md §2).

    Attributes:
        k: the number of responses shown.
        worst_case_win_rate: ``1 - max_y g(y)``, the probability that the user's pick among the
            ``k`` draws beats the best single response against the policy.
        exploitability: ``max_y g(y) - 1/(k+1)``, at least 0.
        worst_opponent: the index of ``argmax_y g(y)`` (0-based, input order).
        worst_opponent_name: its name.
        bound: ``k/(k+1)``, the best any product policy can guarantee.

    The numbers are the command line's: each bound the shortest decimal on its safe side that
    reads back as the computed ``float32`` (a win rate at most it, an exploitability at least it;
    docs/certificates.md).
    """

    __slots__ = (
        "k",
        "worst_case_win_rate",
        "exploitability",
        "worst_opponent",
        "worst_opponent_name",
        "bound",
    )

    def __init__(self, k: int, cert: Dict[str, Any]) -> None:
        """From the ``certificate`` object of the command line's JSON."""
        self.k: int = k
        self.worst_case_win_rate: float = cert["worst_case_win_rate"]
        self.exploitability: float = cert["exploitability"]
        self.worst_opponent: int = cert["worst_opponent_index"]
        self.worst_opponent_name: str = cert["worst_opponent"]
        self.bound: float = cert["bound"]

    def to_dict(self) -> Dict[str, Any]:
        """The ``certificate`` object of ``ualign solve`` and ``ualign eval``, field for field
        (there ``worst_opponent`` is the name and ``worst_opponent_index`` the index)."""
        return {
            "worst_case_win_rate": self.worst_case_win_rate,
            "exploitability": self.exploitability,
            "worst_opponent": self.worst_opponent_name,
            "worst_opponent_index": self.worst_opponent,
            "bound": self.bound,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.k == other.k and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return (
            f"Certificate(k={self.k}, worst_case_win_rate={self.worst_case_win_rate}, "
            f"exploitability={self.exploitability}, worst_opponent={self.worst_opponent} "
            f"({self.worst_opponent_name!r}), bound={self.bound})"
        )


class Solution:
    """A solved policy with its certificate (what :func:`solve` returns).

    Attributes:
        policy: the policy over the candidates (numpy float32, a new copy on each access).
            For ``method="hedge"`` it is the average of the iterates, and the certificate covers
            the time mixture (``deployed == "time_mixture"``), not this average.
        certificate: the :class:`Certificate` of what is deployed.
        iterations: share evaluations (at ``k = 1`` through the margin matrix: simplex pivots).
        converged: whether the certified exploitability reached ``eps``.
        route: how the shares were summed, which alone decides the bits: ``"margins"``
            (k = 1 through the margin matrix), ``"tally"`` (through a tally of the distinct
            pairs of set below and tie class) or ``"population"`` (the population's sum, the
            firmware's computation); ``to_dict()`` also has it, with ``vector`` and ``threads``.
        k: responses shown. method: ``"optimistic"`` or ``"hedge"``. deployed: ``"policy"`` or
            ``"time_mixture"``.
    """

    __slots__ = ("_report", "_policy", "certificate", "route")

    def __init__(self, report: Dict[str, Any], policy: Sequence[float], route: str) -> None:
        """From the ``solve`` report, the policy's float32 masses and the route."""
        self._report = report
        self._policy = np.asarray(policy, dtype=np.float32)
        self._policy.flags.writeable = False
        self.certificate: Certificate = Certificate(report["k"], report["certificate"])
        self.route: str = route

    @property
    def policy(self) -> np.ndarray:
        """The policy, numpy float32 of length ``n`` (a copy)."""
        return self._policy.copy()

    @property
    def iterations(self) -> int:
        """Share evaluations (simplex pivots at ``k = 1`` through the margin matrix)."""
        return self._report["iterations"]

    @property
    def converged(self) -> bool:
        """Whether the certified exploitability reached ``eps``."""
        return self._report["converged"]

    @property
    def k(self) -> int:
        """Responses shown."""
        return self._report["k"]

    @property
    def method(self) -> str:
        """``"optimistic"`` or ``"hedge"``."""
        return self._report["method"]

    @property
    def deployed(self) -> str:
        """What the certificate covers: ``"policy"`` or ``"time_mixture"`` (hedge)."""
        return self._report["deployed"]

    def to_dict(self) -> Dict[str, Any]:
        """Exactly the fields and values of ``ualign solve``'s JSON (a new dict)."""
        return json.loads(json.dumps(self._report))

    def __repr__(self) -> str:
        return (
            f"Solution(k={self.k}, policy={np.array2string(self._policy, precision=4)}, "
            f"worst_case_win_rate={self.certificate.worst_case_win_rate}, "
            f"iterations={self.iterations}, converged={self.converged}, route={self.route!r})"
        )


def solve(
    pop: Population,
    k: int,
    eps: float = 1e-4,
    max_iter: int = 10000,
    method: str = "optimistic",
    threads: int = 0,
    reference: bool = False,
    start: Optional[Any] = None,
) -> Solution:
    """Solves the (k+1)-player alignment game: the policy whose ``k`` draws to show, certified.

    The same computation as ``ualign solve FILE --k K --eps EPS --max-iter T --method M
    --threads N [--reference]``: ``solve(read(f), k).to_dict()`` equals its JSON field for
    field. ``method="optimistic"`` (default) certifies the last iterate exactly; ``"hedge"``
    certifies the time mixture of its iterates. ``threads`` counts the threads of a share
    evaluation (0: every core when the work pays for them; the answer is the same for any
    count). ``reference=True`` computes what the firmware computes, bit for bit (the shares
    through the population, never the margin matrix or a tally). The GIL is released while it
    runs.

    ``reference`` is ``True`` or ``False`` (a string such as ``"False"`` is refused).

    ``start`` (optimistic only) is a warm start: for a stream of related requests (the same
    users, the candidates re-scored), pass the previous request's ``policy`` and the solver
    starts from it (mixed with ``1e-4`` of the uniform policy) instead of from uniform, which
    saves share evaluations when the new equilibrium is near it (docs/maths.md §4.7). Only the
    path changes: the certificate is still the exact one of the policy returned. ``start`` has
    ``n`` finite, non-negative entries with a positive sum, of any magnitude (only its direction
    matters: it is normalised); at ``k = 1`` through the margin matrix (``route == "margins"``)
    the simplex takes no start and ignores it.
    """
    native = _population(pop)
    k = _k(k)
    if not isinstance(method, str):
        raise InputError(f"method must be a string, got {type(method).__name__}")
    warm = None if start is None else _policy(start, "start", native.candidates)
    report, policy, route = _ualign.solve(
        native,
        k,
        _eps(eps),
        _u32(max_iter, "--max-iter"),
        method,
        _threads(threads),
        _bool(reference, "reference"),
        warm,
    )
    return Solution(json.loads(report), policy, route)


def certify(pop: Population, policy: Any, k: int) -> Certificate:
    """The certificate of showing ``k`` draws from ``policy`` (as ``ualign eval``).

    The policy (length ``n``, finite, non-negative, summing to 1 within ``1e-3``) is rounded to
    float32 and renormalised as ``ualign eval --policy`` does, so
    ``certify(pop, p, k).to_dict()`` equals the ``certificate`` object it prints. A pandas
    Series is matched with the candidates: its labels must be their names in order (or
    ``0, 1, 2, ...``); others are refused (``policy.reindex(pop.candidates)`` matches by label).
    """
    native = _population(pop)
    k = _k(k)
    policy = _policy(policy, names=native.candidates)
    return Certificate(k, json.loads(_ualign.certify(native, policy, k)))


def shares(pop: Population, policy: Any, k: int) -> np.ndarray:
    """The share ``g(y)`` of every candidate against ``k`` draws from ``policy`` (float32).

    ``g(y)`` is the chance that a user picks the slot of a rival showing ``y`` next to ``k``
    draws from the policy (docs/maths.md §2): the win rate against ``y`` is ``1 - g(y)``, and
    ``sum_y policy(y) g(y) = 1/(k+1)``. The policy is checked and renormalised as in
    :func:`certify`.
    """
    native = _population(pop)
    k = _k(k)
    policy = _policy(policy, names=native.candidates)
    return np.asarray(_ualign.shares(native, policy, k), dtype=np.float32)


def curve(
    pop: Population, k_max: int, eps: float = 1e-4, max_iter: int = 10000
) -> List[Dict[str, Any]]:
    """The test-time scaling table of ``ualign curve`` for ``k = 1..k_max``.

    One dict per ``k``: the worst-case win rate of the k-aware equilibrium (``equilibrium``),
    of NLHF sampled ``k`` times (``nlhf``), of the reward-model pick shown ``k`` times
    (``reward_model``), of uniform sampling (``uniform``), and ``bound = k/(k+1)``.
    """
    native = _population(pop)
    if not _is_index(k_max):
        raise InputError(f"--k-max {k_max!r}: must be an integer")
    k_max = int(k_max)
    if k_max < 0:
        raise InputError(f"--k-max {k_max}: must be at least 1")
    if k_max > MAX_K:
        raise InputError(f"--k-max {k_max}: must be in 1..={MAX_K}")
    return json.loads(_ualign.curve(native, k_max, _eps(eps), _u32(max_iter, "--max-iter")))


def pick(policy: Any, k: int, seed: int = 0) -> np.ndarray:
    """``k`` draws (candidate indices, int64) from ``policy`` with the seeded Xoshiro128++
    generator: the same indices as ``ualign pick --k K --seed SEED`` (its ``pick_indices``)
    when ``policy`` is the solved policy. The policy is rounded to float32 and drawn normalised by
    its sum, the distribution :func:`certify` certifies (a solved policy sums to exactly 1).
    It has at most 32,768 entries (core's ``MAX_CANDIDATES``).
    """
    k = _k(k)
    if not _is_index(seed) or not 0 <= int(seed) < 2**64:
        raise InputError(f"--seed {seed!r}: must be an integer in 0..2^64")
    p = _float_array(policy, "policy")
    if p.ndim == 1 and p.size > _ualign.MAX_CANDIDATES:
        # Before the list the native call takes is built.
        raise InputError(
            f"the policy has {p.size} entries: pick draws from at most "
            f"{_ualign.MAX_CANDIDATES} candidates (MAX_CANDIDATES)"
        )
    return np.asarray(_ualign.pick(_policy(p), k, int(seed)), dtype=np.int64)


def explain(pop: Population, policy: Any, k: int) -> List[Dict[str, Any]]:
    """Who the policy serves: one dict per user type (the rows of ``ualign solve --explain``).

    Each row has ``user`` (the user type's index), ``weight`` (its normalised share of the
    population), ``favourite`` (its top tie class, by name), ``favourite_shown`` (the
    probability that at least one of the ``k`` draws is a favourite) and ``win_rate`` (its own
    win rate against the certificate's worst opponent, a float64 estimate rather than a certified
    bound; the weighted mean of the rows is the certificate's worst-case win rate up to that
    rounding). The policy is checked as in :func:`certify`.
    """
    native = _population(pop)
    k = _k(k)
    return json.loads(_ualign.explain(native, _policy(policy, names=native.candidates), k))


def _is_view(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_list_view(t) or pa.types.is_large_list_view(t))


def _has_view(t: Any) -> bool:
    """Whether the type ``t`` is or holds a list view (pyarrow's cast of those to lists gives
    invalid arrays)."""
    import pyarrow as pa

    if _is_view(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _has_view(t.value_type)
    return False


def _large_lists(offsets: np.ndarray, values: Any, valid: Optional[np.ndarray] = None) -> Any:
    """A ``large_list`` array of ``values`` cut at ``offsets`` (``len + 1`` of them), null where
    ``valid`` is False."""
    import pyarrow as pa

    mask = None if valid is None else pa.array(~valid)
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values, mask=mask)


def _without_views(arr: Any) -> Any:
    """``arr`` (an array whose type holds list views) with every list view rebuilt as a
    ``large_list`` of the same values, nulls kept."""
    import pyarrow as pa

    t = arr.type
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if _is_view(t):
        sizes = np.where(valid, np.asarray(arr.sizes.to_numpy(zero_copy_only=False)), 0)
        sizes = sizes.astype(np.int64)
        starts = np.asarray(arr.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
        offsets = np.zeros(len(arr) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        take = np.arange(offsets[-1], dtype=np.int64) + np.repeat(starts - offsets[:-1], sizes)
        values = _without_views(arr.values).take(pa.array(take, pa.int64()))
        return _large_lists(offsets, values, valid)
    if pa.types.is_fixed_size_list(t):
        size = t.list_size
        offsets = (arr.offset + np.arange(len(arr) + 1, dtype=np.int64)) * size
        return _large_lists(offsets, _without_views(arr.values), valid)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
        return _large_lists(offsets, _without_views(arr.values), valid)
    return arr


#: The extension types of tensors (one per row) a column may have: pyarrow's and Ray's.
_FIXED_TENSORS = ("arrow.fixed_shape_tensor", "ray.data.arrow_tensor", "ray.data.arrow_tensor_v2")
_VARIABLE_TENSORS = ("ray.data.arrow_variable_shaped_tensor",)


def _tensor_lists(arr: Any, what: str, depth: int) -> Any:
    """A chunk of tensors of ``depth`` dimensions (pyarrow's ``fixed_shape_tensor``, Ray's
    ``ArrowTensorType``, ``ArrowTensorTypeV2`` or ``ArrowVariableShapedTensorType``: the
    row-major values of each row and its shape) as nested ``large_list`` arrays."""
    t = arr.type
    name = getattr(t, "extension_name", "")
    rows = len(arr)
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    st = arr.storage
    if name in _FIXED_TENSORS:
        shape = [int(d) for d in t.shape]
        if len(shape) != depth:
            raise InputError(
                f"{what} holds tensors of shape {tuple(shape)}, expected {depth} dimension"
                f"{'s' if depth > 1 else ''}"
            )
        permutation = getattr(t, "permutation", None)
        if permutation is not None and list(permutation) != list(range(depth)):
            raise InputError(
                f"{what} holds tensors with the permutation {list(permutation)}: only row-major "
                "tensors are read"
            )
        if name == "arrow.fixed_shape_tensor":
            size = st.type.list_size
            starts = (st.offset + np.arange(rows + 1, dtype=np.int64)) * size
        else:
            starts = np.asarray(st.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
        values = st.values
        dims = np.tile(np.array(shape, dtype=np.int64), (rows, 1))
    elif name in _VARIABLE_TENSORS:
        if getattr(t, "ndim", depth) != depth:
            raise InputError(f"{what} holds tensors of {t.ndim} dimensions, expected {depth}")
        data, shapes = st.field("data"), st.field("shape")
        valid &= ~np.asarray(data.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        valid &= ~np.asarray(shapes.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        starts = np.asarray(data.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
        values = data.values
        so = np.asarray(shapes.offsets.to_numpy(zero_copy_only=False)).astype(np.int64)
        if np.any(valid & (np.diff(so) != depth)):
            raise InputError(f"{what} holds a tensor whose shape has not {depth} dimensions")
        sv = np.asarray(shapes.values.to_numpy(zero_copy_only=False)).astype(np.int64)
        dims = np.zeros((rows, depth), dtype=np.int64)
        at = so[:-1][valid]
        for d in range(depth):
            dims[valid, d] = sv[at + d]
    else:
        raise InputError(
            f"{what} has the extension type {t}, expected "
            f"{'list<list<float>>' if depth == 2 else 'list<float>'} or a tensor column"
        )
    lengths = np.diff(starts)
    if np.any(valid & ((dims < 0).any(axis=1) | (dims.prod(axis=1) != lengths))):
        raise InputError(f"{what} holds a tensor whose values do not fill its shape")
    if depth == 1:
        return _large_lists(starts, values, valid)
    # Row i holds m_i lists of n_i values; a null row one list of whatever it holds, so that
    # the lists stay contiguous.
    counts = np.where(valid, dims[:, 0], 1)
    step = np.where(valid, dims[:, 1], 0)
    outer = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=outer[1:])
    row = np.repeat(np.arange(rows), counts)
    inner = starts[:-1][row] + step[row] * (np.arange(outer[-1], dtype=np.int64) - outer[:-1][row])
    inner = np.append(inner, starts[-1])
    return _large_lists(outer, _large_lists(inner, values), valid)


def _list_of_lists(col: Any, what: str, depth: int) -> Any:
    """Column ``col`` (a pyarrow Array or ChunkedArray) as one ``list<list<float64>>`` array
    (``depth`` 2) or ``list<float64>`` (``depth`` 1), validated in full: any list type, list
    views and tensor columns (pyarrow's and Ray's extension types) included."""
    import pyarrow as pa

    want = pa.float64()
    for _ in range(depth):
        want = pa.list_(want)
    shape = "list<list<float>>" if depth == 2 else "list<float>"
    chunks = list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]
    try:
        out = []
        for c in chunks:
            if isinstance(c.type, pa.BaseExtensionType):
                c = _tensor_lists(c, what, depth)
            elif _has_view(c.type):
                c = _without_views(c)
            out.append(c.cast(want))
        arr = pa.array([], want) if not out else out[0] if len(out) == 1 else pa.concat_arrays(out)
        arr.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise InputError(f"{what} has type {col.type}, expected {shape} ({e})") from None
    return arr


def solve_batch(
    table: Any,
    k: int,
    eps: float = 1e-4,
    seed: Optional[int] = None,
    threads: int = 0,
    max_iter: int = 10000,
) -> Any:
    """Solves one population per row of a pyarrow Table or RecordBatch; returns a pyarrow.Table.

    Input columns: ``scores`` (``list<list<float>>``: per prompt, ``m`` rows of ``n`` scores,
    higher is better; any numeric type and list type, or a tensor column of ``(m, n)`` arrays:
    pyarrow's ``fixed_shape_tensor`` or Ray's tensor types), optional ``weights``
    (``list<float>`` or a tensor column, one per row of scores; null means all ones) and
    optional ``id`` (any type, passed through). Other columns are ignored; two
    columns of one of these names are refused, and so is a column named like one of them in
    another case or number (``weight``, ``Scores``, ``ID``: read or ignored?).

    Output, in input order: ``id`` (when given), ``policy`` (``list<float32>``),
    ``worst_case_win_rate``, ``exploitability``, ``iterations``, ``converged``, ``picks``
    (``list<int32>``: ``k`` draws with :func:`pick`'s generator seeded with ``seed``, the same
    seed for every row, so a row's picks do not depend on its position; null without ``seed``)
    and ``error`` (null when the row solved). A bad row gets its error and nulls, and every
    other row is untouched. Each row is solved as ``ualign batch --threads THREADS`` solves a
    line (the same bits); ``threads`` counts every thread (0: one per core), as many rows at once
    as there are threads, with the GIL released.
    """
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise InputError(
            f"solve_batch needs a pyarrow.Table or pyarrow.RecordBatch, got {type(table).__name__}"
        )
    k = _k(k)
    _near_input_names(table.column_names, "table")
    for name in ("scores", "weights", "id"):
        count = table.column_names.count(name)
        if count > 1:
            raise InputError(
                f"the table has {count} columns named `{name}`: which one to read is ambiguous "
                "(drop or rename all but one)"
            )
    if "scores" not in table.column_names:
        raise InputError("the table has no `scores` column (list<list<float>>)")
    scores = _list_of_lists(table.column("scores"), "scores", 2)
    weights = None
    if "weights" in table.column_names:
        weights = _list_of_lists(table.column("weights"), "weights", 1)
    if seed is not None:
        if not _is_index(seed) or not 0 <= int(seed) < 2**64:
            raise InputError(f"--seed {seed!r}: must be an integer in 0..2^64")
        seed = int(seed)
    out = _ualign.solve_batch(
        scores,
        weights,
        k,
        _eps(eps),
        _u32(max_iter, "--max-iter"),
        seed,
        _threads(threads),
    )
    result = pa.Table.from_batches([out])
    if "id" in table.column_names:
        result = result.add_column(0, "id", table.column("id"))
    return result


def _near_input_names(names: Iterable[str], what: str) -> None:
    """Refuses a column named like one :func:`solve_batch` reads in another case or number
    (``weight``, ``Scores``, ``ID``): it would be ignored where it was likely meant."""
    for name in names:
        near = name.strip().lower()
        near = {"weight": "weights", "score": "scores", "ids": "id"}.get(near, near)
        if near in ("scores", "weights", "id") and name != near:
            raise InputError(
                f"the {what} has a column `{name}`, not `{near}`: read as `{near}` or ignored? "
                f"rename it `{near}` to read it, or drop it"
            )


_BATCH_OPTIONS = ("eps", "seed", "threads", "max_iter")


def _batch_solver(k: int, opts: Dict[str, Any]) -> Tuple[Callable[[Any], Any], Dict[str, Any]]:
    """For the engines: :func:`solve_batch` on one batch with ``k`` and the options of ``opts``
    that are its own (``eps``, ``seed``, ``threads``, ``max_iter``; ``threads`` defaults to 1,
    since an engine already runs one task per core), and the options left over."""
    rest = dict(opts)
    chosen = {name: rest.pop(name) for name in _BATCH_OPTIONS if name in rest}
    chosen.setdefault("threads", 1)
    k = _k(k)

    def run(batch: Any) -> Any:
        return solve_batch(batch, k, **chosen)

    return run, rest


def __getattr__(name: str) -> Any:
    # `ualign.spark` and `ualign.ray` import on first use: pyspark and ray are optional extras.
    if name in ("spark", "ray"):
        import importlib

        return importlib.import_module(f"ualign.{name}")
    raise AttributeError(f"module 'ualign' has no attribute {name!r}")
