#include "store/client/reservation_pool.h"

namespace mooncake::store {

std::string ReservationPool::shapeOf(uint64_t size, const ReplicateConfig& config) {
  std::string shape = std::to_string(size) + '/' + std::to_string(config.replica_num) + '/' +
                      (config.with_soft_pin ? 's' : '-') + (config.with_hard_pin ? 'h' : '-') +
                      (config.prefer_alloc_in_same_node ? 'n' : '-') + '/' +
                      (config.soft_pin_ttl_ms ? std::to_string(*config.soft_pin_ttl_ms) : "");
  for (const std::string& segment : config.preferred_segments) {
    shape += '\0';
    shape += segment;
  }
  return shape;
}

std::optional<ReservedSpace> ReservationPool::take(const std::string& shape, uint64_t epoch,
                                                   std::vector<uint64_t>& give_back) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = by_shape_.find(shape);
  if (it == by_shape_.end()) return std::nullopt;
  std::deque<Entry>& entries = it->second;
  while (!entries.empty()) {
    Entry entry = std::move(entries.back());  // the newest first
    entries.pop_back();
    if (entry.epoch == epoch && now - entry.granted < kMaxAge) return std::move(entry.space);
    // A reservation from another master is unknown to this one: nothing to give back.
    if (entry.epoch == epoch) give_back.push_back(entry.space.id);
  }
  by_shape_.erase(it);
  return std::nullopt;
}

void ReservationPool::keep(const std::string& shape, ReservedSpace space, uint64_t epoch,
                           std::vector<uint64_t>& give_back) {
  std::lock_guard lock(mutex_);
  if (by_shape_.size() >= kMaxShapes && by_shape_.find(shape) == by_shape_.end()) {
    // Many shapes in turn: drop one other shape's reservations rather than hold space for all.
    auto victim = by_shape_.begin();
    for (Entry& entry : victim->second) give_back.push_back(entry.space.id);
    by_shape_.erase(victim);
  }
  std::deque<Entry>& entries = by_shape_[shape];
  entries.push_back({std::move(space), epoch, std::chrono::steady_clock::now()});
  while (entries.size() > kPerShape) {
    give_back.push_back(entries.front().space.id);
    entries.pop_front();
  }
}

std::vector<uint64_t> ReservationPool::drain() {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> ids;
  for (auto& [shape, entries] : by_shape_) {
    for (Entry& entry : entries) ids.push_back(entry.space.id);
  }
  by_shape_.clear();
  return ids;
}

}  // namespace mooncake::store
