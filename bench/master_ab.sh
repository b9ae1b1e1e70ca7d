#!/usr/bin/env bash
# Two mooncake_master binaries side by side under the same master_bench load, interleaved, on
# loopback: what a change to the master's RPC serving costs or saves. Prints each run's JSON line
# and the medians of single-key calls per second, B / A.
#   bench/master_ab.sh <master A> <master B> [reps=3] [threads=2] [seconds=3]
# Example (A/B of a change): build the old tree's master, copy it to /tmp/master_a, rebuild,
#   bench/master_ab.sh /tmp/master_a build/tools/mooncake_master
# MASTER_A_FLAGS / MASTER_B_FLAGS add flags to one side; "{tmp}" in them becomes a fresh
# directory per run. Durable metadata off vs on (docs/STORE.md "Durable metadata"):
#   MASTER_A_FLAGS=--metadata_dir=none MASTER_B_FLAGS='--metadata_dir={tmp}' \
#     bench/master_ab.sh build/tools/mooncake_master build/tools/mooncake_master
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2 REPS=${3:-3} THREADS=${4:-2} SECONDS_PER_PHASE=${5:-3}
BENCH=${MC_BUILD_DIR:-build}/bench/master_bench
. bench/lib.sh
run() {  # binary batch_size flags -> the bench's JSON line
  local port pid dir
  port=$(free_port)
  dir=$(mktemp -d)
  # shellcheck disable=SC2086  # the flags are words
  "$1" --rpc_address=127.0.0.1 --port="$port" --metrics_port=0 ${3//\{tmp\}/$dir/m} \
    >/dev/null 2>&1 &
  pid=$!
  wait_port "$port"
  "$BENCH" --master_server_address="127.0.0.1:$port" --threads="$THREADS" \
    --duration="$SECONDS_PER_PHASE" --batch_size="$2" 2>/dev/null | grep '^{'
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
results=$(mktemp)
for rep in $(seq "$REPS"); do
  for side in A B; do
    bin=$A flags=${MASTER_A_FLAGS:-}
    [ "$side" = B ] && bin=$B flags=${MASTER_B_FLAGS:-}
    for batch in 1 128; do
      echo "$side $batch $(run "$bin" "$batch" "$flags")" | tee -a "$results"
    done
  done
done
python3 bench/ab_summary.py "$results"
rm -f "$results"
