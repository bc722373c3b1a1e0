#!/usr/bin/env python3
"""Two builds of `ualign` side by side: `bench --solves` medians, alternating round by round.

    python3 benches/ab.py OLD_UALIGN NEW_UALIGN --size 8 4 2 --size 16 8 4 --rounds 8

For every size, each round runs `OLD bench --n N --m M --k K --threads 1 --solves S`, then the
same with NEW, and prints both medians (`solve_ns`, in microseconds); at the end, each build's
medians in order. Alternating keeps a slow phase of the machine from favouring one build.
"""

import argparse
import json
import subprocess
import sys


def median_us(binary, n, m, k, solves):
    out = subprocess.run(
        [binary, "bench", "--n", str(n), "--m", str(m), "--k", str(k),
         "--threads", "1", "--solves", str(solves)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)["solve_ns"] / 1000.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--size", nargs=3, type=int, action="append", metavar=("N", "M", "K"),
                   help="a size (repeatable; default: 16 8 4, 8 4 2, 16 16 4)")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--solves", type=int, default=2000)
    a = p.parse_args()
    sizes = a.size or [[16, 8, 4], [8, 4, 2], [16, 16, 4]]
    for n, m, k in sizes:
        runs = {"old": [], "new": []}
        for r in range(a.rounds):
            for name, binary in (("old", a.old), ("new", a.new)):
                runs[name].append(median_us(binary, n, m, k, a.solves))
            print(f"({n}, {m}, {k}) round {r + 1}: old {runs['old'][-1]:.2f} us, "
                  f"new {runs['new'][-1]:.2f} us", flush=True)
        for name in ("old", "new"):
            print(f"({n}, {m}, {k}) {name}: " + " ".join(f"{x:.2f}" for x in sorted(runs[name])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
