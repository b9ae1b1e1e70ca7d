#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses it from outside the tree (nothing from the
# source tree on any include path): the C programs for both libraries' C APIs built with
# pkg-config, then the same programs and a C++ program built by a CMake project of its own with
# find_package(Mooncake). Each runs (the store programs against a real mooncake_master).
# Checks too that the libraries export only their public API.
# Usage: install_tree_test.sh BUILD_DIR
set -euo pipefail
build="$1"
tests="$(cd "$(dirname "$0")" && pwd)"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
with_master=(bash "$tests/with_master.sh" "$build/tools/mooncake_master")
start=$(date +%s)
cmake --install "$build" --prefix "$prefix" >/dev/null
pc="$(dirname "$(find "$prefix" -name mooncake-store.pc | head -1)")"
[ -n "$pc" ] || { echo "install_tree_test: no mooncake-store.pc under $prefix" >&2; exit 1; }
[ -f "$prefix/include/mooncake/version.h" ] || { echo "install_tree_test: no version.h" >&2; exit 1; }

build_c() {  # build_c PACKAGE SOURCE OUTPUT
  local flags libdir
  flags="$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs "$1")"
  libdir="$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir "$1")"
  # shellcheck disable=SC2086
  cc -std=c11 -Wall -Werror "$2" $flags -Wl,-rpath,"$libdir" -o "$3"
}
build_c mooncake-transfer-engine "$tests/transfer_engine_c_test.c" "$prefix/te_c_program"
build_c mooncake-store "$tests/store_c_test.c" "$prefix/store_c_program"
libdir="$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir mooncake-store)"
echo "install_tree_test: built against $prefix ($(cd "$libdir" && ls libmooncake_*.so.*.*.* | tr '\n' ' '))"

# Only the C APIs and the public C++ APIs are exported.
for lib in transfer_engine store; do
  so="$libdir/libmooncake_$lib.so"
  exported="$(nm -D --defined-only "$so" | grep -c ' T ' || true)"
  # Names only (argument lists may mention internal types): no internal namespace, no Impl.
  internal="$(nm -DC --defined-only "$so" | sed 's/(.*//' |
    grep -cE 'mooncake::(te|net|auth|config|python_api|testing)::|::Impl::|::State::|store::(MasterService|SegmentAllocator|DiskStore|DiskTier|FastRpc)' || true)"
  echo "install_tree_test: libmooncake_$lib.so exports $exported functions, $internal of them internal"
  [ "$internal" -eq 0 ] || { echo "install_tree_test: internal symbols are exported" >&2; exit 1; }
  # Nothing but Debian's libraries is needed at run time.
  if ldd "$so" | grep -q "not found"; then ldd "$so" >&2; exit 1; fi
done
"$prefix/te_c_program"
"${with_master[@]}" "$prefix/store_c_program"

# The same programs, and the C++ one, through find_package(Mooncake) in a project of its own.
consumer="$prefix/consumer"
cmake -S "$tests/find_package" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" -DTESTS="$tests" \
  >"$prefix/consumer.log" 2>&1 || { cat "$prefix/consumer.log" >&2; exit 1; }
cmake --build "$consumer" >>"$prefix/consumer.log" 2>&1 || { cat "$prefix/consumer.log" >&2; exit 1; }
echo "install_tree_test: find_package(Mooncake) project built"
"$consumer/te_c_program"
"${with_master[@]}" "$consumer/store_c_program"
"${with_master[@]}" "$consumer/cpp_program"
echo "install_tree_test: passed in $(( $(date +%s) - start )) s"
