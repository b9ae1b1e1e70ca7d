"""Mooncake Store client: `MooncakeDistributedStore`, `ReplicateConfig`, `SoftPinAction`, and
the replica descriptor classes `get_replica_desc` returns."""
from mooncake._mooncake import (  # noqa: F401
    BufferHandle,
    Descriptor,
    DiskDescriptor,
    MemoryDescriptor,
    MooncakeDistributedStore,
    ReplicaDescriptor,
    ReplicaStatus,
    ReplicateConfig,
    SoftPinAction,
)

__all__ = ["BufferHandle", "Descriptor", "DiskDescriptor", "MemoryDescriptor",
           "MooncakeDistributedStore", "ReplicaDescriptor", "ReplicaStatus", "ReplicateConfig",
           "SoftPinAction"]
