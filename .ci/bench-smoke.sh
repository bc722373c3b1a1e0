#!/usr/bin/env bash
# Runs the unit tests of what the benchmarks measure (ualign-benches' library, and ualign-accel:
# the route, the threaded and wide oracles, the probes, the work model). That the criterion
# benches and the examples compile is checked by `.ci/run`'s `cargo clippy --workspace
# --all-targets`; nothing here is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p ualign-benches --lib
cargo test -p ualign-accel
