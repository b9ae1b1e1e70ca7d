// Where this client last read each object from, and the object's version then. A get of a
// remembered key starts reading that replica while it asks the master for the current replica
// list, so the two round trips overlap; the bytes are used only when the master answers with the
// same version and still lists that replica (see ReplicaList::version). Bounded; thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/master/master_service.h"

namespace mooncake::store {

struct RememberedReplica {
  uint64_t version = 0;
  ReplicaDescriptor replica;
};

class LocationCache {
 public:
  // capacity 0 turns remembering off.
  explicit LocationCache(size_t capacity);

  std::optional<RememberedReplica> find(const std::string& key) const;
  void remember(const std::string& key, uint64_t version, const ReplicaDescriptor& replica);
  void forget(const std::string& key);
  void clear();
  bool enabled() const { return per_shard_capacity_ > 0; }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, RememberedReplica> entries;  // GUARDED_BY(mutex)
  };
  Shard& shardFor(const std::string& key) const;

  const size_t per_shard_capacity_;
  mutable std::array<Shard, kShards> shards_;
};

// True when `list` vouches for bytes read from `remembered`: same object version, and the
// replica is still one of its replicas (not dropped with a dead holder, not moved).
bool stillValid(const RememberedReplica& remembered, const ReplicaList& list);

}  // namespace mooncake::store
