#!/usr/bin/env python3
"""Two builds' Python store against redis-py, alternating: what a change to the store's client,
master or holder costs or saves on a machine too noisy for one run of each (issue #17).

Runs `bench/python_store_bench.py redis SECONDS 1` with each build in turn (MC_BUILD_DIR and
PYTHONPATH point at it, so its master, storage process and Python module all come from it), PAIRS
times, keeping the rows MC_BENCH_ONLY-style REGEX matches. Each run starts its own Redis and
cluster, so each build's store is compared with a redis-py run next to it. Prints every run, then
per row and build the medians of store ops/s and of store / redis-py, and the median over the
pairs of B's store ops/s / A's. The Python running this runs the bench: Debian's, which has
python3-redis and matches the builds' module.

Usage: /usr/bin/python3 bench/python_ab.py <build dir A> <build dir B> [pairs=6] [regex='get 1 MiB$']
       [seconds=2]
Example (A/B of a change): cp -r build/tools build/python /tmp/old/, rebuild, then
       /usr/bin/python3 bench/python_ab.py /tmp/old build 10
"""
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(build, regex, seconds):
    env = dict(os.environ, MC_BUILD_DIR=build, MC_BENCH_ONLY=regex,
               PYTHONPATH=os.path.join(build, "python"))
    out = subprocess.run([sys.executable, os.path.join(REPO, "bench", "python_store_bench.py"),
                          "redis", str(seconds), "1"], env=env, capture_output=True, text=True,
                         check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        sys.exit(f"python_ab: the run with {build} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    samples = json.loads(lines[-1])["samples"]
    rows = {}
    for name, values in samples.items():  # "<store|redis-py> <op> <bytes> <batch>"
        who, op, size, batch = name.split()
        rows.setdefault((op, int(size), int(batch)), {})[who] = values[0]
    return rows


def label(row):
    op, size, batch = row
    unit = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"
    return f"{op} {unit}" + (f", batch {batch}" if batch > 1 else "")


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    builds = sys.argv[1:3]
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    regex = sys.argv[4] if len(sys.argv) > 4 else "get 1 MiB$"
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 2
    for build in builds:
        if not os.path.isdir(os.path.join(build, "python", "mooncake")):
            sys.exit(f"python_ab: {build} has no python/mooncake (a build dir, or a copy of one)")
    results = {build: [] for build in builds}
    for pair in range(pairs):
        for tag, build in zip("AB", builds):
            rows = run(build, regex, seconds)
            results[build].append(rows)
            for row, got in sorted(rows.items()):
                print(f"pair {pair + 1} {tag} {label(row)}: store {got['store']:,.0f}/s, "
                      f"redis-py {got['redis-py']:,.0f}/s, {got['store'] / got['redis-py']:.2f}x",
                      flush=True)
    a, b = builds
    print(f"| row ({pairs} pairs of {seconds:g} s) | A store/s | A vs redis-py | B store/s "
          "| B vs redis-py | B / A, median of the pairs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in sorted(results[a][0]):
        def median_of(build, ratio_to_redis):
            return statistics.median(
                rows[row]["store"] / (rows[row]["redis-py"] if ratio_to_redis else 1)
                for rows in results[build])
        paired = statistics.median(rb[row]["store"] / ra[row]["store"]
                                   for ra, rb in zip(results[a], results[b]))
        print(f"| {label(row)} | {median_of(a, False):,.0f} | {median_of(a, True):.2f}x | "
              f"{median_of(b, False):,.0f} | {median_of(b, True):.2f}x | {paired:.2f}x |")

if __name__ == "__main__":
    main()
