"""setup_dummy against real mooncake_client daemons: what only a dummy has (its memory pool, its
daemon's lifecycle). The calls both kinds share run in every test that takes the `store` fixture,
once per kind (conftest.py)."""
import ctypes
import os
import socket
import time

from conftest import Cluster, NodeDaemon, make_dummy, make_store
from mooncake.store import MooncakeDistributedStore, ReplicateConfig

INVALID_PARAMS = -600
RPC_FAIL = -900
BUFFER_OVERFLOW = -10


def test_setup_dummy_needs_a_daemon_on_this_host():
    store = MooncakeDistributedStore()
    started = time.monotonic()
    assert store.setup_dummy(1 << 20, 1 << 20, "127.0.0.1:1") == RPC_FAIL
    assert time.monotonic() - started < 5  # refused at once, no retry loop
    assert store.setup_dummy(1 << 20, 1 << 20, "10.1.2.3:50052") == INVALID_PARAMS
    assert store.setup_dummy(1 << 20, 1 << 20, "not an address") == INVALID_PARAMS
    assert store.setup_dummy(0, 0, "127.0.0.1:50052") == INVALID_PARAMS
    assert store.alloc_from_mem_pool(4096) == 0  # not a dummy


def test_the_daemon_may_be_named_by_this_hosts_name(node_daemon):
    store = MooncakeDistributedStore()
    assert store.setup_dummy(1 << 20, 1 << 20, f"{socket.gethostname()}:{node_daemon.port}") == 0
    assert store.put("dummy/by-name", b"ok") == 0
    assert store.get("dummy/by-name") == b"ok"
    store.remove("dummy/by-name", True)
    store.close()


def test_pool_memory_is_zero_copy_and_runs_out(node_daemon):
    store = make_dummy(node_daemon, pool=4 << 20, local_buffer=1 << 20)
    try:
        first = store.alloc_from_mem_pool(1 << 20)
        second = store.alloc_from_mem_pool(1 << 20)
        assert first and second and abs(second - first) >= 1 << 20
        payload = os.urandom(1 << 20)
        ctypes.memmove(first, payload, len(payload))
        assert store.put_from("dummy/pool", first, len(payload)) == 0  # no register_buffer
        assert store.get_into("dummy/pool", second, 1 << 20) == len(payload)
        assert ctypes.string_at(second, len(payload)) == payload
        assert store.alloc_from_mem_pool(8 << 20) == 0  # more than the pool
        # Copying calls go through the 1 MiB staging buffer, as a real client's local buffer.
        assert store.put("dummy/too-big", b"x" * (2 << 20)) == BUFFER_OVERFLOW
        store.remove_all(True)
    finally:
        store.close()


def test_dummies_and_real_clients_see_the_same_objects(node_daemon):
    dummy_a = make_dummy(node_daemon)
    dummy_b = make_dummy(node_daemon)
    real = make_store(node_daemon.cluster)
    try:
        assert dummy_a.get_hostname() == dummy_b.get_hostname()  # the daemon's segment
        assert dummy_a.get_hostname() != real.get_hostname()
        values = {f"shared/{i}": os.urandom(1000 + i * 997) for i in range(30)}
        for i, (key, value) in enumerate(values.items()):
            writer = (dummy_a, dummy_b, real)[i % 3]
            assert writer.put(key, value) == 0
        for reader in (dummy_a, dummy_b, real):
            for key, value in values.items():
                assert reader.get(key) == value
        # prefer_alloc_in_same_node from a dummy means the daemon's node.
        config = ReplicateConfig()
        config.prefer_alloc_in_same_node = True
        assert dummy_a.put("shared/local", b"here", config) == 0
        replicas = real.get_replica_desc("shared/local")
        assert [r.get_memory_descriptor().buffer_descriptor.transport_endpoint
                for r in replicas] == [dummy_a.get_hostname()]
        real.remove_all(True)
    finally:
        for s in (dummy_a, dummy_b, real):
            s.close()


def test_a_dummy_outlives_its_daemon():
    cluster = Cluster()  # its own: the killed daemon's segment stays behind until its lease ends
    daemon = NodeDaemon(cluster)
    store = make_dummy(daemon)
    holder = make_store(cluster)  # the object lives here, not in the daemon's segment
    try:
        config = ReplicateConfig()
        config.prefer_alloc_in_same_node = True
        assert holder.put("outlive/k", b"v" * 5000, config) == 0
        assert store.get("outlive/k") == b"v" * 5000
        daemon.stop()  # kill -9
        started = time.monotonic()
        assert store.put("outlive/while-down", b"x") == RPC_FAIL
        assert store.get_size("outlive/k") == RPC_FAIL
        assert store.health_check() == 2
        assert time.monotonic() - started < 5  # fails fast, no hang
        daemon = NodeDaemon(cluster, port=daemon.port)
        assert store.get("outlive/k") == b"v" * 5000  # no setup again
        assert store.health_check() == 0
        assert store.put("outlive/after", b"y") == 0
        holder.remove_all(True)
    finally:
        store.close()
        holder.close()
        daemon.stop()
        cluster.stop()


def test_the_daemon_through_the_package_and_upstream_style_flags(node_daemon):
    """python3 -m mooncake.mooncake_client takes "--flag value" as upstream's launchers pass."""
    import subprocess
    import sys
    from conftest import PYTHON_DIR
    cluster = node_daemon.cluster
    port = node_daemon.port  # taken: the second daemon must say so and stop
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, MC_TCP_BIND_ADDRESS="127.0.0.1")
    done = subprocess.run(
        [sys.executable, "-m", "mooncake.mooncake_client", "--host", "127.0.0.1",
         "--metadata_server", cluster.metadata, "--master_server_address", cluster.master,
         "--port", str(port), "--global_segment_size", "16 MB"],
        capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert "bind address already in use" in done.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "mooncake.mooncake_client", "--global_segment_size", "4 parsecs"],
        capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2
    assert "--global_segment_size" in bad.stderr
