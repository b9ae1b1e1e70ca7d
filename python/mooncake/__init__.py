"""Mooncake Transfer Engine and Store (C++20 implementation), API-compatible with upstream's
`mooncake.engine` and `mooncake.store` modules."""
from mooncake._version import __version__  # noqa: F401
