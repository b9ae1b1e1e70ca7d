"""Mooncake Store client: `MooncakeDistributedStore`, `ReplicateConfig`, `SoftPinAction`."""
from mooncake._mooncake import (  # noqa: F401
    BufferHandle,
    MooncakeDistributedStore,
    ReplicateConfig,
    SoftPinAction,
)

__all__ = ["BufferHandle", "MooncakeDistributedStore", "ReplicateConfig", "SoftPinAction"]
