"""Helpers the Python benchmarks share: free loopback ports, waiting for a listener, a master."""
import random
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    """A free loopback port below the kernel's ephemeral range, picked at random, so that no
    outgoing connection (which takes its port from that range) can take it before the server
    binds it; the kernel's pick only when nothing below the range is free."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first_ephemeral = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        first_ephemeral = 32768
    for _ in range(200):
        if first_ephemeral <= 10001:
            break
        port = random.randint(10000, first_ephemeral - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, tries=400):
    for _ in range(tries):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


class BenchMaster:
    """A mooncake_master with its embedded HTTP metadata server on free loopback ports and its
    metadata in a temporary directory. Benchmarks' clusters extend it with storage processes
    (started after super().__init__, stopped before super().stop())."""

    def __init__(self, build, extra_flags=()):
        self.rpc_port, self.http_port = free_port(), free_port()
        self.metrics_port = free_port()
        self.metadata_dir = tempfile.mkdtemp(prefix="mc-bench-master-")
        self.master = subprocess.Popen(
            [f"{build}/tools/mooncake_master", "--rpc_address=127.0.0.1",
             f"--port={self.rpc_port}", "--enable_http_metadata_server",
             "--http_metadata_server_host=127.0.0.1",
             f"--http_metadata_server_port={self.http_port}", "--metrics_host=127.0.0.1",
             f"--metrics_port={self.metrics_port}", f"--metadata_dir={self.metadata_dir}",
             *extra_flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.rpc_port)

    @property
    def address(self):
        return f"127.0.0.1:{self.rpc_port}"

    @property
    def metadata(self):
        return f"http://127.0.0.1:{self.http_port}/metadata"

    def stop(self):
        self.master.kill()
        self.master.wait()
        shutil.rmtree(self.metadata_dir, ignore_errors=True)
