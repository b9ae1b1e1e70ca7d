// How long a thread waiting for something that usually comes within microseconds looks for it,
// yielding the core, before it sleeps: a wake-up costs about as much as the wait. Initiators wait
// for a small transfer's completion, a TCP reply, the master's answer; servers (a TCP data port
// connection, a master fast RPC connection) for the peer's next request. MC_WAIT_LOOK_US (0-1000,
// default 200); 0 sleeps at once. Looking yields the core at every turn, so the other side of the
// transfer still runs on a host with few cores (docs/BENCHMARKS.md measures 0, 50, 100, 200).
#pragma once

#include <chrono>

namespace mooncake {

std::chrono::microseconds waitLookBeforeSleep();

}  // namespace mooncake
