"""Running the ualign CLI and reading its JSON exactly."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from dataclasses import dataclass

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def binary() -> str:
    """`UALIGN_BIN`, else `$CARGO_TARGET_DIR/release/ualign`, else `target/release/ualign`."""
    if os.environ.get("UALIGN_BIN"):
        return os.environ["UALIGN_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    return os.path.join(target, "release", "ualign")


@dataclass
class Run:
    args: list[str]
    rc: int
    out: str
    err: str

    def json(self):
        """stdout as JSON with every non-integer number kept as its decimal string."""
        return json.loads(self.out, parse_float=str)

    def lines(self):
        return [json.loads(s, parse_float=str) for s in self.out.splitlines() if s.strip()]

    def describe(self) -> str:
        return f"`ualign {' '.join(self.args)}` exited {self.rc}; stderr: {self.err.strip()!r}"


def run(*args: str, timeout: float = 120) -> Run:
    args = [str(a) for a in args]
    p = subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout)
    return Run(args, p.returncode, p.stdout, p.stderr)


def ok(*args: str) -> Run:
    r = run(*args)
    if r.rc != 0:
        raise AssertionError(r.describe())
    return r


_CACHE: dict[tuple[str, ...], Run] = {}


def cached(*args: str) -> Run:
    """`ok`, remembered for the session (the CLI is deterministic for fixed flags)."""
    key = tuple(str(a) for a in args)
    if key not in _CACHE:
        _CACHE[key] = ok(*key)
    return _CACHE[key]


def f32(x: float) -> float:
    """The f32 nearest to x, as a Python float (exactly representable)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def policy_arg(masses) -> str:
    """A `--policy` JSON array of f32 values; each written exactly (repr of the f64 holding the
    f32), so the CLI's f64 parse and cast to f32 give back these values."""
    return "[" + ",".join(repr(f32(float(x))) for x in masses) + "]"
