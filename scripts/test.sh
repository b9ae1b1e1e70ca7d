#!/usr/bin/env bash
# Builds (scripts/setup.sh) and runs every test: unit, then integration (real etcd, Redis and
# engine processes on loopback ports the tests pick). Exits non-zero on any failure.
# MC_SANITIZE=address runs the unit tests under ASan/UBSan in build-asan/.
# Then the integration tests again with a cluster secret in the environment (every process
# they start authenticates; docs/SECURITY.md); MC_TEST_AUTH=0 skips that pass.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${MC_SANITIZE:-}" ]; then export MC_BUILD_DIR="${MC_BUILD_DIR:-build-$MC_SANITIZE}"; fi
MC_TEST_PACKAGES=1 bash scripts/setup.sh
bash scripts/check_format.sh
BUILD_DIR="${MC_BUILD_DIR:-build}"
LABELS="${MC_TEST_LABELS:-unit|integration}"
[ -n "${MC_SANITIZE:-}" ] && LABELS="${MC_TEST_LABELS:-unit}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-suppressions=$PWD/tests/tsan.supp halt_on_error=1}"
cd "$BUILD_DIR"
# Tests keep their servers' data (etcd preallocates ~120 MB per data dir) under one directory of
# this run, emptied before the run and removed after a passing one, so no run can fill /tmp.
export TMPDIR="$PWD/test-tmp"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
ctest -L "$LABELS" --output-on-failure --timeout 600 -j2
if [ "${MC_TEST_AUTH:-1}" != 0 ] && [ -z "${MC_SANITIZE:-}" ] && [ -z "${MC_AUTH_SECRET:-}" ]; then
  echo "test: integration tests again with authentication on (MC_AUTH_SECRET)" >&2
  rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
  MC_AUTH_SECRET="test-run-secret-$RANDOM$RANDOM$RANDOM" \
    ctest -L integration --output-on-failure --timeout 600 -j2
fi
rm -rf "$TMPDIR"
