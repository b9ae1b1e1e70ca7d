#!/usr/bin/env python3
"""Python store API vs the C++ store_bench, side by side in one run (issue #5's benchmark).

Starts a mooncake_master (embedded HTTP metadata server) and one storage process
(store_bench --operation=serve, 4 GiB), then runs, interleaved REPS times, 1 MiB put and get for
SECONDS each with 2 threads:
  C++:    store_bench (copying put/get; --zero_copy putFrom/getInto)
  Python: mooncake.store (put/get; put_from/get_into on registered ctypes buffers)
and prints the medians and the Python/C++ ratios.

With "multi" first, it measures instead the multi-buffer batches (KV cache laid out per layer:
one key over LAYERS buffers of BLOCK bytes) against the same bytes moved as one buffer per key
(batch_put_from / batch_get_into), BATCH keys per call, and counts the master's calls per batch
from its /metrics.

With "--dummy" first, it measures a dummy client (setup_dummy, served by a mooncake_client node
daemon) against a real client doing the same work in the same run: 1 MiB put_from/get_into on
pool memory (the dummy's alloc_from_mem_pool, the real client's registered buffer) and 4 KiB
put/get, 2 threads, and the daemon's CPU time per operation. Both are pure clients (no segment of
their own), so every byte goes to or from the storage process.

With "tensor" first, it measures put_tensor/get_tensor of float16 tensors (1 MiB and 64 MiB)
against put/get of the same bytes, one thread, in the same run.

With "redis" first, it measures the store's put/get (single and batches of 16, 4 KiB and 1 MiB)
against redis-py doing the same against a redis-server, over loopback TCP with a remote holder
(bench/python_redis_compare.py).

Usage: PYTHONPATH=build/python python3 bench/python_store_bench.py [multi|--dummy|tensor|redis]
       [seconds] [reps]
"""
import ctypes
import json
import os
import statistics
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MC_BUILD_DIR", os.path.join(REPO, "build"))
sys.path.insert(0, os.path.join(BUILD, "python"))
from mooncake.store import MooncakeDistributedStore  # noqa: E402
from bench_support import BenchMaster, free_port  # noqa: E402

VALUE = 1 << 20
THREADS = 2
KEYS = 100
LAYERS = 32  # multi mode: buffers per key
BLOCK = 64 << 10  # multi mode: bytes per buffer (one object = 2 MiB)
BATCH = 8  # multi mode: keys per call
MULTI_KEYS = 64  # multi mode: objects read back (128 MiB: beyond the CPU caches)


class Cluster(BenchMaster):
    """The master and one storage process (store_bench --operation=serve, 4 GiB)."""

    def __init__(self):
        super().__init__(BUILD)
        self.flags = ["--local_hostname=127.0.0.1", f"--metadata_server={self.metadata}",
                      f"--master_server_address={self.address}"]
        self.storage = subprocess.Popen(
            [f"{BUILD}/tools/store_bench", *self.flags, "--operation=serve",
             f"--global_segment_size={4 << 30}", "--local_buffer_size=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if "serving" not in self.storage.stdout.readline():
            raise RuntimeError("the storage process did not start")

    def stop(self):
        self.storage.kill()
        self.storage.wait()
        super().stop()


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


def master_calls(cluster, method):
    import urllib.request
    url = f"http://127.0.0.1:{cluster.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    prefix = f'mooncake_master_rpc_latency_seconds_count{{method="{method}"}}'
    return sum(int(float(line.split()[-1])) for line in text.splitlines()
               if line.startswith(prefix))


def multi_run(cluster, layout, op, seconds, run_id):
    """GB/s of one thread moving BATCH objects per call, and master calls per call."""
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 0, 16 << 20, "tcp", "",
                       cluster.address) == 0
    prefix = f"mb{run_id}"
    obj = LAYERS * BLOCK
    area_size = 2 * BATCH * obj
    area = ctypes.create_string_buffer(area_size)
    base = ctypes.addressof(area)
    ctypes.memmove(base, os.urandom(area_size), area_size)
    assert store.register_buffer(base, area_size) == 0

    def layer_ptrs(slot):  # object `slot` of the area, one buffer per layer
        return [base + slot * obj + layer * BLOCK for layer in range(LAYERS)]

    def call(keys, get):
        if layout == "multi":
            ptrs = [layer_ptrs(BATCH * get + k) for k in range(len(keys))]
            sizes = [[BLOCK] * LAYERS for _ in keys]
            if get:
                return store.batch_get_into_multi_buffers(keys, ptrs, sizes) == [obj] * len(keys)
            return store.batch_put_from_multi_buffers(keys, ptrs, sizes) == [0] * len(keys)
        ptrs = [base + (BATCH * get + k) * obj for k in range(len(keys))]
        if get:
            return store.batch_get_into(keys, ptrs, [obj] * len(keys)) == [obj] * len(keys)
        return store.batch_put_from(keys, ptrs, [obj] * len(keys)) == [0] * len(keys)

    if op == "get":
        for first in range(0, MULTI_KEYS, BATCH):
            assert call([f"{prefix}/{i}" for i in range(first, first + BATCH)], False)
    method = "BatchGetReplicaList" if op == "get" else "BatchPutStart"
    calls_before = master_calls(cluster, method)
    moved, batches, n = 0, 0, 0
    started = time.time()
    deadline = started + seconds
    while time.time() < deadline:
        if op == "put":
            keys = [f"{prefix}/fresh/{n + k}" for k in range(BATCH)]  # a put of a key is once
        else:
            keys = [f"{prefix}/{(n + k) % MULTI_KEYS}" for k in range(BATCH)]
        assert call(keys, op == "get"), f"{layout} {op} failed"
        moved += BATCH * obj
        batches += 1
        n += BATCH
    rate = moved / (time.time() - started) / 1e9
    per_batch = (master_calls(cluster, method) - calls_before) / max(batches, 1)
    store.remove_by_regex(f"^{prefix}/", True)
    store.close()
    return rate, per_batch


def main_multi(seconds, reps):
    cluster = Cluster()
    configs = [(layout, op) for op in ("put", "get") for layout in ("single", "multi")]
    samples = {c: [] for c in configs}
    calls = {c: [] for c in configs}
    try:
        run_id = 0
        for rep in range(reps):
            for config in configs:
                rate, per_batch = multi_run(cluster, *config, seconds, run_id)
                samples[config].append(rate)
                calls[config].append(per_batch)
                run_id += 1
                print(f"rep {rep + 1}: {config[0]} {config[1]}: {rate:.3f} GB/s, "
                      f"{per_batch:.2f} master calls per batch", file=sys.stderr)
    finally:
        cluster.stop()
    print(f"| {BATCH} keys x {LAYERS} buffers x {BLOCK >> 10} KiB per call, 1 thread (median of "
          f"{reps} x {seconds:g} s) | one buffer per key GB/s | multi-buffer GB/s | multi / one "
          f"| master calls per call (multi) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for op in ("put", "get"):
        one = statistics.median(samples[("single", op)])
        multi = statistics.median(samples[("multi", op)])
        name = "batch_put_from_multi_buffers" if op == "put" else "batch_get_into_multi_buffers"
        print(f"| {name} | {one:.3f} | {multi:.3f} | {multi / one:.2f}x "
              f"| {statistics.median(calls[('multi', op)]):.2f} |")
    print(json.dumps({"bench": "python_store_bench multi", "seconds": seconds, "reps": reps,
                      "layers": LAYERS, "block": BLOCK, "batch": BATCH,
                      "samples": {f"{l} {o}": v for (l, o), v in samples.items()},
                      "master_calls_per_batch": {f"{l} {o}": v for (l, o), v in calls.items()}}))


class Daemon:
    """A mooncake_client node daemon with no segment of its own (a pure client, as the real client
    it is compared with)."""

    def __init__(self, cluster):
        self.port = free_port()
        self.process = subprocess.Popen(
            [f"{BUILD}/tools/mooncake_client", "--host=127.0.0.1",
             f"--metadata_server={cluster.metadata}",
             f"--master_server_address={cluster.address}", f"--port={self.port}",
             "--global_segment_size=0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, MC_TCP_BIND_ADDRESS="127.0.0.1"))
        if "serving dummy clients" not in self.process.stdout.readline():
            raise RuntimeError("mooncake_client did not start")

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.kill()
        self.process.wait()


DUMMY_CASES = [("put_from", 1 << 20, 100), ("get_into", 1 << 20, 100),
               ("put", 4096, 4096), ("get", 4096, 4096)]


def dummy_run(cluster, daemon, kind, case, seconds, run_id, threads_count):
    """(operations per second, bytes per second, daemon CPU seconds per operation) of
    `threads_count` threads on a real or dummy client."""
    op, size, keys = case
    store = MooncakeDistributedStore()
    if kind == "dummy":
        assert store.setup_dummy(threads_count * size + (1 << 20), 64 << 20, daemon.address()) == 0
        areas = [store.alloc_from_mem_pool(size) for _ in range(threads_count)]
        assert all(areas)
        keep = None
    else:
        assert store.setup("127.0.0.1", cluster.metadata, 0, 64 << 20, "tcp", "",
                           cluster.address) == 0
        keep = [ctypes.create_string_buffer(size) for _ in range(threads_count)]
        areas = [ctypes.addressof(k) for k in keep]
        for area in areas:
            assert store.register_buffer(area, size) == 0
    value = os.urandom(size)
    for area in areas:
        ctypes.memmove(area, value, size)
    prefix = f"dm{run_id}"
    if op in ("get", "get_into"):
        for i in range(keys):
            assert store.put(f"{prefix}/{i}", value) == 0
    done = [0] * threads_count
    deadline = time.time() + seconds

    def worker(t):
        i = t
        while time.time() < deadline:
            if op == "put_from":
                ok = store.put_from(f"{prefix}/fresh/{i}", areas[t], size) == 0
            elif op == "put":
                ok = store.put(f"{prefix}/fresh/{i}", value) == 0
            elif op == "get_into":
                ok = store.get_into(f"{prefix}/{i % keys}", areas[t], size) == size
            else:
                ok = len(store.get(f"{prefix}/{i % keys}")) == size
            assert ok, f"{kind} {op} failed"
            done[t] += 1
            i += threads_count

    cpu_before = daemon.cpu_seconds()
    started = time.time()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    daemon_cpu = daemon.cpu_seconds() - cpu_before
    store.remove_by_regex(f"^{prefix}/", True)
    store.close()
    del keep
    ops = sum(done)
    return ops / elapsed, ops * size / elapsed, daemon_cpu / max(ops, 1)


def main_dummy(seconds, reps):
    cluster = Cluster()
    daemon = Daemon(cluster)
    daemon.address = lambda: f"127.0.0.1:{daemon.port}"
    configs = [(threads, kind, case) for threads in (1, THREADS) for case in DUMMY_CASES
               for kind in ("real", "dummy")]
    samples = {(t, kind, case[0]): [] for t, kind, case in configs}
    cpu = {(t, case[0]): [] for t, _, case in configs}
    try:
        run_id = 0
        for rep in range(reps):
            for threads, kind, case in configs:
                ops, rate, per_op = dummy_run(cluster, daemon, kind, case, seconds, run_id,
                                              threads)
                samples[(threads, kind, case[0])].append(ops)
                if kind == "dummy":
                    cpu[(threads, case[0])].append(per_op)
                run_id += 1
                print(f"rep {rep + 1}: {threads} threads {kind} {case[0]} {case[1]} B: "
                      f"{ops:.0f} ops/s, {rate / 1e9:.3f} GB/s", file=sys.stderr)
    finally:
        daemon.stop()
        cluster.stop()
    print(f"| pure clients (median of {reps} x {seconds:g} s) | threads | real client "
          f"| dummy client | dummy / real | daemon CPU per op |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for threads in (1, THREADS):
        for op, size, _ in DUMMY_CASES:
            real = statistics.median(samples[(threads, "real", op)])
            dummy = statistics.median(samples[(threads, "dummy", op)])
            if size >= 1 << 20:
                shown = [f"{o * size / 1e9:.3f} GB/s" for o in (real, dummy)]
            else:
                shown = [f"{o:.0f} ops/s" for o in (real, dummy)]
            print(f"| {op} {size >> 10} KiB | {threads} | {shown[0]} | {shown[1]} "
                  f"| {dummy / real:.2f}x | {statistics.median(cpu[(threads, op)]) * 1e6:.1f} us |")
    print(json.dumps({"bench": "python_store_bench --dummy", "seconds": seconds, "reps": reps,
                      "ops_per_sec": {f"{t} {k} {o}": v for (t, k, o), v in samples.items()},
                      "daemon_cpu_per_op": {f"{t} {o}": v for (t, o), v in cpu.items()}}))


TENSOR_CASES = [(1 << 20, 256), (64 << 20, 8)]  # bytes per tensor, keys (256 / 512 MiB)


def tensor_run(cluster, api, op, size, keys, seconds, run_id):
    """GB/s of one thread moving float16 tensors (api "tensor") or their bytes (api "bytes")."""
    import torch
    store = MooncakeDistributedStore()
    assert store.setup("127.0.0.1", cluster.metadata, 0, 2 * size + (16 << 20), "tcp", "",
                       cluster.address) == 0
    value = torch.randn(size // 2, dtype=torch.float16)
    raw = value.view(torch.uint8).numpy()
    prefix = f"tn{run_id}"

    def put(key):
        return (store.put_tensor(key, value) if api == "tensor" else store.put(key, raw)) == 0

    def get(key):
        if api == "tensor":
            return store.get_tensor(key).numel() == value.numel()
        return len(store.get(key)) == size

    if op == "get":
        for i in range(keys):
            assert put(f"{prefix}/{i}")
    moved, n = 0, 0
    started = time.time()
    while time.time() - started < seconds:
        ok = put(f"{prefix}/fresh/{n}") if op == "put" else get(f"{prefix}/{n % keys}")
        assert ok, f"{api} {op} failed"
        moved += size
        n += 1
        if op == "put" and n % keys == 0:  # keep the working set bounded
            store.remove_by_regex(f"^{prefix}/fresh/", True)
    rate = moved / (time.time() - started) / 1e9
    store.remove_by_regex(f"^{prefix}/", True)
    store.close()
    return rate


def main_tensor(seconds, reps):
    cluster = Cluster()
    configs = [(api, op, size, keys) for size, keys in TENSOR_CASES for op in ("put", "get")
               for api in ("bytes", "tensor")]
    samples = {c: [] for c in configs}
    try:
        run_id = 0
        for rep in range(reps):
            for config in configs:
                samples[config].append(tensor_run(cluster, *config, seconds, run_id))
                run_id += 1
                print(f"rep {rep + 1}: {config[0]} {config[1]} {config[2] >> 20} MiB: "
                      f"{samples[config][-1]:.3f} GB/s", file=sys.stderr)
    finally:
        cluster.stop()
    print(f"| float16 tensors, 1 thread (median of {reps} x {seconds:g} s) | bytes API GB/s "
          f"| tensor API GB/s | tensor / bytes |")
    print("| --- | ---: | ---: | ---: |")
    for size, keys in TENSOR_CASES:
        for op in ("put", "get"):
            b = statistics.median(samples[("bytes", op, size, keys)])
            t = statistics.median(samples[("tensor", op, size, keys)])
            name = f"{op}_tensor vs {op}" if op == "put" else f"get_tensor vs get"
            print(f"| {name}, {size >> 20} MiB | {b:.3f} | {t:.3f} | {t / b:.2f}x |")
    print(json.dumps({"bench": "python_store_bench tensor", "seconds": seconds, "reps": reps,
                      "samples": {f"{a} {o} {s}": v for (a, o, s, _), v in samples.items()}}))


def main():
    args = sys.argv[1:]
    mode = args[0] if args and args[0] in ("multi", "--dummy", "tensor", "redis") else ""
    if mode:
        args = args[1:]
    seconds = float(args[0]) if len(args) > 0 else 5
    reps = int(args[1]) if len(args) > 1 else 3
    if mode == "multi":
        return main_multi(seconds, reps)
    if mode == "--dummy":
        return main_dummy(seconds, reps)
    if mode == "tensor":
        return main_tensor(seconds, reps)
    if mode == "redis":
        from python_redis_compare import main_redis  # noqa: PLC0415
        return main_redis(Cluster, MooncakeDistributedStore, seconds, reps)
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
