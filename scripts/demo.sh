#!/usr/bin/env bash
# The main job on the embedded default (no metadata server): a transfer_engine_bench target and
# an initiator on loopback with P2PHANDSHAKE. The initiator writes for a few seconds and reads
# everything back, then reads for a few seconds, verifying every byte, and prints throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BENCH="${MC_BUILD_DIR:-build}/tools/transfer_engine_bench"
DURATION="${DEMO_DURATION:-3}"
BUFFER=$((256 << 20))
workdir=$(mktemp -d)
target_pid=""
cleanup() {
  [ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null && wait "$target_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

"$BENCH" --mode=target --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
  --buffer_size=$BUFFER >"$workdir/target.out" 2>"$workdir/target.log" &
target_pid=$!
for _ in $(seq 100); do
  grep -q -- "--segment_id=" "$workdir/target.out" 2>/dev/null && break
  kill -0 "$target_pid" 2>/dev/null || { cat "$workdir/target.log"; echo "demo: target failed" >&2; exit 1; }
  sleep 0.1
done
segment=$(sed -n 's/.*--segment_id=\([^ ]*\).*/\1/p' "$workdir/target.out")
[ -n "$segment" ] || { echo "demo: target did not report its segment" >&2; exit 1; }
echo "demo: target segment $segment (P2PHANDSHAKE on loopback)"

for op in write read; do
  echo "demo: initiator $op for ${DURATION}s, 2 threads, 1 MiB blocks, verifying every byte"
  "$BENCH" --mode=initiator --metadata_server=P2PHANDSHAKE --local_server_name=127.0.0.1 \
    --segment_id="$segment" --protocol=tcp --operation=$op --buffer_size=$BUFFER \
    --threads=2 --batch_size=32 --block_size=1048576 --duration="$DURATION" --verify \
    2>"$workdir/initiator.log" | grep -v '^{' || { cat "$workdir/initiator.log" >&2; exit 1; }
done
echo "demo: done; data verified in both directions"
