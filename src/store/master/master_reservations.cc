// MasterService: reserved space, so a put costs its write plus one commit (see the header).
#include <algorithm>

#include "store/master/master_service.h"

namespace mooncake::store {

Result<ReservedSpace> MasterService::reserve(const std::string& client_id, uint64_t size,
                                             const ReplicateConfig& config,
                                             const std::vector<std::string>& avoid) {
  if (client_id.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS, "reserve: empty client id");
  }
  MC_RETURN_IF_ERROR(checkWrite("reserve", "(reservation)", size, config));
  std::vector<Placement> placements = placeReplicas(client_id, size, config, avoid);
  if (placements.empty()) {
    counters_.no_space_errors.fetch_add(1, std::memory_order_relaxed);
    return Status::storeError(
        StoreErrorCode::NO_AVAILABLE_HANDLE,
        "reserve: no segment has " + std::to_string(size) + " free bytes, even after eviction");
  }
  ReservedSpace out;
  // From the version sequence: never reused, also across master restarts, so a reservation a
  // client kept from a previous master can never name a new one.
  out.id = next_version_.fetch_add(1, std::memory_order_relaxed);
  out.replicas.reserve(placements.size());
  for (const Placement& p : placements)
    out.replicas.push_back({p.te_endpoint, p.allocation.address, size, {}});
  Reservation reservation{client_id, size, config, std::move(placements), now_()};
  {
    std::lock_guard lock(reservations_mutex_);
    logReservation(out.id, &reservations_.emplace(out.id, std::move(reservation)).first->second);
  }
  counters_.reservations.fetch_add(1, std::memory_order_relaxed);
  return out;
}

Status MasterService::commitReserved(const std::string& client_id, const std::string& key,
                                     uint64_t reservation_id,
                                     const std::vector<std::string>& failed_endpoints,
                                     ReservedShape* shape) {
  if (key.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS, "commitReserved: empty key");
  }
  Reservation reservation;
  {
    std::lock_guard lock(reservations_mutex_);
    auto it = reservations_.find(reservation_id);
    if (it == reservations_.end() || it->second.client_id != client_id) {
      return Status::storeError(
          StoreErrorCode::INVALID_PARAMS,
          "key '" + key + "': reservation " + std::to_string(reservation_id) +
              " is not held by client " + client_id +
              " (unused past --put_start_discard_timeout_sec, dropped with its segment or "
              "client, or the master restarted)");
    }
    reservation = std::move(it->second);
    reservations_.erase(it);
    logReservation(reservation_id, nullptr);
  }
  if (shape != nullptr) *shape = {reservation.size, reservation.config};
  const Clock::time_point now = now_();
  if (!failed_endpoints.empty()) {
    auto failed = [&](const Placement& p) {
      return std::find(failed_endpoints.begin(), failed_endpoints.end(), p.te_endpoint) !=
             failed_endpoints.end();
    };
    std::vector<Placement> kept;
    std::vector<Placement> lost;
    for (Placement& p : reservation.replicas) (failed(p) ? lost : kept).push_back(std::move(p));
    quarantine(std::move(lost), now);
    reservation.replicas = std::move(kept);
    if (reservation.replicas.empty()) {
      return Status::storeError(StoreErrorCode::INVALID_WRITE,
                                "key '" + key + "': every replica write failed");
    }
    counters_.degraded_puts.fetch_add(1, std::memory_order_relaxed);
  }
  Shard& shard = shardFor(key);
  Status writable;
  {
    std::lock_guard lock(shard.mutex);
    writable = checkWritable(shard, key, now);
    if (writable.ok()) {
      Object object;
      object.size = reservation.size;
      object.owner = reservation.client_id;
      object.replicas = std::move(reservation.replicas);
      applyPins(object, reservation.config);
      object.put_started = now;
      object.last_access = now;
      object.complete = true;
      object.version = next_version_.fetch_add(1, std::memory_order_relaxed);
      if (object.soft_pin)
        object.soft_pin_until = now + std::chrono::milliseconds(object.soft_pin_ttl_ms);
      Object& inserted = shard.insert(key, std::move(object));
      logObject(shard, key, &inserted);
      if (options_.enable_offload && !options_.offload_on_evict) queueOffload(key, inserted, false);
    }
  }
  if (!writable.ok()) {
    std::lock_guard lock(reservations_mutex_);
    logReservation(reservation_id,  // still the client's
                   &reservations_.emplace(reservation_id, std::move(reservation)).first->second);
    return writable;
  }
  counters_.reserved_commits.fetch_add(1, std::memory_order_relaxed);
  counters_.put_ends.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

void MasterService::releaseReserved(const std::string& client_id,
                                    const std::vector<uint64_t>& ids) {
  std::vector<Placement> freed;
  {
    std::lock_guard lock(reservations_mutex_);
    for (uint64_t id : ids) {
      auto it = reservations_.find(id);
      if (it == reservations_.end() || it->second.client_id != client_id) continue;
      for (Placement& p : it->second.replicas) freed.push_back(std::move(p));
      logReservation(id, nullptr);
      reservations_.erase(it);
    }
  }
  // The client says it will not write there (its writes are done): free at once.
  releaseAll(freed);
}

size_t MasterService::reservationCount() const {
  std::lock_guard lock(reservations_mutex_);
  return reservations_.size();
}

void MasterService::dropReservations(const std::function<bool(const Reservation&)>& drop,
                                     Clock::time_point now, SegmentId gone) {
  std::vector<Placement> dropped;
  {
    std::lock_guard lock(reservations_mutex_);
    for (auto it = reservations_.begin(); it != reservations_.end();) {
      if (!drop(it->second)) {
        ++it;
        continue;
      }
      for (Placement& p : it->second.replicas) {
        if (p.segment != gone) dropped.push_back(std::move(p));
      }
      logReservation(it->first, nullptr);
      it = reservations_.erase(it);
    }
  }
  quarantine(std::move(dropped), now);
}

void MasterService::quarantine(std::vector<Placement> replicas, Clock::time_point since) {
  if (replicas.empty()) return;
  std::lock_guard lock(side_mutex_);
  abandonLocked(std::move(replicas),
                since + std::chrono::seconds(options_.put_start_release_timeout_sec));
}

}  // namespace mooncake::store
