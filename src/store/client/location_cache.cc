#include "store/client/location_cache.h"

#include <algorithm>
#include <functional>

namespace mooncake::store {

LocationCache::LocationCache(size_t capacity)
    : per_shard_capacity_(capacity == 0 ? 0 : std::max<size_t>(1, capacity / kShards)) {}

LocationCache::Shard& LocationCache::shardFor(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

std::optional<RememberedReplica> LocationCache::find(const std::string& key) const {
  if (!enabled()) return std::nullopt;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return std::nullopt;
  return it->second;
}

void LocationCache::remember(const std::string& key, uint64_t version,
                             const ReplicaDescriptor& replica) {
  // Version 0: staged disk memory, which is gone after the read.
  if (!enabled() || version == 0 || replica.isDisk()) return;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end() && shard.entries.size() >= per_shard_capacity_) {
    // Full: drop an arbitrary entry. A forgotten key only costs its next get the overlap.
    shard.entries.erase(shard.entries.begin());
  }
  shard.entries.insert_or_assign(key, RememberedReplica{version, replica});
}

void LocationCache::forget(const std::string& key) {
  if (!enabled()) return;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  shard.entries.erase(key);
}

void LocationCache::clear() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.entries.clear();
  }
}

bool stillValid(const RememberedReplica& remembered, const ReplicaList& list) {
  if (remembered.version == 0 || list.version != remembered.version) return false;
  return std::any_of(list.replicas.begin(), list.replicas.end(), [&](const ReplicaDescriptor& r) {
    return r.te_endpoint == remembered.replica.te_endpoint &&
           r.address == remembered.replica.address && r.size == remembered.replica.size;
  });
}

}  // namespace mooncake::store
