// The segments clients mounted, each with its allocator, and replica placement across them.
//
// Thread-safe (one mutex; allocations are short, so contention stays low). Lock order: object
// shards before this registry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mooncake/common/status.h"
#include "mooncake/store/master_options.h"
#include "store/master/segment_allocator.h"

namespace mooncake::store {
namespace durable {
class MetadataLog;
class SnapshotSink;
}  // namespace durable

using SegmentId = uint64_t;

struct SegmentInfo {
  std::string name;   // logical name (the client's local_hostname), for preferences
  uint64_t base = 0;  // address of the range in the owner's memory
  uint64_t size = 0;
  std::string te_endpoint;  // Transfer Engine segment name readers open
};

// One replica's space: where it lives and how to give it back.
struct Placement {
  SegmentId segment = 0;
  SegmentAllocator::Allocation allocation;
  std::string te_endpoint;
  bool detached = false;  // its segment's owner is away (MasterService: not handed to readers)
};

struct SegmentStats {
  SegmentId id = 0;
  std::string name;
  std::string te_endpoint;
  uint64_t used_bytes = 0;
  uint64_t capacity_bytes = 0;
};

// What a put asks of placement.
struct PlacementRequest {
  uint64_t size = 0;
  size_t count = 1;                    // replicas wanted, on distinct segments
  std::vector<std::string> preferred;  // segment names tried first, in order
  std::string writer_client_id;        // whose segments "local" means
  bool prefer_local = false;
  std::vector<std::string> avoid;  // endpoints the writer cannot reach: never used
};

class SegmentRegistry {
 public:
  static constexpr uint64_t kMinSegmentSize = 1024;

  explicit SegmentRegistry(AllocationStrategy strategy = AllocationStrategy::kRandom)
      : strategy_(strategy) {}

  // Errors: INVALID_PARAMS (size below 1 KiB, empty endpoint), SEGMENT_ALREADY_EXISTS (the
  // same endpoint and base are mounted already).
  Result<SegmentId> mount(const std::string& client_id, const SegmentInfo& info);
  // Forgets the segment and its allocator. Errors: SEGMENT_NOT_FOUND, ILLEGAL_CLIENT (another
  // client owns it).
  Status unmount(SegmentId segment, const std::string& client_id);
  // A segment whose owner was declared dead but may come back (a paused process): kept with its
  // allocations, but no new replica goes there and it counts in no capacity or usage figure
  // until reattach(). Errors: SEGMENT_NOT_FOUND.
  Status detach(SegmentId segment);
  Status reattach(SegmentId segment);
  bool isDetached(SegmentId segment) const;
  std::vector<SegmentId> segmentsOf(const std::string& client_id) const;
  // The clients owning segments readers open at `te_endpoint`.
  std::vector<std::string> ownersAt(const std::string& te_endpoint) const;
  // Id of the mounted segment with the same endpoint and base, if any.
  std::optional<SegmentId> find(const SegmentInfo& info) const;
  // The client that mounted `segment` (nullopt: not mounted).
  std::optional<std::string> ownerOf(SegmentId segment) const;

  // Places up to `count` replicas of `size` bytes on distinct segments: preferred names first,
  // then the writer's own segments (prefer_local or local_first), then the rest in the order
  // the strategy gives. May return fewer (or none).
  // `full`, when given, is set when a segment that could have taken a replica had no room
  // (so eviction could place more).
  std::vector<Placement> allocate(const PlacementRequest& request, bool* full = nullptr);
  // Returns a placement's space; a no-op when its segment was unmounted meanwhile.
  void release(const Placement& placement);

  // Durable metadata (docs/STORE.md): with a log, every mount and unmount is recorded.
  void setLog(durable::MetadataLog* log);
  // Recovery: a segment as the log knew it (ids stay), then its allocations (adoptRange, in
  // ascending address order per segment, before anything else allocates).
  void restoreSegment(SegmentId id, const std::string& client_id, const SegmentInfo& info,
                      bool detached);
  std::optional<Placement> adoptRange(SegmentId id, uint64_t address, uint64_t size);
  // Adds every segment to a snapshot.
  void dumpTo(durable::SnapshotSink& sink) const;
  // The clients owning attached segments.
  std::vector<std::string> owners() const;

  uint64_t capacityBytes() const;
  uint64_t usedBytes() const;
  std::vector<SegmentStats> stats() const;

 private:
  struct Mounted {
    std::string client_id;
    SegmentInfo info;
    std::unique_ptr<SegmentAllocator> allocator;
    bool detached = false;
  };
  // Requires mutex_. Records the segment's state in the metadata log (nullptr: it is gone).
  void logSegment(SegmentId id, const Mounted* mounted);
  // Requires mutex_. The non-preferred segments in the strategy's order.
  std::vector<std::map<SegmentId, Mounted>::iterator> strategyOrder(bool local_first,
                                                                    const std::string& writer);

  mutable std::mutex mutex_;
  std::map<SegmentId, Mounted> segments_;  // GUARDED_BY(mutex_)
  SegmentId next_id_ = 1;                  // GUARDED_BY(mutex_)
  const AllocationStrategy strategy_;
  std::minstd_rand random_{0x6d6f6f6e};  // GUARDED_BY(mutex_)
  uint64_t capacity_ = 0;                // GUARDED_BY(mutex_)
  durable::MetadataLog* log_ = nullptr;  // GUARDED_BY(mutex_)
  uint64_t lsn_count_ = 0;               // the log's count for mounts; GUARDED_BY(mutex_)
};

}  // namespace mooncake::store
