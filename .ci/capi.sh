#!/usr/bin/env bash
# The C ABI check (issue 7): builds libualign_capi.a in release, compiles examples/c/rerank.c with
# the system C compiler against it, runs it, and diffs its report against the same report computed
# through the Rust API (capi/examples/reference.rs). Both reports print every float as the hex of
# its bits, so the diff fails on any bit of difference. Also compiles and runs
# examples/c/prepared.c (the prepared-population handle, checked against the one-shot calls),
# runs the stack-budget test in release, compiles the header as C++ and links a C++ caller, to
# prove the extern "C" guards.
#
# Honours CARGO_TARGET_DIR (default: <workspace>/target), CC (default cc), CXX (default g++).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
CC="${CC:-cc}"
CXX="${CXX:-g++}"
lib="$target/release/libualign_capi.a"
syslibs=(-lm -lpthread -ldl)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== capi: cargo build --release -p ualign-capi (staticlib, cdylib, reference example)"
cargo build --release -p ualign-capi --lib --example reference
test -f "$lib" || { echo "capi: $lib was not built" >&2; exit 1; }

echo "== capi: compile examples/c/rerank.c with $CC"
"$CC" -std=c99 -Wall -Wextra -Werror -pedantic -Icapi/include \
    examples/c/rerank.c "$lib" "${syslibs[@]}" -o "$work/rerank"

echo "== capi: run the C example (it checks the docs/maths.md §7 answer and the NaN status itself)"
"$work/rerank" >"$work/c.txt"

echo "== capi: compile and run examples/c/prepared.c (a reused ualign_prepared; it checks itself"
echo "   bit for bit against the one-shot calls)"
"$CC" -std=c99 -Wall -Wextra -Werror -pedantic -Icapi/include \
    examples/c/prepared.c "$lib" "${syslibs[@]}" -o "$work/prepared"
"$work/prepared"

echo "== capi: the same report through the Rust API"
"$target/release/examples/reference" >"$work/rust.txt"

echo "== capi: compare bit for bit"
if ! diff -u "$work/rust.txt" "$work/c.txt"; then
    echo "capi: the C ABI and the Rust API disagree (diff above: - Rust, + C)" >&2
    exit 1
fi
cat "$work/c.txt"

echo "== capi: the promised stack budget (UALIGN_STACK_BUDGET) holds for the release build"
cargo test --release -p ualign-capi --test stack

echo "== capi: the header as C++ ($CXX)"
"$CXX" -fsyntax-only -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic capi/include/ualign.h
cat >"$work/link.cpp" <<'CPP'
#include "ualign.h"
#include <cstdio>
int main() {
    const float pi[2] = {0.5f, 0.5f};
    uint16_t picks[4];
    size_t distinct = 0;
    int st = ualign_picks(pi, 2, 4, 7, picks, 4, &distinct);
    std::printf("C++ caller: %s, %zu distinct\n", ualign_status_str(st), distinct);
    const float scores[2] = {1.0f, 2.0f}, weights[1] = {1.0f};
    ualign_prepared *pop = nullptr;
    int made = ualign_prepared_new(&pop, 2, 1, scores, weights);
    ualign_certificate cert;
    int certified = ualign_certify_prepared(pop, pi, 2, 4, &cert);
    ualign_prepared_free(pop);
    std::printf("C++ caller, prepared: %s, %s\n", ualign_status_str(made),
                ualign_status_str(certified));
    return st == UALIGN_OK && made == UALIGN_OK && certified == UALIGN_OK ? 0 : 1;
}
CPP
"$CXX" -std=c++11 -Wall -Wextra -Werror -Icapi/include "$work/link.cpp" "$lib" "${syslibs[@]}" \
    -o "$work/link_cpp"
"$work/link_cpp"

echo "== capi: the README's CMake recipe (examples/c/CMakeLists.txt)"
if ! command -v cmake >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq cmake
fi
cmake -S examples/c -B "$work/cmake" -DUALIGN_DIR="$(pwd)" -DUALIGN_LIB="$lib" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/rerank" >/dev/null
"$work/cmake/prepared" >/dev/null

echo "== capi: OK"
