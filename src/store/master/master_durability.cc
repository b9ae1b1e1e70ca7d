// MasterService: durable metadata (docs/STORE.md "Durable metadata"): the records every change
// leaves in the metadata log, snapshots of the whole state, and the rebuild from them.
#include <algorithm>

#include "store/master/durable/metadata_log.h"
#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

int64_t systemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Encoding scratch, reused per thread: a record costs no allocation once warm.
thread_local std::string t_payload;

}  // namespace

durable::ObjectView MasterService::view(const Object& object) const {
  return {object.size,
          object.version,
          object.complete,
          object.owner,
          object.hard_pin,
          object.soft_pin,
          object.soft_pin_ttl_ms,
          object.soft_pin && object.complete ? wallMs(object.soft_pin_until) : 0,
          object.replicas.data(),
          object.replicas.size()};
}

int64_t MasterService::wallMs(Clock::time_point at) const {
  return systemMs() + std::chrono::duration_cast<std::chrono::milliseconds>(at - now_()).count();
}

void MasterService::logObject(Shard& shard, const std::string& key, const Object* object) {
  if (log_ == nullptr) return;
  t_payload.clear();
  if (object == nullptr) {
    durable::encodeKey(t_payload, key);
    log_->append(durable::RecordType::kObjectGone, log_->lsnOf(shard.lsn_count++), t_payload);
    return;
  }
  durable::encodeObject(t_payload, key, view(*object));
  log_->append(durable::RecordType::kObject, log_->lsnOf(shard.lsn_count++), t_payload);
}

void MasterService::logCompletion(Shard& shard, const std::string& key, const Object& object) {
  if (log_ == nullptr) return;
  t_payload.clear();
  durable::encodeCompletion(t_payload, key, object.version);
  log_->append(durable::RecordType::kObjectComplete, log_->lsnOf(shard.lsn_count++), t_payload);
}

void MasterService::logReservation(uint64_t id, const Reservation* reservation) {
  if (log_ == nullptr) return;
  t_payload.clear();
  if (reservation == nullptr) {
    durable::encodeId(t_payload, id);
    log_->append(durable::RecordType::kReservationGone, log_->lsnOf(reservation_lsn_count_++),
                 t_payload);
    return;
  }
  durable::encodeReservation(t_payload, id, reservation->client_id, reservation->size,
                             reservation->config, reservation->replicas);
  log_->append(durable::RecordType::kReservation, log_->lsnOf(reservation_lsn_count_++), t_payload);
}

void MasterService::logAbandoned(uint64_t id, const Abandoned* abandoned) {
  if (log_ == nullptr) return;
  t_payload.clear();
  if (abandoned == nullptr) {
    durable::encodeId(t_payload, id);
    log_->append(durable::RecordType::kAbandonedGone, log_->lsnOf(side_lsn_count_++), t_payload);
    return;
  }
  durable::encodeAbandoned(
      t_payload, id, {wallMs(abandoned->release_at), durable::toDurable(abandoned->replicas)});
  log_->append(durable::RecordType::kAbandoned, log_->lsnOf(side_lsn_count_++), t_payload);
}

void MasterService::abandonLocked(std::vector<Placement> replicas, Clock::time_point release_at) {
  if (replicas.empty()) return;
  const uint64_t id = next_abandoned_id_++;
  auto [it, inserted] = abandoned_.emplace(id, Abandoned{std::move(replicas), release_at});
  (void)inserted;
  logAbandoned(id, &it->second);
}

Status MasterService::dumpState(const std::function<Status(durable::SnapshotSink&)>& write) {
  durable::SnapshotSink sink;
  segments_.dumpTo(sink);
  {
    std::lock_guard lock(reservations_mutex_);
    std::string payload;
    for (const auto& [id, r] : reservations_) {
      const uint64_t lsn = log_ != nullptr ? log_->lsnOf(reservation_lsn_count_) : 0;
      payload.clear();
      durable::encodeReservation(payload, id, r.client_id, r.size, r.config, r.replicas);
      sink.add(durable::RecordType::kReservation, lsn, payload);
    }
  }
  {
    std::lock_guard lock(side_mutex_);
    std::string payload;
    for (const auto& [id, a] : abandoned_) {
      const uint64_t lsn = log_ != nullptr ? log_->lsnOf(side_lsn_count_) : 0;
      payload.clear();
      durable::encodeAbandoned(payload, id, {wallMs(a.release_at), durable::toDurable(a.replicas)});
      sink.add(durable::RecordType::kAbandoned, lsn, payload);
    }
  }
  MC_RETURN_IF_ERROR(write(sink));
  std::string payload;
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mutex);
      const uint64_t lsn = log_ != nullptr ? log_->lsnOf(shard->lsn_count) : 0;
      for (const auto& [key, object] : shard->objects) {
        payload.clear();
        durable::encodeObject(payload, key, view(object));
        sink.add(durable::RecordType::kObject, lsn, payload);
      }
    }
    MC_RETURN_IF_ERROR(write(sink));
  }
  return Status::OK();
}

namespace {

// One allocation a recovered entity holds, for rebuilding the allocators in address order.
struct Claim {
  SegmentId segment = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  int rank = 0;  // who keeps a range two entities claim: complete objects first
  std::optional<Placement>* slot = nullptr;
};

}  // namespace

RestoreStats MasterService::restore(durable::RecoveredState& state, durable::MetadataLog* log) {
  RestoreStats stats;
  const Clock::time_point now = now_();
  const int64_t wall_now = systemMs();
  auto steadyAt = [&](int64_t wall_ms) {
    return now + std::chrono::milliseconds(wall_ms - wall_now);
  };
  for (const auto& [id, entry] : state.segments) {
    segments_.restoreSegment(id, entry.value.client_id, entry.value.info, entry.value.detached);
    if (entry.value.detached) {
      std::lock_guard lock(side_mutex_);
      detached_since_[id] = now;  // the grace period restarts
    }
    ++stats.segments;
  }
  // Every allocation, claimed in address order per segment.
  struct Holder {
    std::vector<std::optional<Placement>> slots;
  };
  using ObjectIt = decltype(state.objects)::iterator;
  std::vector<std::pair<ObjectIt, durable::ObjectEntry*>> objects;
  objects.reserve(state.objects.size());
  bool ordered = true;
  for (auto it = state.objects.begin(); it != state.objects.end(); ++it) {
    if (!objects.empty() && it->second.lsn < objects.back().second->lsn) ordered = false;
    objects.emplace_back(it, &it->second);
  }
  // Recency restarts in the order of the objects' last changes (a snapshot stamps whole shards
  // alike, so most of it needs no sorting).
  if (!ordered) {
    std::stable_sort(objects.begin(), objects.end(),
                     [](const auto& a, const auto& b) { return a.second->lsn < b.second->lsn; });
  }
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    shard->objects.reserve(shard->objects.size() + objects.size() / shards_.size() + 16);
  }
  std::vector<Holder> object_slots(objects.size());
  std::vector<std::pair<uint64_t, durable::DurableReservation*>> reservations;
  std::vector<std::pair<uint64_t, durable::DurableAbandoned*>> abandoned;
  for (auto& [id, entry] : state.reservations) reservations.emplace_back(id, &entry.value);
  for (auto& [id, entry] : state.abandoned) abandoned.emplace_back(id, &entry.value);
  std::vector<Holder> reservation_slots(reservations.size());
  std::vector<Holder> abandoned_slots(abandoned.size());
  std::vector<Claim> claims;
  auto claim = [&claims](Holder& holder, const std::vector<durable::DurablePlacement>& placements,
                         int rank) {
    holder.slots.resize(placements.size());
    for (size_t i = 0; i < placements.size(); ++i) {
      const auto& p = placements[i];
      claims.push_back({p.segment, p.address, p.size, rank, &holder.slots[i]});
    }
  };
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& o = objects[i].second->value;
    claim(object_slots[i], o.replicas, o.complete ? 0 : 1);
  }
  for (size_t i = 0; i < reservations.size(); ++i) {
    claim(reservation_slots[i], reservations[i].second->replicas, 2);
  }
  for (size_t i = 0; i < abandoned.size(); ++i) {
    claim(abandoned_slots[i], abandoned[i].second->replicas, 3);
  }
  std::sort(claims.begin(), claims.end(), [](const Claim& a, const Claim& b) {
    return std::tie(a.segment, a.address, a.rank) < std::tie(b.segment, b.address, b.rank);
  });
  for (const Claim& c : claims) {
    *c.slot = segments_.adoptRange(c.segment, c.address, c.size);
    if (!*c.slot) ++stats.dropped_replicas;
  }
  auto kept = [](Holder& holder) {
    std::vector<Placement> out;
    for (auto& slot : holder.slots) {
      if (slot) out.push_back(std::move(*slot));
    }
    return out;
  };
  uint64_t max_version = 0;
  for (size_t i = 0; i < objects.size(); ++i) {
    auto& d = objects[i].second->value;
    max_version = std::max(max_version, d.version);
    std::vector<Placement> replicas = kept(object_slots[i]);
    if (replicas.empty()) continue;
    Object object;
    object.size = d.size;
    object.version = d.version;
    object.replicas = std::move(replicas);
    object.complete = d.complete;
    object.owner = std::move(d.owner);
    object.hard_pin = d.hard_pin;
    object.soft_pin = d.soft_pin;
    object.soft_pin_ttl_ms = d.soft_pin_ttl_ms;
    object.put_started = now;
    object.last_access = now;
    object.lease_until = now + std::chrono::milliseconds(options_.default_kv_lease_ttl_ms);
    if (d.soft_pin_until_wall_ms != 0) object.soft_pin_until = steadyAt(d.soft_pin_until_wall_ms);
    const bool complete = d.complete;
    // Take the key out of the recovered map rather than copying it.
    auto node = state.objects.extract(objects[i].first);
    Shard& shard = shardFor(node.key());
    std::lock_guard lock(shard.mutex);
    shard.insert(std::move(node.key()), std::move(object));
    ++stats.objects;
    if (!complete) ++stats.incomplete_objects;
  }
  {
    std::lock_guard lock(reservations_mutex_);
    for (size_t i = 0; i < reservations.size(); ++i) {
      const auto& [id, d] = reservations[i];
      max_version = std::max(max_version, id);
      std::vector<Placement> replicas = kept(reservation_slots[i]);
      if (replicas.empty()) continue;
      reservations_.emplace(
          id, Reservation{d->client_id, d->size, d->config, std::move(replicas), now});
      ++stats.reservations;
    }
  }
  {
    std::lock_guard lock(side_mutex_);
    for (size_t i = 0; i < abandoned.size(); ++i) {
      const auto& [id, d] = abandoned[i];
      next_abandoned_id_ = std::max(next_abandoned_id_, id + 1);
      std::vector<Placement> replicas = kept(abandoned_slots[i]);
      if (replicas.empty()) continue;
      abandoned_.emplace(id, Abandoned{std::move(replicas), steadyAt(d->release_at_wall_ms)});
      ++stats.quarantined;
    }
    // Owners of restored segments are alive until they miss --client_ttl of pings.
    for (std::string& owner : segments_.owners()) {
      clients_[owner] = now;
      must_remount_.insert(std::move(owner));
    }
  }
  uint64_t next = next_version_.load();
  next_version_.store(std::max(next, max_version + 1));
  segments_.setLog(log);
  log_ = log;
  restore_stats_ = stats;
  return stats;
}

}  // namespace mooncake::store
