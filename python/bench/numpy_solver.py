"""ualign's solver written in vectorised numpy, for the speed-up figure of python/README.md.

Optimistic Hedge with core's adaptive step (eta from k + 1, x1.05 after a round that does not
raise the exploitability, x0.5 after one that more than doubles it, capped at 1e6 (k + 1)),
the best iterate deployed, stopping at exploitability <= eps; and core's Newton polish at rounds
8..15 (once), 16, 32, 64, ...: on a guessed support (the candidates whose share in the best
iterate is within its exploitability of the top, then those holding more than 1e-3, 3e-2 and
3e-1 of its largest mass; candidates that beat the value join, those whose mass turns negative
leave), Newton's method on `g(y) = v` for y in the support and `sum x = 1`, with the Jacobian of the
shares computed in closed form, at most 8 steps, accepted when its exact exploitability is
lower. Every share evaluation counts as an iteration, as in core.

Strict orders only (the benchmark's prompts are continuous scores): `order[j]` lists user j's
candidates best first; `weights` sum to 1. Everything over users and candidates is one array
operation; only the rounds and Newton steps are Python loops.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np


def prepare(scores: np.ndarray, weights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Orders (best first) and normalised weights of a score matrix (m users x n candidates)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    w = np.asarray(weights, dtype=np.float64)
    return order, w / w.sum()


def shares(order: np.ndarray, w: np.ndarray, pi: np.ndarray, k: int) -> np.ndarray:
    """g(y) for every candidate (docs/maths.md §2), float64: s <- a s + b^i over the positions."""
    m, n = order.shape
    mass = pi[order]
    a = np.cumsum(mass[:, ::-1], axis=1)[:, ::-1]  # mass at or below each position
    b = a - mass  # strictly below
    s = np.ones_like(a)
    bi = np.ones_like(a)
    for _ in range(k):
        bi = bi * b
        s = a * s + bi
    g = np.bincount(order.ravel(), weights=(w[:, None] * s).ravel(), minlength=n)
    return g / (k + 1)


def jacobian(order: np.ndarray, w: np.ndarray, pi: np.ndarray, k: int) -> np.ndarray:
    """J[y, x] = d g(y) / d pi(x), in closed form: with a = b + c and
    G = (1/(k+1)) sum_i a^i b^(k-i), dG/da and dG/db (a fixed) are polynomials too; pi(x)
    enters a when x is y or below it, and b when x is strictly below it."""
    m, n = order.shape
    mass = pi[order]
    a = np.cumsum(mass[:, ::-1], axis=1)[:, ::-1]
    b = a - mass
    da = np.zeros_like(a)
    db = np.zeros_like(a)
    for i in range(k + 1):
        if i >= 1:
            da += i * a ** (i - 1) * b ** (k - i)
        if i < k:
            db += (k - i) * a**i * b ** (k - i - 1)
    da, db = da / (k + 1), db / (k + 1)
    # For user j, candidate at position p: d/dpi(x) = da + db for x strictly below p,
    # da for x at p itself, 0 above.
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(n)[None, :].repeat(m, 0), axis=1)
    # J_j[y, x] over candidates: row y at position pos[j, y], column x at pos[j, x].
    py = pos[:, :, None]
    px = pos[:, None, :]
    dy_a = np.take_along_axis(da, pos, axis=1)[:, :, None]
    dy_b = np.take_along_axis(db, pos, axis=1)[:, :, None]
    jj = np.where(px > py, dy_a + dy_b, 0.0) + np.where(px == py, dy_a, 0.0)
    return np.tensordot(w, jj, axes=1)


def polish(order, w, pi, support, k, budget, eps):
    """Newton on g(y) = v over `support` (candidates outside it that beat the value join, those
    whose mass turns negative leave); returns (policy, exploitability, evaluations)."""
    n = len(pi)
    target = 1.0 / (k + 1)
    support = np.asarray(support)
    x = pi[support].astype(np.float64)
    if x.sum() <= 0:
        return None, np.inf, 0
    x /= x.sum()
    best, best_e, evals, v, prev_res, stale = None, np.inf, 0, None, np.inf, 0
    for step in range(min(8, budget)):
        cur = np.zeros(n)
        cur[support] = x
        g = shares(order, w, cur, k)
        evals += 1
        stale += 1
        e = max(g.max() - target, 0.0)
        if e < best_e:
            best, best_e, stale = cur.astype(np.float32), e, 0
        if v is None:
            v = g[support].mean()
        res = np.abs(g[support] - v).max()
        outside = np.setdiff1d(np.arange(n), support)
        missing = outside[g[outside] > v + 2 * max(res, 1e-7)]
        if len(missing):
            if len(support) + len(missing) > 48:
                break
            support = np.concatenate([support, missing])
            x = np.concatenate([x, np.zeros(len(missing))])
            prev_res = np.inf
            if step == 0 and pi[missing].sum() > 0:
                x[-len(missing):] = pi[missing]
                x /= x.sum()
                continue
            res = np.abs(g[support] - v).max()
        if best_e <= eps or res < 1e-7 or (step >= 1 and res > 0.5 * prev_res) or stale >= 2:
            break
        prev_res = res
        s = len(support)
        r = np.concatenate([g[support] - v, [x.sum() - 1.0]])
        sysm = np.zeros((s + 1, s + 1))
        sysm[:s, :s] = jacobian(order, w, cur, k)[np.ix_(support, support)]
        sysm[:s, s] = -1.0
        sysm[s, :s] = 1.0
        try:
            d = np.linalg.solve(sysm, -r)
        except np.linalg.LinAlgError:
            break
        x = x + d[:s]
        v = v + d[s]
        keep = x > 0
        if not keep.any():
            break
        support, x = support[keep], x[keep] / x[keep].sum()
    return best, best_e, evals


def solve(scores: np.ndarray, weights: np.ndarray, k: int, eps: float = 1e-4,
          max_iter: int = 10_000) -> Tuple[np.ndarray, float, int]:
    """(policy, exploitability, iterations) of one prompt."""
    order, w = prepare(scores, weights)
    m, n = order.shape
    target = 1.0 / (k + 1)
    logits = np.zeros(n)
    pi = np.full(n, 1.0 / n)
    g = shares(order, w, pi, k)
    e = max(g.max() - target, 0.0)
    best, best_e, lead, lead_g, lead_e = pi.copy(), e, pi.copy(), g.copy(), e
    it, eta, last = 1, float(k + 1), e
    recent = [e] * 4
    polished = False
    g_prev = g
    while best_e > eps and it < max_iter:
        logits += eta * (2.0 * g - g_prev)
        z = np.exp(logits - logits.max())
        pi = z / z.sum()
        g_prev, g = g, shares(order, w, pi, k)
        it += 1
        e = max(g.max() - target, 0.0)
        if e < best_e:
            best, best_e = pi.copy(), e
        if e < lead_e:
            lead, lead_g, lead_e = pi.copy(), g.copy(), e
        eta *= 1.05 if e <= last else (0.5 if e > 2 * last else 1.0)
        eta = min(eta, 1e6 * (k + 1))
        last = e
        before = recent[it % 4]
        recent[it % 4] = lead_e
        slow = before > 0 and lead_e > eps and lead_e * (lead_e / before) ** 2 > eps
        due = (it & (it - 1) == 0 and it > 8) or (not polished and 8 <= it < 16 and slow)
        polished |= due
        if due and best_e > eps:
            guesses = [np.flatnonzero(lead_g >= target - lead_e)]
            guesses += [np.flatnonzero(lead > t * lead.max()) for t in (1e-3, 3e-2, 3e-1)]
            seen = set()
            for sup in guesses:
                key = tuple(sup)
                if key in seen or not 0 < len(sup) <= 48:
                    continue
                seen.add(key)
                cand, ce, ev = polish(order, w, lead, sup, k, max_iter - it, eps)
                it += ev
                if cand is not None and ce < best_e:
                    best, best_e = cand, ce
                if best_e <= eps:
                    break
    return np.asarray(best, dtype=np.float32), float(best_e), it
