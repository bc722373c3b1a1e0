"""Type stubs of the public API of ualign."""

import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from . import ray as ray
from . import spark as spark

__version__: str
MAX_K: int
CAPACITY: int

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

_ArrayLike = npt.ArrayLike
_PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

class InputError(ValueError):
    """Bad input: a malformed file, array or table, or an invalid option, with the message the
    ``ualign`` command prints for the same problem."""

class InternalError(RuntimeError):
    """A defect in ualign (never a consequence of the input); please report it."""

class Population:
    """A population of weighted user types (weak orders) over ``n`` candidates."""

    def __init__(self, native: Any) -> None: ...
    @classmethod
    def from_scores(
        cls,
        scores: _ArrayLike,
        weights: Optional[_ArrayLike] = None,
        candidates: Optional[Sequence[Any]] = None,
    ) -> "Population":
        """One row per user type, one column per candidate; higher is better, equal ties."""
    @classmethod
    def from_rankings(
        cls,
        rankings: Iterable[Sequence[Any]],
        weights: Optional[_ArrayLike] = None,
        candidates: Optional[Sequence[Any]] = None,
    ) -> "Population":
        """Tie groups of names or indices, best first; unlisted candidates tie at the bottom."""
    @classmethod
    def read(cls, path: _PathLike, format: Optional[str] = None) -> "Population":
        """The same as :func:`ualign.read`."""
    @property
    def n(self) -> int:
        """Number of candidates."""
    @property
    def m(self) -> int:
        """Number of user types (identical rankings count once)."""
    @property
    def candidates(self) -> List[str]:
        """Candidate names in input order."""
    @property
    def weights(self) -> npt.NDArray[np.float64]:
        """The weight of every user type as given."""
    def __len__(self) -> int: ...

class Certificate:
    """What a policy guarantees when ``k`` of its draws are shown."""

    k: int
    worst_case_win_rate: float
    exploitability: float
    worst_opponent: int
    worst_opponent_name: str
    bound: float
    def __init__(self, k: int, cert: Dict[str, Any]) -> None: ...
    def to_dict(self) -> Dict[str, Any]:
        """The ``certificate`` object of ``ualign solve`` / ``ualign eval``."""

class Solution:
    """A solved policy with its certificate."""

    certificate: Certificate
    route: str
    def __init__(self, report: Dict[str, Any], policy: Sequence[float], route: str) -> None: ...
    @property
    def policy(self) -> npt.NDArray[np.float32]:
        """The policy (float32, length n)."""
    @property
    def iterations(self) -> int:
        """Share evaluations (simplex pivots at k = 1 through the margin matrix)."""
    @property
    def converged(self) -> bool:
        """Whether the certified exploitability reached eps."""
    @property
    def k(self) -> int:
        """Responses shown."""
    @property
    def method(self) -> str:
        """``"optimistic"`` or ``"hedge"``."""
    @property
    def deployed(self) -> str:
        """``"policy"`` or ``"time_mixture"``."""
    def to_dict(self) -> Dict[str, Any]:
        """Exactly the JSON of ``ualign solve``."""

def read(path: _PathLike, format: Optional[str] = None) -> Population:
    """Reads a PrefLib, JSON, CSV or whitespace-table file, as the command line does."""

def solve(
    pop: Population,
    k: int,
    eps: float = 1e-4,
    max_iter: int = 10000,
    method: str = "optimistic",
    threads: int = 0,
    reference: bool = False,
) -> Solution:
    """The certified equilibrium policy of the (k+1)-player game (``ualign solve``)."""

def certify(pop: Population, policy: _ArrayLike, k: int) -> Certificate:
    """The certificate of k draws from ``policy`` (``ualign eval``)."""

def shares(pop: Population, policy: _ArrayLike, k: int) -> npt.NDArray[np.float32]:
    """The share g(y) of every candidate against k draws from ``policy``."""

def curve(
    pop: Population, k_max: int, eps: float = 1e-4, max_iter: int = 10000
) -> List[Dict[str, Any]]:
    """The test-time scaling table of ``ualign curve``."""

def pick(policy: _ArrayLike, k: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """k seeded Xoshiro128++ draws: the indices of ``ualign pick --seed``."""

def explain(pop: Population, policy: _ArrayLike, k: int) -> List[Dict[str, Any]]:
    """One row per user type: ``user weight favourite favourite_shown win_rate``."""

def solve_batch(
    table: Union[pa.Table, pa.RecordBatch],
    k: int,
    eps: float = 1e-4,
    seed: Optional[int] = None,
    threads: int = 0,
    max_iter: int = 10000,
) -> pa.Table:
    """One solve per row of ``scores`` (list<list<float>>); GIL released, on threads."""
