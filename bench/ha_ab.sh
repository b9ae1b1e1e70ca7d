#!/usr/bin/env bash
# What HA replication costs the master: the same master_bench load against a single master
# (A: --metadata_dir=none, nothing replicated) and against an HA leader with one in-sync standby
# (B: every mutating call waits for the standby's acknowledgement; docs/STORE.md "High
# availability"), interleaved, on loopback with a throwaway etcd. Prints each run's JSON line and
# the medians per metric, B / A.
#   bench/ha_ab.sh [reps=3] [threads=2] [seconds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3} THREADS=${2:-2} SECONDS_PER_PHASE=${3:-3}
BUILD=${MC_BUILD_DIR:-build}
MASTER=$BUILD/tools/mooncake_master
BENCH=$BUILD/bench/master_bench
. bench/lib.sh
work=$(mktemp -d)
etcd_port=$(free_port)
etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$(free_port)" \
  >"$work/etcd.log" 2>&1 &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null; rm -rf "$work"' EXIT
wait_port "$etcd_port"
run_single() {  # batch -> JSON line
  local port pid
  port=$(free_port)
  "$MASTER" --rpc_address=127.0.0.1 --port="$port" --metrics_port=0 --metadata_dir=none >/dev/null 2>&1 &
  pid=$!
  wait_port "$port"
  "$BENCH" --master_server_address="127.0.0.1:$port" --threads="$THREADS" \
    --duration="$SECONDS_PER_PHASE" --batch_size="$1" 2>/dev/null | grep '^{'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run_ha() {  # batch -> JSON line
  local cluster="bench-$RANDOM$RANDOM" p1 p2 m1 m2 pid1 pid2
  p1=$(free_port) p2=$(free_port) m1=$(free_port) m2=$(free_port)
  local common=(--enable_ha --etcd_endpoints="127.0.0.1:$etcd_port" --cluster_id="$cluster"
    --rpc_address=127.0.0.1 --metrics_host=127.0.0.1)
  "$MASTER" "${common[@]}" --port="$p1" --metrics_port="$m1" >/dev/null 2>&1 &
  pid1=$!
  wait_port "$p1"
  "$MASTER" "${common[@]}" --port="$p2" --metrics_port="$m2" >/dev/null 2>&1 &
  pid2=$!
  for _ in $(seq 200); do
    curl -s "http://127.0.0.1:$m1/metrics" | grep -q '^mooncake_master_ha_in_sync_standbys 1' && break
    sleep 0.05
  done
  MC_STORE_CLUSTER_ID=$cluster "$BENCH" --master_server_address="etcd://127.0.0.1:$etcd_port" \
    --threads="$THREADS" --duration="$SECONDS_PER_PHASE" --batch_size="$1" 2>/dev/null | grep '^{'
  kill "$pid1" "$pid2"; wait "$pid1" "$pid2" 2>/dev/null || true
}
results=$work/results
for rep in $(seq "$REPS"); do
  for batch in 1 128; do
    echo "A $batch $(run_single "$batch")" | tee -a "$results"
    echo "B $batch $(run_ha "$batch")" | tee -a "$results"
  done
done
python3 bench/ab_summary.py "$results" "single master (median)" "HA leader + standby (median)"
