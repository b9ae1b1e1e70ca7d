#!/usr/bin/env bash
# Two transfer_engine_bench initiators side by side against one target (from build/), over
# loopback TCP, interleaved: what a change to the Transfer Engine's initiator or wire costs or
# saves. Prints one line per run ("<op> <A|B> <transfers/s>") and, per operation, the medians and
# the median of the per-pair ratios B / A.
#   bench/te_ab.sh <build dir A> <build dir B> [seconds=2] [reps=4] [block=1048576] [threads=2]
#                  [batch=1] [ops="write read"]
# Every run moves blocks between the initiator's buffer and a 100 MiB remote working set.
# Example (A/B of a change): copy the old tree's build/tools to /tmp/old/tools, rebuild, then
#   bench/te_ab.sh /tmp/old build
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 SECONDS_PER_RUN=${3:-2} REPS=${4:-4} BLOCK=${5:-1048576} THREADS=${6:-2}
BATCH=${7:-1} OPS=${8:-write read}
export MC_SAME_HOST_DIRECT=0
. bench/lib.sh
work=$(mktemp -d)
build/tools/transfer_engine_bench --mode=target --metadata_server=P2PHANDSHAKE \
  --local_server_name=127.0.0.1 --buffer_size=$((512 << 20)) >"$work/target.out" 2>"$work/target.log" &
target=$!
trap 'kill $target 2>/dev/null || true; rm -rf "$work"' EXIT
wait_log "$work/target.out" "--segment_id=" "the transfer_engine_bench target"
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target.out")
for _ in $(seq "$REPS"); do
  for op in $OPS; do
    for side in A B; do
      dir=$A
      [ "$side" = B ] && dir=$B
      rate=$("$dir/tools/transfer_engine_bench" --metadata_server=P2PHANDSHAKE \
        --local_server_name=127.0.0.1 --segment_id="$segment" --operation="$op" \
        --buffer_size=$((256 << 20)) --threads="$THREADS" --block_size="$BLOCK" \
        --batch_size="$BATCH" --remote_working_set=$((100 << 20)) --duration="$SECONDS_PER_RUN" \
        2>>"$work/initiator.log" | grep '^{' |
        python3 -c "import json,sys; print(round(json.load(sys.stdin)['bytes_per_sec'] / $BLOCK))")
      echo "$op $side $rate" | tee -a "$work/results"
    done
  done
done
python3 - "$work/results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(lambda: {"A": [], "B": []})
for line in open(sys.argv[1]):
    op, side, rate = line.split()
    runs[op][side].append(int(rate))
for op, sides in runs.items():
    ratios = [b / a for a, b in zip(sides["A"], sides["B"]) if a]
    print(f"{op}: A {statistics.median(sides['A'])}/s, B {statistics.median(sides['B'])}/s, "
          f"B / A {statistics.median(ratios):.2f}x (pairs {min(ratios):.2f}-{max(ratios):.2f})")
PY
