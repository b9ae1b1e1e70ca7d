#include "store/master/segment_registry.h"

#include <algorithm>

#include "store/master/durable/metadata_log.h"

namespace mooncake::store {

Result<SegmentId> SegmentRegistry::mount(const std::string& client_id, const SegmentInfo& info) {
  if (info.size < kMinSegmentSize || info.te_endpoint.empty()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "mount: segment '" + info.name +
                                  "' needs a Transfer Engine "
                                  "endpoint and at least 1 KiB (got " +
                                  std::to_string(info.size) + " bytes)");
  }
  std::lock_guard lock(mutex_);
  for (const auto& [id, mounted] : segments_) {
    if (mounted.info.te_endpoint == info.te_endpoint && mounted.info.base == info.base) {
      return Status::storeError(StoreErrorCode::SEGMENT_ALREADY_EXISTS,
                                "mount: segment at " + info.te_endpoint + " base " +
                                    std::to_string(info.base) + " is already mounted");
    }
  }
  SegmentId id = next_id_++;
  auto allocator = std::make_unique<SegmentAllocator>(info.base, info.size);
  capacity_ += allocator->capacity();
  auto [it, inserted] = segments_.emplace(id, Mounted{client_id, info, std::move(allocator)});
  (void)inserted;
  logSegment(id, &it->second);
  return id;
}

Status SegmentRegistry::unmount(SegmentId segment, const std::string& client_id) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(segment);
  if (it == segments_.end()) {
    return Status::storeError(StoreErrorCode::SEGMENT_NOT_FOUND,
                              "unmount: no segment " + std::to_string(segment));
  }
  if (it->second.client_id != client_id) {
    return Status::storeError(
        StoreErrorCode::ILLEGAL_CLIENT,
        "unmount: segment " + std::to_string(segment) + " belongs to another client");
  }
  if (!it->second.detached) capacity_ -= it->second.allocator->capacity();
  segments_.erase(it);
  logSegment(segment, nullptr);
  return Status::OK();
}

void SegmentRegistry::logSegment(SegmentId id, const Mounted* mounted) {
  if (log_ == nullptr) return;
  std::string payload;
  if (mounted == nullptr) {
    durable::encodeId(payload, id);
    log_->append(durable::RecordType::kSegmentGone, log_->lsnOf(lsn_count_++), payload);
    return;
  }
  durable::encodeSegment(payload, id, {mounted->client_id, mounted->info, mounted->detached});
  log_->append(durable::RecordType::kSegment, log_->lsnOf(lsn_count_++), payload);
}

Status SegmentRegistry::detach(SegmentId segment) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(segment);
  if (it == segments_.end()) {
    return Status::storeError(StoreErrorCode::SEGMENT_NOT_FOUND,
                              "detach: no segment " + std::to_string(segment));
  }
  if (it->second.detached) return Status::OK();
  it->second.detached = true;
  capacity_ -= it->second.allocator->capacity();
  logSegment(segment, &it->second);
  return Status::OK();
}

Status SegmentRegistry::reattach(SegmentId segment) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(segment);
  if (it == segments_.end()) {
    return Status::storeError(StoreErrorCode::SEGMENT_NOT_FOUND,
                              "reattach: no segment " + std::to_string(segment));
  }
  if (!it->second.detached) return Status::OK();
  it->second.detached = false;
  capacity_ += it->second.allocator->capacity();
  logSegment(segment, &it->second);
  return Status::OK();
}

bool SegmentRegistry::isDetached(SegmentId segment) const {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(segment);
  return it != segments_.end() && it->second.detached;
}

std::vector<SegmentId> SegmentRegistry::segmentsOf(const std::string& client_id) const {
  std::lock_guard lock(mutex_);
  std::vector<SegmentId> out;
  for (const auto& [id, mounted] : segments_) {
    if (mounted.client_id == client_id) out.push_back(id);
  }
  return out;
}

std::vector<std::string> SegmentRegistry::ownersAt(const std::string& te_endpoint) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, mounted] : segments_) {
    if (mounted.info.te_endpoint == te_endpoint &&
        std::find(out.begin(), out.end(), mounted.client_id) == out.end()) {
      out.push_back(mounted.client_id);
    }
  }
  return out;
}

std::vector<std::map<SegmentId, SegmentRegistry::Mounted>::iterator> SegmentRegistry::strategyOrder(
    bool local_first, const std::string& writer) {
  std::vector<std::map<SegmentId, Mounted>::iterator> order;
  order.reserve(segments_.size());
  for (auto it = segments_.begin(); it != segments_.end(); ++it) order.push_back(it);
  if (strategy_ == AllocationStrategy::kFreeRatioFirst) {
    auto free_ratio = [](const Mounted& m) {
      return 1.0 - static_cast<double>(m.allocator->usedBytes()) /
                       static_cast<double>(std::max<uint64_t>(1, m.allocator->capacity()));
    };
    std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
      return free_ratio(a->second) > free_ratio(b->second);
    });
  } else {
    std::shuffle(order.begin(), order.end(), random_);
  }
  if (local_first) {
    std::stable_partition(order.begin(), order.end(),
                          [&](const auto& it) { return it->second.client_id == writer; });
  }
  return order;
}

std::vector<Placement> SegmentRegistry::allocate(const PlacementRequest& request, bool* full) {
  if (full != nullptr) *full = false;
  std::lock_guard lock(mutex_);
  std::vector<Placement> out;
  std::vector<SegmentId> used;
  auto try_segment = [&](SegmentId id, Mounted& mounted) {
    if (mounted.detached || out.size() >= request.count ||
        std::find(used.begin(), used.end(), id) != used.end() ||
        std::find(request.avoid.begin(), request.avoid.end(), mounted.info.te_endpoint) !=
            request.avoid.end()) {
      return;
    }
    auto allocation = mounted.allocator->allocate(request.size);
    if (!allocation) {
      if (full != nullptr) *full = true;
      return;
    }
    used.push_back(id);
    out.push_back(Placement{id, *allocation, mounted.info.te_endpoint});
  };
  for (const std::string& name : request.preferred) {
    for (auto& [id, mounted] : segments_) {
      if (mounted.info.name == name) try_segment(id, mounted);
    }
  }
  if (out.size() < request.count) {
    bool local_first = request.prefer_local || strategy_ == AllocationStrategy::kLocalFirst;
    for (auto it : strategyOrder(local_first, request.writer_client_id)) {
      if (out.size() >= request.count) break;
      try_segment(it->first, it->second);
    }
  }
  return out;
}

void SegmentRegistry::release(const Placement& placement) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(placement.segment);
  if (it != segments_.end()) it->second.allocator->free(placement.allocation);
}

std::optional<SegmentId> SegmentRegistry::find(const SegmentInfo& info) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, mounted] : segments_) {
    if (mounted.info.te_endpoint == info.te_endpoint && mounted.info.base == info.base) return id;
  }
  return std::nullopt;
}

void SegmentRegistry::setLog(durable::MetadataLog* log) {
  std::lock_guard lock(mutex_);
  log_ = log;
}

void SegmentRegistry::restoreSegment(SegmentId id, const std::string& client_id,
                                     const SegmentInfo& info, bool detached) {
  std::lock_guard lock(mutex_);
  auto allocator = std::make_unique<SegmentAllocator>(info.base, info.size);
  if (!detached) capacity_ += allocator->capacity();
  segments_.insert_or_assign(id, Mounted{client_id, info, std::move(allocator), detached});
  next_id_ = std::max(next_id_, id + 1);
}

std::optional<Placement> SegmentRegistry::adoptRange(SegmentId id, uint64_t address,
                                                     uint64_t size) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(id);
  if (it == segments_.end()) return std::nullopt;
  auto allocation = it->second.allocator->adopt(address, size);
  if (!allocation) return std::nullopt;
  return Placement{id, *allocation, it->second.info.te_endpoint, it->second.detached};
}

void SegmentRegistry::dumpTo(durable::SnapshotSink& sink) const {
  std::lock_guard lock(mutex_);
  const uint64_t lsn = log_ != nullptr ? log_->lsnOf(lsn_count_) : 0;
  std::string payload;
  for (const auto& [id, mounted] : segments_) {
    payload.clear();
    durable::encodeSegment(payload, id, {mounted.client_id, mounted.info, mounted.detached});
    sink.add(durable::RecordType::kSegment, lsn, payload);
  }
}

std::vector<std::string> SegmentRegistry::owners() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [id, mounted] : segments_) {
    if (!mounted.detached) out.push_back(mounted.client_id);
  }
  return out;
}

std::optional<std::string> SegmentRegistry::ownerOf(SegmentId segment) const {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(segment);
  if (it == segments_.end()) return std::nullopt;
  return it->second.client_id;
}

uint64_t SegmentRegistry::capacityBytes() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}

uint64_t SegmentRegistry::usedBytes() const {
  std::lock_guard lock(mutex_);
  uint64_t used = 0;
  for (const auto& [id, mounted] : segments_) {
    if (!mounted.detached) used += mounted.allocator->usedBytes();
  }
  return used;
}

std::vector<SegmentStats> SegmentRegistry::stats() const {
  std::lock_guard lock(mutex_);
  std::vector<SegmentStats> out;
  for (const auto& [id, mounted] : segments_) {
    if (mounted.detached) continue;  // its owner is away: not part of the pool now
    out.push_back({id, mounted.info.name, mounted.info.te_endpoint, mounted.allocator->usedBytes(),
                   mounted.allocator->capacity()});
  }
  return out;
}

}  // namespace mooncake::store
