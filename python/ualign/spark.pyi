"""Type stubs of ualign.spark."""

from typing import Any, Optional

__all__ = ["solve", "output_schema"]

def output_schema(df: Any) -> Any:
    """The Spark schema (a ``pyspark.sql.types.StructType``) of :func:`solve`'s result."""

def solve(
    df: Any,
    k: int,
    *,
    eps: float = 1e-4,
    seed: Optional[int] = None,
    threads: int = 1,
    max_iter: int = 10000,
) -> Any:
    """A ``pyspark.sql.DataFrame`` with the columns of ``ualign.solve_batch`` (mapInArrow)."""
