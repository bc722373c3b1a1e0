"""Shared fixtures: the `ualign` command (for the same-bits checks), the shared real data, and an
independent numpy computation of shares and certificates (docs/maths.md §2, closed form, float64)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _required(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0")


@pytest.fixture(scope="session")
def cli() -> "Cli":
    """The built `ualign` binary: $UALIGN_BIN, else target/release/ualign of this repository.
    Missing: skipped with the command that builds it, or a failure when $UALIGN_REQUIRE_CLI
    is set (as in CI)."""
    path = Path(os.environ.get("UALIGN_BIN", REPO / "target" / "release" / "ualign"))
    if not path.is_file():
        msg = f"{path} not found: build it with `cargo build --release -p ualign-host`"
        if _required("UALIGN_REQUIRE_CLI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return Cli(path)


class Cli:
    """Runs the `ualign` command."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: Any) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.path), *map(str, args)], capture_output=True, text=True, timeout=600
        )

    def json(self, *args: Any) -> Any:
        r = self.run(*args)
        assert r.returncode == 0, f"ualign {args}: {r.stderr}"
        return json.loads(r.stdout)

    def error(self, *args: Any) -> str:
        """The message of a failing command (its stderr line without `ualign: `)."""
        r = self.run(*args)
        assert r.returncode == 2, f"ualign {args} should fail with exit code 2: {r}"
        assert r.stdout == ""
        line = r.stderr.strip()
        assert line.startswith("ualign: "), line
        return line[len("ualign: ") :]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """`../shared/data` beside the repository (or $UALIGN_DATA); skipped visibly when absent."""
    d = Path(os.environ.get("UALIGN_DATA", REPO.parent / "shared" / "data"))
    if not d.is_dir():
        pytest.skip(f"real data not found at {d} (set UALIGN_DATA)")
    return d


def weak_order_shares(
    utils: np.ndarray, weights: np.ndarray, pi: np.ndarray, k: int
) -> np.ndarray:
    """docs/maths.md §2 written independently of ualign, in float64 with the closed form:
    g_j(y) = ((b+c)^(k+1) - b^(k+1)) / ((k+1) c), or b^k when c = 0, where c is the policy's
    mass on y's tie class under u_j and b the mass strictly below y."""
    utils = np.asarray(utils, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    pi = np.asarray(pi, dtype=np.float64)
    m, n = utils.shape
    # same[j, y, x]: x ties with y for user j; below[j, y, x]: x strictly below y.
    same = utils[:, :, None] == utils[:, None, :]
    below = utils[:, :, None] > utils[:, None, :]
    c = (same * pi[None, None, :]).sum(axis=2)
    b = (below * pi[None, None, :]).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = ((b + c) ** (k + 1) - b ** (k + 1)) / ((k + 1) * c)
    g = np.where(c > 0, closed, b**k)
    return w @ g


def brute_force_shares(
    utils: np.ndarray, weights: np.ndarray, pi: np.ndarray, k: int
) -> np.ndarray:
    """g(y) by enumerating all n^k draws: one extra slot holds y; each user picks uniformly
    among the slots holding one of its top-ranked candidates (docs/maths.md §1)."""
    utils = np.asarray(utils, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    m, n = utils.shape
    g = np.zeros(n)
    for draw in itertools.product(range(n), repeat=k):
        p = float(np.prod([pi[x] for x in draw]))
        if p == 0.0:
            continue
        for y in range(n):
            slots = list(draw) + [y]
            for j in range(m):
                best = max(utils[j][s] for s in slots)
                top = sum(1 for s in slots if utils[j][s] == best)
                if utils[j][y] == best:
                    g[y] += w[j] * p / top
    return g


def utilities_of_rankings(rankings: Sequence[Sequence[Sequence[int]]], n: int) -> np.ndarray:
    """Utilities from tie groups of indices, best first; unlisted candidates tie at the bottom."""
    u = np.full((len(rankings), n), -1.0)
    for j, groups in enumerate(rankings):
        for pos, g in enumerate(groups):
            for c in g:
                u[j, c] = n - pos
    return u


def as_f32_policy(pi: Sequence[float]) -> np.ndarray:
    """A policy as ualign reads it: rounded to float32, renormalised in float64."""
    p = np.asarray(pi, dtype=np.float32).astype(np.float64)
    return p / p.sum()
