#!/usr/bin/env bash
# The main jobs on embedded defaults, all on loopback, no etcd needed:
#  1. Transfer Engine: a transfer_engine_bench target and initiator with P2PHANDSHAKE; the
#     initiator writes for a few seconds and reads everything back, then reads, verifying every
#     byte, and prints throughput.
#  2. Mooncake Store: a mooncake_master with its embedded HTTP metadata server, two storage
#     clients contributing memory; a short throughput table; then a client puts 300 objects with
#     2 replicas and reads them back verified, one storage client is killed with kill -9, and
#     every object is read again from its other replica.
#  3. The same store demo from Python (mooncake.store, scripts/demo_store.py), against the same
#     master.
#  0. First, mooncake_doctor checks this host the way a node would start (its summary only;
#     it never stops the demo).
# Everything started here is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD="${MC_BUILD_DIR:-build}"
BENCH="$BUILD/tools/transfer_engine_bench"
DURATION="${DEMO_DURATION:-3}"
workdir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT

# Waits until file $1 contains $2, or fails naming the process log $3.
wait_for_line() {
  for _ in $(seq 200); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2'; log:" >&2; tail -20 "$3" >&2; exit 1
}
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo $port; return; }
  done
}

echo "== 0. mooncake_doctor: is this host ready for a node? =="
"$BUILD/tools/mooncake_doctor" --local_server_name=127.0.0.1 | tail -1 || true
echo "demo: (every check with its fix: $BUILD/tools/mooncake_doctor --help; docs/TROUBLESHOOTING.md)"

echo "== 1. Transfer Engine over TCP (P2PHANDSHAKE, loopback), then same-host direct =="
BUFFER=$((256 << 20))
"$BENCH" --mode=target --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
  --buffer_size=$BUFFER >"$workdir/target.out" 2>"$workdir/target.log" &
pids+=($!)
wait_for_line "$workdir/target.out" "--segment_id=" "$workdir/target.log"
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$workdir/target.out")
echo "demo: target segment $segment"
for op in write read; do
  echo "demo: initiator $op for ${DURATION}s, 2 threads, 1 MiB blocks, verifying every byte"
  MC_SAME_HOST_DIRECT=0 "$BENCH" --mode=initiator --metadata_server=P2PHANDSHAKE \
    --local_server_name=127.0.0.1 --segment_id="$segment" --protocol=tcp --operation=$op \
    --buffer_size=$BUFFER --threads=2 --batch_size=32 --block_size=1048576 \
    --duration="$DURATION" --verify \
    2>"$workdir/initiator.log" | grep -v '^{' || { cat "$workdir/initiator.log" >&2; exit 1; }
done
echo "demo: the same read between two processes on one host without TCP (one kernel copy;"
echo "      MC_SAME_HOST_DIRECT, on by default, is what the store below uses too):"
"$BENCH" --mode=initiator --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
  --segment_id="$segment" --protocol=tcp --operation=read --buffer_size=$BUFFER \
  --threads=2 --batch_size=32 --block_size=1048576 --duration="$DURATION" --verify \
  2>"$workdir/initiator.log" | grep -v '^{' || { cat "$workdir/initiator.log" >&2; exit 1; }

echo
echo "== 2. Mooncake Store (master + embedded HTTP metadata server + 2 storage clients) =="
STORE_BENCH="$BUILD/tools/store_bench"
rpc_port=$(free_port)
http_port=$(free_port)
metrics_port=$(free_port)
master_cmd=("$BUILD/tools/mooncake_master" --rpc_address=127.0.0.1 --port=$rpc_port
  --enable_http_metadata_server --http_metadata_server_host=127.0.0.1
  --http_metadata_server_port=$http_port --metrics_host=127.0.0.1 --metrics_port=$metrics_port
  --metadata_dir="$workdir/master-metadata")
"${master_cmd[@]}" >"$workdir/master.out" 2>"$workdir/master.log" &
master_pid=$!
pids+=($!)
wait_for_line "$workdir/master.out" "listening" "$workdir/master.log"
echo "demo: mooncake_master on 127.0.0.1:$rpc_port, metadata http://127.0.0.1:$http_port/metadata"
common=(--master_server_address=127.0.0.1:$rpc_port
        --metadata_server=http://127.0.0.1:$http_port/metadata --local_hostname=127.0.0.1)
storage_pids=()
for i in 1 2; do
  "$STORE_BENCH" "${common[@]}" --operation=serve --global_segment_size=$((512 << 20)) \
    --local_buffer_size=$((1 << 20)) >"$workdir/storage$i.out" 2>"$workdir/storage$i.log" &
  pids+=($!)
  storage_pids+=($!)
  wait_for_line "$workdir/storage$i.out" "serving" "$workdir/storage$i.log"
  echo "demo: storage client $i: $(cat "$workdir/storage$i.out")"
done
driver=("$STORE_BENCH" "${common[@]}" --global_segment_size=0 --local_buffer_size=$((64 << 20)))
echo "demo: throughput, ${DURATION}s mixed put/get of 1 MiB values (1 replica, 2 threads):"
"${driver[@]}" --operation=mixed --num_keys=40 --value_size=$((1 << 20)) --key_prefix=tput \
  --duration="$DURATION" 2>>"$workdir/driver.log" | grep -v '^{' \
  || { tail -20 "$workdir/driver.log" >&2; exit 1; }
echo "demo: 300 objects of 256 KiB with 2 replicas each:"
"${driver[@]}" --operation=fill --num_keys=300 --value_size=$((256 << 10)) --replica_num=2 \
  2>"$workdir/driver.log" || { tail -20 "$workdir/driver.log" >&2; exit 1; }
"${driver[@]}" --operation=check --num_keys=300 --value_size=$((256 << 10)) \
  2>>"$workdir/driver.log" || { tail -20 "$workdir/driver.log" >&2; exit 1; }
echo "demo: kill -9 storage client 1 (pid ${storage_pids[0]})"
kill -9 "${storage_pids[0]}"
wait "${storage_pids[0]}" 2>/dev/null || true
"${driver[@]}" --operation=check --num_keys=300 --value_size=$((256 << 10)) \
  2>>"$workdir/driver.log" || { tail -20 "$workdir/driver.log" >&2; exit 1; }
echo "demo: every object was still readable from its other replica"
echo "demo: kill -9 the master (pid $master_pid), then start it with the same command line"
kill -9 "$master_pid"
wait "$master_pid" 2>/dev/null || true
"${master_cmd[@]}" >"$workdir/master2.out" 2>"$workdir/master2.log" &
pids+=($!)
wait_for_line "$workdir/master2.out" "listening" "$workdir/master2.log"
grep -o 'master: recovered .*' "$workdir/master2.log" | sed 's/^/demo: /' || true
sleep 1.5  # the storage clients' next heartbeat publishes their segments again
"${driver[@]}" --operation=check --num_keys=300 --value_size=$((256 << 10)) \
  2>>"$workdir/driver.log" || { tail -20 "$workdir/driver.log" >&2; exit 1; }
echo "demo: every object is back, byte for byte (durable metadata in $workdir/master-metadata)"
echo "demo: master metrics (http://127.0.0.1:$metrics_port/metrics):"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^mooncake_master_(objects|bytes_used|bytes_total|clients|put_end_total|evicted_objects_total) ' | sed 's/^/  /' || true

echo
echo "== 3. The store from Python (mooncake.store) =="
PYTHONPATH="$BUILD/python" /usr/bin/python3 scripts/demo_store.py "127.0.0.1:$rpc_port" \
  "http://127.0.0.1:$http_port/metadata" 2>"$workdir/python.log" \
  || { tail -20 "$workdir/python.log" >&2; exit 1; }
echo "demo: done"
