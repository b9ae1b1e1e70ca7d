#!/usr/bin/env python3
"""The store demo driven from Python (scripts/demo.sh part 3): two storage processes each
contribute memory through mooncake.store, a pure client puts objects with 2 replicas and reads
them back verified, one storage process is killed with kill -9, and every object is read again.

Usage: demo_store.py <master host:port> <metadata URL>   (PYTHONPATH must hold build/python)
"""
import os
import subprocess
import sys
import time

from mooncake.store import MooncakeDistributedStore, ReplicateConfig

STORAGE = """
import sys
from mooncake.store import MooncakeDistributedStore
store = MooncakeDistributedStore()
rc = store.setup("127.0.0.1", sys.argv[2], 256 << 20, 0, "tcp", "", sys.argv[1])
print("READY" if rc == 0 else f"FAILED {rc}", store.get_hostname(), flush=True)
sys.stdin.read()
store.close()
"""


def main():
    master, metadata = sys.argv[1], sys.argv[2]
    storage = []
    for _ in range(2):
        child = subprocess.Popen([sys.executable, "-c", STORAGE, master, metadata],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        status, name = child.stdout.readline().split()
        if status != "READY":
            sys.exit(f"demo: a Python storage process failed to start: {status} {name}")
        print(f"demo: Python storage process {child.pid} serves 256 MiB as {name}")
        storage.append(child)

    client = MooncakeDistributedStore()
    if client.setup("127.0.0.1", metadata, 0, 64 << 20, "tcp", "", master) != 0:
        sys.exit("demo: the Python client could not set up")
    two = ReplicateConfig()
    two.replica_num = 2
    values = {f"py/{i}": os.urandom(64 << 10) for i in range(300)}
    started = time.time()
    for key, value in values.items():
        rc = client.put(key, value, two)
        if rc != 0:
            sys.exit(f"demo: put {key} failed with {rc}")
    put_seconds = time.time() - started
    started = time.time()
    bad = [key for key, value in values.items() if client.get(key) != value]
    get_seconds = time.time() - started
    if bad:
        sys.exit(f"demo: {len(bad)} objects read back wrong, e.g. {bad[0]}")
    print(f"demo: 300 objects of 64 KiB x 2 replicas: put {300 / put_seconds:.0f} ops/s, "
          f"get+verify {300 / get_seconds:.0f} ops/s")

    victim = storage[0]
    print(f"demo: kill -9 Python storage process {victim.pid}")
    victim.kill()
    victim.wait()
    bad = [key for key, value in values.items() if client.get(key) != value]
    if bad:
        sys.exit(f"demo: {len(bad)} objects lost after the kill, e.g. {bad[0]}")
    print("demo: every object was still readable from its other replica (Python)")

    client.remove_by_regex("^py/", True)
    client.close()
    for child in storage[1:]:
        child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()
