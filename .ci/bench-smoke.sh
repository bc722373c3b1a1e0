#!/usr/bin/env bash
# Builds the benchmarks (criterion benches, examples, the in-place host modules) so CI checks they
# compile and their unit tests pass. Nothing is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ualign-benches --no-run
cargo test -p ualign-benches --lib
