#!/usr/bin/env bash
# Firmware CI: build the Cortex-M4F image, print its size, run it under QEMU against the host.
# Installs what is missing (thumbv7em target, qemu-system-arm, binutils-arm-none-eabi).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

rustup target add thumbv7em-none-eabihf >/dev/null
need=()
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v arm-none-eabi-size >/dev/null || need+=(binutils-arm-none-eabi)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${need[@]}"
fi

echo "== proto: fmt, clippy, tests"
cargo fmt -p ualign-proto --check
cargo clippy -p ualign-proto --all-targets -- -D warnings
cargo test -p ualign-proto

echo "== firmware: fmt, clippy, release build (libm, then micromath)"
(
    cd firmware
    export CARGO_TARGET_DIR="$root/firmware/target"
    cargo fmt --check
    cargo clippy --release -- -D warnings
    cargo clippy --release --no-default-features --features board,libm -- -D warnings
    cargo build --release --no-default-features --features qemu,micromath
    cp target/thumbv7em-none-eabihf/release/ualign-firmware target/ualign-firmware-micromath.elf
    cargo build --release
)
elf="$root/firmware/target/thumbv7em-none-eabihf/release/ualign-firmware"
echo "== size (flash = text + data, static RAM = data + bss; budget 64 KiB each)"
arm-none-eabi-size "$elf" "$root/firmware/target/ualign-firmware-micromath.elf"
read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -1)
if [ $((text + data)) -gt 65536 ] || [ $((data + bss)) -gt 65536 ]; then
    echo "firmware exceeds the 64 KiB flash / 64 KiB RAM budget" >&2
    exit 1
fi

echo "== firmware tests under QEMU"
UALIGN_FIRMWARE_ELF="$elf" timeout 600 cargo test -p ualign-tests --test firmware -- --nocapture
