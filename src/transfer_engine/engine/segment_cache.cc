#include "transfer_engine/engine/segment_cache.h"

#include <mutex>

namespace mooncake::te {

std::optional<SegmentID> SegmentCache::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

SegmentCache::Entry SegmentCache::get(SegmentID id) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

SegmentID SegmentCache::put(const std::string& name, Entry entry) {
  std::unique_lock lock(mutex_);
  auto [it, inserted] = ids_.try_emplace(name, next_id_);
  if (inserted) ++next_id_;
  entries_[it->second] = std::move(entry);
  return it->second;
}

std::vector<std::string> SegmentCache::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, id] : ids_) out.push_back(name);
  return out;
}

}  // namespace mooncake::te
