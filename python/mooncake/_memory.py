"""Page-aligned anonymous memory outside Python's allocator (libc mmap through ctypes), for
buffers whose addresses are handed to the store and must not move."""
import ctypes
import ctypes.util
import mmap

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value


def map_anonymous(size):
    """Address of `size` zeroed, page-aligned bytes, or 0 when the kernel refuses."""
    if size <= 0:
        return 0
    address = _libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                         mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    return 0 if address in (None, _MAP_FAILED) else address


def unmap(address, size):
    return _libc.munmap(address, size) == 0


def view(address, size):
    """A writable memoryview of raw memory (valid while the memory stays mapped)."""
    return memoryview((ctypes.c_char * size).from_address(address)).cast("B")
