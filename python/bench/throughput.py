#!/usr/bin/env python3
"""Throughput of ualign.solve_batch, next to `ualign batch`, a numpy solver, Spark and Ray.

The prompts: seeded, each 8 user types x 16 candidates of normal scores (three decimals), k = 4,
eps = 1e-4. They are written once as Parquet, in ten files (so that Spark and Ray can split the
work), and, for the command line, as JSON lines (one JSON instance per line, the same numbers).

    python3 python/bench/throughput.py [--prompts 100000] [--engines]

Figures (prompts per second, wall clock, the best of --runs):
- solve_batch on the table in memory, threads=1 and threads=0 (all cores);
- `ualign batch prompts.jsonl --k 4 --threads 1` and `--threads 0` (parses the JSON lines and
  prints one JSON object per line: the whole command, output to /dev/null);
- bench/numpy_solver.py (the same solver in vectorised numpy) on the first --numpy-prompts
  prompts, a Python loop over prompts, with solve_batch(threads=1) on those same prompts
  (repeated to 5,000 rows, so that one call's fixed cost does not count);
- with --engines: Spark local[2] (ualign.spark.solve, mapInArrow) and a local Ray instance
  (ualign.ray.solve, map_batches) reading the Parquet file, each next to the same pipeline with
  a pass-through function instead of the solve (what the engine itself costs). Session and
  cluster start-up are not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import ualign

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
M, N, K = 8, 16, 4


def make_prompts(count: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(count, M, N)), 3)
    inner = pa.ListArray.from_arrays(
        pa.array(np.arange(0, count * M * N + 1, N, dtype=np.int32)), pa.array(scores.ravel())
    )
    outer = pa.ListArray.from_arrays(pa.array(np.arange(0, count * M + 1, M, dtype=np.int32)), inner)
    return pa.table({"id": pa.array(np.arange(count, dtype=np.int64)), "scores": outer})


def write_jsonl(table: pa.Table, path: Path) -> None:
    names = [f"c{i + 1}" for i in range(N)]
    scores = table.column("scores").combine_chunks()
    values = scores.flatten().flatten().to_numpy().reshape(-1, M, N)
    with path.open("w") as f:
        for s in values:
            f.write(json.dumps({"candidates": names, "users": [{"scores": r} for r in s.tolist()]}))
            f.write("\n")


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=100_000)
    ap.add_argument("--numpy-prompts", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=Path("target/ualign-bench"))
    ap.add_argument("--cli", type=Path, default=REPO / "target" / "release" / "ualign")
    ap.add_argument("--engines", action="store_true", help="also Spark local[2] and Ray local")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    tag = f"{args.prompts}-{args.seed}"
    parquet = args.dir / f"prompts-{tag}"
    jsonl = args.dir / f"prompts-{tag}.jsonl"
    if not jsonl.exists():
        table = make_prompts(args.prompts, args.seed)
        parquet.mkdir(exist_ok=True)
        step = -(-table.num_rows // 10)
        for i in range(10):
            pq.write_table(table.slice(i * step, step), parquet / f"part-{i}.parquet")
        write_jsonl(table, jsonl)
    table = pq.read_table(parquet).sort_by("id")
    n = table.num_rows
    cores = os.cpu_count() or 1
    out = {"prompts": n, "m": M, "n": N, "k": K, "cores": cores}

    def rate(seconds: float, count: int = n) -> float:
        return round(count / seconds, 1)

    result = None

    def batch(threads: int) -> None:
        nonlocal result
        result = ualign.solve_batch(table, K, threads=threads)

    out["solve_batch_threads_1"] = rate(best_of(args.runs, lambda: batch(1)))
    out["solve_batch_all_cores"] = rate(best_of(args.runs, lambda: batch(0)))
    assert result is not None and result.column("error").null_count == n
    iters = result.column("iterations").to_numpy()
    out["mean_iterations"] = round(float(iters.mean()), 2)
    out["converged"] = int(np.sum(result.column("converged").to_numpy(zero_copy_only=False)))

    if args.cli.is_file():
        for threads, key in ((1, "cli_batch_threads_1"), (0, "cli_batch_all_cores")):
            cmd = [str(args.cli), "batch", str(jsonl), "--k", str(K), "--threads", str(threads)]
            out[key] = rate(
                best_of(args.runs, lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))
            )
    else:
        print(f"skipping the CLI: {args.cli} not found", file=sys.stderr)

    sys.path.insert(0, str(HERE))
    import numpy_solver

    few = table.slice(0, args.numpy_prompts)
    vals = few.column("scores").combine_chunks().flatten().flatten().to_numpy().reshape(-1, M, N)
    ones = np.ones(M)
    np_iters = []

    def numpy_loop() -> None:
        np_iters.clear()
        for s in vals:
            _, e, it = numpy_solver.solve(s, ones, K)
            np_iters.append(it)

    t_np = best_of(1, numpy_loop)
    reps = max(1, 5000 // len(vals))
    many = pa.concat_tables([few] * reps)
    t_ua = best_of(args.runs, lambda: ualign.solve_batch(many, K, threads=1)) / reps
    out["numpy_prompts"] = len(vals)
    out["numpy_loop"] = rate(t_np, len(vals))
    out["numpy_mean_iterations"] = round(float(np.mean(np_iters)), 2)
    out["solve_batch_threads_1_same_prompts"] = rate(t_ua, len(vals))
    out["speedup_over_numpy"] = round(t_np / t_ua, 1)

    if args.engines:
        out.update(spark(parquet, n, args.runs))
        out.update(ray_local(parquet, n, args.runs))
    print(json.dumps(out, indent=1))


def engine_figures(
    engine: str,
    rate_key: str,
    n: int,
    runs: int,
    solved: Callable[[], None],
    passed: Callable[[], None],
) -> dict:
    """Prompts per second of `solved`, and the times of `solved` and of the pass-through `passed`
    (the engine's own cost), best of `runs` each after one warm-up pass."""
    passed()  # warm the engine's Python workers
    t_pass = best_of(runs, passed)
    t_solve = best_of(runs, solved)
    return {
        rate_key: round(n / t_solve, 1),
        f"{engine}_pass_through_seconds": round(t_pass, 2),
        f"{engine}_solve_seconds": round(t_solve, 2),
    }


def spark(parquet: Path, n: int, runs: int) -> dict:
    from pyspark.sql import SparkSession

    import ualign.spark

    s = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    try:
        df = s.read.parquet(str(parquet))

        def solved() -> None:
            ualign.spark.solve(df, K).write.format("noop").mode("overwrite").save()

        def passed() -> None:
            df.mapInArrow(lambda it: it, df.schema).write.format("noop").mode("overwrite").save()

        return engine_figures("spark", "spark_local2", n, runs, solved, passed)
    finally:
        s.stop()


def ray_local(parquet: Path, n: int, runs: int) -> dict:
    import ray

    import ualign.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False

        def solved() -> None:
            ualign.ray.solve(ray.data.read_parquet(str(parquet)), K).materialize()

        def passed() -> None:
            ray.data.read_parquet(str(parquet)).map_batches(
                lambda b: b, batch_format="pyarrow"
            ).materialize()

        return engine_figures("ray", "ray_local", n, runs, solved, passed)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
