// The interface every transport implements, and the Slice it moves. Slicing, retries, range
// checks and descriptor caching live in the engine; a transport only moves slices to one peer
// and reports each slice's outcome exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "mooncake/common/status.h"
#include "mooncake/transfer_engine/transfer_request.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::te {

struct Task;

// One contiguous piece of a request. Owned by its batch; a transport holds a pointer from
// submit() until it reports the slice done, and never touches it afterwards.
struct Slice {
  TransferRequest::OpCode opcode = TransferRequest::READ;
  char* local = nullptr;  // registered local memory
  uint64_t remote = 0;    // address in the target segment
  size_t length = 0;
  SegmentID target_id = 0;
  Task* task = nullptr;
  int attempts = 0;  // failed attempts so far
  // Set by the engine for a submit that is one small slice: its waiter may read the reply
  // itself (Transport::drive) instead of waiting for a transport thread to hand it over.
  bool drivable = false;
  // Where the transport put the slice (and the group that guards its lifetime), for drive();
  // the transport's own business. Cleared before the slice is reported done.
  std::atomic<void*> carrier{nullptr};
  std::atomic<void*> carrier_group{nullptr};
  uint16_t wire_pad = 0;  // the transport's own business too (TCP: the payload's pad)
};

// A peer as a transport sees it: its descriptor and the host its listeners run on.
struct RemoteSegment {
  SegmentDescriptor descriptor;
  std::string host;       // connectable host of the peer
  uint16_t rpc_port = 0;  // its handshake port
};

// Receives slice outcomes. Called from transport threads; must not block on the network.
class SliceCompletion {
 public:
  virtual ~SliceCompletion() = default;
  virtual void onSliceDone(Slice* slice, const Status& status) = 0;
};

// Thread-safe: submit() may be called from any thread, including from within onSliceDone.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* name() const = 0;
  // Bytes per slice this transport moves best.
  virtual uint64_t sliceSize() const = 0;
  // Starts listeners and records what peers need to reach us in the local descriptor.
  virtual Status start(SegmentDescriptor& local_descriptor) = 0;
  // Stops every thread; slices still queued complete with ERR_SOCKET. Idempotent.
  virtual void stop() = 0;
  // Queues slices that all target `target`. Never blocks on the network.
  virtual void submit(const RemoteSegment& target, Slice* const* slices, size_t count) = 0;
  // Called by a thread that waits for a drivable `slice`: if the transport lets callers do its
  // receiving, reads replies until done() or `until` passes, and returns true; false when it
  // cannot (someone else is reading; the slice will be completed anyway). Completes slices
  // through the SliceCompletion like its own threads do.
  virtual bool drive(Slice* /*slice*/, std::chrono::steady_clock::time_point /*until*/,
                     const std::function<bool()>& /*done*/) {
    return false;
  }
  // The caller gave up on `slice` (its deadline passed): complete it soon with an error
  // instead of when the network answers or the stall timeout passes. A transport may fail
  // other slices with it (they are retried); one that always completes promptly does nothing.
  virtual void abandon(Slice* /*slice*/) {}
};

}  // namespace mooncake::te
