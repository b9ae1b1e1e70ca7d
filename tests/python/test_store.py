"""mooncake.store against a real master: every method, with edge cases."""
import ctypes
import os
import subprocess
import sys
import threading

import pytest

from conftest import PYTHON_DIR, make_store
from mooncake.store import MooncakeDistributedStore, ReplicateConfig, SoftPinAction

OBJECT_NOT_FOUND = -704
BUFFER_OVERFLOW = -10
INVALID_PARAMS = -600


def buffer_of(size, fill=None):
    """Caller memory as upstream users pass it: an integer address."""
    buf = ctypes.create_string_buffer(size)
    if fill is not None:
        ctypes.memmove(buf, fill, len(fill))
    return buf, ctypes.addressof(buf)


def test_setup_close_and_setup_again(cluster):
    store = MooncakeDistributedStore()
    assert store.put("k", b"v") < 0  # not set up: an error code, not a crash
    assert store.get("k") == b""
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master) == 0
    host = store.get_hostname()
    assert host.startswith("127.0.0.1:")
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master) != 0  # already set up
    assert store.put("again", b"1") == 0
    assert store.close() == 0
    assert store.close() == 0  # closing twice is fine
    assert store.get("again") == b""
    assert store.setup("127.0.0.1", cluster.metadata, 16 << 20, 16 << 20, "tcp", "",
                       cluster.master) == 0
    # "again" lived in this store's own segment, which close() unmounted: it is gone.
    assert store.get("again") == b""
    assert store.put("again", b"2") == 0
    assert store.get("again") == b"2"
    store.remove("again", True)
    store.close()


def test_setup_from_a_dict_with_human_readable_sizes(cluster):
    store = MooncakeDistributedStore()
    config = {"local_hostname": "127.0.0.1", "metadata_server": cluster.metadata,
              "global_segment_size": "32 MB", "local_buffer_size": "16MiB",
              "protocol": "tcp", "master_server_addr": cluster.master}
    assert store.setup(config) == 0
    assert store.put("dict", b"x" * 1000) == 0
    assert store.get("dict") == b"x" * 1000
    store.remove("dict")
    store.close()
    assert store.setup(dict(config, global_segment_size="1GiB", local_buffer_size=4 << 20)) == 0
    store.close()
    assert store.setup(dict(config, global_segment_size="50%")) == INVALID_PARAMS
    missing = dict(config)
    del missing["metadata_server"]
    assert store.setup(missing) == INVALID_PARAMS
    with pytest.raises(TypeError):
        store.setup(dict(config, local_buffer_size=1.5))


def test_copying_api(store, request):
    assert store.put("a", b"hello") == 0
    assert store.get("a") == b"hello"
    assert store.get("absent") == b""
    assert store.put("a", b"other") == 0  # an existing key stays as it is
    assert store.get("a") == b"hello"
    assert store.put("bytearray", bytearray(b"ba")) == 0
    assert store.put("memoryview", memoryview(b"xmvx")[1:3]) == 0
    assert store.get("memoryview") == b"mv"
    assert store.put("empty", b"") == INVALID_PARAMS
    odd = os.urandom(1_000_003)
    assert store.put("odd", odd) == 0
    assert store.get("odd") == odd
    big = b"z" * (40 << 20)  # over the 32 MiB local buffer
    if request.node.callspec.params["store"] == "dummy":
        # Through the node daemon's shared buffer: it must fit there.
        assert store.put("too big", big) == BUFFER_OVERFLOW
    else:
        # Large values go straight from the caller's bytes to the holder, and back.
        assert store.put("too big", big) == 0
        assert store.get("too big") == big
        assert store.get_batch(["too big", "odd"]) == [big, odd]
        assert store.remove("too big", True) == 0

    keys = [f"batch/{i}" for i in range(10)]
    values = [os.urandom(100 * i + 1) for i in range(10)]
    assert store.put_batch(keys, values) == 0
    assert store.get_batch(keys + ["batch/absent"]) == values + [b""]
    assert store.put_parts("parts", b"head-", b"", bytearray(b"body-"), b"tail") == 0
    assert store.get("parts") == b"head-body-tail"
    many = [f"many/{i}" for i in range(40)]  # more values than a call holds views for inline
    assert store.put_batch(many, [bytes([i]) * (i + 1) for i in range(40)]) == 0
    assert store.get_batch(many) == [bytes([i]) * (i + 1) for i in range(40)]
    # A strided view is refused, not stored as the wrong bytes; nothing is written.
    strided = memoryview(b"abcdef")[::2]
    for call in (lambda: store.put("strided", strided),
                 lambda: store.put_batch(["strided", "s2"], [b"ok", strided]),
                 lambda: store.put_parts("strided", b"x", strided)):
        with pytest.raises(BufferError):
            call()
    assert store.get("strided") == b"" and store.get("s2") == b""
    held = bytearray(b"ok")  # taken before the strided one failed: let go again
    with pytest.raises(BufferError):
        store.put_batch(["s3", "s4"], [held, strided])
    held.extend(b"!")  # a bytearray still exported could not be resized
    assert held == b"ok!"
    with pytest.raises(TypeError):
        store.put_parts("parts2", b"x", 3)

    assert store.upsert("a", b"replaced") == 0
    assert store.get("a") == b"replaced"
    assert store.upsert("new", b"inserted") == 0
    assert store.get("new") == b"inserted"
    assert store.upsert_batch(["a", "new"], [b"1", b"22"]) == 0
    assert store.get_batch(["a", "new"]) == [b"1", b"22"]
    assert store.upsert_parts("a", b"x", b"y", config=ReplicateConfig()) == 0
    assert store.get("a") == b"xy"


def test_zero_copy_api(store):
    data = os.urandom(300_000)
    src, src_ptr = buffer_of(len(data), data)
    dst, dst_ptr = buffer_of(len(data))
    assert store.register_buffer(src_ptr, len(data)) == 0
    assert store.register_buffer(dst_ptr, len(data)) == 0
    assert store.put_from("zc", src_ptr, len(data)) == 0
    assert store.get_into("zc", dst_ptr, len(data)) == len(data)
    assert dst.raw == data
    assert store.get_into("zc", dst_ptr, 100) == BUFFER_OVERFLOW  # buffer smaller than object
    assert store.get_into("absent", dst_ptr, len(data)) == OBJECT_NOT_FOUND
    unregistered, unregistered_ptr = buffer_of(4096)
    assert store.get_into("zc", unregistered_ptr, 4096) < 0
    assert store.put_from("zc-unregistered", unregistered_ptr, 4096) < 0
    assert store.is_exist("zc-unregistered") == 0  # a failed put leaves nothing behind

    # Batches: 3 keys in one registered area, read back into the other.
    size = 1000
    keys = ["zb/0", "zb/1", "zb/2"]
    ptrs = [src_ptr + i * size for i in range(3)]
    assert store.batch_put_from(keys, ptrs, [size] * 3) == [0, 0, 0]
    into = [dst_ptr + i * size for i in range(3)]
    ctypes.memset(dst, 0, len(data))
    assert store.batch_get_into(keys + ["zb/absent"], into + [dst_ptr + 3 * size],
                                [size] * 4) == [size, size, size, OBJECT_NOT_FOUND]
    assert dst.raw[:3 * size] == data[:3 * size]

    # Byte ranges of one object into several places.
    ctypes.memset(dst, 0, len(data))
    assert store.get_into_ranges("zc", [dst_ptr, dst_ptr + 100], [10, 5000], [20, 30]) == 50
    assert dst.raw[:20] == data[10:30]
    assert dst.raw[100:130] == data[5000:5030]
    assert store.get_into_ranges("zc", [dst_ptr], [len(data) - 1], [2]) == INVALID_PARAMS

    # Zero-copy upserts.
    assert store.upsert_from("zc", src_ptr + 7, 1000) == 0
    assert store.get("zc") == data[7:1007]
    assert store.batch_upsert_from(["zc", "zb/0"], [src_ptr, src_ptr + 1], [10, 20]) == [0, 0]
    assert store.get_batch(["zc", "zb/0"]) == [data[:10], data[1:21]]
    assert store.unregister_buffer(src_ptr) == 0
    assert store.unregister_buffer(src_ptr) < 0


def test_buffer_handles(store):
    data = os.urandom(50_000)
    assert store.put("buf", data) == 0
    handle = store.get_buffer("buf")
    assert handle is not None
    assert len(handle) == handle.size() == len(data)
    assert handle.ptr() != 0
    view = memoryview(handle)
    assert view.readonly
    assert bytes(view) == data
    assert store.get_buffer("absent") is None
    handles = store.batch_get_buffer(["buf", "absent"])
    assert bytes(memoryview(handles[0])) == data and handles[1] is None
    try:
        import numpy
    except ImportError:
        return
    array = numpy.frombuffer(handle, dtype=numpy.uint8)
    assert array.tobytes() == data


def test_metadata_calls(store):
    assert store.put("m/1", b"a") == 0
    assert store.put("m/2", b"bb") == 0
    assert store.put("n/1", b"ccc") == 0
    assert store.is_exist("m/1") == 1
    assert store.is_exist("absent") == 0
    assert store.batch_is_exist(["m/1", "absent"]) == [1, 0]
    assert store.get_size("n/1") == 3
    assert store.get_size("absent") == OBJECT_NOT_FOUND
    assert store.remove("m/1", True) == 0
    assert store.remove("m/1") == OBJECT_NOT_FOUND
    assert store.remove_by_regex("^m/", True) == 1
    assert store.batch_remove(["n/1", "absent"], True) == [0, OBJECT_NOT_FOUND]
    assert store.put("x", b"1") == 0
    assert store.remove_all(True) >= 1
    assert store.is_exist("x") == 0


def test_replicate_config():
    config = ReplicateConfig()
    assert config.replica_num == 1
    assert config.soft_pin_ttl_ms is None
    config.soft_pin_ttl_ms = 0
    config.soft_pin_ttl_ms = 2**64 - 1
    config.soft_pin_ttl_ms = None
    for bad in (-1, 2**64, "1000", 1.5):
        with pytest.raises(TypeError):
            config.soft_pin_ttl_ms = bad
    config.soft_pin_action = SoftPinAction.ENABLE
    assert config.with_soft_pin
    config.soft_pin_action = SoftPinAction.DISABLE
    assert not config.with_soft_pin
    config.preferred_segment = "127.0.0.1:12345"
    assert config.preferred_segments == ["127.0.0.1:12345"]
    config.preferred_segments = ["a", "b"]
    assert config.preferred_segment == "a"
    config.with_hard_pin = True
    config.prefer_alloc_in_same_node = True
    assert "replica_num=1" in repr(config)


def test_replicas_placement_and_two_stores_in_one_process(store_cluster, store):
    other = make_store(store_cluster)
    try:
        config = ReplicateConfig()
        config.replica_num = 2
        assert store.put("two", b"replicated", config) == 0
        assert other.get("two") == b"replicated"
        pinned = ReplicateConfig()
        pinned.preferred_segment = other.get_hostname()
        pinned.with_hard_pin = True
        assert store.put("on-other", b"there", pinned) == 0
        handle = store.get_buffer("on-other")
        assert bytes(memoryview(handle)) == b"there"
    finally:
        other.close()
    # The replica on the closed store is gone; the second copy of "two" is still readable.
    assert store.get("two") == b"replicated"


def test_pure_client_and_pure_server(cluster):
    server = make_store(cluster, segment=32 << 20, local_buffer=0)
    client = make_store(cluster, segment=0, local_buffer=8 << 20)
    try:
        assert client.put("pc", b"from a pure client") == 0
        assert client.get("pc") == b"from a pure client"
        # No local buffer: bytes go straight between the caller's objects and the holder...
        assert server.put("px", b"x" * 100) == 0
        assert server.put_batch(["pb1", "pb2"], [b"one", bytearray(b"two")]) == 0
        assert server.get("pc") == b"from a pure client"
        assert server.get_batch(["px", "pb2", "nope"]) == [b"x" * 100, b"two", b""]
        assert client.get("pb1") == b"one"
        # ...but a BufferHandle lives in the local buffer: an error, not a crash.
        assert server.get_buffer("pc") is None
        src, ptr = buffer_of(64, b"zero copy still works")
        assert server.register_buffer(ptr, 64) == 0
        assert server.put_from("ps", ptr, 21) == 0
        assert client.get("ps") == b"zero copy still works"
    finally:
        client.remove_all(True)
        client.close()
        server.close()


def test_concurrent_threads_share_one_store(store):
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    failures = []

    def work(t):
        barrier.wait()
        for i in range(30):
            private = f"private/{t}/{i}"
            value = bytes([t]) * (1000 + i)
            if store.put(private, value) != 0 or store.get(private) != value:
                failures.append(("private", t, i))
            shared = f"shared/{i % 5}"
            store.put(shared, bytes([i % 5]) * 4096)
            got = store.get(shared)
            if got not in (b"", bytes([i % 5]) * 4096):
                failures.append(("shared", t, i, len(got)))
            if i % 10 == 9:
                store.remove(private, True)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_two_processes(store_cluster, store):
    cluster = store_cluster
    script = f"""
import sys
sys.path.insert(0, {PYTHON_DIR!r})
from mooncake.store import MooncakeDistributedStore, ReplicateConfig
s = MooncakeDistributedStore()
assert s.setup("127.0.0.1", {cluster.metadata!r}, 16 << 20, 16 << 20, "tcp", "", {cluster.master!r}) == 0
config = ReplicateConfig()
config.preferred_segment = {store.get_hostname()!r}  # in the parent's memory, which outlives us
assert s.put("from-child", b"child data" * 1000, config) == 0
print(s.get("from-parent").decode())
s.close()
"""
    assert store.put("from-parent", b"parent data") == 0
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "parent data"
    assert store.get("from-child") == b"child data" * 1000
