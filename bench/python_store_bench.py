#!/usr/bin/env python3
"""Python store API vs the C++ store_bench, side by side in one run (issue #5's benchmark).

Starts a mooncake_master (embedded HTTP metadata server) and one storage process
(store_bench --operation=serve, 4 GiB), then runs, interleaved REPS times, 1 MiB put and get for
SECONDS each with 2 threads:
  C++:    store_bench (copying put/get; --zero_copy putFrom/getInto)
  Python: mooncake.store (put/get; put_from/get_into on registered ctypes buffers)
and prints the medians and the Python/C++ ratios.

Usage: PYTHONPATH=build/python python3 bench/python_store_bench.py [seconds] [reps]
"""
import ctypes
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MC_BUILD_DIR", os.path.join(REPO, "build"))
sys.path.insert(0, os.path.join(BUILD, "python"))
from mooncake.store import MooncakeDistributedStore  # noqa: E402

VALUE = 1 << 20
THREADS = 2
KEYS = 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(400):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


class Cluster:
    def __init__(self):
        self.rpc_port, self.http_port = free_port(), free_port()
        self.master = subprocess.Popen(
            [f"{BUILD}/tools/mooncake_master", "--rpc_address=127.0.0.1", f"--port={self.rpc_port}",
             "--enable_http_metadata_server", "--http_metadata_server_host=127.0.0.1",
             f"--http_metadata_server_port={self.http_port}", "--metrics_port=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.rpc_port)
        self.flags = ["--local_hostname=127.0.0.1", f"--metadata_server={self.metadata}",
                      f"--master_server_address={self.address}"]
        self.storage = subprocess.Popen(
            [f"{BUILD}/tools/store_bench", *self.flags, "--operation=serve",
             f"--global_segment_size={4 << 30}", "--local_buffer_size=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "serving" not in self.storage.stdout.readline():
            raise RuntimeError("the storage process did not start")

    @property
    def address(self):
        return f"127.0.0.1:{self.rpc_port}"

    @property
    def metadata(self):
        return f"http://127.0.0.1:{self.http_port}/metadata"

    def stop(self):
        for p in (self.storage, self.master):
            p.kill()
            p.wait()


def cpp_run(cluster, op, zero_copy, seconds, run_id):
    args = [f"{BUILD}/tools/store_bench", *cluster.flags, "--global_segment_size=0",
            f"--local_buffer_size={64 << 20}", f"--operation={op}", f"--value_size={VALUE}",
            f"--num_keys={KEYS}", f"--threads={THREADS}", f"--duration={seconds}",
            f"--key_prefix=cpp{run_id}"]
    if zero_copy:
        args.append("--zero_copy")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)[f"{op}_bytes_per_sec"] / 1e9


def python_run(cluster, op, zero_copy, seconds, run_id):
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 0, 64 << 20, "tcp", "",
                       cluster.address) == 0
    prefix = f"py{run_id}"
    value = os.urandom(VALUE)
    areas = [ctypes.create_string_buffer(value, VALUE) for _ in range(THREADS)]
    for area in areas:
        assert store.register_buffer(ctypes.addressof(area), VALUE) == 0
    if op == "get":
        for i in range(KEYS):
            assert store.put(f"{prefix}/{i}", value) == 0
    moved = [0] * THREADS
    deadline = time.time() + seconds

    def worker(t):
        address = ctypes.addressof(areas[t])
        i = t
        while time.time() < deadline:
            if op == "put":
                key = f"{prefix}/fresh/{i}"
                rc = store.put_from(key, address, VALUE) if zero_copy else store.put(key, value)
                ok = rc == 0
            else:
                key = f"{prefix}/{i % KEYS}"
                if zero_copy:
                    ok = store.get_into(key, address, VALUE) == VALUE
                else:
                    ok = len(store.get(key)) == VALUE
            moved[t] += VALUE if ok else 0
            i += THREADS

    started = time.time()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(moved) / (time.time() - started) / 1e9
    store.remove_by_regex(f"^{prefix}/", True)
    store.close()
    return rate


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    cluster = Cluster()
    configs = [(lang, op, zc) for zc in (False, True) for op in ("put", "get")
               for lang in ("C++", "Python")]
    samples = {c: [] for c in configs}
    try:
        run_id = 0
        for rep in range(reps):
            for config in configs:
                lang, op, zc = config
                run = cpp_run if lang == "C++" else python_run
                samples[config].append(run(cluster, op, zc, seconds, run_id))
                run_id += 1
                print(f"rep {rep + 1}: {lang} {op} {'zero-copy' if zc else 'copying'}: "
                      f"{samples[config][-1]:.3f} GB/s", file=sys.stderr)
    finally:
        cluster.stop()
    print(f"| 1 MiB values, {THREADS} threads (median of {reps} x {seconds:g} s) | C++ GB/s "
          f"| Python GB/s | Python / C++ |")
    print("| --- | ---: | ---: | ---: |")
    for zc in (False, True):
        for op in ("put", "get"):
            cpp = statistics.median(samples[("C++", op, zc)])
            py = statistics.median(samples[("Python", op, zc)])
            api = {("put", False): "put", ("get", False): "get",
                   ("put", True): "put_from", ("get", True): "get_into"}[(op, zc)]
            print(f"| {api} ({'zero-copy' if zc else 'copying'}) | {cpp:.3f} | {py:.3f} "
                  f"| {py / cpp:.2f}x |")
    print(json.dumps({"bench": "python_store_bench", "seconds": seconds, "reps": reps,
                      "samples": {f"{l} {o} {'zero-copy' if z else 'copying'}": v
                                  for (l, o, z), v in samples.items()}}))


if __name__ == "__main__":
    main()
