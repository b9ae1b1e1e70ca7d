#include "store/master/master_service.h"

#include <algorithm>
#include <functional>
#include <regex>

#include "store/proto/master_methods.h"

namespace mooncake::store {
namespace {

std::chrono::milliseconds ms(uint64_t value) {
  return std::chrono::milliseconds(static_cast<int64_t>(value));
}

Status keyError(StoreErrorCode code, const std::string& key, const std::string& why) {
  return Status::storeError(code, "key '" + key + "': " + why);
}

Result<std::regex> compileKeyPattern(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "invalid key pattern '" + pattern + "': " + e.what());
  }
}

}  // namespace

Status MasterService::checkWrite(const char* call, const std::string& key, uint64_t size,
                                 const ReplicateConfig& config) const {
  if (key.empty() || size == 0 || config.replica_num == 0) {
    return Status::storeError(
        StoreErrorCode::INVALID_PARAMS,
        std::string(call) + ": key, size and replica_num must be non-empty/non-zero");
  }
  // Upstream's soft-pin rules: a TTL only with the ENABLE action, and never above the cap.
  if (config.soft_pin_ttl_ms && !config.with_soft_pin) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              std::string(call) +
                                  ": soft_pin_ttl_ms is only valid with soft pin "
                                  "ENABLE (soft_pin_action PRESERVE and DISABLE "
                                  "take no TTL)");
  }
  if (config.soft_pin_ttl_ms && *config.soft_pin_ttl_ms > options_.max_kv_soft_pin_ttl_ms) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              std::string(call) + ": soft_pin_ttl_ms " +
                                  std::to_string(*config.soft_pin_ttl_ms) +
                                  " is above the master's --max_kv_soft_pin_ttl (" +
                                  std::to_string(options_.max_kv_soft_pin_ttl_ms) + " ms)");
  }
  return Status::OK();
}

MasterService::MasterService(const MasterOptions& options, std::function<Clock::time_point()> now)
    : options_(options),
      now_(std::move(now)),
      segments_(options.allocation_strategy),
      next_version_(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count())) {
  for (uint32_t i = 0; i < std::max<uint32_t>(1, options_.shard_count); ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->index = i;
  }
  // One histogram per RPC method (the list every transport is generated from), plus "other".
  for (const char* method : {
#define MC_MASTER_METHOD_NAME(Name, Request, Response) #Name,
           MC_MASTER_METHODS(MC_MASTER_METHOD_NAME)
#undef MC_MASTER_METHOD_NAME
               "other"}) {
    latencies_.emplace(method, std::make_unique<LatencyHistogram>());
  }
}

LatencyHistogram& MasterService::latency(std::string_view method) {
  auto it = latencies_.find(method);
  return it != latencies_.end() ? *it->second : *latencies_.find("other")->second;
}

void MasterService::renderLatencies(std::string& out) const {
  out +=
      "# HELP mooncake_master_rpc_latency_seconds Time the master spent serving one RPC.\n"
      "# TYPE mooncake_master_rpc_latency_seconds histogram\n";
  for (const auto& [method, histogram] : latencies_) {
    if (histogram->count() > 0) {
      histogram->render("mooncake_master_rpc_latency_seconds", "method=\"" + method + "\"", out);
    }
  }
}

MasterService::Object& MasterService::Shard::insert(std::string key, Object object) {
  auto [it, inserted] = objects.emplace(std::move(key), std::move(object));
  (void)inserted;  // callers erase an existing key first
  it->second.lru_position = lru.insert(lru.end(), &it->first);
  return it->second;
}

std::unordered_map<std::string, MasterService::Object>::iterator MasterService::Shard::erase(
    std::unordered_map<std::string, Object>::iterator it) {
  lru.erase(it->second.lru_position);
  return objects.erase(it);
}

void MasterService::Shard::touch(Object& object, Clock::time_point now) {
  object.last_access = now;
  lru.splice(lru.end(), lru, object.lru_position);
}

MasterService::Shard& MasterService::shardFor(const std::string& key) {
  return *shards_[std::hash<std::string>()(key) % shards_.size()];
}

std::vector<ReplicaDescriptor> MasterService::describe(const Object& object) {
  std::vector<ReplicaDescriptor> out;
  out.reserve(object.replicas.size());
  for (const Placement& p : object.replicas) {
    if (!p.detached) out.push_back({p.te_endpoint, p.allocation.address, object.size, {}});
  }
  return out;
}

void MasterService::applyPins(Object& object, const ReplicateConfig& config) const {
  object.hard_pin = config.with_hard_pin;
  object.soft_pin = config.with_soft_pin;
  object.soft_pin_ttl_ms =
      std::min(config.soft_pin_ttl_ms.value_or(options_.default_kv_soft_pin_ttl_ms),
               options_.max_kv_soft_pin_ttl_ms);
}

void MasterService::releaseAll(const std::vector<Placement>& replicas) {
  for (const Placement& placement : replicas) segments_.release(placement);
}

void MasterService::dropStaleSegment(const std::string& client_id, const SegmentInfo& info) {
  auto existing = segments_.find(info);
  if (!existing) return;
  auto owner = segments_.ownerOf(*existing);
  if (!owner || *owner == client_id) return;
  // Another process mounted this very memory before (a client restarted on the same port,
  // its memory mapped at the same address): what it held is gone with it.
  if (segments_.unmount(*existing, *owner).ok()) dropSegmentReplicas(*existing);
}

Result<SegmentId> MasterService::mountSegment(const std::string& client_id,
                                              const SegmentInfo& info) {
  if (auto back = reattachIfAway(client_id, info)) {
    std::lock_guard lock(side_mutex_);
    clients_[client_id] = now_();
    must_remount_.erase(client_id);
    return *back;
  }
  dropStaleSegment(client_id, info);
  MC_ASSIGN_OR_RETURN(SegmentId id, segments_.mount(client_id, info));
  std::lock_guard lock(side_mutex_);
  clients_[client_id] = now_();
  must_remount_.erase(client_id);
  return id;
}

Result<std::vector<SegmentId>> MasterService::remountSegments(
    const std::string& client_id, const std::vector<SegmentInfo>& segments) {
  std::vector<SegmentId> ids;
  for (const SegmentInfo& info : segments) {
    if (auto back = reattachIfAway(client_id, info)) {
      ids.push_back(*back);
      continue;
    }
    dropStaleSegment(client_id, info);
    auto id = segments_.mount(client_id, info);
    if (!id.ok() && id.status().is(StoreErrorCode::SEGMENT_ALREADY_EXISTS)) {
      auto existing = segments_.find(info);
      if (existing) {
        ids.push_back(*existing);
        continue;
      }
    }
    if (!id.ok()) return id.status();
    ids.push_back(*id);
  }
  std::lock_guard lock(side_mutex_);
  clients_[client_id] = now_();
  must_remount_.erase(client_id);
  return ids;
}

Status MasterService::unmountSegment(SegmentId segment, const std::string& client_id) {
  MC_RETURN_IF_ERROR(segments_.unmount(segment, client_id));
  dropSegmentReplicas(segment);
  // A client leaving takes its disk tier along (its disk service goes with it).
  if (segments_.segmentsOf(client_id).empty()) dropDiskHolder(client_id);
  return Status::OK();
}

void MasterService::dropSegmentReplicas(SegmentId segment) {
  dropReservations(
      [segment](const Reservation& r) {
        return std::any_of(r.replicas.begin(), r.replicas.end(),
                           [segment](const Placement& p) { return p.segment == segment; });
      },
      now_(), segment);
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (auto it = shard->objects.begin(); it != shard->objects.end();) {
      Object& object = it->second;
      auto on_segment = [segment](const Placement& p) { return p.segment == segment; };
      if (object.promoting && dropPromotionOn(object.disk_holder, it->first, segment)) {
        object.promoting = false;
      }
      if (std::erase_if(object.replicas, on_segment) == 0) {
        ++it;
        continue;
      }
      logObject(*shard, it->first, object.replicas.empty() ? nullptr : &object);
      bool gone = object.replicas.empty() && object.disk_holder == 0;
      it = gone ? shard->erase(it) : std::next(it);
    }
  }
}

Status MasterService::checkWritable(Shard& shard, const std::string& key, Clock::time_point now) {
  auto it = shard.objects.find(key);
  if (it == shard.objects.end()) return Status::OK();
  Object& object = it->second;
  if (object.complete && !available(object)) {
    // Every holder is away (declared dead, maybe paused): the new value replaces it.
    releaseObject(key, object);
    logObject(shard, key, nullptr);
    shard.erase(it);
    return Status::OK();
  }
  if (object.complete) return keyError(StoreErrorCode::OBJECT_ALREADY_EXISTS, key, "exists");
  if (now - object.put_started < std::chrono::seconds(options_.put_start_discard_timeout_sec)) {
    return keyError(StoreErrorCode::OBJECT_ALREADY_EXISTS, key,
                    "another put is in progress (it can be taken over after "
                    "--put_start_discard_timeout_sec)");
  }
  // An abandoned put: take the key over, but keep its space out of circulation until the
  // release timeout, in case its writer is only slow and still writing.
  {
    std::lock_guard lock(side_mutex_);
    abandonLocked(
        std::move(object.replicas),
        object.put_started + std::chrono::seconds(options_.put_start_release_timeout_sec));
  }
  logObject(shard, key, nullptr);
  shard.erase(it);
  return Status::OK();
}

std::vector<Placement> MasterService::placeReplicas(const std::string& client_id, uint64_t size,
                                                    const ReplicateConfig& config,
                                                    const std::vector<std::string>& avoid) {
  PlacementRequest request{size,
                           config.replica_num,
                           config.preferred_segments,
                           client_id,
                           config.prefer_alloc_in_same_node,
                           avoid};
  bool full = false;
  auto placements = segments_.allocate(request, &full);
  // Fewer replicas than asked for only when space is short even after eviction: evict when a
  // segment that could take one more had no room (not when there are too few segments).
  if (placements.size() >= request.count || !full) return placements;
  auto wanted = static_cast<uint64_t>(options_.eviction_ratio *
                                      static_cast<double>(segments_.capacityBytes()));
  const uint64_t needed = std::max<uint64_t>(wanted, size * (request.count - placements.size()));
  uint64_t deferred = 0;
  evict(needed, &deferred);
  if (placements.empty()) {
    placements = segments_.allocate(request);
    // The room comes as the disk writes land: wait for them (puts go at the disk's pace rather
    // than dropping what the disk tier could keep).
    const auto deadline = Clock::now() + kOffloadWait;
    while (placements.empty() && deferred > 0 && awaitOffloadLanding(deadline)) {
      placements = segments_.allocate(request);
      if (placements.empty()) {
        evict(needed, &deferred);
        placements = segments_.allocate(request);
      }
    }
    return placements;
  }
  PlacementRequest rest = request;
  rest.count = request.count - placements.size();
  for (const Placement& p : placements) rest.avoid.push_back(p.te_endpoint);
  for (Placement& p : segments_.allocate(rest)) placements.push_back(std::move(p));
  return placements;
}

Result<std::vector<ReplicaDescriptor>> MasterService::putStart(
    const std::string& client_id, const std::string& key, uint64_t size,
    const ReplicateConfig& config, const std::vector<std::string>& avoid) {
  counters_.put_starts.fetch_add(1, std::memory_order_relaxed);
  MC_RETURN_IF_ERROR(checkWrite("putStart", key, size, config));
  return startWrite(client_id, key, size, config, avoid);
}

Result<std::vector<ReplicaDescriptor>> MasterService::startWrite(
    const std::string& client_id, const std::string& key, uint64_t size,
    const ReplicateConfig& config, const std::vector<std::string>& avoid) {
  Shard& shard = shardFor(key);
  {
    std::lock_guard lock(shard.mutex);
    MC_RETURN_IF_ERROR(checkWritable(shard, key, now_()));
  }
  // Allocate outside the shard lock: eviction may need to visit this shard.
  std::vector<Placement> placements = placeReplicas(client_id, size, config, avoid);
  if (placements.empty()) {
    counters_.no_space_errors.fetch_add(1, std::memory_order_relaxed);
    return keyError(StoreErrorCode::NO_AVAILABLE_HANDLE, key,
                    "no segment has " + std::to_string(size) + " free bytes, even after eviction");
  }
  std::lock_guard lock(shard.mutex);
  Clock::time_point now = now_();
  Status writable = checkWritable(shard, key, now);
  if (!writable.ok()) {
    releaseAll(placements);
    return writable;
  }
  Object object;
  object.size = size;
  object.owner = client_id;
  object.replicas = std::move(placements);
  applyPins(object, config);
  object.put_started = now;
  object.last_access = now;
  object.version = next_version_.fetch_add(1, std::memory_order_relaxed);
  const Object& inserted = shard.insert(key, std::move(object));
  logObject(shard, key, &inserted);
  return describe(inserted);
}

Status MasterService::putEnd(const std::string& client_id, const std::string& key,
                             const std::vector<std::string>& failed_endpoints) {
  (void)client_id;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (it == shard.objects.end()) return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "no put");
  Object& object = it->second;
  if (object.complete) return keyError(StoreErrorCode::INVALID_WRITE, key, "already complete");
  if (!failed_endpoints.empty()) {
    auto failed = [&](const Placement& p) {
      return std::find(failed_endpoints.begin(), failed_endpoints.end(), p.te_endpoint) !=
             failed_endpoints.end();
    };
    if (std::all_of(object.replicas.begin(), object.replicas.end(), failed)) {
      return keyError(StoreErrorCode::INVALID_WRITE, key,
                      "every replica write failed; revoke the put instead");
    }
    for (const Placement& p : object.replicas) {
      if (failed(p)) segments_.release(p);
    }
    std::erase_if(object.replicas, failed);
    counters_.degraded_puts.fetch_add(1, std::memory_order_relaxed);
  }
  Clock::time_point now = now_();
  object.complete = true;
  shard.touch(object, now);
  counters_.put_ends.fetch_add(1, std::memory_order_relaxed);
  if (object.soft_pin) object.soft_pin_until = now + ms(object.soft_pin_ttl_ms);
  // A soft pin's deadline starts here, and failed replicas were dropped: whole record then.
  if (object.soft_pin || !failed_endpoints.empty()) {
    logObject(shard, key, &object);
  } else {
    logCompletion(shard, key, object);
  }
  if (options_.enable_offload && !options_.offload_on_evict) queueOffload(key, object, false);
  return Status::OK();
}

Status MasterService::putRevoke(const std::string& client_id, const std::string& key) {
  (void)client_id;
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (it == shard.objects.end()) return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "no put");
  if (it->second.complete) {
    return keyError(StoreErrorCode::INVALID_WRITE, key,
                    "complete objects are removed, not revoked");
  }
  releaseAll(it->second.replicas);
  logObject(shard, key, nullptr);
  shard.erase(it);
  counters_.put_revokes.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Result<std::vector<ReplicaDescriptor>> MasterService::upsertStart(
    const std::string& client_id, const std::string& key, uint64_t size,
    const ReplicateConfig& config, const std::vector<std::string>& avoid) {
  counters_.upsert_starts.fetch_add(1, std::memory_order_relaxed);
  MC_RETURN_IF_ERROR(checkWrite("upsertStart", key, size, config));
  Shard& shard = shardFor(key);
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(key);
    if (it != shard.objects.end() && it->second.complete) {
      Object& object = it->second;
      Clock::time_point now = now_();
      if (object.size == size && object.lease_until <= now && !object.replicas.empty() &&
          object.offload != Object::Offload::kRunning && !object.promoting &&
          std::none_of(object.replicas.begin(), object.replicas.end(),
                       [](const Placement& p) { return p.detached; })) {
        // No reader can be inside the old bytes (leases are what readers trust), so the
        // writer may overwrite them where they are. The old value's disk copy goes.
        dropDiskCopy(key, object);
        object.offload = Object::Offload::kNone;
        object.offload_evicts = false;
        object.complete = false;
        object.put_started = now;
        object.version = next_version_.fetch_add(1, std::memory_order_relaxed);
        shard.touch(object, now);
        applyPins(object, config);
        counters_.upserts_in_place.fetch_add(1, std::memory_order_relaxed);
        logObject(shard, key, &object);
        return describe(object);
      }
      // Readers may still be reading the old replicas: keep their space out of circulation
      // until the last lease ends, then the maintenance tick frees it.
      {
        std::lock_guard side(side_mutex_);
        auto hold = object.offload == Object::Offload::kRunning ? now + kOffloadHold : now;
        abandonLocked(std::move(object.replicas), std::max(hold, object.lease_until));
      }
      object.replicas.clear();
      object.offload = Object::Offload::kNone;
      releaseObject(key, object);
      logObject(shard, key, nullptr);
      shard.erase(it);
    }
  }
  return startWrite(client_id, key, size, config, avoid);
}

Result<ReplicaList> MasterService::getReplicaList(const std::string& key) {
  return lookup(key, /*reading=*/true);
}

Result<ReplicaList> MasterService::lookup(const std::string& key, bool reading) {
  counters_.get_replica_lists.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (it == shard.objects.end()) return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "absent");
  Object& object = it->second;
  if (!object.complete) {
    return keyError(StoreErrorCode::REPLICA_IS_NOT_READY, key, "put still in progress");
  }
  if (!available(object)) {
    return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key,
                    "its holders were declared dead (back if they return within "
                    "--dead_client_grace_sec)");
  }
  Clock::time_point now = now_();
  object.lease_until = std::max(object.lease_until, now + ms(options_.default_kv_lease_ttl_ms));
  shard.touch(object, now);
  ReplicaList list{describe(object), options_.default_kv_lease_ttl_ms, object.version};
  if (list.replicas.empty() && object.disk_holder != 0) {
    list.replicas.push_back(describeDisk(object, object.size));
    if (reading) notePromotionHit(key, object);
  }
  return list;
}

bool MasterService::existKey(const std::string& key) { return lookup(key, false).ok(); }

Status MasterService::remove(const std::string& key, bool force) {
  counters_.removes.fetch_add(1, std::memory_order_relaxed);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto it = shard.objects.find(key);
  if (it == shard.objects.end()) return keyError(StoreErrorCode::OBJECT_NOT_FOUND, key, "absent");
  if (!force && !it->second.complete) {
    return keyError(StoreErrorCode::REPLICA_IS_NOT_READY, key, "put still in progress");
  }
  if (!force && it->second.lease_until > now_()) {
    return keyError(StoreErrorCode::OBJECT_HAS_LEASE, key, "a reader holds a lease");
  }
  releaseObject(key, it->second);
  logObject(shard, key, nullptr);
  shard.erase(it);
  return Status::OK();
}

size_t MasterService::removeMatching(const std::function<bool(const std::string&)>& match,
                                     bool force) {
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    Clock::time_point now = now_();
    for (auto it = shard->objects.begin(); it != shard->objects.end();) {
      Object& object = it->second;
      bool removable = force || (object.complete && object.lease_until <= now);
      if (removable && match(it->first)) {
        releaseObject(it->first, object);
        logObject(*shard, it->first, nullptr);
        it = shard->erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  }
  return removed;
}

size_t MasterService::removeAll(bool force) {
  return removeMatching([](const std::string&) { return true; }, force);
}

Result<size_t> MasterService::removeByRegex(const std::string& pattern, bool force) {
  MC_ASSIGN_OR_RETURN(std::regex regex, compileKeyPattern(pattern));
  return removeMatching([&regex](const std::string& key) { return std::regex_search(key, regex); },
                        force);
}

Result<std::vector<std::pair<std::string, std::vector<ReplicaDescriptor>>>>
MasterService::replicasByRegex(const std::string& pattern) {
  MC_ASSIGN_OR_RETURN(std::regex regex, compileKeyPattern(pattern));
  std::vector<std::pair<std::string, std::vector<ReplicaDescriptor>>> out;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (const auto& [key, object] : shard->objects) {
      if (object.complete && available(object) && std::regex_search(key, regex)) {
        out.emplace_back(key, describe(object));
        if (out.back().second.empty())
          out.back().second.push_back(describeDisk(object, object.size));
      }
    }
  }
  return out;
}

void MasterService::reclaimAbandoned(Clock::time_point now) {
  std::vector<Placement> due;
  {
    std::lock_guard lock(side_mutex_);
    for (auto it = abandoned_.begin(); it != abandoned_.end();) {
      if (it->second.release_at <= now) {
        due.insert(due.end(), it->second.replicas.begin(), it->second.replicas.end());
        logAbandoned(it->first, nullptr);
        it = abandoned_.erase(it);
      } else {
        ++it;
      }
    }
  }
  releaseAll(due);
}

void MasterService::tick() {
  Clock::time_point now = now_();
  expireClients(now);
  releaseDetached(now);
  const auto unused_limit = std::chrono::seconds(options_.put_start_discard_timeout_sec);
  dropReservations([&](const Reservation& r) { return now - r.created >= unused_limit; }, now);
  reclaimAbandoned(now);
  if (options_.promotion_on_hit) placePromotions();
  auto capacity = static_cast<double>(segments_.capacityBytes());
  if (capacity > 0 && static_cast<double>(segments_.usedBytes()) >=
                          options_.eviction_high_watermark_ratio * capacity) {
    evict(static_cast<uint64_t>(options_.eviction_ratio * capacity));
  }
}

uint64_t MasterService::evict(uint64_t bytes, uint64_t* deferred_bytes) {
  const Clock::time_point now = now_();
  uint64_t freed = 0;
  Deferred deferred;
  // Pass 0 spares soft-pinned objects; pass 1 (when allowed) takes them too, once nothing else
  // is left.
  for (int pass = 0; pass < 2 && freed < bytes; ++pass) {
    bool take_soft = pass == 1;
    if (take_soft && !options_.allow_evict_soft_pinned_objects) break;
    while (freed < bytes) {
      uint64_t round = evictRound(bytes - freed, take_soft, now, deferred);
      if (round == 0) break;
      freed += round;
    }
  }
  if (deferred_bytes != nullptr) *deferred_bytes = deferred.bytes;
  return freed;
}

bool MasterService::available(const Object& object) {
  return inMemory(object) || object.disk_holder != 0;
}

bool MasterService::evictable(const Object& object, bool take_soft, Clock::time_point now) {
  // Objects whose holders are all away hold no space in the pool: nothing to gain. Neither do
  // objects only on disk, nor ones already leaving memory through an offload.
  if (!object.complete || object.hard_pin || object.lease_until > now || !inMemory(object) ||
      (object.offload != Object::Offload::kNone && object.offload_evicts)) {
    return false;
  }
  return take_soft || !(object.soft_pin && object.soft_pin_until > now);
}

// One round of a k-way merge over the shards' LRU lists: each shard offers its oldest evictable
// objects (at most kEvictionCandidates), and they are evicted oldest first across shards. A round
// ends where a shard's offer runs out while it may hold more, so the order is exact global LRU.
uint64_t MasterService::evictRound(uint64_t bytes, bool take_soft, Clock::time_point now,
                                   Deferred& deferred) {
  constexpr size_t kEvictionCandidates = 64;
  struct Candidate {
    Clock::time_point last_access;
    size_t shard;
    std::string key;
    bool last_of_full_offer;  // its shard may hold older-than-others objects beyond the offer
  };
  std::vector<Candidate> candidates;
  for (size_t s = 0; s < shards_.size(); ++s) {
    Shard& shard = *shards_[s];
    std::lock_guard lock(shard.mutex);
    size_t offered = 0;
    for (const std::string* key : shard.lru) {
      const Object& object = shard.objects.find(*key)->second;
      if (!evictable(object, take_soft, now)) continue;
      candidates.push_back({object.last_access, s, *key, false});
      if (++offered == kEvictionCandidates) {
        candidates.back().last_of_full_offer = true;
        break;
      }
    }
  }
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.last_access < b.last_access; });
  uint64_t freed = 0;
  for (const Candidate& candidate : candidates) {
    if (freed >= bytes) break;
    Shard& shard = *shards_[candidate.shard];
    std::lock_guard lock(shard.mutex);
    auto it = shard.objects.find(candidate.key);
    // Skip what changed meanwhile (removed, read again, leased).
    if (it != shard.objects.end() && it->second.last_access == candidate.last_access &&
        evictable(it->second, take_soft, now)) {
      bool erase = true;
      freed += evictOne(shard, candidate.key, it->second, deferred, erase);
      if (erase) shard.erase(it);
    }
    if (candidate.last_of_full_offer) break;  // the next round looks further into that shard
  }
  return freed;
}

std::vector<std::string> MasterService::allKeys() const {
  std::vector<std::string> keys;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (const auto& [key, object] : shard->objects) {
      if (object.complete && available(object)) keys.push_back(key);
    }
  }
  return keys;
}

size_t MasterService::objectCount() const {
  size_t count = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    count += shard->objects.size();
  }
  return count;
}

size_t MasterService::leasedObjectCount() const {
  const Clock::time_point now = now_();
  size_t count = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (const auto& [key, object] : shard->objects) count += object.lease_until > now ? 1 : 0;
  }
  return count;
}

}  // namespace mooncake::store
