#!/usr/bin/env bash
# Measures the TCP transport against iperf3 over loopback, side by side in one run:
#   baseline: iperf3, one stream, 128 KiB writes (its default) and 1 MiB writes, and two
#             streams (our engine uses MC_TCP_LANES_PER_PEER=2 connections per peer);
#   ours:     transfer_engine_bench (P2PHANDSHAKE) for {1 MiB, 64 KiB} blocks x {read, write}
#             x {1, 2} threads.
# Prints a table of GB/s (1e9 bytes/s) and the ratio to iperf3's default single stream.
# Usage: bench/tcp_vs_iperf3.sh [seconds per run, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
BENCH="${MC_BUILD_DIR:-build}/tools/transfer_engine_bench"
[ -x "$BENCH" ] || bash scripts/setup.sh
command -v iperf3 >/dev/null || { echo "iperf3 missing: run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

iperf_port=$((20000 + RANDOM % 10000))
iperf3 -s -p "$iperf_port" >"$work/iperf_server.log" 2>&1 &
pids+=($!)
sleep 0.5
iperf_run() {  # $1 = write size, $2 = parallel streams
  iperf3 -c 127.0.0.1 -p "$iperf_port" -t "$SECONDS_PER_RUN" -l "$1" -P "${2:-1}" -J |
    json_field "d['end']['sum_received']['bits_per_second']/8/1e9"
}
iperf_default=$(iperf_run 128K)
iperf_1m=$(iperf_run 1M)
iperf_2streams=$(iperf_run 1M 2)

BUFFER=$((512 << 20))
"$BENCH" --mode=target --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
  --buffer_size=$BUFFER >"$work/target.out" 2>"$work/target.log" &
pids+=($!)
for _ in $(seq 100); do grep -q -- "--segment_id=" "$work/target.out" && break; sleep 0.1; done
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target.out")

printf '%-34s %10s %14s\n' "run" "GB/s" "x iperf3"
printf '%-34s %10.2f %14s\n' "iperf3 1 stream, 128 KiB writes" "$iperf_default" "1.00"
printf '%-34s %10.2f %14.2f\n' "iperf3 1 stream, 1 MiB writes" "$iperf_1m" \
  "$(python3 -c "print($iperf_1m/$iperf_default)")"
printf '%-34s %10.2f %14.2f\n' "iperf3 2 streams, 1 MiB writes" "$iperf_2streams" \
  "$(python3 -c "print($iperf_2streams/$iperf_default)")"
for block in 1048576 65536; do
  batch=$(( block >= 1048576 ? 32 : 128 ))
  for op in write read; do
    for threads in 1 2; do
      line=$("$BENCH" --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
        --segment_id="$segment" --operation=$op --buffer_size=$BUFFER --threads=$threads \
        --block_size=$block --batch_size=$batch --duration="$SECONDS_PER_RUN" 2>>"$work/init.log" |
        grep '^{')
      gbps=$(echo "$line" | json_field "d['bytes_per_sec']/1e9")
      printf '%-34s %10.2f %14.2f\n' "te tcp $op $((block / 1024)) KiB x$threads thr" "$gbps" \
        "$(python3 -c "print($gbps/$iperf_default)")"
    done
  done
done
