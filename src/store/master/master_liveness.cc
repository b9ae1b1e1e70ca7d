// MasterService: client liveness (pings, unreachable reports, expiry) and the segments of
// clients declared dead, kept detached for --dead_client_grace_sec in case they come back.
#include <algorithm>

#include "store/master/master_service.h"

namespace mooncake::store {

ClientStatus MasterService::ping(const std::string& client_id) {
  std::lock_guard lock(side_mutex_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return ClientStatus::kNeedRemount;
  it->second = now_();
  if (!must_remount_.empty() && must_remount_.count(client_id) > 0) {
    return ClientStatus::kNeedRemount;
  }
  return ClientStatus::kOk;
}

void MasterService::reportUnreachable(const std::vector<std::string>& te_endpoints) {
  const Clock::time_point now = now_();
  std::vector<std::string> owners;
  for (const std::string& endpoint : te_endpoints) {
    for (std::string& owner : segments_.ownersAt(endpoint)) owners.push_back(std::move(owner));
  }
  std::lock_guard lock(side_mutex_);
  for (std::string& owner : owners) {
    if (clients_.count(owner) > 0) suspects_[std::move(owner)] = now;
  }
}

void MasterService::expireClients(Clock::time_point now) {
  std::vector<std::string> dead;
  {
    std::lock_guard lock(side_mutex_);
    const auto ttl = std::chrono::seconds(options_.client_ttl_sec);
    for (auto it = suspects_.begin(); it != suspects_.end();) {
      it = now - it->second > ttl ? suspects_.erase(it) : std::next(it);
    }
    for (auto it = clients_.begin(); it != clients_.end();) {
      const auto silent = now - it->second;
      // Reported unreachable and silent since: dead now rather than after the whole TTL.
      auto suspect = suspects_.find(it->first);
      bool reported =
          suspect != suspects_.end() && silent > kSuspectSilence && suspect->second > it->second;
      if (silent > ttl || reported) {
        if (suspect != suspects_.end()) suspects_.erase(suspect);
        dead.push_back(it->first);
        counters_.expired_clients.fetch_add(1, std::memory_order_relaxed);
        must_remount_.erase(it->first);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (!dead.empty()) {
    dropReservations(
        [&dead](const Reservation& r) {
          return std::find(dead.begin(), dead.end(), r.client_id) != dead.end();
        },
        now);
  }
  for (const std::string& client : dead) {
    // Its disk copies are unreachable now; if it comes back, it registers them again.
    dropDiskHolder(client);
    for (SegmentId segment : segments_.segmentsOf(client)) {
      if (options_.dead_client_grace_sec == 0) {
        // Unmount first so no new replica lands there, then forget the replicas it held.
        if (segments_.unmount(segment, client).ok()) dropSegmentReplicas(segment);
        continue;
      }
      // Detach first so no new replica lands there; its replicas stay, hidden from readers,
      // in case the client was only paused or cut off and comes back with its memory.
      if (segments_.isDetached(segment) || !segments_.detach(segment).ok()) continue;
      markSegmentReplicas(segment, true);
      std::lock_guard lock(side_mutex_);
      detached_since_[segment] = now;
    }
  }
}

void MasterService::markSegmentReplicas(SegmentId segment, bool detached) {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (auto& [key, object] : shard->objects) {
      for (Placement& p : object.replicas) {
        if (p.segment == segment) p.detached = detached;
      }
    }
  }
}

std::optional<SegmentId> MasterService::reattachIfAway(const std::string& client_id,
                                                       const SegmentInfo& info) {
  auto existing = segments_.find(info);
  if (!existing || !segments_.isDetached(*existing) || segments_.ownerOf(*existing) != client_id) {
    return std::nullopt;
  }
  if (!segments_.reattach(*existing).ok()) return std::nullopt;
  markSegmentReplicas(*existing, false);
  std::lock_guard lock(side_mutex_);
  detached_since_.erase(*existing);
  counters_.returned_clients.fetch_add(1, std::memory_order_relaxed);
  return existing;
}

void MasterService::releaseDetached(Clock::time_point now) {
  std::vector<SegmentId> due;
  {
    std::lock_guard lock(side_mutex_);
    const auto grace = std::chrono::seconds(options_.dead_client_grace_sec);
    for (auto it = detached_since_.begin(); it != detached_since_.end();) {
      if (now - it->second < grace) {
        ++it;
        continue;
      }
      due.push_back(it->first);
      it = detached_since_.erase(it);
    }
  }
  for (SegmentId segment : due) {
    auto owner = segments_.ownerOf(segment);
    if (owner && segments_.unmount(segment, *owner).ok()) dropSegmentReplicas(segment);
  }
}

size_t MasterService::detachedSegmentCount() const {
  std::lock_guard lock(side_mutex_);
  return detached_since_.size();
}

size_t MasterService::liveClientCount() {
  std::lock_guard lock(side_mutex_);
  return clients_.size();
}

}  // namespace mooncake::store
