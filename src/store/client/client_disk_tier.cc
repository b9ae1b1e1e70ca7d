// Client: the disk tier (docs/STORE.md "Disk tier"): this client's own tier (tier/disk_tier.h,
// wired to the master and the Transfer Engine here), and reading other clients' disk replicas
// by having their holders stage them.
#include <glog/logging.h>

#include <map>

#include "store/client/client_impl.h"

namespace mooncake::store {

Result<bool> Client::Impl::DiskHost::mountDiskTier(const DiskTierInfo& info) {
  return impl_.master.mountDiskTier(impl_.client_id, info);
}

Result<OffloadWork> Client::Impl::DiskHost::offloadHeartbeat(const DiskUsage& usage,
                                                             uint32_t max_tasks) {
  return impl_.master.offloadHeartbeat(impl_.client_id, usage, max_tasks);
}

Result<std::vector<Status>> Client::Impl::DiskHost::offloadDone(
    const std::vector<DiskObjectRef>& written, const std::vector<DiskObjectRef>& failed) {
  return impl_.master.offloadDone(impl_.client_id, written, failed);
}

Result<std::vector<Status>> Client::Impl::DiskHost::registerDiskObjects(
    const std::vector<DiskObjectRef>& objects) {
  return impl_.master.registerDiskObjects(impl_.client_id, objects);
}

Status Client::Impl::DiskHost::evictDiskReplicas(const std::vector<DiskObjectRef>& objects) {
  return impl_.master.evictDiskReplicas(impl_.client_id, objects);
}

Status Client::Impl::DiskHost::promotionDone(const std::string& key, uint64_t version, bool ok) {
  return impl_.master.promotionDone(impl_.client_id, key, version, ok);
}

Status Client::Impl::DiskHost::writeTo(const char* data, uint64_t size,
                                       const ReplicaDescriptor& target) {
  MC_ASSIGN_OR_RETURN(SegmentHandle segment, impl_.engine.openSegment(target.te_endpoint));
  return impl_.runBatch(
      {{TransferRequest::WRITE, const_cast<char*>(data), segment, target.address, size, 0}});
}

void DiskStagings::release() {
  for (const auto& [endpoint, id] : held_) {
    if (own_ != nullptr && endpoint == own_->endpoint()) {
      own_->release(id);
    } else {
      reads_.release(endpoint, id);
    }
  }
  held_.clear();
}

Status Client::Impl::startDiskTier() {
  disk_host = std::make_unique<DiskHost>(*this);
  if (!options.enable_disk_tier) return Status::OK();
  if (options.global_segment_size == 0) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                              "SSD offload needs a segment (global_segment_size > 0): the tier "
                              "holds objects evicted from this client's memory");
  }
  MC_ASSIGN_OR_RETURN(tier::DiskTierOptions tier_options,
                      tier::DiskTierOptions::fromEnvironment(options.disk_tier_path));
  disk_tier = std::make_unique<tier::DiskTier>(tier_options, *disk_host, engine,
                                               reinterpret_cast<uint64_t>(segment_memory.data()),
                                               options.global_segment_size, secret);
  Status started = disk_tier->start();
  if (!started.ok()) {
    disk_tier->stop();
    disk_tier.reset();
    return started;
  }
  return Status::OK();
}

std::unique_ptr<DiskStagings> Client::Impl::stageDiskReplicas(
    const std::vector<std::string>& keys, std::vector<Result<ReplicaList>>& lists) {
  // Keys whose lists name only a disk replica, by holder.
  std::map<std::string, std::vector<size_t>> by_holder;
  for (size_t i = 0; i < keys.size() && i < lists.size(); ++i) {
    if (lists[i].ok() && !lists[i]->replicas.empty() && lists[i]->replicas.front().isDisk()) {
      by_holder[lists[i]->replicas.front().disk_endpoint].push_back(i);
    }
  }
  if (by_holder.empty()) return std::unique_ptr<DiskStagings>();
  auto stagings = std::make_unique<DiskStagings>(disk_tier.get(), disk_reads);
  for (auto& [endpoint, wanted] : by_holder) {
    std::vector<tier::StageItem> items;
    for (size_t i : wanted) items.push_back({keys[i], lists[i]->version});
    const bool local = disk_tier && endpoint == disk_tier->endpoint();
    Result<tier::StageReply> reply = local ? Result<tier::StageReply>(disk_tier->stage(items))
                                           : disk_reads.stage(endpoint, items);
    if (!reply.ok()) {
      for (size_t i : wanted) lists[i] = reply.status();
      continue;
    }
    stagings->hold(endpoint, reply->stage_id);
    for (size_t j = 0; j < wanted.size(); ++j) {
      const size_t i = wanted[j];
      const tier::StagedObject& staged = reply->objects[j];
      if (staged.status.is(StoreErrorCode::NO_AVAILABLE_HANDLE)) {
        // A holder stages what its staging memory holds; the rest come in the next wave.
        stagings->deferred.push_back(i);
        continue;
      }
      if (!staged.status.ok()) {
        // Gone from that disk, or damaged there: absent, never wrong bytes.
        lists[i] = Status::storeError(StoreErrorCode::OBJECT_NOT_FOUND,
                                      "key '" + keys[i] + "': " + staged.status.message());
        continue;
      }
      ReplicaList& list = *lists[i];
      ReplicaDescriptor memory{list.replicas.front().te_endpoint, staged.address, staged.size, {}};
      list.replicas = {std::move(memory)};
      list.version = 0;  // staged memory is not a place to remember
    }
  }
  return stagings;
}

Result<std::unique_ptr<DiskStagings>> Client::Impl::stageDiskReplica(const std::string& key,
                                                                     ReplicaList& list) {
  if (list.replicas.empty() || !list.replicas.front().isDisk()) {
    return std::unique_ptr<DiskStagings>();
  }
  std::vector<Result<ReplicaList>> lists;
  lists.emplace_back(std::move(list));
  auto stagings = stageDiskReplicas({key}, lists);
  if (stagings && !stagings->deferred.empty()) {
    return Status::storeError(StoreErrorCode::NO_AVAILABLE_HANDLE,
                              "key '" + key + "': the disk tier at " +
                                  lists.front()->replicas.front().disk_endpoint +
                                  " has no staging memory free for it (its "
                                  "MOONCAKE_OFFLOAD_LOCAL_BUFFER_SIZE_BYTES is smaller than "
                                  "the object, or busy); retry");
  }
  if (!lists.front().ok()) return lists.front().status();
  list = std::move(*lists.front());
  return stagings;
}

std::string Client::diskTierMetrics() const {
  std::string out;
  if (impl_->disk_tier) impl_->disk_tier->renderMetrics(out);
  return out;
}

std::optional<ClientDiskTierStats> Client::diskTierStats() const {
  if (!impl_->disk_tier) return std::nullopt;
  tier::DiskTierStats s = impl_->disk_tier->stats();
  ClientDiskTierStats out;
  out.objects = s.disk.objects;
  out.bytes = s.disk.bytes;
  out.capacity = s.disk.capacity;
  out.file_bytes = s.disk.file_bytes;
  out.written_objects = s.disk.written_objects;
  out.written_bytes = s.disk.written_bytes;
  out.read_objects = s.disk.read_objects;
  out.read_bytes = s.disk.read_bytes;
  out.checksum_failures = s.disk.checksum_failures;
  out.evicted_objects = s.disk.evicted_objects;
  out.recovered_objects = s.disk.recovered_objects;
  out.offloaded = s.offloaded;
  out.offload_rejected = s.offload_rejected;
  out.offload_failed = s.offload_failed;
  out.promoted = s.promoted;
  out.staged_reads = s.staged_reads;
  out.accepting = s.accepting;
  out.direct_io = s.disk.direct_io;
  out.path = impl_->options.disk_tier_path;
  out.endpoint = impl_->disk_tier->endpoint();
  return out;
}

}  // namespace mooncake::store
