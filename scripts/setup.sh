#!/usr/bin/env bash
# Installs the Debian packages the project needs (only those missing), then configures and
# builds into build/ (or $MC_BUILD_DIR). Idempotent and quiet when nothing is missing.
# Environment: MC_BUILD_DIR (default build), MC_BUILD_TYPE (RelWithDebInfo), MC_SANITIZE
# (''|address|thread), MC_SKIP_INSTALL=1 to skip the package step, MC_TEST_PACKAGES=1 to add what
# only the tests use (python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "setup: $*" >&2; }
fail() { echo "setup: FAILED: $*" >&2; exit 1; }

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libgtest-dev libgmock-dev libbenchmark-dev
  libgoogle-glog-dev libgflags-dev nlohmann-json3-dev
  libcurl4-openssl-dev libhiredis-dev libssl-dev liburing-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  etcd-server etcd-client redis-server iperf3 procps curl openssl iproute2
  pybind11-dev python3-dev python3-pytest python3-numpy
  python3-setuptools python3-wheel python3-pip python3-venv
)
# What only the tests need (scripts/test.sh sets MC_TEST_PACKAGES=1): PyTorch for the tensor API,
# fio for the disk-tier benchmark baseline, redis-py (with hiredis) for the Python Redis baseline.
if [ "${MC_TEST_PACKAGES:-0}" = 1 ]; then
  PACKAGES+=(python3-torch fio python3-redis python3-hiredis)
fi

if [ "${MC_SKIP_INSTALL:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null || fail "apt-get update"
    # Services must not start at install time; tests start their own on free ports.
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/mooncake-apt.log 2>&1 \
      || { tail -20 /tmp/mooncake-apt.log >&2; fail "apt-get install ${missing[*]}"; }
  fi
fi

BUILD_DIR="${MC_BUILD_DIR:-build}"
BUILD_TYPE="${MC_BUILD_TYPE:-RelWithDebInfo}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.ccache}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  step "configuring $BUILD_DIR ($BUILD_TYPE${MC_SANITIZE:+, sanitize=$MC_SANITIZE})"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DMC_SANITIZE="${MC_SANITIZE:-}" -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    >"$BUILD_DIR.configure.log" 2>&1 || { tail -30 "$BUILD_DIR.configure.log" >&2; fail "cmake configure"; }
fi
# A full disk makes the compiler fail without a word (its messages cannot be written either).
free_mb=$(df -Pm . | awk 'NR==2 {print $4}')
if [ "${free_mb:-0}" -lt 2048 ]; then
  step "WARNING: only ${free_mb} MB free on $(df -P . | awk 'NR==2 {print $6}'); a build needs ~1 GB and the tests ~1 GB"
fi
step "building $BUILD_DIR"
ninja -C "$BUILD_DIR" >"$BUILD_DIR.build.log" 2>&1 || {
  grep -E "error|FAILED" -A3 "$BUILD_DIR.build.log" | head -60 >&2
  df -Pm . | awk 'NR==2 {print "setup: " $4 " MB free on " $6}' >&2
  fail "build (full log: $BUILD_DIR.build.log)"
}
step "build ready in $BUILD_DIR"
