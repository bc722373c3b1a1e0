"""Solve a Ray Dataset of prompts with ``map_batches(batch_format="pyarrow")`` (needs the
``ray`` extra).

Each Ray task hands its Arrow batches to :func:`ualign.solve_batch`. The same code runs on a
cluster: only ``ray.init`` (the cluster's address, ``ualign`` in the runtime environment)
changes.
"""

from __future__ import annotations

from typing import Any, Optional

import ualign

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
    """Solves every row of a Ray Dataset; returns a Dataset with the columns of
    :func:`ualign.solve_batch` (``id`` first when ``ds`` has one).

    ``ds`` needs a ``scores`` column (``list<list<float>>``) and may have ``weights`` and
    ``id``. Each task solves its batches with ``solve_batch(batch, k, eps, seed, threads)``,
    ``threads`` per task (default 1: Ray already runs one task per CPU). Other keyword arguments
    (``batch_size``, ``concurrency``, ...) go to ``map_batches``. Lazy, like any Ray transform.
    """
    k = int(k)

    def solve_table(batch: Any) -> Any:
        return ualign.solve_batch(
            batch, k, eps=eps, seed=seed, threads=threads, max_iter=max_iter
        )

    return ds.map_batches(solve_table, batch_format="pyarrow", **map_batches_args)
