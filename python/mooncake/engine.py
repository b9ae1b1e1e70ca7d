"""Mooncake Transfer Engine: `TransferEngine`, `TransferOpcode` (also as
`TransferEngine.TransferOpcode`, and `Read` / `Write`) and `TransferNotify`."""
from mooncake._mooncake import (  # noqa: F401
    Read,
    TransferEngine,
    TransferNotify,
    TransferOpcode,
    Write,
)

__all__ = ["Read", "TransferEngine", "TransferNotify", "TransferOpcode", "Write"]
