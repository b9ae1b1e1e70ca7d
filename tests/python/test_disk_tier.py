"""The disk tier from Python, as serving engines turn it on: setup(..., enable_ssd_offload=True,
ssd_offload_path=...) against a real mooncake_master --enable_offload. Values larger than the
store's memory come back whole, disk copies show in get_replica_desc, a restarted store keeps its
disk cache, and a master without --enable_offload refuses by name."""
import os
import time
import urllib.request

import pytest

from conftest import Cluster

NOT_SUPPORTED = -1012
INVALID_PARAMS = -600
SEGMENT = 8 << 20
VALUE = 256 << 10


@pytest.fixture(scope="module")
def offload_cluster():
    c = Cluster(extra_flags=["--enable_offload"],
                env=dict(os.environ, MC_TCP_BIND_ADDRESS="127.0.0.1"))
    yield c
    c.stop()


def metric(cluster, name):
    body = urllib.request.urlopen(
        f"http://127.0.0.1:{cluster.metrics_port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[-1])
    return -1


def value(i):
    return bytes([(i * 7 + j) % 251 for j in range(251)]) * (VALUE // 251) + bytes(VALUE % 251)


def open_store(cluster, path, monkeypatch):
    from mooncake.store import MooncakeDistributedStore
    monkeypatch.setenv("MC_TCP_BIND_ADDRESS", "127.0.0.1")
    monkeypatch.setenv("MOONCAKE_OFFLOAD_HEARTBEAT_INTERVAL_SECONDS", "0.02")
    store = MooncakeDistributedStore()
    rc = store.setup("127.0.0.1", cluster.metadata, SEGMENT, 16 << 20, "tcp", "", cluster.master,
                     None, True, path)
    assert rc == 0, f"setup returned {rc}"
    return store


def put_all(store, cluster, prefix, count):
    base = metric(cluster, "mooncake_master_offloaded_objects_total")
    for i in range(count):
        assert store.put(f"{prefix}{i}", value(i)) == 0
        if i % 4 == 3:  # let the write-behind keep pace, so eviction finds every object on disk
            deadline = time.time() + 20
            while metric(cluster, "mooncake_master_offloaded_objects_total") < base + i + 1:
                assert time.time() < deadline, "offloads did not land"
                time.sleep(0.02)


def test_values_beyond_memory_come_back_from_disk(offload_cluster, tmp_path, monkeypatch):
    store = open_store(offload_cluster, str(tmp_path / "ssd"), monkeypatch)
    put_all(store, offload_cluster, "py-", 96)  # 24 MiB through an 8 MiB segment
    assert metric(offload_cluster, "mooncake_master_evicted_to_disk_total") > 0
    for i in range(96):
        assert store.get(f"py-{i}") == value(i), i
    desc = store.get_replica_desc("py-0")
    assert len(desc) == 1 and desc[0].is_disk_replica() and not desc[0].is_memory_replica()
    disk = desc[0].get_disk_descriptor()
    assert disk.object_size == VALUE and disk.transport_endpoint
    with pytest.raises(ValueError):
        desc[0].get_memory_descriptor()
    got = store.get_batch([f"py-{i}" for i in range(32)])
    assert got == [value(i) for i in range(32)]
    store.remove_all(True)
    store.close()


def test_a_restarted_store_keeps_its_disk_cache(offload_cluster, tmp_path, monkeypatch):
    path = str(tmp_path / "ssd")
    store = open_store(offload_cluster, path, monkeypatch)
    put_all(store, offload_cluster, "keep-", 24)
    store.close()  # its memory goes; its disk stays
    assert store.get("keep-0") is not None and store.is_exist("keep-0") < 1
    again = open_store(offload_cluster, path, monkeypatch)
    for i in range(24):
        assert again.get(f"keep-{i}") == value(i), i
    again.remove_all(True)
    again.close()


def test_setup_errors_name_the_problem(offload_cluster, cluster, tmp_path, monkeypatch):
    from mooncake.store import MooncakeDistributedStore
    monkeypatch.setenv("MC_TCP_BIND_ADDRESS", "127.0.0.1")
    store = MooncakeDistributedStore()
    # A master without --enable_offload refuses the tier.
    assert store.setup("127.0.0.1", cluster.metadata, SEGMENT, 16 << 20, "tcp", "",
                       cluster.master, None, True, str(tmp_path / "a")) == NOT_SUPPORTED
    # A path that cannot be a directory.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert store.setup("127.0.0.1", offload_cluster.metadata, SEGMENT, 16 << 20, "tcp", "",
                       offload_cluster.master, None, True, str(blocker / "ssd")) < 0
    # Two stores on one directory.
    first = open_store(offload_cluster, str(tmp_path / "shared"), monkeypatch)
    assert store.setup("127.0.0.1", offload_cluster.metadata, SEGMENT, 16 << 20, "tcp", "",
                       offload_cluster.master, None, True, str(tmp_path / "shared")) < 0
    first.close()


def test_the_launcher_passes_a_bare_boolean_flag_through():
    """`python3 -m mooncake.mooncake_client --enable_offload --offload_path /nvme` (upstream's
    "--flag value" style): a bare boolean must not swallow the next flag."""
    from mooncake._binaries import translate_double_dash
    from mooncake.mooncake_client import _FLAGS
    assert translate_double_dash(["--enable_offload", "--offload_path", "/nvme", "--port", "9"],
                                 _FLAGS) == ["--enable_offload", "--offload_path=/nvme",
                                             "--port=9"]
