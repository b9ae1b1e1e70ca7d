// Same-host transport (MC_SAME_HOST_DIRECT, on by default): moves a slice with one kernel copy
// straight between this process and a peer process on the same host (process_vm_readv/writev), with
// no socket, no peer thread and no wake-up on either side. DESIGN.md sketches same-host transfers
// over shared memfd buffers; this reaches any registered buffer, memfd-backed or not, at the
// cost of needing ptrace permission over the peer (same user, or CAP_SYS_PTRACE).
//
// A peer is reached directly only when its descriptor offers it (same_host_direct: same kernel
// boot and pid namespace as ours), its pid still names the process that published it (start
// time checked once, exit watched through a pidfd), and the kernel allows the access; otherwise
// reaches() is false and the engine uses TCP. Range checks stay the engine's (only ranges the
// peer published as remote-accessible are ever asked for).
//
// Thread-safe. submit() completes every slice before it returns.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

// This process's identity for same-host peers; empty instance when it cannot be determined.
struct HostIdentity {
  std::string instance;  // "<boot_id>/<pid namespace>"
  int64_t pid = 0;
  uint64_t start = 0;  // start time, clock ticks after boot
};
HostIdentity localHostIdentity();

class DirectTransport : public Transport {
 public:
  explicit DirectTransport(SliceCompletion& sink) : sink_(sink) {}
  ~DirectTransport() override { stop(); }

  const char* name() const override { return "direct"; }
  uint64_t sliceSize() const override { return 1 << 20; }
  // Records what peers need to reach us (same_host_direct in the descriptor).
  Status start(SegmentDescriptor& local_descriptor) override;
  void stop() override;
  void submit(const RemoteSegment& target, Slice* const* slices, size_t count) override;
  // True when slices for `target` can go directly (see the header comment).
  bool reaches(const SegmentDescriptor& target);

 private:
  struct Peer {
    uint64_t start = 0;  // the process this entry is about (a reused pid starts anew)
    int pidfd = -1;
    bool usable = false;
  };
  // Requires mutex_. The peer's entry, opened (and its identity checked) on first use.
  Peer& peerFor(const SegmentDescriptor& target);
  // Requires mutex_. Stops using a peer for good (its process is gone or refuses us).
  void disable(Peer& peer, int64_t pid, const std::string& why);

  SliceCompletion& sink_;
  HostIdentity self_;
  std::mutex mutex_;
  std::unordered_map<int64_t, Peer> peers_;  // by pid; GUARDED_BY(mutex_)
};

}  // namespace mooncake::te
