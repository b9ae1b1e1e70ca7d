// MasterService: BatchReplicaClear (a writer dropping its objects' replicas, all of them or
// those on one segment).
#include <algorithm>

#include "store/master/master_service.h"

namespace mooncake::store {

std::vector<std::string> MasterService::batchReplicaClear(const std::string& client_id,
                                                          const std::vector<std::string>& keys,
                                                          const std::string& segment_name) {
  std::vector<std::string> cleared;
  for (const std::string& key : keys) {
    if (key.empty()) continue;
    Shard& shard = shardFor(key);
    std::vector<Placement> freed;
    {
      std::lock_guard lock(shard.mutex);
      auto it = shard.objects.find(key);
      if (it == shard.objects.end()) continue;
      Object& object = it->second;
      // Readers trust leases, and only the writer may drop what it wrote.
      if (!object.complete || object.owner != client_id || object.lease_until > now_()) continue;
      if (segment_name.empty()) {
        // Every replica: the disk copy too.
        dropDiskCopy(key, object);
        freed = std::move(object.replicas);
        object.replicas.clear();
      } else {
        auto on_segment = std::stable_partition(
            object.replicas.begin(), object.replicas.end(),
            [&](const Placement& p) { return p.te_endpoint != segment_name; });
        if (on_segment == object.replicas.end()) continue;  // nothing there: skipped
        freed.assign(std::make_move_iterator(on_segment),
                     std::make_move_iterator(object.replicas.end()));
        object.replicas.erase(on_segment, object.replicas.end());
      }
      if (object.offload == Object::Offload::kRunning) {
        // An offload may be reading that memory: hold it back instead of freeing it.
        std::lock_guard side(side_mutex_);
        abandonLocked(std::move(freed), now_() + kOffloadHold);
        freed.clear();
        object.offload = Object::Offload::kNone;
        object.offload_evicts = false;
      }
      if (object.replicas.empty() && object.disk_holder == 0) {
        releaseObject(key, object);
        logObject(shard, key, nullptr);
        shard.erase(it);
      } else if (object.replicas.empty()) {
        logObject(shard, key, nullptr);  // only on disk now
      } else {
        // A new version (readers that remembered a cleared replica must look again): a disk
        // copy of the old version could not be read as this one, so it goes too.
        dropDiskCopy(key, object);
        // An offload of the old version is void (its report is refused); eviction queues the
        // new one when it needs to.
        object.offload = Object::Offload::kNone;
        object.offload_evicts = false;
        object.version = next_version_.fetch_add(1, std::memory_order_relaxed);
        logObject(shard, key, &object);
      }
    }
    releaseAll(freed);
    cleared.push_back(key);
  }
  return cleared;
}

}  // namespace mooncake::store
