# Helpers the bench/*.sh scripts share; source it after `cd` to the repository root:
#   . bench/lib.sh
# free_port: a free TCP port on 127.0.0.1 (the kernel picks it; the caller binds it next).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_port PORT: until something listens on 127.0.0.1:PORT (up to 10 s); 1 if nothing does.
wait_port() {
  for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
# cpu_ticks PID: the process's user + system time so far, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
