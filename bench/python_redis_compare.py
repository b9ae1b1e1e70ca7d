"""python_store_bench.py redis: the Python store API against redis-py, the same loop, values and
copies, one operation in flight (issue #17's Python rows).

Both stores are reached over loopback TCP: the store's bytes live in a storage process
(store_bench --operation=serve) that the pure Python client reaches with MC_SAME_HOST_DIRECT=0,
as it would across hosts; Redis is a redis-server started here (no persistence). Rows: 4 KiB and
1 MiB values, put and get, single keys and batches of 16 (`put_batch`/`get_batch` against
`mset`/`mget`). Every rep has its own key prefix; gets read keys written first, over a working set
larger than the CPU caches (16 MiB of 4 KiB values, 256 MiB of 1 MiB ones); put rows write fresh
keys and remove them between rounds outside the timed part; every result is checked.

Needs Debian's python3-redis (and python3-hiredis, which redis-py then uses to parse replies).
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench_support import free_port, wait_port

SIZES = [(4096, 4096), (1 << 20, 256)]  # value bytes, keys in the working set
BATCH = 16


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mc-bench-redis-")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--maxmemory", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.process.kill()
        self.process.wait()


class StoreApi:
    name = "store"

    def __init__(self, cluster, store_class):
        self.store = store_class()
        assert self.store.setup("127.0.0.1", cluster.metadata, 0, 64 << 20, "tcp", "",
                                cluster.address) == 0

    def put(self, key, value):
        return self.store.put(key, value) == 0

    def get(self, key, size):
        return len(self.store.get(key)) == size

    def put_batch(self, keys, values):
        return self.store.put_batch(keys, values) == 0

    def get_batch(self, keys, size):
        return all(len(v) == size for v in self.store.get_batch(keys))

    def clear(self, prefix):
        self.store.remove_by_regex(f"^{prefix}/", True)

    def close(self):
        self.store.close()


class RedisApi:
    name = "redis-py"

    def __init__(self, server):
        import redis  # noqa: PLC0415 (only this mode needs it)
        self.client = redis.Redis(host="127.0.0.1", port=server.port)
        self.written = []

    def put(self, key, value):
        self.written.append(key)
        return self.client.set(key, value) is True

    def get(self, key, size):
        return len(self.client.get(key)) == size

    def put_batch(self, keys, values):
        self.written.extend(keys)
        return self.client.mset(dict(zip(keys, values))) is True

    def get_batch(self, keys, size):
        return all(len(v) == size for v in self.client.mget(keys))

    def clear(self, prefix):
        pipe = self.client.pipeline(transaction=False)
        for key in self.written:
            pipe.delete(key)
        pipe.execute()
        self.written = []

    def close(self):
        self.client.close()


def run(api, op, size, keys, batch, seconds, prefix):
    """Operations per second of one thread; cleanup between rounds is not timed."""
    value = os.urandom(size)
    if op == "get":
        for start in range(0, keys, BATCH):
            names = [f"{prefix}/{i}" for i in range(start, min(keys, start + BATCH))]
            assert api.put_batch(names, [value] * len(names)), f"{api.name}: populating failed"
    timed, done, n = 0.0, 0, 0
    while timed < seconds:
        started = time.perf_counter()
        for _ in range(max(1, keys // batch)):
            if op == "put":
                names = [f"{prefix}/fresh/{n + i}" for i in range(batch)]
                ok = api.put(names[0], value) if batch == 1 else api.put_batch(names, [value] * batch)
            else:
                names = [f"{prefix}/{(n + i) % keys}" for i in range(batch)]
                ok = api.get(names[0], size) if batch == 1 else api.get_batch(names, size)
            assert ok, f"{api.name} {op} {size} failed"
            n += batch
            done += batch
        timed += time.perf_counter() - started
        if op == "put":
            api.clear(f"{prefix}/fresh")
    api.clear(prefix)
    return done / timed


def main_redis(cluster_class, store_class, seconds, reps):
    os.environ["MC_SAME_HOST_DIRECT"] = "0"  # over TCP, as across hosts (the storage too)
    os.environ.setdefault("MC_TCP_BIND_ADDRESS", "127.0.0.1")
    try:
        import redis  # noqa: F401,PLC0415
    except ImportError:
        sys.exit("python_store_bench redis: needs Debian's python3-redis (and python3-hiredis)")
    cluster, server = cluster_class(), RedisServer()
    store, client = StoreApi(cluster, store_class), RedisApi(server)
    configs = [(size, keys, op, batch) for size, keys in SIZES for op in ("put", "get")
               for batch in (1, BATCH)]
    # MC_BENCH_ONLY=regex keeps the rows whose label matches (e.g. "batch 16"), for a quick look.
    only = os.environ.get("MC_BENCH_ONLY")
    if only:
        configs = [c for c in configs if re.search(only, _label(*c))]
        if not configs:
            sys.exit(f"python_store_bench redis: MC_BENCH_ONLY={only!r} matches no row")
    samples = {(api.name, c): [] for api in (store, client) for c in configs}
    try:
        run_id = 0
        for rep in range(reps):
            for config in configs:
                size, keys, op, batch = config
                for api in (client, store):
                    run_id += 1
                    rate = run(api, op, size, keys, batch, seconds, f"r{os.getpid()}-{run_id}")
                    samples[(api.name, config)].append(rate)
                    print(f"rep {rep + 1}: {api.name} {op} {size >> 10} KiB batch {batch}: "
                          f"{rate:,.0f} ops/s", file=sys.stderr)
    finally:
        store.close()
        client.close()
        server.stop()
        cluster.stop()
    hiredis = "with hiredis" if _has_hiredis() else "without hiredis"
    print(f"| one thread, 1 op in flight, median of {reps} x {seconds:g} s | redis-py "
          f"({hiredis}) ops/s | store ops/s | store / redis-py |")
    print("| --- | ---: | ---: | ---: |")
    for config in configs:
        size, keys, op, batch = config
        r = statistics.median(samples[("redis-py", config)])
        s = statistics.median(samples[("store", config)])
        print(f"| {_label(size, keys, op, batch)} | {r:,.0f} | {s:,.0f} | {s / r:.2f}x |")
    import json  # noqa: PLC0415
    print(json.dumps({"bench": "python_store_bench redis", "seconds": seconds, "reps": reps,
                      "samples": {f"{a} {c[2]} {c[0]} {c[3]}": v
                                  for (a, c), v in samples.items()}}))


def _label(size, keys, op, batch):
    del keys
    unit = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
    return f"{op} {unit}" + (f", batch {batch}" if batch > 1 else "")


def _has_hiredis():
    try:
        import hiredis  # noqa: F401,PLC0415
        return True
    except ImportError:
        return False
