"""Large values read into new Python objects keep their pages between calls: the C heap is told
to keep what the previous call's objects freed (python/src/heap_tuning.h, docs/PYTHON.md "Large
values and the C heap"). Each case runs in a fresh process, whose heap starts untouched."""
import os
import subprocess
import sys

from conftest import PYTHON_DIR, make_store

CHILD = """
import os, resource, sys
sys.path.insert(0, {python_dir!r})
from mooncake.store import MooncakeDistributedStore
s = MooncakeDistributedStore()
assert s.setup("127.0.0.1", {metadata!r}, 0, 16 << 20, "tcp", "", {master!r}) == 0
keys = [{prefix!r} + "/" + str(i) for i in range(16)]
expected = [bytes([i]) * (1 << 20) for i in range(16)]
for _ in range(2):  # the first calls set the heap up
    assert s.get_batch(keys) == expected
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    values = s.get_batch(keys)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert values == expected
    del values
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    assert s.get(keys[3]) == expected[3]
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
s.close()
print(max(faults))
"""


def _run_child(cluster, prefix, env_extra):
    script = CHILD.format(python_dir=PYTHON_DIR, metadata=cluster.metadata,
                          master=cluster.master, prefix=prefix)
    env = dict(os.environ, **env_extra)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.strip().splitlines()[-1]), done.stderr


def _populate(cluster, prefix):
    holder = make_store(cluster, segment=64 << 20)
    keys = [f"{prefix}/{i}" for i in range(16)]
    assert holder.put_batch(keys, [bytes([i]) * (1 << 20) for i in range(16)]) == 0
    return holder


def test_batches_of_large_values_reuse_the_heaps_pages(cluster):
    holder = _populate(cluster, "heap-keep")
    try:
        # 16 MiB a batch is 4,096 pages: without the kept heap, each batch faulted nearly all of
        # them in again (and so did the single 1 MiB get after it, 256 pages).
        worst, _ = _run_child(cluster, "heap-keep", {})
        assert worst < 400, f"a call faulted {worst} pages in: the heap gave its pages back"
    finally:
        holder.close()


def test_a_bad_heap_setting_warns_and_reads_still_work(cluster):
    holder = _populate(cluster, "heap-bad")
    try:
        _, stderr = _run_child(cluster, "heap-bad", {"MC_PYTHON_HEAP_KEEP_MB": "lots"})
        assert "MC_PYTHON_HEAP_KEEP_MB=lots" in stderr
        # Turned off, reads still work (the child checks every value).
        _run_child(cluster, "heap-bad", {"MC_PYTHON_HEAP_KEEP_MB": "0"})
    finally:
        holder.close()
