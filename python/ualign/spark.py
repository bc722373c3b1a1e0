"""Solve a Spark DataFrame of prompts with ``mapInArrow`` (needs the ``spark`` extra).

Each Spark task hands its Arrow record batches to :func:`ualign.solve_batch`; nothing is
collected on the driver. The same code runs on a cluster: only the ``SparkSession`` (its master
URL, executors, and ``ualign`` installed on every executor) changes.
"""

from __future__ import annotations

from typing import Any, Iterator

import ualign

__all__ = ["solve", "output_schema"]


def output_schema(df: Any) -> Any:
    """The Spark schema of :func:`solve`'s result for ``df``: ``id`` (when ``df`` has one, with
    its type), then the columns of :func:`ualign.solve_batch`."""
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    fields = []
    if "id" in df.columns:
        fields.append(df.schema["id"])
    fields += [
        StructField("policy", ArrayType(FloatType(), True), True),
        StructField("worst_case_win_rate", DoubleType(), True),
        StructField("exploitability", DoubleType(), True),
        StructField("iterations", LongType(), True),
        StructField("converged", BooleanType(), True),
        StructField("picks", ArrayType(IntegerType(), True), True),
        StructField("error", StringType(), True),
    ]
    return StructType(fields)


def solve(df: Any, k: int, **opts: Any) -> Any:
    """Solves every row of a Spark DataFrame; returns a DataFrame with the columns of
    :func:`ualign.solve_batch` (``id`` first when ``df`` has one).

    ``df`` needs a ``scores`` column (``array<array<double>>`` or any numeric element type),
    and may have ``weights`` (``array<double>``) and ``id``. The work is a ``mapInArrow``: each
    task solves its batches with ``solve_batch(batch, k, eps, seed, threads, max_iter)``, the
    options given in ``opts``, ``threads`` per task (default 1: Spark already runs one task per
    core). Lazy, like any transformation.
    """
    import pyarrow as pa

    ualign._near_input_names(df.columns, "DataFrame")
    schema = output_schema(df)
    cols = [c for c in ("id", "scores", "weights") if c in df.columns]
    if "scores" not in cols:
        raise ualign.InputError("the DataFrame has no `scores` column (array<array<double>>)")
    solve_table, unknown = ualign._batch_solver(k, opts)
    if unknown:
        raise TypeError(f"ualign.spark.solve got unexpected options {sorted(unknown)}")

    def solve_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        target = None
        for batch in batches:
            out = solve_table(batch)
            if target is None:
                # Spark names list items its own way; keep its Arrow schema exactly.
                from pyspark.sql.pandas.types import to_arrow_schema

                target = to_arrow_schema(schema)
            yield from out.cast(target).to_batches()

    return df.select(*cols).mapInArrow(solve_batches, schema)
