"""Mooncake Transfer Engine: `TransferEngine` (and `TransferOpcode`)."""
from mooncake._mooncake import TransferEngine, TransferOpcode  # noqa: F401

__all__ = ["TransferEngine", "TransferOpcode"]
