"""Multi-buffer batches (vLLM's and SGLang's KV layouts): one object per key over several
registered buffers, against a real master."""
import ctypes
import os
import urllib.request

from conftest import make_store

INVALID_PARAMS = -600
OBJECT_NOT_FOUND = -704
BUFFER_OVERFLOW = -10


class Region:
    """One registered block of caller memory, handed out in pieces by address."""

    def __init__(self, store, size):
        self.buf = ctypes.create_string_buffer(size)
        self.base = ctypes.addressof(self.buf)
        self.next = 0
        assert store.register_buffer(self.base, size) == 0

    def take(self, size, fill=None):
        ptr = self.base + self.next
        self.next += size
        if fill is not None:
            ctypes.memmove(ptr, fill, size)
        return ptr

    def read(self, ptr, size):
        return ctypes.string_at(ptr, size)


def layer_layout(region, layers, sizes, fill=True):
    """A key's pieces: one buffer per layer, of the given sizes (odd ones included)."""
    ptrs, data = [], []
    for layer in range(layers):
        size = sizes[layer % len(sizes)]
        chunk = os.urandom(size) if fill else None
        ptrs.append(region.take(size, chunk))
        data.append(chunk)
    return ptrs, data


def test_round_trip_over_many_buffers(store):
    region = Region(store, 24 << 20)
    keys = [f"mb/{i}" for i in range(6)]
    all_ptrs, all_sizes, expected = [], [], []
    for i, _ in enumerate(keys):
        sizes = [16 << 10, 4093, 256 << 10, 1]  # includes odd sizes
        ptrs, data = layer_layout(region, 8 + i, sizes)
        all_ptrs.append(ptrs)
        all_sizes.append([len(d) for d in data])
        expected.append(b"".join(data))
    assert store.batch_put_from_multi_buffers(keys, all_ptrs, all_sizes) == [0] * len(keys)
    # The object is the concatenation: the copying get sees it whole.
    for key, value in zip(keys, expected):
        assert store.get(key) == value
        assert store.get_size(key) == len(value)
    # Gather into other buffers of the same shapes.
    into_ptrs = [[region.take(s) for s in sizes] for sizes in all_sizes]
    result = store.batch_get_into_multi_buffers(keys, into_ptrs, all_sizes)
    assert result == [len(v) for v in expected]
    for ptrs, sizes, value in zip(into_ptrs, all_sizes, expected):
        assert b"".join(region.read(p, s) for p, s in zip(ptrs, sizes)) == value
    # A different split of the same bytes works too (two halves), as does the 4-argument form.
    value = expected[0]
    half = len(value) // 2
    a, b = region.take(half), region.take(len(value) - half)
    assert store.batch_get_into_multi_buffers([keys[0]], [[a, b]], [[half, len(value) - half]],
                                              False) == [len(value)]
    assert region.read(a, half) + region.read(b, len(value) - half) == value


def test_each_key_fails_on_its_own(store):
    region = Region(store, 4 << 20)
    good = region.take(4096, b"g" * 4096)
    assert store.batch_put_from_multi_buffers(
        ["ok/1", "bad/lengths", "ok/2"], [[good, good], [good], [good]],
        [[4096, 4096], [4096, 1], [4096]]) == [0, INVALID_PARAMS, 0]
    assert store.get("ok/1") == b"g" * 8192
    assert store.get("bad/lengths") == b""
    # Outer lists of different lengths: every key fails, nothing is written.
    assert store.batch_put_from_multi_buffers(["x/1", "x/2"], [[good]], [[4096]]) == \
        [INVALID_PARAMS, INVALID_PARAMS]
    assert store.is_exist("x/1") == 0
    # Gets: absent key, too little room, unregistered destination, mismatched inner lists.
    dst = region.take(8192)
    unregistered = ctypes.create_string_buffer(8192)
    result = store.batch_get_into_multi_buffers(
        ["ok/1", "absent", "ok/1", "ok/1", "ok/2"],
        [[dst], [dst], [dst, dst], [ctypes.addressof(unregistered)], [dst]],
        [[8192], [8192], [100, 100], [8192], [4096, 1]])
    assert result[0] == 8192
    assert result[1] == OBJECT_NOT_FOUND
    assert result[2] == BUFFER_OVERFLOW
    assert result[3] < 0
    assert result[4] == INVALID_PARAMS
    assert store.batch_get_into_multi_buffers([], [], []) == []
    assert store.batch_put_from_multi_buffers([], [], []) == []


def test_an_existing_key_is_left_alone_and_an_empty_object_is_refused(store):
    region = Region(store, 1 << 20)
    first = region.take(1024, b"1" * 1024)
    second = region.take(1024, b"2" * 1024)
    assert store.batch_put_from_multi_buffers(["keep"], [[first]], [[1024]]) == [0]
    assert store.batch_put_from_multi_buffers(["keep"], [[second]], [[1024]]) == [0]
    assert store.get("keep") == b"1" * 1024
    assert store.batch_put_from_multi_buffers(["empty"], [[]], [[]]) == [INVALID_PARAMS]


def test_one_master_round_trip_per_call(cluster):
    """A multi-buffer batch of many keys costs the master one call per phase, not one per key."""
    store = make_store(cluster)
    region = Region(store, 8 << 20)

    def calls(method):
        url = f"http://127.0.0.1:{cluster.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        prefix = f'mooncake_master_rpc_latency_seconds_count{{method="{method}"}}'
        return sum(int(float(line.split()[-1])) for line in text.splitlines()
                   if line.startswith(prefix))

    keys = [f"rt/{i}" for i in range(32)]
    ptrs = [[region.take(16 << 10, os.urandom(16 << 10)) for _ in range(4)] for _ in keys]
    sizes = [[16 << 10] * 4 for _ in keys]
    before = {m: calls(m) for m in ("BatchPutStart", "BatchPutEnd", "BatchCommitReserved",
                                    "PutStart", "CommitReserved", "Reserve",
                                    "BatchGetReplicaList", "GetReplicaList")}
    assert store.batch_put_from_multi_buffers(keys, ptrs, sizes) == [0] * 32
    assert store.batch_get_into_multi_buffers(keys, ptrs, sizes) == [64 << 10] * 32
    after = {m: calls(m) for m in before}
    # Two calls for the puts: BatchPutStart + BatchPutEnd, or (values of up to 64 KiB, as here)
    # one BatchCommitReserved granting the space and one committing every key.
    puts = sum(after[m] - before[m] for m in ("BatchPutStart", "BatchPutEnd",
                                              "BatchCommitReserved"))
    assert puts == 2
    assert after["BatchGetReplicaList"] - before["BatchGetReplicaList"] == 1
    for single in ("PutStart", "CommitReserved", "Reserve", "GetReplicaList"):
        assert after[single] == before[single], single
    store.remove_all(True)
    store.close()
