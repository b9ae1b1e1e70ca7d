"""BufferPool / RegisteredBufferPool and MooncakeHostMemAllocator over a real store: leased
buffers are registered memory that put_from / get_into use directly."""
import ctypes
import os
import threading

import pytest

from mooncake.store import (BufferPool, MooncakeHostMemAllocator, RegisteredBufferPool,
                            ReplicateConfig)


def test_leases_are_registered_memory_for_zero_copy_calls(store):
    assert RegisteredBufferPool is BufferPool
    with BufferPool(store, max_bytes=32 << 20, alignment=4 << 20) as pool:
        data = os.urandom(100_000)
        with pool.acquire(len(data)) as src, pool.acquire(len(data)) as dst:
            assert src.size == len(data) and len(src.buffer) == len(data)
            src.buffer[:] = data
            assert store.put_from("pool/a", src.ptr, len(data), ReplicateConfig()) == 0
            assert store.get_into("pool/a", dst.ptr, dst.size) == len(data)
            assert bytes(dst.buffer) == data
            assert src.ptr != dst.ptr
        # Released blocks are reused.
        first = pool.acquire(70_000)
        ptr = first.ptr
        first.release()
        first.release()  # twice is harmless
        again = pool.acquire(100_000)  # the same size class (128 KiB)
        assert again.ptr == ptr
        again.release()


def test_exhaustion_blocking_and_errors(store):
    pool = BufferPool(store, max_bytes=1 << 20, min_size_class=1 << 18, alignment=1 << 20,
                      block_on_exhaustion=False)
    leases = [pool.acquire(1 << 18) for _ in range(4)]
    with pytest.raises(RuntimeError, match="exhausted"):
        pool.acquire(1)
    with pytest.raises(RuntimeError, match="exceeds pool capacity"):
        pool.acquire(2 << 20)
    with pytest.raises(RuntimeError, match="timed out"):
        pool.acquire(1, block=True, timeout=0.1)
    # A blocked acquire wakes when a lease is released.
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(1, block=True, timeout=10)))
    waiter.start()
    leases.pop().release()
    waiter.join(timeout=20)
    assert got and got[0].size == 1
    with pytest.raises(RuntimeError, match="active leases"):
        pool.close()
    for lease in leases + got:
        lease.release()
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.acquire(1)


def test_host_memory_allocator(store):
    allocator = MooncakeHostMemAllocator()
    size = 4 << 20
    ptr = allocator.alloc(size)
    assert ptr != 0 and ptr % 4096 == 0
    ctypes.memset(ptr, 0x5A, size)  # real, writable memory
    assert store.register_buffer(ptr, size) == 0
    assert store.put_from("host/a", ptr, size, ReplicateConfig()) == 0
    assert store.get("host/a") == b"\x5a" * size
    assert store.unregister_buffer(ptr) == 0
    assert allocator.free(ptr) == 0
    assert allocator.free(ptr) == -1
    assert allocator.alloc(0) == 0
