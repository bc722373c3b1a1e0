#!/usr/bin/env bash
# Firmware CI: check, build and test the firmware on every core of ualign_proto::capacity::CORES
# (`ualign cores` prints that table: the build and QEMU command of each core) under QEMU against
# the host. Installs what is missing (the cores' Rust targets, qemu-system-arm, qemu-system-misc
# for qemu-system-riscv32).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

rustup target add thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf \
    thumbv8m.main-none-eabihf riscv32imac-unknown-none-elf riscv32imafc-unknown-none-elf >/dev/null
need=()
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v qemu-system-riscv32 >/dev/null || need+=(qemu-system-misc)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # Together when the resolver allows it, else one at a time (as in .ci/run).
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"; then
        for package in "${need[@]}"; do
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package"
        done
    fi
fi

echo "== proto: fmt, clippy, tests"
cargo fmt -p ualign-proto --check
cargo clippy -p ualign-proto --all-targets -- -D warnings
cargo test -p ualign-proto

echo "== the cores"
cargo build -q -p ualign-host
cores=$("$root/target/debug/ualign" cores)
echo "$cores"

echo "== firmware: fmt; per core: clippy (as the image is built: its target, features, CPU)"
(
    cd firmware
    cargo fmt --check
    while IFS=$'\t' read -r name _ _ _ _ _ _ _ _ _ _ build _; do
        case "$name" in '#'*) continue ;; esac
        echo "clippy $name: ${build/cargo build/cargo clippy}"
        eval "${build/cargo build/cargo clippy -q} -- -D warnings"
    done <<<"$cores"
    # The real-board and micromath variants of the Cortex-M4F image build too.
    export CARGO_TARGET_DIR="$root/firmware/target/variants"
    cargo clippy -q --release --no-default-features --features board,libm -- -D warnings
    cargo build -q --release --no-default-features --features qemu,micromath
    # The Cortex-M0's soft-float check image (the test builds and runs it).
    RUSTFLAGS='-C target-cpu=cortex-m0 -C llvm-args=-inline-threshold=10' cargo clippy -q --release --target thumbv6m-none-eabi \
        --features softfloat-check -- -D warnings
)

echo "== firmware tests under QEMU, every core (each image is built by the test, then its table)"
# `--workspace`: the features the README's test command resolves, so its build is reused.
timeout 1200 cargo test --workspace --test firmware -- --nocapture
