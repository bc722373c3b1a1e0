"""Spark (local[2]) and Ray (a local instance) solve a few hundred prompts through
ualign.spark.solve (mapInArrow) and ualign.ray.solve (map_batches, pyarrow) and give exactly
what solve_batch gives. Skipped visibly without pyspark or ray, unless $UALIGN_REQUIRE_ENGINES
is set (as in CI), when a missing engine fails."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import ualign

PROMPTS = 400


def need(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get("UALIGN_REQUIRE_ENGINES", "") not in ("", "0"):
            pytest.fail(f"{module} is required here: {e}")
        pytest.skip(f"{module} not installed: {e}")


def table() -> pa.Table:
    rng = np.random.default_rng(11)
    scores = []
    for i in range(PROMPTS):
        m, n = int(rng.integers(2, 9)), int(rng.integers(2, 17))
        scores.append(np.round(rng.normal(size=(m, n)), 1).tolist())
    scores[17] = [[1.0, 2.0], [3.0]]  # a bad row
    scores[203] = None  # and another
    weights = [None if i % 3 else rng.integers(1, 4, size=len(s or [])).astype(float).tolist() for i, s in enumerate(scores)]
    return pa.table({"id": pa.array(range(PROMPTS), pa.int64()), "scores": scores, "weights": weights})


def rows(t: pa.Table):
    return sorted(t.to_pylist(), key=lambda r: r["id"])


def test_spark_local_matches_solve_batch() -> None:
    need("pyspark")
    from pyspark.sql import SparkSession

    import ualign.spark

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("ualign-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        t = table()
        try:
            df = spark.createDataFrame(t)  # Spark 4 takes Arrow directly
        except (TypeError, ValueError):
            df = spark.createDataFrame(t.to_pandas())
        df = df.repartition(4)
        out = ualign.spark.solve(df, 3, seed=9)
        assert out.columns == ["id"] + ualign.solve_batch(t.slice(0, 1), 3).column_names[1:]
        got = out.toArrow() if hasattr(out, "toArrow") else pa.Table.from_pandas(out.toPandas())
        want = ualign.solve_batch(t, 3, seed=9)
        assert got.num_rows == PROMPTS
        assert rows(got) == rows(want)
        assert sum(r["error"] is not None for r in rows(got)) == 2
        # A column named like an input in another case is not dropped in silence.
        from pyspark.sql import functions as F

        with pytest.raises(ualign.InputError, match="a column `Weights`, not `weights`"):
            ualign.spark.solve(df.withColumn("Weights", F.lit(1.0)), 3)
    finally:
        spark.stop()


def test_ray_tensor_columns() -> None:
    """Ray stores numpy arrays as ArrowTensorType / ArrowTensorTypeV2 (one shape for the
    column) or ArrowVariableShapedTensorType (a shape per row); each reads as its rows' lists
    ("Unsupported cast from double to list" before)."""
    need("ray")
    from ray.air.util.tensor_extensions.arrow import (
        ArrowTensorType,
        ArrowTensorTypeV2,
        ArrowVariableShapedTensorType,
    )

    s = np.round(np.random.default_rng(12).normal(size=(4, 3, 5)), 1)
    base = ualign.solve_batch(pa.table({"scores": [x.tolist() for x in s]}), 2, seed=4)
    flat = [x.ravel().tolist() for x in s]
    for t, storage in (
        (ArrowTensorType((3, 5), pa.float64()), pa.array(flat, pa.list_(pa.float64()))),
        (ArrowTensorTypeV2((3, 5), pa.float64()), pa.array(flat, pa.large_list(pa.float64()))),
    ):
        col = pa.ExtensionArray.from_storage(t, storage)
        assert ualign.solve_batch(pa.table({"scores": col}), 2, seed=4).equals(base), t
        assert ualign.solve_batch(pa.table({"scores": col.slice(1)}), 2, seed=4).equals(base.slice(1))
    # A shape per row, and a null row.
    rng = np.random.default_rng(13)
    rows = [np.round(rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 7)))), 1) for _ in range(6)]
    want = ualign.solve_batch(pa.table({"scores": [None if i == 3 else x.tolist() for i, x in enumerate(rows)]}), 2)
    storage = pa.StructArray.from_arrays(
        [
            pa.array([x.ravel().tolist() for x in rows], pa.large_list(pa.float64())),
            pa.array([list(x.shape) for x in rows], pa.list_(pa.int64())),
        ],
        names=["data", "shape"],
        mask=pa.array([i == 3 for i in range(6)]),
    )
    col = pa.ExtensionArray.from_storage(ArrowVariableShapedTensorType(pa.float64(), 2), storage)
    assert ualign.solve_batch(pa.table({"scores": col}), 2).equals(want)
    assert ualign.solve_batch(pa.table({"scores": col.slice(2)}), 2).equals(want.slice(2))


def test_ray_local_matches_solve_batch() -> None:
    ray = need("ray")
    import ualign.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        t = table()
        ds = ray.data.from_arrow(t).repartition(4)
        out = ualign.ray.solve(ds, 3, seed=9, batch_size=64)
        got = pa.concat_tables(ray.get(out.to_arrow_refs()))
        want = ualign.solve_batch(t, 3, seed=9)
        assert got.num_rows == PROMPTS
        assert rows(got) == rows(want)
        # Rows of numpy arrays: Ray makes them a tensor column (one shape per row here).
        good = t.filter(pc.invert(pc.is_in(t.column("id"), pa.array([17, 203]))))
        items = [{"id": r["id"], "scores": np.array(r["scores"])} for r in good.select(["id", "scores"]).to_pylist()]
        ds = ray.data.from_items(items)
        assert "Tensor" in str(ds.schema().base_schema.field("scores").type)
        got = pa.concat_tables(ray.get(ualign.ray.solve(ds, 3, seed=9).to_arrow_refs()))
        assert rows(got) == rows(ualign.solve_batch(good.select(["id", "scores"]), 3, seed=9))
    finally:
        ray.shutdown()
