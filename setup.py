"""The `mooncake-transfer-engine` wheel: `pip wheel .` (offline: Debian's setuptools and wheel,
no download) builds the project with CMake and packs the `mooncake` package with its extension
module and the C++ binaries, which become console scripts (mooncake_master, mooncake_client,
mooncake_http_metadata_server, transfer_engine_bench, store_bench, mooncake_doctor).

Environment: MOONCAKE_BUILD_DIR, an existing CMake build to take the artifacts from (it is
brought up to date first); unset, the build goes to build-wheel/ (Release). Everything in the
wheel is stripped of debug info; it needs only Debian's shared libraries, each recorded with its
package in mooncake/_debian_packages.json so that a missing one is named at import.
"""
import json
import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))
BINARIES = ["mooncake_master", "mooncake_client", "mooncake_http_metadata_server",
            "transfer_engine_bench", "store_bench", "mooncake_doctor"]
SCRIPTS = {
    "mooncake_master": "mooncake.cli:main",
    "mooncake_client": "mooncake.mooncake_client:main",
    "mooncake_http_metadata_server": "mooncake.http_metadata_server:main",
    "transfer_engine_bench": "mooncake.cli_bench:main",
    "store_bench": "mooncake.cli_bench:store_bench",
    "mooncake_doctor": "mooncake.doctor:main",
}


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        match = re.search(r"project\([^)]*VERSION\s+([0-9.]+)", f.read())
    if not match:
        sys.exit("setup.py: no project(... VERSION x.y.z) in CMakeLists.txt")
    return match.group(1)


def log(message):
    print(f"mooncake wheel: {message}", file=sys.stderr, flush=True)


def cmake_build():
    """Configures (when needed) and builds what the wheel carries; returns the build dir."""
    given = os.environ.get("MOONCAKE_BUILD_DIR")
    build_dir = os.path.abspath(given or os.path.join(ROOT, "build-wheel"))
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        if given:
            sys.exit(f"setup.py: MOONCAKE_BUILD_DIR={given} is not a configured CMake build")
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        log(f"configuring {build_dir} (Release); scripts/setup.sh installs the Debian packages")
        # -O2 as the tested RelWithDebInfo builds (GCC 12 at -O3 warns falsely inside
        # libstdc++), and a newer compiler's new warnings do not fail a user's build.
        subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, *generator,
                               "-DCMAKE_BUILD_TYPE=Release",
                               "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG",
                               "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG", "-DMC_WERROR=OFF",
                               "-DMC_WITH_PYTHON=ON"])
    log(f"building in {build_dir} (a few minutes from scratch)")
    subprocess.check_call(["cmake", "--build", build_dir, "--target", "_mooncake",
                           "mooncake_python_binaries"])
    return build_dir


def copy_stripped(source, target, build_dir):
    source = os.path.realpath(source)
    strip = shutil.which("strip")
    if strip:
        subprocess.check_call([strip, "--strip-debug", "-o", target, source])
    else:
        shutil.copyfile(source, target)
    os.chmod(target, 0o755)
    # Nothing may point back into the source or build tree (MOONCAKE_BUILD_DIR may be elsewhere).
    dynamic = subprocess.run(["readelf", "-d", target], capture_output=True, text=True).stdout
    for line in dynamic.splitlines():
        if "RPATH" in line or "RUNPATH" in line:
            if ROOT in line or build_dir in line:
                sys.exit(f"setup.py: {target} has a run path into the build tree: {line.strip()}")


def debian_packages(files):
    """{soname: Debian package} for every shared library the files load."""
    packages = {}
    for path in files:
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for match in re.finditer(r"^\s*(\S+\.so[.\d]*) => (/\S+)", ldd, re.M):
            soname, resolved = match.groups()
            if soname in packages:
                continue
            owner = subprocess.run(["dpkg", "-S", resolved], capture_output=True, text=True)
            if owner.returncode != 0:
                real = os.path.realpath(resolved)
                owner = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
            if owner.returncode == 0:
                packages[soname] = owner.stdout.split(":")[0].strip()
    return packages


class BuildWithCMake(build_py):
    def run(self):
        super().run()
        build_dir = cmake_build()
        source = os.path.join(build_dir, "python", "mooncake")
        target = os.path.join(self.build_lib, "mooncake")
        os.makedirs(os.path.join(target, "bin"), exist_ok=True)
        shutil.copyfile(os.path.join(source, "_version.py"), os.path.join(target, "_version.py"))
        carried = []
        for name in os.listdir(source):
            if name.startswith("_mooncake") and name.endswith(".so"):
                carried.append(os.path.join(target, name))
                copy_stripped(os.path.join(source, name), carried[-1], build_dir)
        if not carried:
            sys.exit(f"setup.py: no _mooncake extension in {source}")
        for binary in BINARIES:
            carried.append(os.path.join(target, "bin", binary))
            copy_stripped(os.path.join(source, "bin", binary), carried[-1], build_dir)
        packages = debian_packages(carried)
        with open(os.path.join(target, "_debian_packages.json"), "w") as f:
            json.dump(packages, f, indent=1, sort_keys=True)
        log(f"packed the extension and {len(BINARIES)} binaries; they load "
            f"{len(packages)} libraries from {len(set(packages.values()))} Debian packages")


class BinaryDistribution(Distribution):
    """The package carries a compiled extension: the wheel is tagged for this CPython and
    platform."""

    def has_ext_modules(self):
        return True


setup(
    name="mooncake-transfer-engine",
    version=project_version(),
    description="Mooncake Transfer Engine and Store (C++20 implementation), API-compatible "
                "with upstream's mooncake Python package",
    long_description=open(os.path.join(ROOT, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.8",
    packages=["mooncake"],
    package_dir={"mooncake": "python/mooncake"},
    entry_points={"console_scripts": [f"{name}={target}" for name, target in SCRIPTS.items()]},
    cmdclass={"build_py": BuildWithCMake},
    distclass=BinaryDistribution,
    zip_safe=False,
)
