#!/usr/bin/env bash
# Authentication on vs off, side by side in one run on loopback (docs/SECURITY.md): two complete
# stacks (mooncake_master with its HTTP metadata server, one storage process, one Transfer
# Engine target), one started with MC_AUTH_SECRET in every process and one without, measured
# with the same store_bench / transfer_engine_bench runs, interleaved round-robin. Prints the
# medians and on / off. Connection setup time: build/bench/auth_handshake_bench.
# Usage: bench/auth_ab.sh [seconds per run, default 5] [repetitions, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
REPS="${2:-3}"
BUILD="${MC_BUILD_DIR:-build}"
[ -x "$BUILD/tools/store_bench" ] || bash scripts/setup.sh
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
. bench/lib.sh
json_field() { python3 -c "import json,sys; d=json.loads([l for l in sys.stdin if l.startswith('{')][-1]); print($1)"; }
SECRET="auth-ab-bench-secret-$RANDOM$RANDOM$RANDOM"
unset MC_AUTH_SECRET MC_AUTH_SECRET_FILE

declare -A store_flags segment
start_stack() {  # on|off
  local side=$1 env_args=() rpc http
  [ "$side" = on ] && env_args=(MC_AUTH_SECRET="$SECRET")
  rpc=$(free_port); http=$(free_port)
  env "${env_args[@]}" "$BUILD/tools/mooncake_master" --rpc_address=127.0.0.1 --port="$rpc" \
    --metrics_port=0 --enable_http_metadata_server --http_metadata_server_host=127.0.0.1 \
    --http_metadata_server_port="$http" --metadata_dir="$work/metadata-$side" \
    >"$work/master-$side.log" 2>&1 &
  pids+=($!)
  wait_port "$rpc"
  store_flags[$side]="--local_hostname=127.0.0.1 --metadata_server=http://127.0.0.1:$http/metadata --master_server_address=127.0.0.1:$rpc"
  env "${env_args[@]}" MC_SAME_HOST_DIRECT=0 "$BUILD/tools/store_bench" ${store_flags[$side]} \
    --operation=serve --global_segment_size=$((2 << 30)) --local_buffer_size=0 >"$work/serve-$side.log" 2>&1 &
  pids+=($!)
  wait_log "$work/serve-$side.log" "serving" "the storage process ($side)"
  env "${env_args[@]}" MC_SAME_HOST_DIRECT=0 "$BUILD/tools/transfer_engine_bench" --mode=target \
    --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 --buffer_size=$((256 << 20)) \
    >"$work/target-$side.out" 2>"$work/target-$side.log" &
  pids+=($!)
  wait_log "$work/target-$side.out" "--segment_id=" "the transfer_engine_bench target ($side)"
  segment[$side]=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target-$side.out")
}
start_stack on
start_stack off

side_env() { [ "$1" = on ] && echo "MC_AUTH_SECRET=$SECRET" || echo "MC_AUTH_SECRET="; }
store_run() {  # side op size keys
  env MC_SAME_HOST_DIRECT=0 "$(side_env "$1")" "$BUILD/tools/store_bench" ${store_flags[$1]} \
    --global_segment_size=0 --local_buffer_size=$((64 << 20)) --operation="$2" --value_size="$3" \
    --num_keys="$4" --threads=2 --duration="$SECONDS_PER_RUN" --key_prefix="ab$RANDOM$RANDOM" \
    2>>"$work/store_bench.log" | json_field "d['$2_ops']"
}
te_run() {  # side op block
  env MC_SAME_HOST_DIRECT=0 "$(side_env "$1")" "$BUILD/tools/transfer_engine_bench" \
    --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 --segment_id="${segment[$1]}" \
    --operation="$2" --buffer_size=$((256 << 20)) --threads=2 --block_size="$3" --batch_size=1 \
    --remote_working_set=$((100 << 20)) --duration="$SECONDS_PER_RUN" 2>>"$work/te.log" |
    json_field "d['bytes_per_sec']/$3"
}
configs=(
  "store put 4 KiB|store_run SIDE put 4096 1000"
  "store get 4 KiB|store_run SIDE get 4096 1000"
  "store put 1 MiB|store_run SIDE put 1048576 100"
  "store get 1 MiB|store_run SIDE get 1048576 100"
  "te write 4 KiB|te_run SIDE write 4096"
  "te read 4 KiB|te_run SIDE read 4096"
  "te write 1 MiB|te_run SIDE write 1048576"
  "te read 1 MiB|te_run SIDE read 1048576"
)
declare -A ops
for rep in $(seq "$REPS"); do
  for entry in "${configs[@]}"; do
    name="${entry%%|*}"
    order="off on"; [ $((rep % 2)) = 0 ] && order="on off"  # neither side always goes first
    for side in $order; do
      command="${entry#*|}"
      o=$(eval "${command//SIDE/$side}")
      ops["$name|$side"]="${ops["$name|$side"]:-} $o"
      echo "rep $rep: $name, auth $side: $o ops/s" >&2
    done
  done
done
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" $1; }
echo
echo "| run (median of $REPS x ${SECONDS_PER_RUN} s, 2 threads, TCP) | auth off ops/s | auth on ops/s | on / off |"
echo "| --- | ---: | ---: | ---: |"
for entry in "${configs[@]}"; do
  name="${entry%%|*}"
  off=$(median "${ops["$name|off"]}"); on=$(median "${ops["$name|on"]}")
  python3 -c "print(f'| $name | {$off:.0f} | {$on:.0f} | {$on/$off:.3f} |')"
done
