"""Type stubs of ualign.ray."""

from typing import Any, Optional

__all__ = ["solve"]

def solve(
    ds: Any,
    k: int,
    *,
    eps: float = 1e-4,
    seed: Optional[int] = None,
    threads: int = 1,
    max_iter: int = 10000,
    **map_batches_args: Any,
) -> Any:
    """A ``ray.data.Dataset`` with the columns of ``ualign.solve_batch`` (map_batches)."""
