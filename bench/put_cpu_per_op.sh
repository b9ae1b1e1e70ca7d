#!/usr/bin/env bash
# CPU time per operation of every process taking part, over loopback TCP (issue #17):
#   store put: store_bench put (copying API, 2 threads, fresh keys) against a mooncake_master and
#              one storage process (store_bench --operation=serve, 4 GiB), as bench/store_vs_redis.sh;
#   te write:  transfer_engine_bench write (2 threads, single-request batches, 100 MiB working set)
#              against a transfer_engine_bench target.
# Each process's user + system time (/proc/PID/stat for the servers, /usr/bin/time for the
# client) over a run, divided by the operations it completed. On a host whose cores are all busy,
# throughput follows the total.
# Usage: bench/put_cpu_per_op.sh [seconds per run, default 5] [repetitions, default 2]
#        [value size in bytes, default 1048576]; MC_BENCH_ZERO_COPY=1 uses the zero-copy put;
#        MC_BENCH_THREADS (default 2) sets both clients' threads; MC_BUILD_DIR another build.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
REPS="${2:-2}"
SIZE="${3:-1048576}"
THREADS="${MC_BENCH_THREADS:-2}"
BUILD="${MC_BUILD_DIR:-build}"
case "$SECONDS_PER_RUN$REPS$SIZE$THREADS" in *[!0-9]*) echo "usage: $0 [seconds] [reps] [value bytes]" >&2; exit 2 ;; esac
[ -x "$BUILD/tools/store_bench" ] && [ -x /usr/bin/time ] || { echo "needs $BUILD/tools/store_bench and /usr/bin/time (scripts/setup.sh)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

. bench/lib.sh
json_field() { python3 -c "import json,sys; print(json.loads([l for l in sys.stdin if l.startswith('{')][-1])[$1])"; }

rpc_port=$(free_port); http_port=$(free_port)
"$BUILD/tools/mooncake_master" --rpc_address=127.0.0.1 --port="$rpc_port" --metrics_port=0 \
  --enable_http_metadata_server --http_metadata_server_host=127.0.0.1 \
  --http_metadata_server_port="$http_port" --metadata_dir="$work/master-metadata" \
  >"$work/master.log" 2>&1 &
master=$!; pids+=("$master")
wait_port "$rpc_port"
flags=(--local_hostname=127.0.0.1 --metadata_server="http://127.0.0.1:$http_port/metadata"
  --master_server_address="127.0.0.1:$rpc_port")
"$BUILD/tools/store_bench" "${flags[@]}" --operation=serve --global_segment_size=$((4 << 30)) \
  --local_buffer_size=0 >"$work/serve.log" 2>&1 &
holder=$!; pids+=("$holder")
wait_log "$work/serve.log" "serving" "the storage process"
"$BUILD/tools/transfer_engine_bench" --mode=target --metadata_server=P2PHANDSHAKE \
  --local_server_name=127.0.0.1 --buffer_size=$((256 << 20)) >"$work/target.out" 2>"$work/target.log" &
target=$!; pids+=("$target")
wait_log "$work/target.out" "--segment_id=" "the transfer_engine_bench target"
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target.out")
ticks_per_second=$(getconf CLK_TCK)

echo "| run (${SECONDS_PER_RUN} s, value $SIZE bytes) | ops/s | client us/op | master us/op | holder or target us/op | total us/op |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for rep in $(seq "$REPS"); do
  for what in "store put" "te write"; do
    before=("$(cpu_ticks "$master")" "$(cpu_ticks "$holder")" "$(cpu_ticks "$target")")
    if [ "$what" = "store put" ]; then
      MC_SAME_HOST_DIRECT=0 /usr/bin/time -o "$work/time" -f "%U %S" "$BUILD/tools/store_bench" "${flags[@]}" \
        --global_segment_size=0 --local_buffer_size=$((64 << 20)) --operation=put --value_size="$SIZE" \
        --num_keys=100 --threads="$THREADS" --duration="$SECONDS_PER_RUN" --key_prefix="cpu$rep$RANDOM" \
        ${MC_BENCH_ZERO_COPY:+--zero_copy} 2>>"$work/client.log" >"$work/out"
      ops=$(json_field "'put_ops'" <"$work/out")
    else
      MC_SAME_HOST_DIRECT=0 /usr/bin/time -o "$work/time" -f "%U %S" "$BUILD/tools/transfer_engine_bench" \
        --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 --segment_id="$segment" \
        --operation=write --buffer_size=$((256 << 20)) --threads="$THREADS" --block_size="$SIZE" --batch_size=1 \
        --remote_working_set=$((100 << 20)) --duration="$SECONDS_PER_RUN" 2>>"$work/client.log" >"$work/out"
      ops=$(python3 -c "print($(json_field "'bytes_per_sec'" <"$work/out") / $SIZE)")
    fi
    if [ "$(python3 -c "print(int(float('$ops') > 0))")" != 1 ]; then
      echo "$what: no operation completed; the logs say:" >&2
      tail -n 15 "$work/client.log" "$work/master.log" "$work/serve.log" >&2
      exit 1
    fi
    after=("$(cpu_ticks "$master")" "$(cpu_ticks "$holder")" "$(cpu_ticks "$target")")
    python3 - "$what" "$ops" "$SECONDS_PER_RUN" "$ticks_per_second" "$(cat "$work/time")" \
      "${before[@]}" "${after[@]}" <<'EOF'
import sys
what, ops, seconds, hz, client = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
b, a = [float(x) for x in sys.argv[6:9]], [float(x) for x in sys.argv[9:12]]
n = ops * seconds
us = lambda cpu_seconds: cpu_seconds / n * 1e6
client_us = us(sum(float(x) for x in client.split()))
master_us = us((a[0] - b[0]) / hz)
server_us = us(((a[1] - b[1]) if what == "store put" else (a[2] - b[2])) / hz)
print(f"| {what} | {ops:,.0f} | {client_us:.1f} | {master_us:.1f} | {server_us:.1f} | "
      f"{client_us + master_us + server_us:.1f} |")
EOF
  done
done
