#!/usr/bin/env bash
# Fails when a tracked C++ file differs from .clang-format (Google base). Fix with:
#   git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check_format: clang-format missing (scripts/setup.sh installs it)" >&2; exit 1; }
if ! git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror 2>/tmp/mooncake-format.log; then
  grep "error:" /tmp/mooncake-format.log | cut -d: -f1 | sort -u | sed 's/^/check_format: not formatted: /' >&2
  echo "check_format: run: git ls-files '*.cc' '*.h' | xargs clang-format -i" >&2
  exit 1
fi
echo "check_format: all C++ files match .clang-format"
