#!/usr/bin/env python3
"""Two builds of `ualign` side by side: `bench --solves` medians, alternating round by round.

    python3 benches/ab.py OLD_UALIGN NEW_UALIGN --size 8 4 2 --size 16 8 4 --rounds 8
    python3 benches/ab.py OLD_UALIGN NEW_UALIGN --seeds 8 --rounds 2

For every size, each round runs `OLD bench --n N --m M --k K --threads 1 --solves S --seed 1`,
then the same with NEW, and prints both medians (`solve_ns`, in microseconds); at the end, each
build's medians in order. Alternating keeps a slow phase of the machine from favouring one build.

With `--batch FILE` (JSON lines, e.g. the 20,000 lines of benches/README.md), each round times
`OLD batch FILE --k 4 --threads T` (`--threads`, default 1), then the same with NEW (output
discarded; wall time, and the CPU time of the run: user plus system, all its threads), and the
end prints each build's times in order and the median of the rounds' ratios NEW/OLD.

With `--seeds D`, each round runs seeds 1 to D (a population each, so that one instance's
path does not stand for a size), and the end of each size prints, per build, the sum over the
seeds of the share evaluations per solve, and the geometric mean over the seeds of NEW's time
over OLD's (each seed's fastest round of each build).
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time


def bench(binary, n, m, k, solves, seed):
    out = subprocess.run(
        [binary, "bench", "--n", str(n), "--m", str(m), "--k", str(k),
         "--threads", "1", "--solves", str(solves), "--seed", str(seed)],
        capture_output=True, text=True, check=True,
    ).stdout
    d = json.loads(out)
    return d["solve_ns"] / 1000.0, d["solve_iterations"]


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def batch(binary, path, k, threads):
    """The wall time and the CPU time (user plus system) of one run."""
    cpu = cpu_of_children()
    start = time.perf_counter()
    subprocess.run([binary, "batch", path, "--k", str(k), "--threads", str(threads)],
                   stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start, cpu_of_children() - cpu


def batch_rounds(builds, path, k, threads, rounds):
    times = {name: [] for name, _ in builds}
    cpus = {name: [] for name, _ in builds}
    for r in range(rounds):
        for name, binary in builds:
            wall, cpu = batch(binary, path, k, threads)
            times[name].append(wall)
            cpus[name].append(cpu)
        print(f"batch round {r + 1}: old {times['old'][-1]:.3f} s ({cpus['old'][-1]:.2f} s CPU), "
              f"new {times['new'][-1]:.3f} s ({cpus['new'][-1]:.2f} s CPU)", flush=True)
    for name, _ in builds:
        print(f"batch {name}: " + " ".join(f"{x:.3f}" for x in sorted(times[name])))
        print(f"batch {name} CPU: " + " ".join(f"{x:.2f}" for x in sorted(cpus[name])))
    ratios = sorted(n / o for o, n in zip(times["old"], times["new"]))
    half = len(ratios) // 2
    median = ratios[half] if len(ratios) % 2 else (ratios[half - 1] + ratios[half]) / 2
    print("batch new/old per round: " + " ".join(f"{x:.3f}" for x in ratios)
          + f"; median {median:.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--size", nargs=3, type=int, action="append", metavar=("N", "M", "K"),
                   help="a size (repeatable; default: 16 8 4, 8 4 2, 16 16 4)")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--solves", type=int, default=2000)
    p.add_argument("--seeds", type=int, default=1, help="seeds 1 to D per size (default 1)")
    p.add_argument("--batch", metavar="FILE", help="time `batch FILE` instead of `bench`")
    p.add_argument("--k", type=int, default=4, help="--k of `batch` (default 4)")
    p.add_argument("--threads", type=int, default=1, help="--threads of `batch` (default 1)")
    a = p.parse_args()
    sizes = a.size or [[16, 8, 4], [8, 4, 2], [16, 16, 4]]
    builds = (("old", a.old), ("new", a.new))
    if a.batch:
        batch_rounds(builds, a.batch, a.k, a.threads, a.rounds)
        return 0
    for n, m, k in sizes:
        # times[name][seed] over the rounds; evaluations per solve are deterministic.
        times = {name: {s: [] for s in range(1, a.seeds + 1)} for name, _ in builds}
        evals = {name: {} for name, _ in builds}
        for r in range(a.rounds):
            for seed in range(1, a.seeds + 1):
                for name, binary in builds:
                    t, it = bench(binary, n, m, k, a.solves, seed)
                    times[name][seed].append(t)
                    evals[name][seed] = it
                if a.seeds == 1:
                    print(f"({n}, {m}, {k}) round {r + 1}: old {times['old'][1][-1]:.2f} us, "
                          f"new {times['new'][1][-1]:.2f} us", flush=True)
        if a.seeds == 1:
            for name, _ in builds:
                print(f"({n}, {m}, {k}) {name}: "
                      + " ".join(f"{x:.2f}" for x in sorted(times[name][1])))
        else:
            logs = [math.log(min(times["new"][s]) / min(times["old"][s]))
                    for s in range(1, a.seeds + 1)]
            print(f"({n}, {m}, {k}) seeds 1-{a.seeds}: evaluations old "
                  f"{sum(evals['old'].values())}, new {sum(evals['new'].values())}; "
                  f"time new/old, geometric mean {math.exp(sum(logs) / len(logs)):.3f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
