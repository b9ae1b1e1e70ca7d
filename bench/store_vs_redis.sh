#!/usr/bin/env bash
# Measures the Store side by side with its baselines in one run, on loopback:
#   baseline: redis-server + redis-benchmark SET/GET (4 KiB and 1 MiB values, 2 connections);
#   ceiling:  transfer_engine_bench over TCP, 4 KiB and 1 MiB single-request batches, 2 threads (what a
#             remote get or put could reach if the master cost nothing), once rereading one
#             1 MiB block per thread (cache-hot on both sides) and once cycling through 100 MiB
#             of the target, the size of the store's and Redis's 100-key space;
#   ours:     store_bench put/get (copying API, 2 threads) against mooncake_master + one storage
#             process (store_bench --operation=serve), and master_bench (metadata only:
#             PutStart+PutEnd and GetReplicaList per second, single-key and 128-key batches).
#   the same with MC_STORE_REMEMBERED_LOCATIONS=0 ("lookup not overlapped": every get asks the
#   master first, as a first read of a key does), MC_STORE_RESERVED_PUTS=0 ("two-phase": every
#   put is PutStart, write, PutEnd) and MC_STORE_MASTER_FAST_RPC=0 ("gRPC"); and with
#   MC_SAME_HOST_DIRECT=1 ("same-host direct": one kernel copy between the processes, no TCP).
# Every configuration runs REPS times, interleaved round-robin; the tables show medians.
# Usage: bench/store_vs_redis.sh [seconds per run, default 5] [repetitions, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
REPS="${2:-3}"
BUILD="${MC_BUILD_DIR:-build}"
[ -x "$BUILD/tools/store_bench" ] && [ -x "$BUILD/bench/master_bench" ] || bash scripts/setup.sh
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; [ -n "${MC_BENCH_KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT

. bench/lib.sh
json_field() { python3 -c "import json,sys; d=json.loads([l for l in sys.stdin if l.startswith('{')][-1]); print($1)"; }

# Redis: no persistence, so it measures memory service like the store does.
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"

# The store: master with the embedded metadata server, one storage process with 4 GiB.
rpc_port=$(free_port); http_port=$(free_port)
"$BUILD/tools/mooncake_master" --rpc_address=127.0.0.1 --port="$rpc_port" --metrics_port=0 \
  --enable_http_metadata_server --http_metadata_server_host=127.0.0.1 \
  --http_metadata_server_port="$http_port" --metadata_dir="$work/master-metadata" \
  >"$work/master.log" 2>&1 &
pids+=($!)
wait_port "$rpc_port"
store_flags=(--local_hostname=127.0.0.1 --metadata_server="http://127.0.0.1:$http_port/metadata"
  --master_server_address="127.0.0.1:$rpc_port")
# The storage process and the TE target offer the same-host direct path; the client runs with
# MC_SAME_HOST_DIRECT=0 (TCP) except in the rows marked "same-host direct".
MC_SAME_HOST_DIRECT=1 "$BUILD/tools/store_bench" "${store_flags[@]}" --operation=serve --global_segment_size=$((4 << 30)) \
  --local_buffer_size=0 >"$work/serve.log" 2>&1 &
pids+=($!)
wait_log "$work/serve.log" "serving" "the storage process"

# The Transfer Engine ceiling: a target process.
MC_SAME_HOST_DIRECT=1 "$BUILD/tools/transfer_engine_bench" --mode=target --metadata_server=P2PHANDSHAKE \
  --local_server_name=127.0.0.1 --buffer_size=$((256 << 20)) >"$work/target.out" 2>"$work/target.log" &
pids+=($!)
wait_log "$work/target.out" "--segment_id=" "the transfer_engine_bench target"
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target.out")

# Pre-populate Redis so GETs hit real values (keys drawn from a 1000 / 100 key space).
redis-benchmark -p "$redis_port" -t set -d 4096 -c 2 -n 20000 -r 1000 -q >/dev/null
redis-benchmark -p "$redis_port" -t set -d 1048576 -c 2 -n 1000 -r 100 -q >/dev/null

# Each runner prints "ops_per_sec bytes_per_sec".
redis_run() {  # op size keyspace expected_ops_per_sec
  local n=$(( $4 * SECONDS_PER_RUN ))
  redis-benchmark -p "$redis_port" -t "$1" -d "$2" -c 2 -n "$n" -r "$3" --csv |
    python3 -c "import csv,sys; r=list(csv.reader(sys.stdin))[1]; print(float(r[1]), float(r[1])*$2)"
}
store_run() {  # op size keys [extra store_bench flags]; $STORE_ENV: VAR=value for the client
  env MC_SAME_HOST_DIRECT=0 ${STORE_ENV:-} "$BUILD/tools/store_bench" "${store_flags[@]}" --global_segment_size=0 \
    --local_buffer_size=$((64 << 20)) --operation="$1" --value_size="$2" --num_keys="$3" ${4:-} \
    --threads=2 --duration="$SECONDS_PER_RUN" --key_prefix="sb$RANDOM$RANDOM" 2>>"$work/store_bench.log" |
    json_field "d['$1_ops'], d['$1_bytes_per_sec']" | tr -d '(),'
}
te_run() {  # op [remote working set in bytes] [block size, default 1 MiB]
  local block="${3:-1048576}"
  env MC_SAME_HOST_DIRECT=0 ${STORE_ENV:-} "$BUILD/tools/transfer_engine_bench" --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
    --segment_id="$segment" --operation="$1" --buffer_size=$((256 << 20)) --threads=2 \
    --block_size="$block" --batch_size=1 --remote_working_set="${2:-0}" \
    --duration="$SECONDS_PER_RUN" 2>>"$work/te.log" |
    json_field "d['bytes_per_sec']/$block, d['bytes_per_sec']" | tr -d '(),'
}
master_run() {  # threads batch phase; $STORE_ENV as for store_run
  env ${STORE_ENV:-} "$BUILD/bench/master_bench" --master_server_address="127.0.0.1:$rpc_port" --threads="$1" \
    --batch_size="$2" --duration="$SECONDS_PER_RUN" | json_field "d['$3_keys_per_sec'], 0" | tr -d '(),'
}

configs=(
  "redis SET 4 KiB|redis_run set 4096 1000 40000"
  "store put 4 KiB|store_run put 4096 1000"
  "redis GET 4 KiB|redis_run get 4096 1000 40000"
  "store get 4 KiB|store_run get 4096 1000"
  "store get 4 KiB, lookup not overlapped|STORE_ENV=MC_STORE_REMEMBERED_LOCATIONS=0 store_run get 4096 1000"
  "store get 4 KiB, gRPC, not overlapped|STORE_ENV='MC_STORE_REMEMBERED_LOCATIONS=0 MC_STORE_MASTER_FAST_RPC=0' store_run get 4096 1000"
  "store put 4 KiB, gRPC|STORE_ENV=MC_STORE_MASTER_FAST_RPC=0 store_run put 4096 1000"
  "store put 4 KiB, two-phase|STORE_ENV=MC_STORE_RESERVED_PUTS=0 store_run put 4096 1000"
  "te write 4 KiB|te_run write 0 4096"
  "te read 4 KiB|te_run read 0 4096"
  "redis SET 1 MiB|redis_run set 1048576 100 1500"
  "store put 1 MiB|store_run put 1048576 100"
  "store put 1 MiB zero-copy|store_run put 1048576 100 --zero_copy"
  "te write 1 MiB|te_run write"
  "te write 1 MiB, 100 MiB working set|te_run write $((100 << 20))"
  "redis GET 1 MiB|redis_run get 1048576 100 1500"
  "store get 1 MiB|store_run get 1048576 100"
  "store get 1 MiB zero-copy|store_run get 1048576 100 --zero_copy"
  "store get 1 MiB zero-copy, lookup not overlapped|STORE_ENV=MC_STORE_REMEMBERED_LOCATIONS=0 store_run get 1048576 100 --zero_copy"
  "te read 1 MiB|te_run read"
  "te read 1 MiB, 100 MiB working set|te_run read $((100 << 20))"
  "store put 4 KiB, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 store_run put 4096 1000"
  "store get 4 KiB, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 store_run get 4096 1000"
  "store put 1 MiB, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 store_run put 1048576 100"
  "store get 1 MiB, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 store_run get 1048576 100"
  "store get 1 MiB zero-copy, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 store_run get 1048576 100 --zero_copy"
  "te read 1 MiB, 100 MiB working set, same-host direct|STORE_ENV=MC_SAME_HOST_DIRECT=1 te_run read $((100 << 20))"
  "master put, single keys, 8 threads|master_run 8 1 put"
  "master get, single keys, 8 threads|master_run 8 1 get"
  "master reserved put, single keys, 8 threads|master_run 8 1 reserved_put"
  "master put, single keys, 8 threads, gRPC|STORE_ENV=MC_STORE_MASTER_FAST_RPC=0 master_run 8 1 put"
  "master get, single keys, 8 threads, gRPC|STORE_ENV=MC_STORE_MASTER_FAST_RPC=0 master_run 8 1 get"
  "master put, 128-key batches, 4 threads|master_run 4 128 put"
  "master get, 128-key batches, 4 threads|master_run 4 128 get"
)

# MC_BENCH_ONLY=regex runs only the configurations whose name matches (for a quick look).
if [ -n "${MC_BENCH_ONLY:-}" ]; then
  kept=()
  for entry in "${configs[@]}"; do [[ "${entry%%|*}" =~ $MC_BENCH_ONLY ]] && kept+=("$entry"); done
  configs=("${kept[@]}")
fi

declare -A ops bytes
for rep in $(seq "$REPS"); do
  for entry in "${configs[@]}"; do
    name="${entry%%|*}"
    read -r o b < <(eval "${entry#*|}")
    ops[$name]="${ops[$name]:-} $o"
    bytes[$name]="${bytes[$name]:-} $b"
    echo "rep $rep: $name: $o ops/s" >&2
  done
done

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" $1; }
m_ops() { median "${ops[$1]}"; }
m_gbs() { python3 -c "print($(median "${bytes[$1]}")/1e9)"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }

samples_json() {
  local json="{\"bench\":\"store_vs_redis\",\"seconds\":$SECONDS_PER_RUN,\"reps\":$REPS,\"samples\":{" first=1 name
  for entry in "${configs[@]}"; do
    name="${entry%%|*}"
    [ $first = 1 ] || json+=","
    first=0
    json+="\"$name\":[$(echo ${ops[$name]} | tr ' ' ',')]"
  done
  echo "$json}}"
}

# A partial run (MC_BENCH_ONLY) prints its rows' medians only: the ratio tables need every row.
if [ -n "${MC_BENCH_ONLY:-}" ]; then
  echo
  echo "| run (median of $REPS x ${SECONDS_PER_RUN} s) | ops/s | GB/s |"
  echo "| --- | ---: | ---: |"
  for entry in "${configs[@]}"; do
    name="${entry%%|*}"
    printf '| %s | %.0f | %.3f |\n' "$name" "$(m_ops "$name")" "$(m_gbs "$name")"
  done
  samples_json
  exit 0
fi

echo
echo "| run (median of $REPS x ${SECONDS_PER_RUN} s) | ops/s | GB/s | ratio |"
echo "| --- | ---: | ---: | --- |"
row() { printf '| %s | %.0f | %.3f | %s |\n' "$1" "$(m_ops "$1")" "$(m_gbs "$1")" "$2"; }
for size in "4 KiB" "1 MiB"; do
  row "redis SET $size" "baseline"
  row "store put $size" "$(ratio "$(m_ops "store put $size")" "$(m_ops "redis SET $size")") of Redis SET"
  row "redis GET $size" "baseline"
  row "store get $size" "$(ratio "$(m_ops "store get $size")" "$(m_ops "redis GET $size")") of Redis GET"
done
row "store put 1 MiB zero-copy" "$(ratio "$(m_ops "store put 1 MiB zero-copy")" "$(m_ops "redis SET 1 MiB")") of Redis SET"
row "store get 1 MiB zero-copy" "$(ratio "$(m_ops "store get 1 MiB zero-copy")" "$(m_ops "redis GET 1 MiB")") of Redis GET"
for name in "store get 4 KiB, lookup not overlapped" "store get 4 KiB, gRPC, not overlapped"; do
  row "$name" "$(ratio "$(m_ops "$name")" "$(m_ops "redis GET 4 KiB")") of Redis GET"
done
for name in "store put 4 KiB, two-phase" "store put 4 KiB, gRPC"; do
  row "$name" "$(ratio "$(m_ops "$name")" "$(m_ops "redis SET 4 KiB")") of Redis SET"
done
row "store get 1 MiB zero-copy, lookup not overlapped" "$(ratio "$(m_ops "store get 1 MiB zero-copy, lookup not overlapped")" "$(m_ops "redis GET 1 MiB")") of Redis GET"
row "te write 4 KiB" "store put = $(ratio "$(m_ops "store put 4 KiB")" "$(m_ops "te write 4 KiB")") of it"
row "te read 4 KiB" "store get = $(ratio "$(m_ops "store get 4 KiB")" "$(m_ops "te read 4 KiB")") of it"
row "te write 1 MiB" "store put = $(ratio "$(m_gbs "store put 1 MiB")" "$(m_gbs "te write 1 MiB")"), zero-copy $(ratio "$(m_gbs "store put 1 MiB zero-copy")" "$(m_gbs "te write 1 MiB")") of it"
row "te read 1 MiB" "store get = $(ratio "$(m_gbs "store get 1 MiB")" "$(m_gbs "te read 1 MiB")"), zero-copy $(ratio "$(m_gbs "store get 1 MiB zero-copy")" "$(m_gbs "te read 1 MiB")") of it"
name="te write 1 MiB, 100 MiB working set"
row "$name" "store put = $(ratio "$(m_gbs "store put 1 MiB")" "$(m_gbs "$name")"), zero-copy $(ratio "$(m_gbs "store put 1 MiB zero-copy")" "$(m_gbs "$name")") of it"
name="te read 1 MiB, 100 MiB working set"
row "$name" "store get = $(ratio "$(m_gbs "store get 1 MiB")" "$(m_gbs "$name")"), zero-copy $(ratio "$(m_gbs "store get 1 MiB zero-copy")" "$(m_gbs "$name")") of it"
echo
echo "| same-host direct (MC_SAME_HOST_DIRECT=1 in the client; median of $REPS x ${SECONDS_PER_RUN} s) | ops/s | GB/s | ratio |"
echo "| --- | ---: | ---: | --- |"
for op in put get; do
  name="store $op 4 KiB, same-host direct"
  base="redis $([ $op = put ] && echo SET || echo GET) 4 KiB"
  row "$name" "$(ratio "$(m_ops "$name")" "$(m_ops "$base")") of $base"
done
row "store put 1 MiB, same-host direct" "$(ratio "$(m_ops "store put 1 MiB, same-host direct")" "$(m_ops "redis SET 1 MiB")") of redis SET 1 MiB"
name="te read 1 MiB, 100 MiB working set, same-host direct"
for get in "store get 1 MiB, same-host direct" "store get 1 MiB zero-copy, same-host direct"; do
  row "$get" "$(ratio "$(m_ops "$get")" "$(m_ops "redis GET 1 MiB")") of redis GET 1 MiB, $(ratio "$(m_gbs "$get")" "$(m_gbs "$name")") of the direct TE read"
done
row "$name" "$(ratio "$(m_gbs "$name")" "$(m_gbs "te read 1 MiB, 100 MiB working set")") of the TE read over TCP"
echo
echo "| master metadata (median of $REPS x ${SECONDS_PER_RUN} s) | keys/s |"
echo "| --- | ---: |"
for name in "master put, single keys, 8 threads" "master get, single keys, 8 threads" \
  "master reserved put, single keys, 8 threads" \
  "master put, single keys, 8 threads, gRPC" "master get, single keys, 8 threads, gRPC" \
  "master put, 128-key batches, 4 threads" "master get, 128-key batches, 4 threads"; do
  printf '| %s | %.0f |\n' "$name" "$(m_ops "$name")"
done
samples_json
