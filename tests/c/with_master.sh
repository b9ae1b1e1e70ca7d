#!/usr/bin/env bash
# Runs a program against a real mooncake_master (with its embedded HTTP metadata server) on free
# loopback ports: with_master.sh MASTER_BINARY PROGRAM [ARGS...] runs PROGRAM ARGS... MASTER_ADDR
# METADATA_URL and exits with its status. The master's log is shown when the program fails.
set -euo pipefail
master_binary="$1"
shift
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rpc_port="$(free_port)"
http_port="$(free_port)"
metrics_port="$(free_port)"
log="$(mktemp)"
"$master_binary" --rpc_address=127.0.0.1 --port="$rpc_port" --metadata_dir=none \
  --enable_http_metadata_server --http_metadata_server_host=127.0.0.1 \
  --http_metadata_server_port="$http_port" --metrics_host=127.0.0.1 \
  --metrics_port="$metrics_port" >"$log" 2>&1 &
master=$!
trap 'kill "$master" 2>/dev/null; wait "$master" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$rpc_port") 2>/dev/null && break
  kill -0 "$master" 2>/dev/null || { cat "$log" >&2; echo "with_master: master exited" >&2; exit 1; }
  sleep 0.05
done
export MC_TCP_BIND_ADDRESS=127.0.0.1
status=0
"$@" "127.0.0.1:$rpc_port" "http://127.0.0.1:$http_port/metadata" || status=$?
[ "$status" -eq 0 ] || { echo "with_master: master log:" >&2; tail -20 "$log" >&2; }
exit "$status"
