"""Mooncake Store client: `MooncakeDistributedStore`, `ReplicateConfig`, `SoftPinAction`, the
replica descriptor classes `get_replica_desc` returns, and the buffer helpers integrations
import from here (`BufferPool` / `RegisteredBufferPool`, `MooncakeHostMemAllocator`)."""
from mooncake._native import load as _load_native

_load_native()  # a missing shared library: an ImportError that names its Debian package
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
from mooncake.buffer_pool import BufferLease, BufferPool, RegisteredBufferPool  # noqa: F401
from mooncake.host_memory import MooncakeHostMemAllocator  # noqa: F401
from mooncake import tensor as _tensor

_tensor.install(MooncakeDistributedStore)  # put_tensor, get_tensor, ... (torch imported lazily)

RegisteredBufferLease = BufferLease

__all__ = ["BufferHandle", "BufferLease", "BufferPool", "Descriptor", "DiskDescriptor",
           "MemoryDescriptor", "MooncakeDistributedStore", "MooncakeHostMemAllocator",
           "RegisteredBufferLease", "RegisteredBufferPool", "ReplicaDescriptor", "ReplicaStatus",
           "ReplicateConfig", "SoftPinAction"]
