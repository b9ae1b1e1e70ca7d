"""`BufferPool` (also `RegisteredBufferPool`): reusable buffers in memory registered with a
store, for zero-copy put_from / get_into without registering per call. Arguments, leases and
error messages as upstream's pool; memory comes in regions of `alignment` bytes (at least),
each registered once with `store.register_buffer`, cut into power-of-two size classes.

Thread-safe. `acquire` blocks while the pool is exhausted (unless block=False), up to
`timeout` seconds (None: forever)."""
import threading
import time

from mooncake import _memory

DEFAULT_MAX_BYTES = 256 << 20  # max_bytes=0


def _size_class(size, smallest):
    size_class = smallest
    while size_class < size:
        size_class <<= 1
    return size_class


class BufferLease:
    """A buffer held from a pool until `release()` (or the end of a `with` block)."""

    def __init__(self, pool, ptr, size, size_class):
        self._pool = pool
        self.ptr = ptr
        self.size = size
        self._size_class = size_class
        self.buffer = _memory.view(ptr, size)
        self._released = False

    def release(self):
        if self._released:
            return
        self.buffer.release()  # raises BufferError while an exported view is alive
        self._released = True
        self._pool._give_back(self.ptr, self._size_class)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


class BufferPool:
    def __init__(self, store, max_bytes=0, min_size_class=65536, max_size_class=None,
                 alignment=8 << 20, block_on_exhaustion=True, default_timeout=None,
                 max_regions=None, prewarm_size=None, prewarm_count=0):
        if store is None or not hasattr(store, "register_buffer"):
            raise RuntimeError("BufferPool needs a set-up MooncakeDistributedStore")
        if min_size_class <= 0 or min_size_class & (min_size_class - 1):
            raise ValueError("min_size_class must be a power of two")
        self._store = store
        self._max_bytes = int(max_bytes) or DEFAULT_MAX_BYTES
        self._min_class = int(min_size_class)
        self._max_class = int(max_size_class) if max_size_class else self._max_bytes
        self._alignment = max(int(alignment), 4096)
        self._block = block_on_exhaustion
        self._timeout = default_timeout
        self._max_regions = max_regions
        self._cond = threading.Condition()
        self._regions = []  # (address, size)
        self._bump = None  # (address, remaining) of the newest region
        self._free = {}  # size class -> [addresses]
        self._leased = 0
        self._reserved = 0
        self._closed = False
        if prewarm_size and prewarm_count:
            self.prewarm(prewarm_size, prewarm_count)

    # Requires self._cond. An address for a block of `size_class`, or None when out of room.
    def _take(self, size_class):
        free = self._free.get(size_class)
        if free:
            return free.pop()
        if self._bump is None or self._bump[1] < size_class:
            if self._reserved + size_class > self._max_bytes:
                return None
            if self._max_regions is not None and len(self._regions) >= self._max_regions:
                return None
            region = max(self._alignment, size_class)
            region = min(region, self._max_bytes - self._reserved)
            region = max(region, size_class)
            address = _memory.map_anonymous(region)
            if not address:
                raise RuntimeError(f"buffer pool: cannot map {region} bytes")
            rc = self._store.register_buffer(address, region)
            if rc != 0:
                _memory.unmap(address, region)
                raise RuntimeError(f"buffer pool: register_buffer failed ({rc})")
            self._regions.append((address, region))
            self._reserved += region
            self._bump = (address, region)
        address, remaining = self._bump
        self._bump = (address + size_class, remaining - size_class)
        return address

    def acquire(self, size, block=None, timeout=None):
        size = int(size)
        if size <= 0:
            raise ValueError("size must be positive")
        size_class = _size_class(size, self._min_class)
        if size_class > self._max_class or size_class > self._max_bytes:
            raise RuntimeError("requested buffer size exceeds pool capacity")
        block = self._block if block is None else block
        timeout = self._timeout if timeout is None else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("buffer pool is closed")
                address = self._take(size_class)
                if address is not None:
                    self._leased += 1
                    return BufferLease(self, address, size, size_class)
                if not block:
                    raise RuntimeError("buffer pool is exhausted")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise RuntimeError("timed out waiting for buffer")
                self._cond.wait(remaining)

    buffer = acquire

    def _give_back(self, address, size_class):
        with self._cond:
            self._free.setdefault(size_class, []).append(address)
            self._leased -= 1
            self._cond.notify_all()

    def prewarm(self, size, count):
        leases = [self.acquire(size, block=False) for _ in range(int(count))]
        for lease in leases:
            lease.release()

    def close(self):
        with self._cond:
            if self._closed:
                return
            if self._leased:
                raise RuntimeError(f"buffer pool has {self._leased} active leases; release them "
                                   "before close()")
            self._closed = True
            regions, self._regions = self._regions, []
            self._free.clear()
            self._bump = None
            self._cond.notify_all()
        for address, size in regions:
            self._store.unregister_buffer(address)
            _memory.unmap(address, size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


RegisteredBufferPool = BufferPool
