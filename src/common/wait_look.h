// How long a thread waiting for a reply that usually comes within microseconds (a small
// transfer's completion, a TCP reply, the master's answer) looks for it, yielding the core,
// before it sleeps: a wake-up costs about as much as the wait. MC_WAIT_LOOK_US (0-1000, default
// 200); 0 sleeps at once. Looking yields the core at every turn, so the other side of the
// transfer still runs on a host with few cores (docs/BENCHMARKS.md measures 0, 50, 100, 200).
#pragma once

#include <chrono>

namespace mooncake {

std::chrono::microseconds waitLookBeforeSleep();

}  // namespace mooncake
