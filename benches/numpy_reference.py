#!/usr/bin/env python3
"""Vectorised numpy reference for the ualign share oracle and optimistic Hedge.

Same closed form as core (docs/maths.md §2), for strict rankings (impartial culture has no ties):
for user j and the candidate at position p of j's order, b = pi(strictly below), a = b + pi(y),
g_j(y) = (1/(k+1)) sum_{i=0..k} a^i b^(k-i), by the recurrence s <- a*s + b^i used in core.
Arrays are users x candidates (float32), with per-user suffix sums over each user's order.

Optimistic Hedge uses core's adaptive step (eta starts at k+1, x1.05 after an improving round,
x0.5 after one that more than doubles the exploitability, capped at 1e6 (k+1)) and stops when the
exact exploitability of the best iterate is <= 1e-4; core's Newton polish is not reproduced.

Not part of the test suite. Usage: python3 benches/numpy_reference.py [--runs 31] [--json]
Single-threaded: set OMP_NUM_THREADS etc. to 1 below (numpy ufuncs are single-threaded anyway).
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

try:
    import numpy as np
except ImportError:  # pragma: no cover
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "numpy"])
    import numpy as np

SIZES = [
    ("dublin-west-ic", 9, 10_335, 4),
    ("n64-m1000", 64, 1_000, 4),
    ("n256-m5000", 256, 5_000, 8),
    ("n16-m16", 16, 16, 4),
]


def impartial_culture(n, m, seed):
    """m uniformly random strict rankings (best first) and equal weights summing to 1."""
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((m, n)), axis=1).astype(np.intp)
    weights = np.full(m, 1.0 / m, dtype=np.float32)
    return order, weights


def shares(order, weights, pi, k):
    """g(y) for every candidate against k draws from pi."""
    m, n = order.shape
    mass = pi[order]  # (m, n): mass of the candidate at each position
    upper = np.cumsum(mass[:, ::-1], axis=1)[:, ::-1]  # a = b + c: mass at or below
    lower = np.zeros_like(upper)  # b: mass strictly below
    lower[:, :-1] = upper[:, 1:]
    s = np.ones_like(upper)
    bp = lower.copy()
    for _ in range(k):
        s = upper * s + bp
        bp *= lower
    g = np.bincount(order.ravel(), weights=(weights[:, None] * s).ravel(), minlength=n)
    return (g / (k + 1)).astype(np.float32)


def softmax(x):
    e = np.exp(x - x.max())
    return (e / e.sum()).astype(np.float32)


def optimistic_hedge(order, weights, n, k, epsilon=1e-4, max_iter=10_000):
    """Returns (iterations, best exploitability)."""
    logits = np.zeros(n, dtype=np.float32)
    pi = softmax(logits)
    g = shares(order, weights, pi, k)
    target = 1.0 / (k + 1)
    best = last = float(g.max()) - target
    g_prev = g
    eta, eta_max = float(k + 1), 1e6 * (k + 1)
    it = 1
    while best > epsilon and it < max_iter:
        logits += eta * (2.0 * g - g_prev)
        pi = softmax(logits)
        g_prev, g = g, shares(order, weights, pi, k)
        it += 1
        e = float(g.max()) - target
        best = min(best, e)
        eta *= 1.05 if e <= last else (0.5 if e > 2 * last else 1.0)
        eta = min(eta, eta_max)
        last = e
    return it, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for name, n, m, k in SIZES:
        order, weights = impartial_culture(n, m, args.seed)
        pi = np.full(n, 1.0 / n, dtype=np.float32)
        g = shares(order, weights, pi, k)
        assert abs(float(pi @ g) - 1.0 / (k + 1)) < 1e-4, "identity sum pi g = 1/(k+1)"
        for _ in range(3):
            shares(order, weights, pi, k)
        times = []
        for _ in range(args.runs):
            t = time.perf_counter_ns()
            shares(order, weights, pi, k)
            times.append(time.perf_counter_ns() - t)
        times.sort()
        t = time.perf_counter_ns()
        iters, e = optimistic_hedge(order, weights, n, k)
        solve_ns = time.perf_counter_ns() - t
        rows.append(
            dict(name=name, n=n, m=m, k=k, share_ns_median=times[len(times) // 2],
                 solve_ns=solve_ns, solve_iterations=iters, solve_exploitability=e)
        )
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    print(f"{'size':16} {'n':>4} {'m':>6} {'k':>2} {'share us':>10} {'solve ms':>10} {'iters':>6} {'e':>9}")
    for r in rows:
        print(f"{r['name']:16} {r['n']:>4} {r['m']:>6} {r['k']:>2} "
              f"{r['share_ns_median'] / 1e3:>10.1f} {r['solve_ns'] / 1e6:>10.1f} "
              f"{r['solve_iterations']:>6} {r['solve_exploitability']:>9.2e}")


if __name__ == "__main__":
    main()
