"""`MooncakeHostMemAllocator`: host memory for a serving engine's KV pool (SGLang wraps its
addresses into CPU tensors and registers them with the store). Page-aligned anonymous memory;
`alloc` returns an address (0 on failure), `free` returns 0 or -1."""
import threading

from mooncake import _memory


class MooncakeHostMemAllocator:
    def __init__(self):
        self._lock = threading.Lock()
        self._sizes = {}

    def alloc(self, size):
        address = _memory.map_anonymous(int(size))
        if address:
            with self._lock:
                self._sizes[address] = int(size)
        return address

    def free(self, ptr):
        with self._lock:
            size = self._sizes.pop(ptr, None)
        if size is None:
            return -1
        return 0 if _memory.unmap(ptr, size) else -1
