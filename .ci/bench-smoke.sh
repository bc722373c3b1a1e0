#!/usr/bin/env bash
# Builds the benchmarks (criterion benches, examples) and runs the unit tests of what they measure
# (ualign-accel: the route, the threaded and wide oracles, the probes, the work model), so CI checks
# they compile and their tests pass. Nothing is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ualign-benches --no-run
cargo test -p ualign-benches --lib
cargo test -p ualign-accel
