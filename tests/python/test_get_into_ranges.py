"""Upstream's buffer-major get_into_ranges: fragments of several objects into several
registered buffers, each fragment failing on its own."""
import ctypes
import os

INVALID_PARAMS = -600
OBJECT_NOT_FOUND = -704


def registered(store, size):
    buf = ctypes.create_string_buffer(size)
    assert store.register_buffer(ctypes.addressof(buf), size) == 0
    return buf, ctypes.addressof(buf)


def test_fragments_of_many_objects_into_many_buffers(store):
    a, b = os.urandom(100_000), os.urandom(3_000)
    assert store.put("gr/a", a) == 0
    assert store.put("gr/b", b) == 0
    buf0, ptr0 = registered(store, 64 << 10)
    buf1, ptr1 = registered(store, 8 << 10)
    result = store.get_into_ranges(
        [ptr0, ptr1],
        [["gr/a", "gr/b"], ["gr/a"]],
        [[[0, 4096], [8192]], [[100]]],          # destination offsets in each buffer
        [[[50_000, 0], [1000]], [[99_000]]],     # source offsets in each object
        [[[4096, 100], [2000]], [[1000]]])       # sizes
    assert result == [[[4096, 100], [2000]], [[1000]]]
    assert ctypes.string_at(ptr0, 4096) == a[50_000:54_096]
    assert ctypes.string_at(ptr0 + 4096, 100) == a[:100]
    assert ctypes.string_at(ptr0 + 8192, 2000) == b[1000:3000]
    assert ctypes.string_at(ptr1 + 100, 1000) == a[99_000:]


def test_each_fragment_fails_on_its_own(store):
    value = os.urandom(10_000)
    assert store.put("gr/c", value) == 0
    buf, ptr = registered(store, 16 << 10)
    loose = ctypes.create_string_buffer(4096)  # never registered
    result = store.get_into_ranges(
        [ptr, ctypes.addressof(loose)],
        [["gr/c", "gr/absent", "gr/c"], ["gr/c"]],
        [[[0, 16 << 10, 1000], [0], [0, 1]], [[0]]],
        [[[9_000, 0, 9_990], [0], [0]], [[0]]],
        [[[1000, 1, 20], [10], [10, 10]], [[10]]])
    # gr/c: in range / past the buffer's end / past the object's end.
    assert result[0][0] == [1000, INVALID_PARAMS, INVALID_PARAMS]
    assert result[0][1] == [OBJECT_NOT_FOUND]
    assert result[0][2] == [INVALID_PARAMS, INVALID_PARAMS]  # its lists differ in length
    assert result[1] == [[INVALID_PARAMS]]  # an unregistered buffer
    assert ctypes.string_at(ptr, 1000) == value[9_000:]
    # Outer lists that differ: everything INVALID_PARAMS, shaped like the request.
    assert store.get_into_ranges([ptr], [["gr/c"]], [[[0]]], [], [[[10]]]) == \
        [[[INVALID_PARAMS]]]
    assert store.get_into_ranges([], [], [], [], []) == []
