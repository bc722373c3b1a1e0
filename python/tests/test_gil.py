"""The native calls that build a population release the GIL while they work.

Without a timer: with a switch interval of 1000 s, the interpreter hands the GIL to another
thread only when the thread holding it releases it. A second thread waits on an event that is set
just before the call; it can append to ``ran`` during the call only if the call releases the GIL
(afterwards, nothing releases it before ``ran`` is read)."""

from __future__ import annotations

import sys
import threading
from typing import Callable

import numpy as np

from ualign import _ualign


def runs_another_thread(call: Callable[[], object]) -> bool:
    go = threading.Event()
    ran = []

    def other() -> None:
        go.wait()
        ran.append(True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=other)
        t.start()  # waits for `other` to start: `other` is then blocked in go.wait()
        go.set()
        call()
        seen = bool(ran)
    finally:
        sys.setswitchinterval(old)
    t.join()
    return seen


def released(call: Callable[[], object]) -> bool:
    # Holding the GIL throughout, the other thread never runs during the call. Releasing it, it
    # runs unless the OS wakes it only after the call's work (tens of milliseconds); five tries
    # make that too unlikely to matter. The first call is left out: a one-time initialisation
    # may release the GIL on its own.
    call()
    return any(runs_another_thread(call) for _ in range(5))


def test_population_from_scores_releases_the_gil() -> None:
    m, n = 8000, 1024
    data = np.random.default_rng(0).normal(size=(m, n)).tobytes()
    assert released(lambda: _ualign.population_from_scores(data, m, n))


def test_population_from_rankings_releases_the_gil() -> None:
    rng = np.random.default_rng(1)
    n = 1024
    rankings = [[[int(c)] for c in rng.permutation(n)] for _ in range(500)]
    names = [f"c{i}" for i in range(1, n + 1)]
    assert released(lambda: _ualign.population_from_rankings(rankings, names))
