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

uint32_t MasterService::holderNumber(const std::string& client_id) const {
  auto it = holder_numbers_.find(client_id);
  return it == holder_numbers_.end() ? 0 : it->second;
}

std::optional<Placement> MasterService::takePromotionTarget(uint32_t number,
                                                            const std::string& key) {
  std::lock_guard lock(disk_mutex_);
  auto holder = disk_holders_.find(number);
  if (holder == disk_holders_.end()) return std::nullopt;
  auto it = holder->second.promotion_targets.find(key);
  if (it == holder->second.promotion_targets.end()) return std::nullopt;
  Placement target = std::move(it->second);
  holder->second.promotion_targets.erase(it);
  return target;
}

bool MasterService::dropPromotionOn(uint32_t number, const std::string& key, SegmentId segment) {
  std::lock_guard lock(disk_mutex_);
  auto holder = disk_holders_.find(number);
  if (holder == disk_holders_.end()) return false;
  auto it = holder->second.promotion_targets.find(key);
  if (it == holder->second.promotion_targets.end() || it->second.segment != segment) return false;
  holder->second.promotion_targets.erase(it);
  return true;
}

void MasterService::dropDiskCopy(const std::string& key, Object& object) {
  if (object.disk_holder == 0) return;
  {
    std::lock_guard lock(disk_mutex_);
    auto it = disk_holders_.find(object.disk_holder);
    if (it != disk_holders_.end()) it->second.drops.push_back({key, object.version, object.size});
  }
  object.disk_holder = 0;
  object.disk_reads = 0;
}

void MasterService::releaseObject(const std::string& key, Object& object) {
  releaseMemory(object);
  if (object.promoting) {
    if (auto target = takePromotionTarget(object.disk_holder, key)) {
      // The holder may be writing there: hold it back like an offload's source.
      std::lock_guard lock(side_mutex_);
      abandonLocked({std::move(*target)}, now_() + kOffloadHold);
    }
    object.promoting = false;
  }
  dropDiskCopy(key, object);
}

uint64_t MasterService::evictOne(Shard& shard, const std::string& key, Object& object,
                                 Deferred& deferred, bool& erase) {
  const uint64_t bytes = object.size * object.replicas.size();
  erase = false;
  if (object.disk_holder != 0) {
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
      object.disk_holder != 0) {
    return false;
  }
  for (const Placement& p : object.replicas) {
    if (p.detached) continue;
    auto owner = segments_.ownerOf(p.segment);
    if (!owner) continue;
    std::lock_guard lock(disk_mutex_);
    auto it = disk_holders_.find(holderNumber(*owner));
    if (it == disk_holders_.end() || !it->second.usage.accepting) continue;
    if (it->second.offloads.size() >= options_.offloading_queue_limit) {
      counters_.offload_queue_full.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    it->second.offloads.emplace_back(key, object.version);
    object.offload = Object::Offload::kQueued;
    object.offload_target = it->first;
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
  if (object.disk_reads < UINT16_MAX) ++object.disk_reads;
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
  struct Wanted {
    uint32_t holder;
    std::string client_id;
    std::string key;
    uint64_t version;
  };
  std::vector<Wanted> wanted;
  {
    std::lock_guard lock(disk_mutex_);
    for (auto& [number, holder] : disk_holders_) {
      while (!holder.promotions_wanted.empty()) {
        auto& [key, version] = holder.promotions_wanted.front();
        wanted.push_back({number, holder.client_id, std::move(key), version});
        holder.promotions_wanted.pop_front();
      }
    }
  }
  for (const Wanted& w : wanted) {
    Shard& shard = shardFor(w.key);
    auto still = [&](const Object& object) {
      return object.version == w.version && object.promoting && !inMemory(object) &&
             object.disk_holder == w.holder;
    };
    uint64_t size = 0;
    {
      std::lock_guard lock(shard.mutex);
      auto it = shard.objects.find(w.key);
      if (it == shard.objects.end()) continue;
      if (!still(it->second)) {
        if (it->second.version == w.version) it->second.promoting = false;
        continue;
      }
      size = it->second.size;
    }
    // Allocate outside the shard lock (eviction may visit it); never evict for a promotion.
    PlacementRequest request{size, 1, {}, w.client_id, true, {}};
    std::vector<Placement> placed = segments_.allocate(request);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(w.key);
    const bool wanted_still = it != shard.objects.end() && still(it->second);
    if (!wanted_still || placed.empty()) {
      releaseAll(placed);
      if (wanted_still) it->second.promoting = false;  // no room: a later hit may try again
      continue;
    }
    std::lock_guard disk(disk_mutex_);
    auto holder = disk_holders_.find(w.holder);
    if (holder == disk_holders_.end() || holder->second.promotion_targets.count(w.key) > 0) {
      releaseAll(placed);
      it->second.promoting = false;
      continue;
    }
    const Placement& target = placed.front();
    holder->second.promotions.push_back(
        {w.key, w.version, {target.te_endpoint, target.allocation.address, size, ""}});
    holder->second.promotion_targets.emplace(w.key, std::move(placed.front()));
  }
}

Status MasterService::promotionDone(const std::string& client_id, const std::string& key,
                                    uint64_t version, bool ok) {
  uint32_t number = 0;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
  }
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (number == 0 || it == shard.objects.end() || it->second.version != version ||
      !it->second.promoting || it->second.disk_holder != number) {
    return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "no such promotion");
  }
  Object& object = it->second;
  std::optional<Placement> target = takePromotionTarget(number, key);
  object.promoting = false;
  object.disk_reads = 0;
  if (!target) return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "no such promotion");
  if (!ok) {
    releaseAll({*target});
    counters_.promotion_failures.fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }
  object.replicas = {std::move(*target)};
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
  uint32_t& number = holder_numbers_[client_id];
  if (number == 0) number = next_holder_number_++;
  DiskHolder& holder = disk_holders_[number];
  holder.client_id = client_id;
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
  uint32_t number = 0;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
    auto it = disk_holders_.find(number);
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
        object.offload_target != number) {
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
  uint32_t number = 0;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
  }
  auto running = [&](const Object& object, const DiskObjectRef& ref) {
    return number != 0 && object.version == ref.version &&
           object.offload == Object::Offload::kRunning && object.offload_target == number;
  };
  std::vector<Status> out;
  out.reserve(written.size());
  for (const DiskObjectRef& ref : written) {
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it == shard.objects.end() || !running(it->second, ref)) {
      counters_.offload_rejected.fetch_add(1, std::memory_order_relaxed);
      out.push_back(keyError(StoreErrorCode::INVALID_VERSION, ref.key,
                             "changed or removed while it was written to disk"));
      continue;
    }
    Object& object = it->second;
    object.disk_holder = number;
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
    if (it != shard.objects.end() && running(it->second, ref)) {
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
  uint32_t number = 0;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
  }
  if (number == 0) {
    Status status = Status::storeError(StoreErrorCode::CLIENT_NOT_FOUND,
                                       "client " + client_id + " has no disk tier mounted");
    return std::vector<Status>(objects.size(), status);
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
      object.disk_holder = number;
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
    if (object.disk_holder != number && object.disk_holder != 0 && !object.promoting) {
      // Another holder has it too (the same node restarted under a new id): keep one copy.
      dropDiskCopy(ref.key, object);
    }
    if (!object.promoting) object.disk_holder = number;
    counters_.disk_replicas_registered.fetch_add(1, std::memory_order_relaxed);
    out.push_back(Status::OK());
  }
  return out;
}

void MasterService::evictDiskReplicas(const std::string& client_id,
                                      const std::vector<DiskObjectRef>& objects) {
  uint32_t number = 0;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
  }
  if (number == 0) return;
  for (const DiskObjectRef& ref : objects) {
    Shard& shard = shardFor(ref.key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(ref.key);
    if (it == shard.objects.end() || it->second.disk_holder != number ||
        (ref.version != 0 && it->second.version != ref.version)) {
      continue;
    }
    Object& object = it->second;
    if (object.promoting) {
      if (auto target = takePromotionTarget(number, ref.key)) {
        std::lock_guard side(side_mutex_);
        abandonLocked({std::move(*target)}, now_() + kOffloadHold);
      }
      object.promoting = false;
    }
    object.disk_holder = 0;
    counters_.disk_replicas_evicted.fetch_add(1, std::memory_order_relaxed);
    if (object.replicas.empty()) shard.erase(it);  // it was only on disk (and not in the log)
  }
}

void MasterService::dropDiskHolder(const std::string& client_id) {
  uint32_t number = 0;
  std::vector<Placement> targets;
  {
    std::lock_guard lock(disk_mutex_);
    number = holderNumber(client_id);
    auto holder = disk_holders_.find(number);
    if (holder == disk_holders_.end()) return;
    for (auto& [key, target] : holder->second.promotion_targets) {
      targets.push_back(std::move(target));
    }
    disk_holders_.erase(holder);
    holder_numbers_.erase(client_id);
  }
  // Its promotions were writing its own memory (or another's, which it no longer touches).
  releaseAll(targets);
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (auto it = shard->objects.begin(); it != shard->objects.end();) {
      Object& object = it->second;
      if (object.offload != Object::Offload::kNone && object.offload_target == number) {
        // A running offload's reads were of the dead holder's own memory: nothing to hold.
        object.offload = Object::Offload::kNone;
        object.offload_evicts = false;
      }
      if (object.disk_holder != number) {
        ++it;
        continue;
      }
      object.disk_holder = 0;
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
  for (const auto& [number, holder] : disk_holders_) {
    out.push_back({holder.client_id, holder.info.disk_endpoint, holder.usage,
                   holder.offloads.size(),
                   holder.promotions_wanted.size() + holder.promotions.size()});
  }
  return out;
}

}  // namespace mooncake::store
