#!/usr/bin/env python3
"""The disk tier against fio on the same directory, in one run (issue #12's benchmark).

For each object size (1 MiB and 128 KiB), with a node daemon (mooncake_client) holding a
MEMORY-byte segment and a Python pure client doing the puts and gets, so every byte crosses
processes:

  fio        sequential O_DIRECT read (io_uring, the object size as block size) of a file as large
             as the working set, in the same directory as the disk tier: the disk's speed.
  baseline   master and daemon without a disk tier: put then get (batch_put_from /
             batch_get_into on registered memory) of a working set that fits in memory.
  offload    the same with --enable_offload and the daemon's disk tier (written behind: the
             offloads run while the puts and gets do): the ratio to baseline is what offloading
             costs memory puts and gets (target: >= 0.9).
  disk get   then 4x the memory in total is put; once the writes drained, the objects no longer
             in memory are read back (batch_get_into) from the daemon's disk tier: the ratio to fio
             (target: >= 0.8). Hit ratio: the share of the working set that reads back, against
             what memory + disk can hold (target: equal).

Every run has its own key prefix; the daemon is up (segment mounted) before timing; the working
set is far larger than the CPU caches; every put is checked. Where the time goes: the daemon's
mooncake_disk_tier_read_seconds (disk read per batch) against the whole get.

Usage: PYTHONPATH=build/python python3 bench/disk_tier_bench.py [--dir DIR] [--memory MiB]
       [--batch N] [--reps N]
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MC_BUILD_DIR", os.path.join(REPO, "build"))
sys.path.insert(0, os.path.join(BUILD, "python"))
from mooncake.store import MooncakeDistributedStore  # noqa: E402
from bench_support import BenchMaster, free_port  # noqa: E402


def metrics(port):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, number = line.rpartition(" ")
            out[name] = out.get(name, 0) + float(number)
    return out


class Cluster(BenchMaster):
    """The master and a node daemon holding the segment (with a disk tier when `offload`)."""

    def __init__(self, memory, offload, tier_dir):
        super().__init__(BUILD, ["--enable_offload"] if offload else [])
        self.daemon_port = free_port()
        env = dict(os.environ, MC_TCP_BIND_ADDRESS="127.0.0.1")
        daemon_flags = [f"--offload_path={tier_dir}", "--enable_offload"] if offload else []
        self.daemon = subprocess.Popen(
            [f"{BUILD}/tools/mooncake_client", "--host=127.0.0.1",
             f"--metadata_server={self.metadata}", f"--master_server_address={self.address}",
             f"--port={self.daemon_port}", f"--global_segment_size={memory}", *daemon_flags],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        if "serving dummy clients" not in self.daemon.stdout.readline():
            raise RuntimeError("mooncake_client did not start")

    def stop(self):
        self.daemon.kill()
        self.daemon.wait()
        super().stop()


def fio_read(directory, total, block):
    path = os.path.join(directory, "fio.dat")
    common = ["fio", "--name=disk", f"--filename={path}", f"--size={total}", "--direct=1",
              "--ioengine=io_uring", "--output-format=json"]
    subprocess.run(common + ["--rw=write", "--bs=1M", "--iodepth=16"], check=True,
                   capture_output=True)
    out = subprocess.run(common + ["--rw=read", f"--bs={block}", "--iodepth=32"], check=True,
                         capture_output=True, text=True).stdout
    os.unlink(path)
    return json.loads(out)["jobs"][0]["read"]["bw_bytes"] / 1e9


class Client:
    """A pure client with one registered area of `batch` objects."""

    def __init__(self, cluster, size, batch):
        os.environ["MC_TCP_BIND_ADDRESS"] = "127.0.0.1"
        self.store = MooncakeDistributedStore()
        assert self.store.setup("127.0.0.1", cluster.metadata, 0, 16 << 20, "tcp", "",
                                cluster.address) == 0
        self.size, self.batch = size, batch
        self.area = ctypes.create_string_buffer(size * batch)
        base = ctypes.addressof(self.area)
        assert self.store.register_buffer(base, size * batch) == 0
        self.ptrs = [base + i * size for i in range(batch)]
        for i in range(batch):  # distinct bytes per slot
            ctypes.memset(self.ptrs[i], 17 + i, size)

    def put(self, prefix, first, count):
        started = time.perf_counter()
        for at in range(first, first + count, self.batch):
            n = min(self.batch, first + count - at)
            keys = [f"{prefix}/{k}" for k in range(at, at + n)]
            rc = self.store.batch_put_from(keys, self.ptrs[:n], [self.size] * n)
            assert rc == [0] * n, rc
        return count * self.size / (time.perf_counter() - started) / 1e9

    def get(self, prefix, first, count):
        """(GB/s of the objects found, objects found)"""
        found = 0
        started = time.perf_counter()
        for at in range(first, first + count, self.batch):
            n = min(self.batch, first + count - at)
            keys = [f"{prefix}/{k}" for k in range(at, at + n)]
            got = self.store.batch_get_into(keys, self.ptrs[:n], [self.size] * n)
            found += sum(1 for g in got if g == self.size)
        elapsed = time.perf_counter() - started
        return found * self.size / elapsed / 1e9, found

    def close(self):
        self.store.close()


def wait_drained(cluster, timeout=120):
    """Until no offload waits and none has landed for a while (the running ones are done)."""
    deadline, last, still = time.time() + timeout, -1, 0
    while time.time() < deadline:
        m = metrics(cluster.metrics_port)
        landed = m.get("mooncake_master_offloaded_objects_total", 0)
        still = still + 1 if m.get("mooncake_master_offload_queue", 0) == 0 and landed == last else 0
        if still >= 3:
            return
        last = landed
        time.sleep(0.2)
    raise RuntimeError("the offload queue did not drain")


def run_once(size, memory, batch, directory):
    working = 4 * memory // size  # objects: 4x the memory
    fits = memory // size // 2  # what surely fits in memory (below the eviction watermark)
    fio_before = fio_read(directory, working * size, size)

    base = Cluster(memory, False, "")
    try:
        client = Client(base, size, batch)
        base_put = client.put("base", 0, fits)
        base_get, _ = client.get("base", 0, fits)
        client.close()
    finally:
        base.stop()

    tier_dir = os.path.join(directory, "tier")
    shutil.rmtree(tier_dir, ignore_errors=True)
    tiered = Cluster(memory, True, tier_dir)
    try:
        client = Client(tiered, size, batch)
        off_put = client.put("tier", 0, fits)
        off_get, _ = client.get("tier", 0, fits)
        rest_put = client.put("tier", fits, working - fits)
        wait_drained(tiered)
        before = metrics(tiered.daemon_port)
        m = metrics(tiered.metrics_port)
        in_memory = int(m["mooncake_master_bytes_used"]) // size
        disk_only = working - in_memory
        # The oldest objects are the ones eviction moved to disk.
        disk_get, found_disk = client.get("tier", 0, disk_only)
        after = metrics(tiered.daemon_port)
        _, found_all = client.get("tier", 0, working)
        m = metrics(tiered.metrics_port)
        client.close()
    finally:
        tiered.stop()
        shutil.rmtree(tier_dir, ignore_errors=True)
    fio_after = fio_read(directory, working * size, size)

    reads = after.get("mooncake_disk_tier_read_seconds_count", 0) - \
        before.get("mooncake_disk_tier_read_seconds_count", 0)
    read_time = after.get("mooncake_disk_tier_read_seconds_sum", 0) - \
        before.get("mooncake_disk_tier_read_seconds_sum", 0)
    fio = statistics.median([fio_before, fio_after])
    return {"fio": fio, "base_put": base_put, "off_put": off_put, "base_get": base_get,
            "off_get": off_get, "rest_put": rest_put, "disk_get": disk_get,
            "found_disk": found_disk, "disk_only": disk_only, "hit": found_all / working,
            "offloaded": m.get("mooncake_master_offloaded_objects_total", 0),
            "dropped": m.get("mooncake_master_evicted_without_offload_total", 0),
            "reads": reads, "read_time": read_time,
            "get_time": found_disk * size / (disk_get * 1e9) if disk_get else 0}


def run(size, memory, batch, directory, reps):
    print(f"\n== {size >> 10} KiB objects: memory {memory >> 20} MiB, working set "
          f"{4 * memory >> 20} MiB, batch {batch}, {reps} reps (medians; fio before and after "
          f"each rep)", flush=True)
    runs = [run_once(size, memory, batch, directory) for _ in range(reps)]

    def med(field):
        return statistics.median(r[field] for r in runs)

    def ratio(a, b):
        return statistics.median(r[a] / r[b] for r in runs)

    def series(field):
        return ", ".join(f"{r[field]:.2f}" for r in runs)

    print(f"fio O_DIRECT sequential read: {med('fio'):.3f} GB/s "
          f"(runs: {series('fio')})")
    print(f"memory put   baseline {med('base_put'):.3f} GB/s, offload running "
          f"{med('off_put'):.3f} GB/s (ratio {ratio('off_put', 'base_put'):.2f})")
    print(f"memory get   baseline {med('base_get'):.3f} GB/s, offload running "
          f"{med('off_get'):.3f} GB/s (ratio {ratio('off_get', 'base_get'):.2f})")
    print(f"puts beyond memory (each waits for the disk to take the oldest): "
          f"{med('rest_put'):.3f} GB/s")
    print(f"disk-only get {med('disk_get'):.3f} GB/s over {runs[-1]['found_disk']}/"
          f"{runs[-1]['disk_only']} objects (ratio to fio {ratio('disk_get', 'fio'):.2f}; runs: "
          f"{series('disk_get')})")
    print(f"hit ratio {med('hit'):.3f} (memory + disk hold all: expected 1.000); offloaded "
          f"{int(runs[-1]['offloaded'])}, evicted without a disk copy {int(runs[-1]['dropped'])}")
    if runs[-1]["reads"]:
        r = runs[-1]
        print(f"where the time goes (last rep): the daemon's {int(r['reads'])} batched disk "
              f"reads add up to {r['read_time']:.2f} s within {r['get_time']:.2f} s of disk-only "
              f"gets (two waves are staged while one is transferred, so the disk is busy "
              f"{100 * min(1.0, r['read_time'] / r['get_time']):.0f}% of the time)")
    return {"size": size, "put_ratio": ratio("off_put", "base_put"),
            "get_ratio": ratio("off_get", "base_get"), "disk_ratio": ratio("disk_get", "fio"),
            "hit_ratio": med("hit")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="directory on the disk to measure")
    parser.add_argument("--memory", type=int, default=256, help="segment MiB (working set 4x)")
    parser.add_argument("--batch", type=int, default=16, help="objects per batch call")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians reported)")
    args = parser.parse_args()
    if shutil.which("fio") is None:
        sys.exit("fio is not installed (apt-get install fio)")
    directory = args.dir or tempfile.mkdtemp(prefix="mc-disk-bench-", dir="/var/tmp")
    os.makedirs(directory, exist_ok=True)
    results = []
    try:
        for size, batch in ((1 << 20, args.batch), (128 << 10, args.batch * 8)):
            results.append(run(size, args.memory << 20, batch, directory, args.reps))
    finally:
        if args.dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print("\nsize      put/base  get/base  disk/fio  hit")
    for r in results:
        print(f"{r['size'] >> 10:>5} KiB  {r['put_ratio']:8.2f}  {r['get_ratio']:8.2f}  "
              f"{r['disk_ratio']:8.2f}  {r['hit_ratio']:.3f}")


if __name__ == "__main__":
    main()
