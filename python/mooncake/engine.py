"""Mooncake Transfer Engine: `TransferEngine`, `TransferOpcode` (also as
`TransferEngine.TransferOpcode`, and `Read` / `Write`) and `TransferNotify`."""
from mooncake._native import load as _load_native

_load_native()  # a missing shared library: an ImportError that names its Debian package
from mooncake._mooncake import (  # noqa: F401
    Read,
    TransferEngine,
    TransferNotify,
    TransferOpcode,
    Write,
)

__all__ = ["Read", "TransferEngine", "TransferNotify", "TransferOpcode", "Write"]
