#!/usr/bin/env bash
# Peer comparison (issue 13): pref_voting's and OpenSpiel's own profiles through the release CLI,
# checked in exact rational arithmetic (tests/peers/README.md). Installs the peers with pip into a
# venv under the target directory, builds `ualign`, runs pytest; exits non-zero on any failure.
#
# Arguments are passed on to pytest (e.g. `bash .ci/peers.sh -m "not interop"`). Environment:
# PEERS_VENV (default <target>/peers-venv), UALIGN_BIN (use this binary, skip the build), PYTHON
# (the interpreter for the venv, default python3), CI_INSTALL_ONLY=1 (install the venv and stop:
# .ci/run does that in the background while it builds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { echo; echo "== peers: $* ($(($(date +%s) - start)) s)"; }

target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
venv="${PEERS_VENV:-$target/peers-venv}"
python="${PYTHON:-python3}"

step "python venv and peers ($venv)"
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        # Debian's python3 ships venv separately.
        rm -rf "$venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        "$python" -m venv "$venv"
    fi
fi
# --no-compile: byte-compile only the modules the tests import (halves the install time).
"$venv/bin/python" -m pip install -q --no-compile --disable-pip-version-check \
    -r tests/peers/requirements.txt
"$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null |
    grep -Ei '^(pref.voting|preflibtools|open.spiel|cvxpy|ecos|numpy|scipy|pytest) ' || true
if [ "${CI_INSTALL_ONLY:-0}" = 1 ]; then
    step "installed (CI_INSTALL_ONLY=1: no build, no tests)"
    exit 0
fi

if [ -z "${UALIGN_BIN:-}" ]; then
    step "cargo build --release -p ualign-host"
    cargo build -q --release -p ualign-host
    export UALIGN_BIN="$target/release/ualign"
fi
echo "ualign: $UALIGN_BIN ($("$UALIGN_BIN" --version))"

step "pytest tests/peers"
set +e
"$venv/bin/python" -m pytest tests/peers -q --tb=short -p no:cacheprovider "$@"
rc=$?
set -e
step "done"
case $rc in
    0) echo "peers: all passed" ;;
    1) echo "peers: tests failed (see above)" ;;
    5) echo "peers: pytest collected no test: that is a failure here"; rc=1 ;;
    *) echo "peers: pytest did not complete (exit $rc)" ;;
esac
exit "$rc"
