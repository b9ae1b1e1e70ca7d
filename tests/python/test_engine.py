"""mooncake.engine.TransferEngine: a target process and an initiator (this process), over
P2PHANDSHAKE and over the master's HTTP metadata server."""
import os
import subprocess
import sys

import pytest

from conftest import PYTHON_DIR, free_port
from mooncake.engine import TransferEngine, TransferOpcode

SIZE = 1 << 20
PATTERN = bytes((i * 7) % 251 for i in range(SIZE))

TARGET = f"""
import sys
sys.path.insert(0, {PYTHON_DIR!r})
from mooncake.engine import TransferEngine
engine = TransferEngine()
assert engine.initialize(sys.argv[2], sys.argv[1], "tcp", "") == 0
address = engine.allocate_managed_buffer({SIZE})
assert address != 0
pattern = bytes((i * 7) % 251 for i in range({SIZE}))
assert engine.write_bytes_to_buffer(address, pattern, {SIZE}) == 0
print("READY", engine.get_local_segment_name(), address, engine.get_rpc_port(), flush=True)
sys.stdin.read()  # serve until the test closes our stdin
"""


@pytest.fixture(params=["p2p", "http", "etcd", "redis"])
def target(request, cluster):
    metadata = {
        "p2p": lambda: "P2PHANDSHAKE",
        "http": lambda: cluster.metadata,
        "etcd": lambda: request.getfixturevalue("etcd_server").metadata,
        "redis": lambda: request.getfixturevalue("redis_server").metadata,
    }[request.param]()
    # With a metadata service, segment names must be unique: give the target a port.
    name = "127.0.0.1" if request.param == "p2p" else f"127.0.0.1:{free_port()}"
    process = subprocess.Popen([sys.executable, "-c", TARGET, metadata, name],
                               stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    assert line and line[0] == "READY", "target did not start"
    yield metadata, line[1], int(line[2]), int(line[3])
    process.stdin.close()
    process.wait(timeout=30)


def test_initiator_reads_and_writes_a_target_process(target):
    metadata, segment, remote, rpc_port = target
    if metadata == "P2PHANDSHAKE":
        assert segment == f"127.0.0.1:{rpc_port}"  # P2P segment names are host:rpc_port
    engine = TransferEngine()
    name = "127.0.0.1" if metadata == "P2PHANDSHAKE" else f"127.0.0.1:{free_port()}"
    assert engine.initialize(name, metadata, "tcp", "") == 0
    assert engine.get_rpc_port() > 0
    assert isinstance(engine.get_local_topology(), str)
    local = engine.allocate_managed_buffer(2 * SIZE)
    assert local != 0
    assert engine.get_first_buffer_address(segment) == remote

    assert engine.transfer_sync_read(segment, local, remote, SIZE) == 0
    assert engine.read_bytes_from_buffer(local, SIZE) == PATTERN

    update = b"written by the initiator"
    assert engine.write_bytes_to_buffer(local + SIZE, update, len(update)) == 0
    assert engine.transfer_sync_write(segment, local + SIZE, remote + 100, len(update)) == 0
    assert engine.transfer_sync(segment, local, remote + 100, len(update),
                                TransferOpcode.Read) == 0
    assert engine.read_bytes_from_buffer(local, len(update)) == update

    # Batches: synchronous, asynchronous with a status wait, and submit + check.
    assert engine.batch_transfer_sync_read(segment, [local, local + 4096], [remote, remote + 4096],
                                           [4096, 4096]) == 0
    assert engine.batch_transfer_sync_write(segment, [local], [remote + 200_000], [77]) == 0
    batch = engine.batch_transfer_async_read(segment, [local, local + 8192], [remote, remote + 8192],
                                             [8192, 8192])
    assert batch != 0
    assert engine.get_batch_transfer_status([batch]) == 0
    submitted = engine.transfer_submit_write(segment, local, remote + 300_000, 1000)
    assert submitted != 0
    while (state := engine.transfer_check_status(submitted)) == 0:
        pass
    assert state == 1

    # Failures are codes, never crashes.
    assert engine.transfer_sync_read(segment, local, remote + SIZE, 16) < 0  # past the buffer
    assert engine.transfer_sync_read("127.0.0.1:1", local, remote, 16) < 0  # unknown segment
    assert engine.batch_transfer_async_read("no-such-segment", [local], [remote], [16]) == 0
    unregistered = 12345678
    assert engine.transfer_sync_read(segment, unregistered, remote, 16) < 0
    assert engine.write_bytes_to_buffer(unregistered, b"x" * 16, 16) < 0  # checked, no crash
    assert engine.read_bytes_from_buffer(unregistered, 16) == b""
    assert engine.read_bytes_from_buffer(local + 2 * SIZE - 8, 16) == b""  # runs past the end
    assert engine.send_probe(segment) == 0
    assert engine.send_probe("127.0.0.1:1") != 0
    assert engine.free_managed_buffer(local, 2 * SIZE) == 0
    assert engine.free_managed_buffer(local, 2 * SIZE) < 0


def test_bad_transfer_timeout_fails_initialize():
    script = f"""
import sys
sys.path.insert(0, {PYTHON_DIR!r})
from mooncake.engine import TransferEngine
print(TransferEngine().initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", ""))
"""
    env = dict(os.environ, MC_TRANSFER_TIMEOUT="0")  # below the 1 s minimum
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert int(done.stdout.strip()) < 0
    assert "MC_TRANSFER_TIMEOUT" in done.stderr


def test_register_memory_and_uninitialized_engine():
    engine = TransferEngine()
    assert engine.register_memory(4096, 4096) < 0  # not initialized: a code, not a crash
    assert engine.allocate_managed_buffer(4096) == 0
    assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "rdma", "mlx5_0") < 0  # not built
    assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "") == 0
    import ctypes
    a = ctypes.create_string_buffer(8192)
    b = ctypes.create_string_buffer(8192)
    addresses = [ctypes.addressof(a), ctypes.addressof(b)]
    assert engine.register_memory(addresses[0], 8192) == 0
    assert engine.register_memory(addresses[0], 8192) < 0  # overlaps
    assert engine.unregister_memory(addresses[0]) == 0
    assert engine.batch_register_memory(addresses, [8192, 8192]) == 0
    assert engine.batch_unregister_memory(addresses) == 0
    assert engine.unregister_memory(addresses[0]) < 0


UNREGISTERING_TARGET = f"""
import sys
sys.path.insert(0, {PYTHON_DIR!r})
from mooncake.engine import TransferEngine
engine = TransferEngine()
assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "") == 0
address = engine.allocate_managed_buffer(1 << 20)
print("READY", engine.get_local_segment_name(), address, flush=True)
for line in sys.stdin:
    if line.strip() == "unregister":
        print("DONE", engine.unregister_memory(address), flush=True)
"""


def test_a_range_the_peer_rejects_is_address_not_registered():
    """The initiator's cached descriptor still lists a buffer the peer unregistered: the peer
    refuses the range, and Python sees ERR_ADDRESS_NOT_REGISTERED (-3), not a socket error."""
    target = subprocess.Popen([sys.executable, "-c", UNREGISTERING_TARGET], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        words = target.stdout.readline().split()
        assert words and words[0] == "READY"
        segment, remote = words[1], int(words[2])
        engine = TransferEngine()
        assert engine.initialize("127.0.0.1", "P2PHANDSHAKE", "tcp", "") == 0
        local = engine.allocate_managed_buffer(4096)
        assert engine.transfer_sync_read(segment, local, remote, 4096) == 0  # caches it
        target.stdin.write("unregister\n")
        target.stdin.flush()
        assert target.stdout.readline().split() == ["DONE", "0"]
        assert engine.transfer_sync_read(segment, local, remote, 4096) == -3
        assert engine.transfer_sync_write(segment, local, remote, 4096) == -3
    finally:
        target.stdin.close()
        target.wait(timeout=30)
