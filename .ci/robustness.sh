#!/usr/bin/env bash
# Robustness checks (see ROBUSTNESS.md): property and edge-case tests, the panic-free
# link proof of core on thumbv7em-none-eabihf, miri on a subset of core's tests, and each fuzz
# target for FUZZ_SECONDS (default 60). Installs what it needs; exits non-zero on any failure.
#
# Environment: FUZZ_SECONDS (default 60), SKIP_FUZZ=1, SKIP_MIRI=1 (for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { echo; echo "== robustness: $* ($(($(date +%s) - start)) s)"; }

step "tools"
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
rustup +nightly component add miri rust-src
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

step "property and edge-case tests"
# `--workspace`: the features the README's test command resolves, so its build is reused.
cargo test --workspace --test properties --test edge_cases

step "panic-free proof: core linked for thumbv7em-none-eabihf with an undefined panic handler"
if ! (cd probe && cargo build --release); then
    echo "robustness: a panic path survives in core. Functions still calling the panic machinery:"
    if command -v arm-none-eabi-objdump >/dev/null; then
        (cd probe && CARGO_PROFILE_RELEASE_DEBUG=1 \
            RUSTFLAGS="-C link-arg=--entry=_start -C link-arg=--defsym=ualign_probe_panic_path_reached=0" \
            cargo build --release --target-dir target/diag -q &&
            arm-none-eabi-objdump -d -C target/diag/thumbv7em-none-eabihf/release/ualign-probe |
            awk '/^[0-9a-f]+ <.*>:$/ { f = $0 } /\tbl?(\.w)?\t.*<core::(panicking|slice::index::slice_index_fail)/ && f !~ /<core::/ { print f }' |
            sort | uniq -c) || true
    fi
    exit 1
fi

# Miri and each fuzzer run on one thread: miri runs in the background beside the fuzzers (its
# own target folder, so no build lock is shared), and its log is shown when it has finished.
miri_log=""
if [ "${SKIP_MIRI:-0}" != 1 ]; then
    # libm's x86 sqrt is inline assembly, which miri cannot run: use its portable code.
    step "miri (core unit tests, errors and sampling tests), in the background"
    miri_log=$(mktemp)
    MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}" \
        cargo +nightly miri test -p ualign --features libm/force-soft-floats \
        --lib --test errors --test sampling -- \
        --skip draws_follow_the_policy --skip uniform_helpers_are_in_range_and_exact \
        >"$miri_log" 2>&1 &
    miri_pid=$!
    # Stop it if a later step fails first.
    trap 'kill "$miri_pid" 2>/dev/null || true' EXIT
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
    step "fuzz: seed corpora"
    C=fuzz/corpus
    mkdir -p "$C/core_pipeline" "$C/proto_decode" "$C/host_parsers"
    # The exact cases of docs/maths.md §7 in core_pipeline's byte format (n-1, m-1, k-1, then per
    # user a weight and either scores or a ranking whose bytes with the top bit set close a group).
    printf '\x02\x00\x02\x08\x08\x00\x01\x02\x01\x00\x01\x01\x01\x01\x80\x01\x01' >"$C/core_pipeline/unanimous"
    printf '\x02\x02\x01\x08\x08\x01\x03\x80\x81\x82\x08\x08\x01\x03\x81\x82\x80\x08\x08\x01\x03\x82\x80\x81\x01\x01\x01\x01\x80\x01\x01' >"$C/core_pipeline/condorcet"
    printf '\x02\x01\x01\x08\x08\x01\x03\x80\x82\x81\x05\x05\x01\x03\x81\x82\x80\x01\x01\x01\x01\x80\x01\x02' >"$C/core_pipeline/majority_minority"
    printf '\x01\x01\x02\x08\x08\x00\x01\x01\x00\x05\x05\x00\x01\x00\x01\x01\x01\x01\x80\x01\x01' >"$C/core_pipeline/two_candidates"
    printf '\x04\x04\x03\x08\x08\x01\x05\x80\x81\x82\x83\x84\x08\x08\x01\x05\x81\x82\x83\x84\x80\x08\x08\x01\x05\x82\x83\x84\x80\x81\x08\x08\x01\x05\x83\x84\x80\x81\x82\x08\x08\x01\x05\x84\x80\x81\x82\x83\x01\x01\x01\x01\x01\x01\xff\x01\x01' >"$C/core_pipeline/cyclic5"
    # Valid frames (CRC-8 over the header, CRC-32 over header and payload).
    if command -v python3 >/dev/null; then
        python3 - "$C/proto_decode" <<'PY'
import struct, sys, zlib
def crc8(b):
    c = 0
    for x in b:
        c ^= x
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c
def frame(kind, payload):
    h = bytes([0xA5, 1, kind]) + struct.pack('<H', len(payload))
    body = h + bytes([crc8(h)]) + payload
    return body + struct.pack('<I', zlib.crc32(body))
# Rerank request: k=2, flags 0, reserved, then whatever follows (the decoder rejects or accepts).
req = struct.pack('<HBB', 2, 0, 0) + struct.pack('<HH', 3, 2) + bytes(32)
for name, data in [('shutdown', frame(2, b'')), ('calibrate', frame(3, b'')),
                   ('rerank', frame(1, req)), ('error', frame(0xEE, bytes(10))),
                   ('two', frame(2, b'') + frame(0x82, b''))]:
    open(f'{sys.argv[1]}/{name}', 'wb').write(data)
PY
    fi
    # A few small real inputs from ../shared/data when it is there (first lines only), one
    # selector byte for the format.
    DATA="$ROOT/../shared/data"
    [ -d "$DATA" ] || echo "robustness: $DATA absent, fuzzing without real-data seeds"
    for f in "$DATA/preflib/00001-00000001.soi" "$DATA/preflib/00002-00000001.toc"; do
        if [ -f "$f" ]; then { printf '\x00'; head -c 1500 "$f"; } >"$C/host_parsers/preflib_$(basename "$f")"; fi
    done
    for f in "$DATA/atari/atari_rainbow_table5.txt"; do
        if [ -f "$f" ]; then { printf '\x03'; head -c 1500 "$f"; } >"$C/host_parsers/table_$(basename "$f")"; fi
    done
    printf '\x00# ALTERNATIVE NAME 1: a\n# ALTERNATIVE NAME 2: b\n# ALTERNATIVE NAME 3: c\n3: 1,3,2\n2: 2,3,1\n' >"$C/host_parsers/preflib_small"
    printf '\x01{"candidates":["a","b","c"],"users":[{"weight":0.6,"ranking":[["a"],["c"],["b"]]},{"weight":0.4,"scores":[0,2,1]}]}' >"$C/host_parsers/json_small"
    # JSON lines as batch reads them: the same candidates array again (kept), then another
    # array of the same length, then a bad name.
    printf '\x01{"candidates":["a","bb","c"],"users":[{"ranking":[["a"],["c"],["bb"]]}]}\n{"candidates":["a","bb","c"],"users":[{"weight":2,"ranking":[["c"], ["a"], ["bb"]]},{"ranking":["bb"]}]}\n{"candidates":["c","bb","a"],"users":[{"ranking":[["a"],["c"]]}]}\n{"candidates":["c","bb","a"],"users":[{"ranking":[["q"]]}]}\n' >"$C/host_parsers/json_lines"
    printf '\x02user,a,b,c\nu1,1,0.5,0\nu2,0,1,0.5\n' >"$C/host_parsers/csv_small"
    # CSV read with --values ranks (selector 2 + 4 * 2), in pref_voting's layout.
    printf '\x0aa,b,c,#\n1,2,,3\n2,1,1,1\n1,2,,4\n' >"$C/host_parsers/csv_ranks_small"
    # pandas' numbered columns: refused without --header, read with --header first-row
    # (selector 2 + 12 * 1) and none (2 + 12 * 2).
    printf '\x02,0,1,2\n0,0.5,0.2,0.1\n1,0.3,0.9,0.4\n' >"$C/host_parsers/csv_pandas"
    printf '\x0e0,1,2\n0.5,0.2,0.1\n0.3,0.9,0.4\n' >"$C/host_parsers/csv_header_first_row"
    printf '\x1a0,1,2\n0.5,0.2,0.1\n#,a,b\n' >"$C/host_parsers/csv_header_none"
    # The same with CRLF line ends and a blank line: a row's number depends on both.
    printf '\x0aa,b,c,#\r\n1,2,,3\r\n\r\n2,1,1,1\r\n1,2,,4' >"$C/host_parsers/csv_ranks_crlf"

    # host_parsers needs the optional `host` feature (it pulls in the host crate and its CLI deps).
    for t in core_pipeline proto_decode host_parsers; do
        features=()
        [ "$t" = host_parsers ] && features=(--features host)
        step "fuzz: $t for ${FUZZ_SECONDS} s"
        (cd fuzz && cargo +nightly fuzz run -a "${features[@]}" "$t" "corpus/$t" -- \
            -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    done
fi

if [ -n "$miri_log" ]; then
    step "miri: its log"
    miri_status=0
    wait "$miri_pid" || miri_status=$?
    trap - EXIT
    cat "$miri_log"
    rm -f "$miri_log"
    if [ "$miri_status" -ne 0 ]; then
        echo "robustness: miri failed (status $miri_status)"
        exit 1
    fi
fi

step "all robustness checks passed"
