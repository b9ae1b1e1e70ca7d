// MasterService: the disk tier (docs/STORE.md "Disk tier"): holders' disks, offloads, disk
// replicas, promotions back to memory.
#include <glog/logging.h>

#include <algorithm>

#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

Status keyError(StoreErrorCode code, const std::string& key, const std::string& why) {
  return Status::storeError(code, "key '" + key + "': " + why);
}

}  // namespace

bool MasterService::inMemory(const Object& object) {
  return std::any_of(object.replicas.begin(), object.replicas.end(),
                     [](const Placement& p) { return !p.detached; });
}

void MasterService::releaseMemory(Object& object) {
  if (object.offload == Object::Offload::kRunning) {
    std::lock_guard lock(side_mutex_);
    abandonLocked(std::move(object.replicas), now_() + kOffloadHold);
  } else {
    releaseAll(object.replicas);
  }
  object.replicas.clear();
  object.offload = Object::Offload::kNone;
  object.offload_evicts = false;
}

void MasterService::dropDiskCopy(const std::string& key, Object& object) {
  if (object.disk_holder.empty()) return;
  {
    std::lock_guard lock(disk_mutex_);
    auto it = disk_holders_.find(object.disk_holder);
    if (it != disk_holders_.end()) it->second.drops.push_back({key, object.version, object.size});
  }
  object.disk_holder.clear();
  object.disk_reads = 0;
}

void MasterService::releaseObject(const std::string& key, Object& object) {
  releaseMemory(object);
  dropDiskCopy(key, object);
  if (!object.promotion_target.empty()) {
    // The holder may be writing there: hold it back like an offload's source.
    std::lock_guard lock(side_mutex_);
    abandonLocked(std::move(object.promotion_target), now_() + kOffloadHold);
  }
  object.promotion_target.clear();
  object.promoting = false;
}

uint64_t MasterService::evictOne(Shard& shard, const std::string& key, Object& object,
                                 Deferred& deferred, bool& erase) {
  const uint64_t bytes = object.size * object.replicas.size();
  erase = false;
  if (!object.disk_holder.empty()) {
    // On disk already: only the memory copy goes.
    releaseMemory(object);
    logObject(shard, key, nullptr);  // disk-only objects are registered again, not logged
    counters_.evicted_to_disk.fetch_add(1, std::memory_order_relaxed);
    counters_.evicted_objects.fetch_add(1, std::memory_order_relaxed);
    counters_.evicted_bytes.fetch_add(bytes, std::memory_order_relaxed);
    return bytes;
  }
  if (options_.enable_offload) {
    // Not on disk yet: its memory goes once its write lands (queued now if it was not), up to
    // this pass's share of the queue; past it, an object stays in memory, or is dropped with
    // --offload_force_evict.
    const auto cap = static_cast<uint64_t>(options_.offload_cap_ratio *
                                           static_cast<double>(options_.offloading_queue_limit));
    if (deferred.objects < cap) {
      bool leaving = object.offload != Object::Offload::kNone || queueOffload(key, object, true);
      if (leaving) {
        object.offload_evicts = true;
        ++deferred.objects;
        deferred.bytes += bytes;
        return bytes;
      }
      // No holder of it has a disk tier that takes it: dropped as without offload.
    } else if (!options_.offload_force_evict) {
      return 0;
    }
    counters_.evicted_without_offload.fetch_add(1, std::memory_order_relaxed);
  }
  counters_.evicted_objects.fetch_add(1, std::memory_order_relaxed);
  counters_.evicted_bytes.fetch_add(bytes, std::memory_order_relaxed);
  releaseObject(key, object);
  logObject(shard, key, nullptr);
  erase = true;
  return bytes;
}

bool MasterService::awaitOffloadLanding(Clock::time_point deadline) {
  std::unique_lock lock(offload_wait_mutex_);
  const uint64_t seen = offload_landings_;
  return offload_landed_.wait_until(lock, deadline, [&] { return offload_landings_ != seen; });
}

bool MasterService::queueOffload(const std::string& key, Object& object, bool evicts) {
  if (!options_.enable_offload || object.offload != Object::Offload::kNone ||
      !object.disk_holder.empty()) {
    return false;
  }
  for (const Placement& p : object.replicas) {
    if (p.detached) continue;
    auto owner = segments_.ownerOf(p.segment);
    if (!owner) continue;
    std::lock_guard lock(disk_mutex_);
    auto it = disk_holders_.find(*owner);
    if (it == disk_holders_.end() || !it->second.usage.accepting) continue;
    if (it->second.offloads.size() >= options_.offloading_queue_limit) {
      counters_.offload_queue_full.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    it->second.offloads.emplace_back(key, object.version);
    object.offload = Object::Offload::kQueued;
    object.offload_target = *owner;
    object.offload_evicts = evicts;
    counters_.offloads_queued.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

ReplicaDescriptor MasterService::describeDisk(const Object& object, uint64_t size) const {
  ReplicaDescriptor out;
  out.size = size;
  std::lock_guard lock(disk_mutex_);
  auto it = disk_holders_.find(object.disk_holder);
  if (it == disk_holders_.end()) return out;
  out.te_endpoint = it->second.info.te_endpoint;
  out.disk_endpoint = it->second.info.disk_endpoint;
  return out;
}

void MasterService::notePromotionHit(const std::string& key, Object& object) {
  counters_.disk_replica_reads.fetch_add(1, std::memory_order_relaxed);
  ++object.disk_reads;
  if (!options_.promotion_on_hit || object.promoting ||
      object.disk_reads < options_.promotion_admission_threshold) {
    return;
  }
  std::lock_guard lock(disk_mutex_);
  auto it = disk_holders_.find(object.disk_holder);
  if (it == disk_holders_.end() ||
      it->second.promotions_wanted.size() >= options_.promotion_queue_limit) {
    return;
  }
  it->second.promotions_wanted.emplace_back(key, object.version);
  object.promoting = true;
  counters_.promotions_queued.fetch_add(1, std::memory_order_relaxed);
}

void MasterService::placePromotions() {
  std::vector<std::pair<std::string, std::pair<std::string, uint64_t>>> wanted;  // holder, key
  {
    std::lock_guard lock(disk_mutex_);
    for (auto& [client, holder] : disk_holders_) {
      while (!holder.promotions_wanted.empty()) {
        wanted.emplace_back(client, std::move(holder.promotions_wanted.front()));
        holder.promotions_wanted.pop_front();
      }
    }
  }
  for (auto& [client, item] : wanted) {
    const auto& [key, version] = item;
    Shard& shard = shardFor(key);
    uint64_t size = 0;
    {
      std::lock_guard lock(shard.mutex);
      auto it = shard.objects.find(key);
      if (it == shard.objects.end() || it->second.version != version || !it->second.promoting ||
          inMemory(it->second) || it->second.disk_holder != client) {
        if (it != shard.objects.end() && it->second.version == version) {
          it->second.promoting = false;
        }
        continue;
      }
      size = it->second.size;
    }
    // Allocate outside the shard lock (eviction may visit it); never evict for a promotion.
    PlacementRequest request{size, 1, {}, client, true, {}};
    std::vector<Placement> placed = segments_.allocate(request);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(key);
    bool still = it != shard.objects.end() && it->second.version == version &&
                 it->second.promoting && !inMemory(it->second) &&
                 it->second.disk_holder == client && it->second.promotion_target.empty();
    if (!still || placed.empty()) {
      releaseAll(placed);
      if (still) it->second.promoting = false;  // no room: a later hit may try again
      continue;
    }
    Object& object = it->second;
    object.promotion_target = std::move(placed);
    const Placement& target = object.promotion_target.front();
    std::lock_guard disk(disk_mutex_);
    auto holder = disk_holders_.find(client);
    if (holder == disk_holders_.end()) continue;  // dropDiskHolder cleans up
    holder->second.promotions.push_back(
        {key, version, {target.te_endpoint, target.allocation.address, object.size, ""}});
  }
}

Status MasterService::promotionDone(const std::string& client_id, const std::string& key,
                                    uint64_t version, bool ok) {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (it == shard.objects.end() || it->second.version != version ||
      it->second.promotion_target.empty() || it->second.disk_holder != client_id) {
    return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "no such promotion");
  }
  Object& object = it->second;
  object.promoting = false;
  object.disk_reads = 0;
  if (!ok) {
    releaseAll(object.promotion_target);
    object.promotion_target.clear();
    counters_.promotion_failures.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }
  object.replicas = std::move(object.promotion_target);
  object.promotion_target.clear();
  shard.touch(object, now_());
  logObject(shard, key, &object);  // in memory again: durable again
  counters_.promotions.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status MasterService::mountDiskTier(const std::string& client_id, const DiskTierInfo& info) {
  if (!options_.enable_offload) {
    return Status::storeError(StoreErrorCode::NOT_SUPPORTED,
                              "this master runs without --enable_offload: no disk tier");
  }
  if (info.disk_endpoint.empty() || info.te_endpoint.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "MountLocalDiskSegment: disk and Transfer Engine endpoints needed");
  }
  {
    std::lock_guard lock(side_mutex_);
    if (clients_.count(client_id) == 0) {
      return Status::storeError(StoreErrorCode::CLIENT_NOT_FOUND,
                                "client " + client_id + " is not known: mount a segment first");
    }
  }
  std::lock_guard lock(disk_mutex_);
  DiskHolder& holder = disk_holders_[client_id];
  holder.info = info;
  holder.usage.capacity = info.capacity;
  LOG(INFO) << "master: client " << client_id << " brings a disk tier at " << info.disk_endpoint
            << " (" << info.capacity << " bytes)";
  return Status::OK();
}

OffloadWork MasterService::offloadHeartbeat(const std::string& client_id, const DiskUsage& usage,
                                            size_t max_tasks) {
  OffloadWork work;
  std::vector<std::pair<std::string, uint64_t>> popped;
  {
    std::lock_guard lock(disk_mutex_);
    auto it = disk_holders_.find(client_id);
    if (it == disk_holders_.end()) return work;
    DiskHolder& holder = it->second;
    holder.usage = usage;
    work.drop.swap(holder.drops);
    work.promote.swap(holder.promotions);
    while (!holder.offloads.empty() && popped.size() < max_tasks) {
      popped.push_back(std::move(holder.offloads.front()));
      holder.offloads.pop_front();
    }
  }
  for (auto& [key, version] : popped) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(key);
    if (it == shard.objects.end()) continue;
    Object& object = it->second;
    if (object.version != version || object.offload != Object::Offload::kQueued ||
        object.offload_target != client_id) {
      continue;  // changed since it was queued
    }
    auto source =
        std::find_if(object.replicas.begin(), object.replicas.end(), [&](const Placement& p) {
          return !p.detached && segments_.ownerOf(p.segment) == client_id;
        });
    if (source == object.replicas.end()) {
      object.offload = Object::Offload::kNone;
      object.offload_evicts = false;
      continue;
    }
    object.offload = Object::Offload::kRunning;
    work.offload.push_back({key, version, source->allocation.address, object.size});
  }
  return work;
}

std::vector<Status> MasterService::offloadDone(const std::string& client_id,
                                               const std::vector<DiskObjectRef>& written,
                                               const std::vector<DiskObjectRef>& failed) {
  std::vector<Status> out;
  out.reserve(written.size());
  for (const DiskObjectRef& ref : written) {
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it == shard.objects.end() || it->second.version != ref.version ||
        it->second.offload != Object::Offload::kRunning || it->second.offload_target != client_id) {
      counters_.offload_rejected.fetch_add(1, std::memory_order_relaxed);
      out.push_back(keyError(StoreErrorCode::INVALID_VERSION, ref.key,
                             "changed or removed while it was written to disk"));
      continue;
    }
    Object& object = it->second;
    object.disk_holder = client_id;
    object.disk_reads = 0;
    object.offload = Object::Offload::kNone;
    counters_.offloaded_objects.fetch_add(1, std::memory_order_relaxed);
    counters_.offloaded_bytes.fetch_add(object.size, std::memory_order_relaxed);
    if (object.offload_evicts) {
      // The write is over: nothing reads the memory any more, free it now.
      object.offload_evicts = false;
      counters_.evicted_to_disk.fetch_add(1, std::memory_order_relaxed);
      releaseAll(object.replicas);
      object.replicas.clear();
      logObject(shard, ref.key, nullptr);
    }
    out.push_back(Status::OK());
  }
  for (const DiskObjectRef& ref : failed) {
    counters_.offload_failures.fetch_add(1, std::memory_order_relaxed);
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it != shard.objects.end() && it->second.version == ref.version &&
        it->second.offload == Object::Offload::kRunning && it->second.offload_target == client_id) {
      // Stays in memory, evictable again (without a disk copy).
      it->second.offload = Object::Offload::kNone;
      it->second.offload_evicts = false;
    }
  }
  {
    std::lock_guard lock(offload_wait_mutex_);
    ++offload_landings_;
  }
  offload_landed_.notify_all();
  return out;
}

std::vector<Status> MasterService::registerDiskObjects(const std::string& client_id,
                                                       const std::vector<DiskObjectRef>& objects) {
  std::vector<Status> out;
  out.reserve(objects.size());
  {
    std::lock_guard lock(disk_mutex_);
    if (disk_holders_.count(client_id) == 0) {
      Status status = Status::storeError(StoreErrorCode::CLIENT_NOT_FOUND,
                                         "client " + client_id + " has no disk tier mounted");
      return std::vector<Status>(objects.size(), status);
    }
  }
  const Clock::time_point now = now_();
  for (const DiskObjectRef& ref : objects) {
    if (ref.key.empty() || ref.size == 0) {
      out.push_back(Status::storeError(StoreErrorCode::INVALID_PARAMS, "empty key or size"));
      continue;
    }
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it == shard.objects.end()) {
      Object object;
      object.size = ref.size;
      object.version = ref.version;
      object.complete = true;
      object.owner = client_id;
      object.put_started = now;
      object.last_access = now;
      object.disk_holder = client_id;
      shard.insert(ref.key, std::move(object));
      counters_.disk_replicas_registered.fetch_add(1, std::memory_order_relaxed);
      out.push_back(Status::OK());
      continue;
    }
    Object& object = it->second;
    if (!object.complete || object.version != ref.version || object.size != ref.size) {
      out.push_back(keyError(StoreErrorCode::OBJECT_ALREADY_EXISTS, ref.key,
                             "the store holds another version of it"));
      continue;
    }
    if (object.disk_holder != client_id && !object.disk_holder.empty()) {
      // Another holder has it too (the same node restarted under a new id): keep one copy.
      dropDiskCopy(ref.key, object);
    }
    object.disk_holder = client_id;
    counters_.disk_replicas_registered.fetch_add(1, std::memory_order_relaxed);
    out.push_back(Status::OK());
  }
  return out;
}

void MasterService::evictDiskReplicas(const std::string& client_id,
                                      const std::vector<DiskObjectRef>& objects) {
  for (const DiskObjectRef& ref : objects) {
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it == shard.objects.end() || it->second.disk_holder != client_id ||
        (ref.version != 0 && it->second.version != ref.version)) {
      continue;
    }
    Object& object = it->second;
    object.disk_holder.clear();
    counters_.disk_replicas_evicted.fetch_add(1, std::memory_order_relaxed);
    if (!object.replicas.empty() || !object.promotion_target.empty()) continue;
    shard.erase(it);  // it was only on disk (and not in the log)
  }
}

void MasterService::dropDiskHolder(const std::string& client_id) {
  {
    std::lock_guard lock(disk_mutex_);
    if (disk_holders_.erase(client_id) == 0) return;
  }
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (auto it = shard->objects.begin(); it != shard->objects.end();) {
      Object& object = it->second;
      if (object.offload != Object::Offload::kNone && object.offload_target == client_id) {
        // A running offload's reads were of the dead holder's own memory: nothing to hold.
        object.offload = Object::Offload::kNone;
        object.offload_evicts = false;
      }
      if (object.disk_holder != client_id) {
        ++it;
        continue;
      }
      object.disk_holder.clear();
      if (!object.promotion_target.empty()) {
        releaseAll(object.promotion_target);
        object.promotion_target.clear();
      }
      object.promoting = false;
      it = object.replicas.empty() ? shard->erase(it) : std::next(it);
    }
  }
  {
    std::lock_guard lock(offload_wait_mutex_);
    ++offload_landings_;  // puts waiting for its writes look again (and evict otherwise)
  }
  offload_landed_.notify_all();
  LOG(INFO) << "master: the disk tier of client " << client_id << " is gone with it";
}

std::vector<DiskHolderStats> MasterService::diskHolderStats() const {
  std::lock_guard lock(disk_mutex_);
  std::vector<DiskHolderStats> out;
  for (const auto& [client, holder] : disk_holders_) {
    out.push_back({client, holder.info.disk_endpoint, holder.usage, holder.offloads.size(),
                   holder.promotions_wanted.size() + holder.promotions.size()});
  }
  return out;
}

}  // namespace mooncake::store
