"""Solve a Ray Dataset of prompts with ``map_batches(batch_format="pyarrow")`` (needs the
``ray`` extra).

Each Ray task hands its Arrow batches to :func:`ualign.solve_batch`. The same code runs on a
cluster: only ``ray.init`` (the cluster's address, ``ualign`` in the runtime environment)
changes.
"""

from __future__ import annotations

from typing import Any

import ualign

__all__ = ["solve"]


def solve(ds: Any, k: int, **opts: Any) -> Any:
    """Solves every row of a Ray Dataset; returns a Dataset with the columns of
    :func:`ualign.solve_batch` (``id`` first when ``ds`` has one).

    ``ds`` needs a ``scores`` column (``list<list<float>>``, or numpy arrays of shape
    ``(m, n)``: Ray's tensor column) and may have ``weights`` and ``id``. Each task solves its
    batches with ``solve_batch(batch, k, eps, seed, threads, max_iter)``, taking those options
    from ``opts`` with ``threads`` per task (default 1: Ray already runs one task per CPU).
    The other options (``batch_size``, ``concurrency``, ...) go to ``map_batches``. Lazy, like
    any Ray transform.
    """
    solve_table, map_batches_args = ualign._batch_solver(k, opts)
    return ds.map_batches(solve_table, batch_format="pyarrow", **map_batches_args)
