"""Fixtures: a real mooncake_master (with its embedded HTTP metadata server) on free loopback
ports, and store objects set up against it. The package comes from build/python, or with
MC_TEST_INSTALLED=1 from wherever it is installed (the wheel test's venv), with the binaries the
installed package ships."""
import os
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MC_BUILD_DIR", os.path.join(REPO, "build"))
if not os.path.isabs(BUILD):
    BUILD = os.path.join(REPO, BUILD)
PYTHON_DIR = os.path.join(BUILD, "python")
INSTALLED = os.environ.get("MC_TEST_INSTALLED") == "1"
if not INSTALLED:
    sys.path.insert(0, PYTHON_DIR)
else:
    import mooncake
    assert not mooncake.__file__.startswith(PYTHON_DIR + os.sep), \
        f"{mooncake.__file__} is the build's package, not an installed copy"


# Free loopback ports the way the benchmarks pick them (below the kernel's ephemeral range).
sys.path.insert(0, os.path.join(REPO, "bench"))
from bench_support import free_port  # noqa: E402,F401


def tool(name):
    """Path of a C++ binary: the build's, or the installed package's."""
    if INSTALLED:
        from mooncake._binaries import find_binary
        return find_binary(name)
    return os.path.join(BUILD, "tools", name)


def wait_port(port, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open in {timeout} s")


class Cluster:
    def __init__(self, extra_flags=(), env=None):
        self.rpc_port = free_port()
        self.http_port = free_port()
        self.metrics_port = free_port()
        self.process = subprocess.Popen(
            [tool("mooncake_master"), "--rpc_address=127.0.0.1",
             f"--port={self.rpc_port}", "--metadata_dir=none", "--enable_http_metadata_server",
             "--http_metadata_server_host=127.0.0.1",
             f"--http_metadata_server_port={self.http_port}", "--metrics_host=127.0.0.1",
             f"--metrics_port={self.metrics_port}", *extra_flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_port(self.rpc_port)

    @property
    def master(self):
        return f"127.0.0.1:{self.rpc_port}"

    @property
    def metadata(self):
        return f"http://127.0.0.1:{self.http_port}/metadata"

    def stop(self):
        self.process.kill()
        self.process.wait()


class ServerProcess:
    """A real etcd or redis-server from Debian, on a free loopback port, data in a temp dir."""

    def __init__(self, kind, tmp):
        self.port = free_port()
        if kind == "etcd":
            peer = free_port()
            url = f"http://127.0.0.1:{self.port}"
            args = ["etcd", "--name", "pytest", "--data-dir", os.path.join(tmp, "etcd"),
                    "--listen-client-urls", url, "--advertise-client-urls", url,
                    "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-cluster", f"pytest=http://127.0.0.1:{peer}", "--log-level", "error"]
            self.metadata = f"etcd://127.0.0.1:{self.port}"
        else:
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", tmp]
            self.metadata = f"redis://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory):
    server = ServerProcess("etcd", str(tmp_path_factory.mktemp("etcd")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = ServerProcess("redis", str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cluster():
    c = Cluster()
    yield c
    c.stop()


def make_store(cluster, segment=64 << 20, local_buffer=32 << 20):
    from mooncake.store import MooncakeDistributedStore
    store = MooncakeDistributedStore()
    rc = store.setup("127.0.0.1", cluster.metadata, segment, local_buffer, "tcp", "",
                     cluster.master)
    assert rc == 0, f"setup returned {rc}"
    return store


class NodeDaemon:
    """A real mooncake_client (the node daemon) serving dummy clients, on a free port."""

    def __init__(self, cluster, segment="64MB", env=None, port=None):
        self.cluster = cluster
        self.port = port or free_port()
        self.process = subprocess.Popen(
            [tool("mooncake_client"), "--host=127.0.0.1",
             f"--metadata_server={cluster.metadata}", f"--master_server_address={cluster.master}",
             f"--port={self.port}", f"--global_segment_size={segment}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(env or os.environ, MC_TCP_BIND_ADDRESS="127.0.0.1"))
        line = self.process.stdout.readline()  # printed once it serves
        if "serving dummy clients" not in line:
            self.process.kill()
            raise RuntimeError(f"mooncake_client did not start: {line!r}")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def node_daemon():
    """A daemon on a master of its own: its segment stays out of the tests that count the
    segments of `cluster`."""
    c = Cluster()
    d = NodeDaemon(c)
    yield d
    d.stop()
    c.stop()


def make_dummy(daemon, pool=64 << 20, local_buffer=32 << 20):
    from mooncake.store import MooncakeDistributedStore
    store = MooncakeDistributedStore()
    rc = store.setup_dummy(pool, local_buffer, daemon.address)
    assert rc == 0, f"setup_dummy returned {rc}"
    return store


# Every test that takes `store` runs twice: on a real client and on a dummy client of a node
# daemon, so the two can never drift apart.
@pytest.fixture(params=["real", "dummy"])
def store(request, cluster):
    if request.param == "real":
        s = make_store(cluster)
    else:
        s = make_dummy(request.getfixturevalue("node_daemon"))
    yield s
    s.remove_all(True)
    s.close()


@pytest.fixture
def store_cluster(request, store):
    """The cluster `store` belongs to (a dummy's daemon has a master of its own)."""
    if request.node.callspec.params.get("store") == "dummy":
        return request.getfixturevalue("node_daemon").cluster
    return request.getfixturevalue("cluster")
