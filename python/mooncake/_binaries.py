"""Finds the C++ binaries the package ships (mooncake/bin/ beside this file), falling back to
PATH, so `python3 -m mooncake.<tool>` works without a PATH change."""
import os
import shutil
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def find_binary(name):
    packaged = os.path.join(_HERE, "bin", name)
    if os.access(packaged, os.X_OK):
        return packaged
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"{name}: not found in {os.path.join(_HERE, 'bin')} nor on PATH "
        "(build the project, or install the package that ships it)")


def exec_binary(name, args):
    """Replaces this process with the binary (signals and exit codes pass straight through)."""
    try:
        path = find_binary(name)
    except FileNotFoundError as e:
        print(f"mooncake: {e}", file=sys.stderr)
        return 127
    os.execv(path, [path, *args])
    return 0  # not reached


def translate_double_dash(args, flags):
    """Upstream's Python launchers take "--port 8080"; gflags wants "--port=8080". Rewrites
    "--name value" pairs for the given flag names and leaves everything else as it is."""
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg[2:].replace("-", "_") if arg.startswith("--") and "=" not in arg else None
        if name in flags and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append(f"--{name}={args[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out
