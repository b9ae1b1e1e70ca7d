// Same-host transport (MC_SAME_HOST_DIRECT, on by default): moves a slice with one kernel copy
// straight between this process and a peer process on the same host (process_vm_readv/writev), with
// no socket, no peer thread and no wake-up on either side. DESIGN.md sketches same-host transfers
// over shared memfd buffers; this reaches any registered buffer, memfd-backed or not, at the
// cost of needing ptrace permission over the peer (same user, or CAP_SYS_PTRACE).
//
// A peer is reached directly only when its descriptor offers it (same_host_direct: same kernel
// boot and pid namespace as ours), its pid still names the process that published it (start
// time checked once, exit watched through a pidfd), the process itself handed us its live range
// table (TableOffer: the kernel vouches for who answered), and the kernel allows the access;
// otherwise reaches() is false and the engine uses TCP.
//
// The descriptor's buffer list is never trusted here (anyone may rewrite it in the metadata
// service): each slice is checked against the peer's live table, and a slice outside it goes to
// the fallback transport (TCP), where the target checks it itself and refuses.
//
// Thread-safe. submit() completes or forwards every slice before it returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "transfer_engine/transport/direct/live_range_table.h"
#include "transfer_engine/transport/direct/table_offer.h"
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
  // `fallback` (TCP) takes the slices that may not go directly; it must outlive this.
  DirectTransport(SliceCompletion& sink, Transport& fallback, std::string segment_name)
      : sink_(sink), fallback_(fallback), segment_name_(std::move(segment_name)) {}
  ~DirectTransport() override { stop(); }

  const char* name() const override { return "direct"; }
  uint64_t sliceSize() const override { return 1 << 20; }
  // Creates our live range table and the socket that hands it out, and records what peers need
  // to reach us (same_host_direct in the descriptor). Without /proc or a memfd it offers
  // nothing (peers use TCP) and still succeeds.
  Status start(SegmentDescriptor& local_descriptor) override;
  void stop() override;
  void submit(const RemoteSegment& target, Slice* const* slices, size_t count) override;
  // True when slices for `target` can go directly (see the header comment).
  bool reaches(const SegmentDescriptor& target);
  // Replaces what peers may touch directly with `ranges` (our remote-accessible buffers, sorted
  // by addr). Externally synchronized: the buffer registry calls it under its lock, so a removed
  // buffer is out of the table before its removal returns.
  void publishRanges(const std::vector<LiveRange>& ranges);
  // Single changes (same synchronization as publishRanges).
  void addRange(LiveRange range);
  void removeRange(uint64_t addr);

 private:
  struct Peer {
    uint64_t start = 0;  // the process this entry is about (a reused pid starts anew)
    std::string socket;  // its table socket (a new engine in that process has a new one)
    int pidfd = -1;
    bool usable = false;
    // Co-owned by this entry and by submits using it while the entry is replaced.
    std::shared_ptr<const LiveRangeView> table;
    std::chrono::steady_clock::time_point retry_at{};  // when a failed open is tried again
  };
  // Requires mutex_. The peer's entry, opened (its identity and table checked) on first use.
  Peer& peerFor(const SegmentDescriptor& target);
  // Requires mutex_. Checks the peer's identity and fetches its live table.
  Status openPeer(Peer& peer, const SegmentDescriptor& target);
  // Slices moved by one system call at most (process_vm_readv/writev take up to 1024).
  static constexpr size_t kMaxRun = 64;
  // Moves a run of covered slices of one opcode with one call; completes the slices that moved
  // whole (a prefix) and returns how many.
  size_t moveRun(const SegmentDescriptor& peer_descriptor, Slice* const* run, size_t count);
  // Moves one covered slice and completes it with its own outcome (clears `alive` when the peer
  // is gone or refuses us).
  void moveOne(const SegmentDescriptor& peer_descriptor, Slice* slice, bool& alive);
  // moveOne while `alive`, else completes the slice as retryable (the retry goes over TCP).
  void moveOrFail(const SegmentDescriptor& peer_descriptor, Slice* slice, bool& alive);
  // Requires mutex_. Stops using a peer for good (its process is gone or refuses us).
  void disable(Peer& peer, int64_t pid, const std::string& why);

  SliceCompletion& sink_;
  Transport& fallback_;
  const std::string segment_name_;
  HostIdentity self_;
  std::unique_ptr<LiveRangeTable> table_;
  TableOfferServer offer_;
  std::mutex mutex_;
  std::unordered_map<int64_t, Peer> peers_;  // by pid; GUARDED_BY(mutex_)
};

}  // namespace mooncake::te
