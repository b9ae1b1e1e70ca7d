// The master's RPC handlers, shared by the gRPC service and the fast RPC server: each turns a
// request message into MasterService calls and fills the response (errors travel in-band).
#include "store/proto/master_handlers.h"

#include <algorithm>

namespace mooncake::store {
namespace {

void setError(const Status& status, proto::Error* error) {
  error->set_code(status.value());
  if (!status.ok()) error->set_message(status.message());  // an empty one would cost a string
}

SegmentInfo fromProto(const proto::Segment& segment) {
  return {segment.name(), segment.base(), segment.size(), segment.te_endpoint()};
}

ReplicateConfig fromProto(const proto::ReplicateConfig& config) {
  ReplicateConfig out;
  out.replica_num = config.replica_num() == 0 ? 1 : config.replica_num();
  out.with_soft_pin = config.with_soft_pin();
  if (config.has_soft_pin_ttl_ms()) out.soft_pin_ttl_ms = config.soft_pin_ttl_ms();
  out.with_hard_pin = config.with_hard_pin();
  out.preferred_segments.assign(config.preferred_segments().begin(),
                                config.preferred_segments().end());
  out.prefer_alloc_in_same_node = config.prefer_alloc_in_same_node();
  return out;
}

template <typename Repeated>
void addReplicas(const std::vector<ReplicaDescriptor>& replicas, Repeated* out) {
  for (const ReplicaDescriptor& replica : replicas) {
    proto::Replica* r = out->Add();
    r->set_te_endpoint(replica.te_endpoint);
    r->set_address(replica.address);
    r->set_size(replica.size);
    if (replica.isDisk()) r->set_disk_endpoint(replica.disk_endpoint);
  }
}

void putStartOne(MasterService& service, const proto::PutStartRequest& request,
                 proto::PutStartResponse* response, bool upsert = false) {
  std::vector<std::string> avoid(request.avoid_endpoints().begin(),
                                 request.avoid_endpoints().end());
  auto replicas = upsert ? service.upsertStart(request.client_id(), request.key(), request.size(),
                                               fromProto(request.config()), avoid)
                         : service.putStart(request.client_id(), request.key(), request.size(),
                                            fromProto(request.config()), avoid);
  setError(replicas.status(), response->mutable_error());
  if (replicas.ok()) addReplicas(*replicas, response->mutable_replicas());
}

void getReplicaListOne(MasterService& service, const std::string& key,
                       proto::GetReplicaListResponse* response) {
  auto list = service.getReplicaList(key);
  setError(list.status(), response->mutable_error());
  if (!list.ok()) return;
  addReplicas(list->replicas, response->mutable_replicas());
  response->set_lease_ttl_ms(list->lease_ttl_ms);
  response->set_version(list->version);
}

void reserveOne(MasterService& service, const std::string& client_id, uint64_t size,
                const ReplicateConfig& config, const std::vector<std::string>& avoid,
                proto::ReserveResponse* response) {
  auto reserved = service.reserve(client_id, size, config, avoid);
  setError(reserved.status(), response->mutable_error());
  if (!reserved.ok()) return;
  response->set_reservation_id(reserved->id);
  addReplicas(reserved->replicas, response->mutable_replicas());
}

}  // namespace

namespace handlers {

void Reserve(MasterService& service, const proto::ReserveRequest& request,
             proto::ReserveResponse* response) {
  std::vector<std::string> avoid(request.avoid_endpoints().begin(),
                                 request.avoid_endpoints().end());
  if (!request.release_ids().empty()) {
    service.releaseReserved(
        request.client_id(),
        std::vector<uint64_t>(request.release_ids().begin(), request.release_ids().end()));
  }
  reserveOne(service, request.client_id(), request.size(), fromProto(request.config()), avoid,
             response);
}

void CommitReserved(MasterService& service, const proto::CommitReservedRequest& request,
                    proto::CommitReservedResponse* response) {
  std::vector<std::string> failed(request.failed_endpoints().begin(),
                                  request.failed_endpoints().end());
  ReservedShape shape;
  Status committed = service.commitReserved(request.client_id(), request.key(),
                                            request.reservation_id(), failed, &shape);
  setError(committed, response->mutable_error());
  if (committed.ok() && request.reserve_next()) {
    // The next put's space, of the committed one's size and config, away from holders that
    // failed just now or lately.
    std::vector<std::string> avoid = failed;
    avoid.insert(avoid.end(), request.avoid_endpoints().begin(), request.avoid_endpoints().end());
    reserveOne(service, request.client_id(), shape.size, shape.config, avoid,
               response->mutable_next());
  }
}

void BatchCommitReserved(MasterService& service, const proto::BatchCommitReservedRequest& request,
                         proto::BatchCommitReservedResponse* response) {
  if (!request.release_ids().empty()) {
    service.releaseReserved(
        request.client_id(),
        std::vector<uint64_t>(request.release_ids().begin(), request.release_ids().end()));
  }
  const int commits = std::min(request.keys_size(), request.reservation_ids_size());
  for (int i = 0; i < request.keys_size(); ++i) {
    Status committed =
        i < commits ? service.commitReserved(request.client_id(), request.keys(i),
                                             request.reservation_ids(i), {}, nullptr)
                    : Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                         "key '" + request.keys(i) + "' has no reservation id");
    setError(committed, response->add_errors());
  }
  std::vector<std::string> avoid(request.avoid_endpoints().begin(),
                                 request.avoid_endpoints().end());
  for (const proto::ReserveShape& shape : request.reserve()) {
    reserveOne(service, request.client_id(), shape.size(), fromProto(shape.config()), avoid,
               response->add_reserved());
  }
}

void ReleaseReserved(MasterService& service, const proto::ReleaseReservedRequest& request,
                     proto::ErrorResponse* response) {
  service.releaseReserved(
      request.client_id(),
      std::vector<uint64_t>(request.reservation_ids().begin(), request.reservation_ids().end()));
  setError(Status::OK(), response->mutable_error());
}

void Ping(MasterService& service, const proto::PingRequest& request,
          proto::PingResponse* response) {
  response->set_client_status(static_cast<int32_t>(service.ping(request.client_id())));
  setError(Status::OK(), response->mutable_error());
}

void ServiceReady(MasterService&, const proto::Empty&, proto::ErrorResponse* response) {
  setError(Status::OK(), response->mutable_error());
}

void MountSegment(MasterService& service, const proto::MountSegmentRequest& request,
                  proto::MountSegmentResponse* response) {
  auto id = service.mountSegment(request.client_id(), fromProto(request.segment()));
  setError(id.status(), response->mutable_error());
  if (id.ok()) response->set_segment_id(*id);
}

void ReMountSegment(MasterService& service, const proto::ReMountSegmentRequest& request,
                    proto::ReMountSegmentResponse* response) {
  std::vector<SegmentInfo> segments;
  for (const auto& segment : request.segments()) segments.push_back(fromProto(segment));
  auto ids = service.remountSegments(request.client_id(), segments);
  setError(ids.status(), response->mutable_error());
  if (ids.ok()) response->mutable_segment_ids()->Add(ids->begin(), ids->end());
}

void UnmountSegment(MasterService& service, const proto::UnmountSegmentRequest& request,
                    proto::ErrorResponse* response) {
  setError(service.unmountSegment(request.segment_id(), request.client_id()),
           response->mutable_error());
}

void PutStart(MasterService& service, const proto::PutStartRequest& request,
              proto::PutStartResponse* response) {
  putStartOne(service, request, response);
}

void PutEnd(MasterService& service, const proto::KeyRequest& request,
            proto::ErrorResponse* response) {
  std::vector<std::string> failed(request.failed_endpoints().begin(),
                                  request.failed_endpoints().end());
  setError(service.putEnd(request.client_id(), request.key(), failed), response->mutable_error());
}

void PutRevoke(MasterService& service, const proto::KeyRequest& request,
               proto::ErrorResponse* response) {
  setError(service.putRevoke(request.client_id(), request.key()), response->mutable_error());
}

void BatchPutStart(MasterService& service, const proto::BatchPutStartRequest& request,
                   proto::BatchPutStartResponse* response) {
  for (const auto& item : request.items()) putStartOne(service, item, response->add_items());
}

void BatchPutEnd(MasterService& service, const proto::KeysRequest& request,
                 proto::ErrorsResponse* response) {
  for (const auto& key : request.keys()) {
    setError(service.putEnd(request.client_id(), key), response->add_errors());
  }
}

void BatchPutRevoke(MasterService& service, const proto::KeysRequest& request,
                    proto::ErrorsResponse* response) {
  for (const auto& key : request.keys()) {
    setError(service.putRevoke(request.client_id(), key), response->add_errors());
  }
}

void UpsertStart(MasterService& service, const proto::PutStartRequest& request,
                 proto::PutStartResponse* response) {
  putStartOne(service, request, response, /*upsert=*/true);
}

void UpsertEnd(MasterService& service, const proto::KeyRequest& request,
               proto::ErrorResponse* response) {
  PutEnd(service, request, response);
}

void UpsertRevoke(MasterService& service, const proto::KeyRequest& request,
                  proto::ErrorResponse* response) {
  PutRevoke(service, request, response);
}

void BatchUpsertStart(MasterService& service, const proto::BatchPutStartRequest& request,
                      proto::BatchPutStartResponse* response) {
  for (const auto& item : request.items()) {
    putStartOne(service, item, response->add_items(), /*upsert=*/true);
  }
}

void BatchUpsertEnd(MasterService& service, const proto::KeysRequest& request,
                    proto::ErrorsResponse* response) {
  BatchPutEnd(service, request, response);
}

void BatchUpsertRevoke(MasterService& service, const proto::KeysRequest& request,
                       proto::ErrorsResponse* response) {
  BatchPutRevoke(service, request, response);
}

void GetReplicaList(MasterService& service, const proto::KeyRequest& request,
                    proto::GetReplicaListResponse* response) {
  getReplicaListOne(service, request.key(), response);
}

void BatchGetReplicaList(MasterService& service, const proto::KeysRequest& request,
                         proto::BatchGetReplicaListResponse* response) {
  for (const auto& key : request.keys()) getReplicaListOne(service, key, response->add_items());
}

void GetReplicaListByRegex(MasterService& service, const proto::RegexRequest& request,
                           proto::GetReplicaListByRegexResponse* response) {
  auto objects = service.replicasByRegex(request.pattern());
  setError(objects.status(), response->mutable_error());
  if (!objects.ok()) return;
  for (const auto& [key, replicas] : *objects) {
    proto::ReplicaListByKey* entry = response->add_objects();
    entry->set_key(key);
    addReplicas(replicas, entry->mutable_replicas());
  }
}

void ExistKey(MasterService& service, const proto::KeyRequest& request,
              proto::ExistKeyResponse* response) {
  response->set_exists(service.existKey(request.key()));
  setError(Status::OK(), response->mutable_error());
}

void BatchExistKey(MasterService& service, const proto::KeysRequest& request,
                   proto::BatchExistKeyResponse* response) {
  for (const auto& key : request.keys()) {
    proto::ExistKeyResponse* item = response->add_items();
    item->set_exists(service.existKey(key));
    setError(Status::OK(), item->mutable_error());
  }
}

void Remove(MasterService& service, const proto::KeyRequest& request,
            proto::ErrorResponse* response) {
  setError(service.remove(request.key(), request.force()), response->mutable_error());
}

void BatchRemove(MasterService& service, const proto::KeysRequest& request,
                 proto::ErrorsResponse* response) {
  for (const auto& key : request.keys()) {
    setError(service.remove(key, request.force()), response->add_errors());
  }
}

void RemoveByRegex(MasterService& service, const proto::RegexRequest& request,
                   proto::CountResponse* response) {
  auto count = service.removeByRegex(request.pattern(), request.force());
  setError(count.status(), response->mutable_error());
  if (count.ok()) response->set_count(*count);
}

void RemoveAll(MasterService& service, const proto::RegexRequest& request,
               proto::CountResponse* response) {
  response->set_count(service.removeAll(request.force()));
  setError(Status::OK(), response->mutable_error());
}

void BatchReplicaClear(MasterService& service, const proto::ReplicaClearRequest& request,
                       proto::KeysResponse* response) {
  std::vector<std::string> keys(request.keys().begin(), request.keys().end());
  for (std::string& key :
       service.batchReplicaClear(request.client_id(), keys, request.segment_name())) {
    response->add_keys(std::move(key));
  }
  setError(Status::OK(), response->mutable_error());
}

void ReportUnreachable(MasterService& service, const proto::ReportUnreachableRequest& request,
                       proto::ErrorResponse* response) {
  service.reportUnreachable(
      std::vector<std::string>(request.te_endpoints().begin(), request.te_endpoints().end()));
  setError(Status::OK(), response->mutable_error());
}

void MountLocalDiskSegment(MasterService& service,
                           const proto::MountLocalDiskSegmentRequest& request,
                           proto::MountLocalDiskSegmentResponse* response) {
  Status status = service.mountDiskTier(
      request.client_id(), {request.disk_endpoint(), request.te_endpoint(), request.capacity()});
  setError(status, response->mutable_error());
  response->set_enable_disk_eviction(service.options().enable_disk_eviction);
}

void OffloadObjectHeartbeat(MasterService& service,
                            const proto::OffloadObjectHeartbeatRequest& request,
                            proto::OffloadObjectHeartbeatResponse* response) {
  DiskUsage usage{request.capacity(), request.bytes(), request.objects(),
                  request.checksum_failures(), request.accepting()};
  OffloadWork work = service.offloadHeartbeat(request.client_id(), usage,
                                              request.max_tasks() == 0 ? 64 : request.max_tasks());
  for (const OffloadTask& task : work.offload) {
    proto::OffloadTask* t = response->add_offload();
    t->set_key(task.key);
    t->set_version(task.version);
    t->set_address(task.address);
    t->set_size(task.size);
  }
  for (const DiskObjectRef& ref : work.drop) {
    proto::DiskObject* d = response->add_drop();
    d->set_key(ref.key);
    d->set_version(ref.version);
    d->set_size(ref.size);
  }
  for (const PromotionTask& task : work.promote) {
    proto::PromotionTask* p = response->add_promote();
    p->set_key(task.key);
    p->set_version(task.version);
    p->mutable_target()->set_te_endpoint(task.target.te_endpoint);
    p->mutable_target()->set_address(task.target.address);
    p->mutable_target()->set_size(task.target.size);
  }
  setError(Status::OK(), response->mutable_error());
}

template <typename Repeated>
std::vector<DiskObjectRef> diskRefs(const Repeated& objects) {
  std::vector<DiskObjectRef> out;
  out.reserve(static_cast<size_t>(objects.size()));
  for (const proto::DiskObject& o : objects) out.push_back({o.key(), o.version(), o.size()});
  return out;
}

void NotifyOffloadSuccess(MasterService& service, const proto::NotifyOffloadSuccessRequest& request,
                          proto::ErrorsResponse* response) {
  for (const Status& status : service.offloadDone(request.client_id(), diskRefs(request.written()),
                                                  diskRefs(request.failed()))) {
    setError(status, response->add_errors());
  }
}

void RegisterDiskReplicas(MasterService& service, const proto::DiskObjectsRequest& request,
                          proto::ErrorsResponse* response) {
  for (const Status& status :
       service.registerDiskObjects(request.client_id(), diskRefs(request.objects()))) {
    setError(status, response->add_errors());
  }
}

void BatchEvictDiskReplica(MasterService& service, const proto::DiskObjectsRequest& request,
                           proto::ErrorResponse* response) {
  service.evictDiskReplicas(request.client_id(), diskRefs(request.objects()));
  setError(Status::OK(), response->mutable_error());
}

void NotifyPromotionDone(MasterService& service, const proto::NotifyPromotionRequest& request,
                         proto::ErrorResponse* response) {
  setError(
      service.promotionDone(request.client_id(), request.key(), request.version(), request.ok()),
      response->mutable_error());
}

void GetFastRpcPort(MasterService& service, const proto::Empty&,
                    proto::FastRpcPortResponse* response) {
  response->set_port(service.fastRpcPort());
  setError(Status::OK(), response->mutable_error());
}

}  // namespace handlers
}  // namespace mooncake::store
