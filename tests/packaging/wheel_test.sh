#!/usr/bin/env bash
# The wheel as a user gets it: `pip wheel .` offline from this build's artifacts, installed into
# a fresh venv (--system-site-packages only for numpy/pytest/torch), then checked from outside
# the source tree: the console scripts on PATH report the project's version, the package imports
# from the venv (never build/python), nothing it carries needs a library that is missing or
# points into the build tree, a missing library is named with its Debian package, and the store
# and engine Python tests pass against the installed package.
# Usage: wheel_test.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
version="$(sed -n 's/^project([^)]*VERSION \([0-9.]*\)).*/\1/p' "$source_dir/CMakeLists.txt")"
say() { echo "wheel_test: $*"; }

(cd "$source_dir" && MOONCAKE_BUILD_DIR="$build" PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  /usr/bin/python3 -m pip wheel . --no-deps --no-build-isolation -w "$work/dist" -q) \
  >"$work/wheel.log" 2>&1 || { cat "$work/wheel.log" >&2; exit 1; }
wheel="$(ls "$work"/dist/*.whl)"
say "built $(basename "$wheel") ($(( $(stat -c %s "$wheel") / 1024 / 1024 )) MiB) in $(( $(date +%s) - start )) s"
case "$(basename "$wheel")" in
  mooncake_transfer_engine-"$version"-cp3*-linux_*.whl) ;;
  *) echo "wheel_test: unexpected wheel name (version $version)" >&2; exit 1 ;;
esac

/usr/bin/python3 -m venv --system-site-packages "$work/venv"
venv="$work/venv"
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install -q --no-deps "$wheel"
cd "$work"  # nothing from the source tree on sys.path

for script in mooncake_master mooncake_client mooncake_http_metadata_server \
    transfer_engine_bench store_bench mooncake_doctor; do
  [ -x "$venv/bin/$script" ] || { echo "wheel_test: no console script $script" >&2; exit 1; }
  out="$(PATH="$venv/bin:$PATH" "$script" --version)"
  case "$out" in
    *"$version"*) ;;
    *) echo "wheel_test: $script --version says '$out', not $version" >&2; exit 1 ;;
  esac
done
say "6 console scripts on PATH report $version"

"$venv/bin/python" - "$venv" "$version" "$build" <<'PY'
import os, subprocess, sys
venv, version, build = sys.argv[1:]
import mooncake, mooncake.store, mooncake.engine
from mooncake import _native
assert mooncake.__file__.startswith(venv), mooncake.__file__
assert mooncake.__version__ == version, mooncake.__version__
package = os.path.dirname(mooncake.__file__)
elves = [os.path.join(package, "bin", b) for b in os.listdir(os.path.join(package, "bin"))]
elves += [os.path.join(package, f) for f in os.listdir(package) if f.endswith(".so")]
for path in elves:
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    assert "not found" not in ldd, f"{path}: {ldd}"
    assert build not in ldd, f"{path} loads from the build tree: {ldd}"
    dynamic = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    assert build not in dynamic, f"{path} has a run path into the build tree"
packages = _native.debian_packages()
assert packages.get("libhiredis.so.0.14", "").startswith("libhiredis"), packages
loader = "libhiredis.so.0.14: cannot open shared object file: No such file or directory"
assert "apt-get install libhiredis" in _native.explain(loader), _native.explain(loader)
print(f"wheel_test: imports from the venv ({mooncake.__version__}); {len(elves)} binaries load "
      f"only installed libraries; {len(packages)} libraries mapped to Debian packages")
PY

MC_TEST_INSTALLED=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$source_dir/tests/python/test_store.py" "$source_dir/tests/python/test_engine.py" 2>&1 | tail -3
test "${PIPESTATUS[0]}" -eq 0
say "passed in $(( $(date +%s) - start )) s"
