#!/usr/bin/env bash
# The master's CPU time per key under master_bench's load, for two mooncake_master binaries run
# interleaved on loopback: what its connection threads spend waiting for requests (their look)
# against what they spend serving them. With --pause_us each client thread sleeps between calls,
# like a serving engine that moves data between two master calls.
#   bench/master_cpu_per_call.sh <master A> <master B> [reps=3] [threads=16] [pause_us=2000] [seconds=2]
# Prints, per run, the keys per second of master_bench's three phases (put, get, reserved put)
# and the master's user + system time per key; then the medians and B / A.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
A=$1 B=$2 REPS=${3:-3} THREADS=${4:-16} PAUSE_US=${5:-2000} SECONDS_PER_PHASE=${6:-2}
case "$REPS$THREADS$PAUSE_US$SECONDS_PER_PHASE" in *[!0-9]*) echo "counts must be integers" >&2; exit 2 ;; esac
BENCH=${MC_BUILD_DIR:-build}/bench/master_bench
[ -x "$BENCH" ] && [ -x "$A" ] && [ -x "$B" ] || { echo "needs $BENCH, $A and $B" >&2; exit 1; }
HZ=$(getconf CLK_TCK)
. bench/lib.sh
run() {  # binary -> "keys_per_sec_sum cpu_us_per_key"
  local port pid before after json
  port=$(free_port)
  "$1" --rpc_address=127.0.0.1 --port="$port" --metrics_port=0 --metadata_dir=none >/dev/null 2>&1 &
  pid=$!
  wait_port "$port"
  before=$(cpu_ticks "$pid")
  json=$("$BENCH" --master_server_address="127.0.0.1:$port" --threads="$THREADS" \
    --duration="$SECONDS_PER_PHASE" --pause_us="$PAUSE_US" 2>/dev/null | grep '^{')
  after=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$json" "$before" "$after" "$HZ" "$SECONDS_PER_PHASE" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
if d.get("errors"):
    sys.exit(f"master_bench reported {d['errors']} errors")
rates = [d["put_keys_per_sec"], d["get_keys_per_sec"], d["reserved_put_keys_per_sec"]]
keys = sum(rates) * float(sys.argv[5])
cpu = (float(sys.argv[3]) - float(sys.argv[2])) / float(sys.argv[4])
print(f"{sum(rates)} {cpu / keys * 1e6:.1f}")
PY
}
declare -a a_rate a_cpu b_rate b_cpu
echo "threads $THREADS, pause ${PAUSE_US} us, ${SECONDS_PER_PHASE} s per phase"
for rep in $(seq "$REPS"); do
  read -r r c < <(run "$A"); a_rate+=("$r"); a_cpu+=("$c"); echo "A run $rep: $r keys/s (3 phases summed), master $c us per key"
  read -r r c < <(run "$B"); b_rate+=("$r"); b_cpu+=("$c"); echo "B run $rep: $r keys/s (3 phases summed), master $c us per key"
done
python3 - "${a_rate[*]}" "${a_cpu[*]}" "${b_rate[*]}" "${b_cpu[*]}" <<'PY'
import statistics, sys
ar, ac, br, bc = ([float(x) for x in s.split()] for s in sys.argv[1:5])
m = statistics.median
print(f"median: A {m(ar):,.0f} keys/s at {m(ac):.1f} us per key; B {m(br):,.0f} keys/s at {m(bc):.1f} us per key")
print(f"B / A: keys/s {m(br) / m(ar):.2f}x, master CPU per key {m(bc) / m(ac):.2f}x")
PY
