#!/usr/bin/env bash
# Installs the build into a temporary prefix, builds a C program out of the tree against it with
# pkg-config (nothing from the source tree on its include path), and runs it.
# Usage: install_tree_test.sh BUILD_DIR PROGRAM.c
set -euo pipefail
build="$1"
program="$2"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc="$(dirname "$(find "$prefix" -name mooncake-transfer-engine.pc | head -1)")"
[ -n "$pc" ] || { echo "install_tree_test: no mooncake-transfer-engine.pc under $prefix" >&2; exit 1; }
flags="$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs mooncake-transfer-engine)"
libdir="$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir mooncake-transfer-engine)"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror "$program" $flags -Wl,-rpath,"$libdir" -o "$prefix/te_c_program"
echo "install_tree_test: built against $prefix ($(basename "$(readlink -f "$libdir/libmooncake_transfer_engine.so")"))"
# Only the C API and the public C++ API are exported.
exported="$(nm -D --defined-only "$libdir/libmooncake_transfer_engine.so" | grep -c ' T ' || true)"
internal="$(nm -DC --defined-only "$libdir/libmooncake_transfer_engine.so" | grep -c 'mooncake::te::' || true)"
echo "install_tree_test: $exported functions exported, $internal of them internal"
[ "$internal" -eq 0 ] || { echo "install_tree_test: internal symbols are exported" >&2; exit 1; }
"$prefix/te_c_program"

# The same program through find_package(Mooncake) in a CMake project of its own.
consumer="$prefix/consumer"
cmake -S "$(dirname "$0")/find_package" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DPROGRAM="$program" >"$prefix/consumer.log" 2>&1 || { cat "$prefix/consumer.log" >&2; exit 1; }
cmake --build "$consumer" >>"$prefix/consumer.log" 2>&1 || { cat "$prefix/consumer.log" >&2; exit 1; }
echo "install_tree_test: find_package(Mooncake) project built"
"$consumer/te_c_program"
