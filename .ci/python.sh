#!/usr/bin/env bash
# The Python package (issue 16): installs what it needs (Java for Spark when missing; maturin,
# numpy, pyarrow, pytest, pyspark, ray and mypy with pip), builds the `ualign` command for the
# same-bits checks, installs the package with `pip install ./python` (maturin builds it from
# source), checks its types (the native stub, the inline annotations) against the built module,
# and runs its pytest suite with the CLI and both engines required (a missing one fails instead of
# skipping).
#
# Honours CARGO_TARGET_DIR (default: <repo>/target) for the command; PYTHON (default python3);
# CI_INSTALL_ONLY=1 (install Java and the pip packages and stop: .ci/run does that in the
# background while it builds).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PYTHON="${PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac

echo "== python: Java for Spark ($(date +%T))"
if ! command -v java >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq default-jre-headless
fi
java -version 2>&1 | head -1

echo "== python: pip install maturin numpy pandas pyarrow pytest pyspark ray[data] mypy ($(date +%T))"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "maturin>=1.5,<2" numpy pandas pyarrow pytest pyspark "ray[data]" mypy
if [ "${CI_INSTALL_ONLY:-0}" = 1 ]; then
    echo "== python: installed (CI_INSTALL_ONLY=1: no build, no tests) ($(date +%T))"
    exit 0
fi

echo "== python: cargo fmt and clippy of the extension crate (its own workspace) ($(date +%T))"
cargo fmt --manifest-path python/Cargo.toml -- --check
cargo clippy -q --manifest-path python/Cargo.toml --all-targets -- -D warnings

echo "== python: cargo build --release -p ualign-host (the command the tests compare with) ($(date +%T))"
cargo build -q --release -p ualign-host
test -x "$target/release/ualign" || { echo "python: $target/release/ualign was not built" >&2; exit 1; }

echo "== python: pip install ./python ($(date +%T))"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --force-reinstall --no-deps ./python
"$PYTHON" -c 'import ualign, sys; print("ualign", ualign.__version__, "from", ualign.__file__)'

echo "== python: stubs against the built module (mypy stubtest) ($(date +%T))"
# From an empty directory, so that `ualign` is the installed package, not python/ualign.
stubdir="$(mktemp -d)"
trap 'rm -rf "$stubdir"' EXIT
(cd "$stubdir" && "$PYTHON" -m mypy.stubtest ualign --mypy-config-file "$root/python/pyproject.toml")

echo "== python: pytest ($(date +%T))"
status=0
UALIGN_BIN="$target/release/ualign" UALIGN_REQUIRE_CLI=1 UALIGN_REQUIRE_ENGINES=1 \
    "$PYTHON" -m pytest python/tests -q -p no:cacheprovider || status=$?
case "$status" in
    0) echo "== python: OK" ;;
    1) echo "python: some tests failed (above)" >&2; exit 1 ;;
    5) echo "python: pytest collected no tests" >&2; exit 1 ;;
    *) echo "python: pytest stopped with exit code $status (interrupted, internal or usage error)" >&2; exit 1 ;;
esac
