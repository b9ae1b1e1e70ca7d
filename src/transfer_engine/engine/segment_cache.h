// Name <-> SegmentID mapping and cached remote descriptors. Ids start at 1 and are never
// reused; descriptors are immutable snapshots replaced wholesale by syncSegmentCache.
//
// Thread-safe (shared lock for lookups).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "transfer_engine/transport/transport.h"

namespace mooncake::te {

class SegmentCache {
 public:
  // Snapshots are shared by the cache and by in-progress submissions that resolved them.
  using Entry = std::shared_ptr<const RemoteSegment>;

  std::optional<SegmentID> find(const std::string& name) const;
  Entry get(SegmentID id) const;
  // Inserts or replaces the entry for `name`; returns its id.
  SegmentID put(const std::string& name, Entry entry);
  std::vector<std::string> names() const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, SegmentID> ids_;  // GUARDED_BY(mutex_)
  std::unordered_map<SegmentID, Entry> entries_;    // GUARDED_BY(mutex_)
  SegmentID next_id_ = 1;                           // GUARDED_BY(mutex_)
};

}  // namespace mooncake::te
