"""Type stubs of the native module (private: use the functions of ``ualign``)."""

from typing import Any, List, Optional, Tuple, final

__all__ = [
    "CAPACITY",
    "InputError",
    "InternalError",
    "MAX_CANDIDATES",
    "MAX_K",
    "MAX_THREADS",
    "NativePopulation",
    "WEIGHT_COLUMN_NAMES",
    "certify",
    "curve",
    "explain",
    "pick",
    "population_from_rankings",
    "population_from_scores",
    "read",
    "shares",
    "solve",
    "solve_batch",
]

MAX_K: int
CAPACITY: int
MAX_THREADS: int
MAX_CANDIDATES: int
WEIGHT_COLUMN_NAMES: List[str]

class InputError(ValueError): ...
class InternalError(RuntimeError): ...

@final
class NativePopulation:
    @property
    def n(self) -> int: ...
    @property
    def m(self) -> int: ...
    @property
    def candidates(self) -> List[str]: ...
    @property
    def weights(self) -> List[float]: ...
    @property
    def source(self) -> str: ...

def population_from_scores(
    data: bytes,
    m: int,
    n: int,
    weights: Optional[List[float]] = None,
    candidates: Optional[List[str]] = None,
) -> NativePopulation: ...
def population_from_rankings(
    rankings: List[List[List[int]]],
    candidates: List[str],
    weights: Optional[List[float]] = None,
) -> NativePopulation: ...
def read(
    path: str,
    format: Optional[str] = None,
    values: Optional[str] = None,
    header: Optional[str] = None,
) -> NativePopulation: ...
def solve(
    pop: NativePopulation,
    k: int,
    eps: float,
    max_iter: int,
    method: str,
    threads: int,
    reference: bool,
    start: Optional[List[float]] = None,
) -> Tuple[str, List[float], str]: ...
def certify(pop: NativePopulation, policy: List[float], k: int) -> str: ...
def shares(pop: NativePopulation, policy: List[float], k: int) -> List[float]: ...
def curve(pop: NativePopulation, k_max: int, eps: float, max_iter: int) -> str: ...
def pick(policy: List[float], k: int, seed: int) -> List[int]: ...
def explain(pop: NativePopulation, policy: List[float], k: int) -> str: ...
def solve_batch(
    scores: Any,
    weights: Optional[Any],
    k: int,
    eps: float,
    max_iter: int,
    seed: Optional[int],
    threads: int,
) -> Any: ...
