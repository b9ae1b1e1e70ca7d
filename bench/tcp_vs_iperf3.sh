#!/usr/bin/env bash
# Measures the TCP transport against iperf3 over loopback, side by side in one run:
#   baseline: iperf3, one stream, 128 KiB writes (its default) and 1 MiB writes, and two
#             streams (our engine uses MC_TCP_LANES_PER_PEER=2 connections per peer);
#   ours:     transfer_engine_bench (P2PHANDSHAKE) for {1 MiB, 64 KiB} blocks x {read, write}
#             x {1, 2} threads.
# Every configuration runs REPS times, interleaved round-robin so drifts in machine load hit all
# of them alike; the table shows the median in GB/s (1e9 bytes/s) and its ratio to iperf3's
# default single stream, then one JSON line with every sample.
# Usage: bench/tcp_vs_iperf3.sh [seconds per run, default 5] [repetitions, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-5}"
REPS="${2:-3}"
# This benchmark is about the TCP transport: keep same-host peers off the direct path.
export MC_SAME_HOST_DIRECT=0
BENCH="${MC_BUILD_DIR:-build}/tools/transfer_engine_bench"
[ -x "$BENCH" ] || bash scripts/setup.sh
command -v iperf3 >/dev/null || { echo "iperf3 missing: run scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

. bench/lib.sh
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

iperf_port=$(free_port)
iperf3 -s -p "$iperf_port" >"$work/iperf_server.log" 2>&1 &
pids+=($!)
BUFFER=$((512 << 20))
"$BENCH" --mode=target --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
  --buffer_size=$BUFFER >"$work/target.out" 2>"$work/target.log" &
pids+=($!)
wait_log "$work/target.out" "--segment_id=" "the transfer_engine_bench target"
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$work/target.out")

# name|command pairs; each command prints GB/s.
configs=(
  "iperf3 1 stream, 128 KiB writes|iperf 128K 1"
  "iperf3 1 stream, 1 MiB writes|iperf 1M 1"
  "iperf3 2 streams, 1 MiB writes|iperf 1M 2"
)
for block in 1048576 65536; do
  for op in write read; do
    for threads in 1 2; do
      configs+=("te tcp $op $((block / 1024)) KiB x$threads thr|te $op $block $threads")
    done
  done
done

run_config() {
  if [ "$1" = iperf ]; then
    iperf3 -c 127.0.0.1 -p "$iperf_port" -t "$SECONDS_PER_RUN" -l "$2" -P "$3" -J |
      json_field "d['end']['sum_received']['bits_per_second']/8/1e9"
  else
    local batch=$(( $2 == 1048576 ? 32 : 128 ))
    "$BENCH" --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
      --segment_id="$segment" --operation="$1" --buffer_size=$BUFFER --threads="$3" \
      --block_size="$2" --batch_size=$batch --duration="$SECONDS_PER_RUN" 2>>"$work/init.log" |
      grep '^{' | json_field "d['bytes_per_sec']/1e9"
  fi
}

declare -A samples
for rep in $(seq "$REPS"); do
  for entry in "${configs[@]}"; do
    name="${entry%%|*}"
    read -r -a cmd <<<"${entry#*|}"
    if [ "${cmd[0]}" = iperf ]; then value=$(run_config iperf "${cmd[1]}" "${cmd[2]}")
    else value=$(run_config "${cmd[1]}" "${cmd[2]}" "${cmd[3]}"); fi
    samples[$name]="${samples[$name]:-} $value"
  done
done

median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" $1; }
baseline=$(median "${samples["iperf3 1 stream, 128 KiB writes"]}")
printf '%-34s %10s %12s   %s\n' "run (median of $REPS x ${SECONDS_PER_RUN}s)" "GB/s" "x iperf3" "samples"
json="{\"bench\":\"tcp_vs_iperf3\",\"seconds\":$SECONDS_PER_RUN,\"reps\":$REPS,\"results\":{"
first=1
for entry in "${configs[@]}"; do
  name="${entry%%|*}"
  m=$(median "${samples[$name]}")
  printf '%-34s %10.2f %12.2f  %s\n' "$name" "$m" "$(python3 -c "print($m/$baseline)")" "${samples[$name]}"
  [ $first = 1 ] || json+=","
  first=0
  json+="\"$name\":[$(echo ${samples[$name]} | tr ' ' ',')]"
done
echo "$json}}"
