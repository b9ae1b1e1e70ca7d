# Helpers the bench/*.sh scripts share; source it after `cd` to the repository root:
#   . bench/lib.sh
# free_port: a free TCP port on 127.0.0.1 below the kernel's ephemeral range (bench_support.py).
free_port() { python3 -c 'import sys; sys.path.insert(0, "bench"); import bench_support; print(bench_support.free_port())'; }
# wait_port PORT: until something listens on 127.0.0.1:PORT (up to 10 s); 1 if nothing does.
wait_port() {
  for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
# cpu_ticks PID: the process's user + system time so far, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wait_log FILE TEXT WHAT: until FILE contains TEXT (up to 60 s: a storage process populates its
# whole segment before it serves); otherwise says which process never got ready, shows its log
# and fails, so that no run is timed against a process that is not serving.
wait_log() {
  for _ in $(seq 600); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$3 never became ready (no '$2' in $1 after 60 s):" >&2
  tail -n 20 "$1" >&2
  return 1
}
