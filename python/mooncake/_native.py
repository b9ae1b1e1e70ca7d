"""Loads the `_mooncake` extension. When the dynamic loader cannot find a shared library the
extension needs, the ImportError names the Debian package that ships it (the wheel records each
library's package when it is built, in _debian_packages.json)."""
import importlib
import json
import os
import re

_HERE = os.path.dirname(os.path.abspath(__file__))
_MISSING = re.compile(r"(lib[^\s:/]+\.so[.\d]*): cannot open shared object file")


def debian_packages():
    """{library soname: Debian package} recorded at wheel build time ({} in a build tree)."""
    try:
        with open(os.path.join(_HERE, "_debian_packages.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def explain(message):
    """The loader's message, with the Debian package to install when a library is missing."""
    match = _MISSING.search(message)
    if not match:
        return message
    library = match.group(1)
    package = debian_packages().get(library)
    if package:
        return (f"{message}\nmooncake: {library} is missing; install the Debian package that "
                f"ships it: apt-get install {package}")
    return (f"{message}\nmooncake: {library} is missing; install the package that ships it "
            f"(on Debian: apt-file search {library})")


def load():
    try:
        return importlib.import_module("mooncake._mooncake")
    except ImportError as e:
        explained = explain(str(e))
        if explained == str(e):
            raise
        raise ImportError(explained, name=e.name, path=e.path) from e
