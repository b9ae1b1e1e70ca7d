// How long a thread waiting for something that usually comes within microseconds looks for it,
// yielding the core, before it sleeps: a wake-up costs about as much as the wait. Initiators wait
// for a small transfer's completion, a TCP reply, the master's answer; servers (a TCP data port
// connection, a master fast RPC connection) for the peer's next request. MC_WAIT_LOOK_US (0-1000,
// default 200); 0 sleeps at once. Looking yields the core at every turn, so the other side of the
// transfer still runs on a host with few cores (docs/BENCHMARKS.md measures 0, 50, 100, 200).
#pragma once

#include <bit>
#include <chrono>
#include <cstdint>

namespace mooncake {

std::chrono::microseconds waitLookBeforeSleep();

// Transfers of up to this many bytes finish within about a wake-up, so their waiters look;
// larger ones outlast it, and a look would only take CPU from the threads doing their copies.
inline constexpr uint64_t kLookBytesLimit = 64 * 1024;

// While one is alive, this thread's waits for an answer sleep at once (lookForAnswer() is zero):
// the thread has a bulk transfer in flight that outlasts the answer (a get reads a remembered
// replica while it asks the master), so the wake-up a look saves is hidden behind the transfer,
// and the look would only take a core from the threads doing the transfer's copies.
class SleepAtOnceScope {
 public:
  explicit SleepAtOnceScope(bool active = true);
  ~SleepAtOnceScope();
  SleepAtOnceScope(const SleepAtOnceScope&) = delete;
  SleepAtOnceScope& operator=(const SleepAtOnceScope&) = delete;

 private:
  bool active_;
};

// How long this thread looks for an answer before it sleeps: waitLookBeforeSleep(), or zero
// inside a SleepAtOnceScope.
std::chrono::microseconds lookForAnswer();

// A server's look for one connection's next request, kept while it pays. A look pays when it
// finds the request (no wake-up), and also when the request comes soon after it ends: the core
// has not been idle for long, and waking a thread there is cheaper (without the look, Python
// 1 MiB puts were 5-8% slower on a 2-core VM). A connection whose requests come rarely gains
// nothing: its look spins through its whole length after every request, and sixteen clients
// calling the master every 2 ms kept one core busy that way. So each connection remembers whether
// its last eight requests came within four looks' time (known whether or not it looked: a sleeping
// wait still sees when the request came) and looks only while at least two of them did
// (docs/BENCHMARKS.md, "Fourth session").
class ConnectionLook {
 public:
  explicit ConnectionLook(std::chrono::microseconds look) : look_(look) {}

  // How long to look before sleeping for the next request (zero: sleep at once).
  std::chrono::microseconds next() const {
    return std::popcount(recent_) >= kMinRecentSoon ? look_ : std::chrono::microseconds(0);
  }
  // The next request came `waited` after the server began waiting for it.
  void arrivedAfter(std::chrono::steady_clock::duration waited) {
    recent_ = static_cast<uint8_t>((recent_ << 1) | (waited <= kSoon * look_ ? 1u : 0u));
  }

 private:
  static constexpr int kSoon = 4;  // looks
  static constexpr int kMinRecentSoon = 2;
  std::chrono::microseconds look_;
  uint8_t recent_ = 0xff;  // a new connection looks
};

}  // namespace mooncake
