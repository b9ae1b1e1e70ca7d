#include "store/proto/master_rpc_service.h"

namespace mooncake::store {
namespace {

void setError(const Status& status, proto::Error* error) {
  error->set_code(status.value());
  error->set_message(status.ok() ? "" : status.message());
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
  }
}

void putStartOne(MasterService& service, const proto::PutStartRequest& request,
                 proto::PutStartResponse* response, bool upsert = false) {
  auto replicas = upsert ? service.upsertStart(request.client_id(), request.key(), request.size(),
                                               fromProto(request.config()))
                         : service.putStart(request.client_id(), request.key(), request.size(),
                                            fromProto(request.config()));
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
}

}  // namespace

grpc::Status MasterRpcService::Ping(grpc::ServerContext*, const proto::PingRequest* request,
                                    proto::PingResponse* response) {
  ScopedLatency timer(service_.latency("Ping"));
  response->set_client_status(static_cast<int32_t>(service_.ping(request->client_id())));
  setError(Status::OK(), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::ServiceReady(grpc::ServerContext*, const proto::Empty*,
                                            proto::ErrorResponse* response) {
  ScopedLatency timer(service_.latency("ServiceReady"));
  setError(Status::OK(), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::MountSegment(grpc::ServerContext*,
                                            const proto::MountSegmentRequest* request,
                                            proto::MountSegmentResponse* response) {
  ScopedLatency timer(service_.latency("MountSegment"));
  auto id = service_.mountSegment(request->client_id(), fromProto(request->segment()));
  setError(id.status(), response->mutable_error());
  if (id.ok()) response->set_segment_id(*id);
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::ReMountSegment(grpc::ServerContext*,
                                              const proto::ReMountSegmentRequest* request,
                                              proto::ReMountSegmentResponse* response) {
  ScopedLatency timer(service_.latency("ReMountSegment"));
  std::vector<SegmentInfo> segments;
  for (const auto& segment : request->segments()) segments.push_back(fromProto(segment));
  auto ids = service_.remountSegments(request->client_id(), segments);
  setError(ids.status(), response->mutable_error());
  if (ids.ok()) response->mutable_segment_ids()->Add(ids->begin(), ids->end());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::UnmountSegment(grpc::ServerContext*,
                                              const proto::UnmountSegmentRequest* request,
                                              proto::ErrorResponse* response) {
  ScopedLatency timer(service_.latency("UnmountSegment"));
  setError(service_.unmountSegment(request->segment_id(), request->client_id()),
           response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::PutStart(grpc::ServerContext*, const proto::PutStartRequest* request,
                                        proto::PutStartResponse* response) {
  ScopedLatency timer(service_.latency("PutStart"));
  putStartOne(service_, *request, response);
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::PutEnd(grpc::ServerContext*, const proto::KeyRequest* request,
                                      proto::ErrorResponse* response) {
  ScopedLatency timer(service_.latency("PutEnd"));
  setError(service_.putEnd(request->client_id(), request->key()), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::PutRevoke(grpc::ServerContext*, const proto::KeyRequest* request,
                                         proto::ErrorResponse* response) {
  ScopedLatency timer(service_.latency("PutRevoke"));
  setError(service_.putRevoke(request->client_id(), request->key()), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchPutStart(grpc::ServerContext*,
                                             const proto::BatchPutStartRequest* request,
                                             proto::BatchPutStartResponse* response) {
  ScopedLatency timer(service_.latency("BatchPutStart"));
  for (const auto& item : request->items()) putStartOne(service_, item, response->add_items());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchPutEnd(grpc::ServerContext*, const proto::KeysRequest* request,
                                           proto::ErrorsResponse* response) {
  ScopedLatency timer(service_.latency("BatchPutEnd"));
  for (const auto& key : request->keys()) {
    setError(service_.putEnd(request->client_id(), key), response->add_errors());
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchPutRevoke(grpc::ServerContext*,
                                              const proto::KeysRequest* request,
                                              proto::ErrorsResponse* response) {
  ScopedLatency timer(service_.latency("BatchPutRevoke"));
  for (const auto& key : request->keys()) {
    setError(service_.putRevoke(request->client_id(), key), response->add_errors());
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::UpsertStart(grpc::ServerContext*,
                                           const proto::PutStartRequest* request,
                                           proto::PutStartResponse* response) {
  ScopedLatency timer(service_.latency("UpsertStart"));
  putStartOne(service_, *request, response, /*upsert=*/true);
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchUpsertStart(grpc::ServerContext*,
                                                const proto::BatchPutStartRequest* request,
                                                proto::BatchPutStartResponse* response) {
  ScopedLatency timer(service_.latency("BatchUpsertStart"));
  for (const auto& item : request->items()) {
    putStartOne(service_, item, response->add_items(), /*upsert=*/true);
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::GetReplicaList(grpc::ServerContext*,
                                              const proto::KeyRequest* request,
                                              proto::GetReplicaListResponse* response) {
  ScopedLatency timer(service_.latency("GetReplicaList"));
  getReplicaListOne(service_, request->key(), response);
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchGetReplicaList(grpc::ServerContext*,
                                                   const proto::KeysRequest* request,
                                                   proto::BatchGetReplicaListResponse* response) {
  ScopedLatency timer(service_.latency("BatchGetReplicaList"));
  for (const auto& key : request->keys()) getReplicaListOne(service_, key, response->add_items());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::GetReplicaListByRegex(
    grpc::ServerContext*, const proto::RegexRequest* request,
    proto::GetReplicaListByRegexResponse* response) {
  ScopedLatency timer(service_.latency("GetReplicaListByRegex"));
  auto objects = service_.replicasByRegex(request->pattern());
  setError(objects.status(), response->mutable_error());
  if (!objects.ok()) return grpc::Status::OK;
  for (const auto& [key, replicas] : *objects) {
    proto::ReplicaListByKey* entry = response->add_objects();
    entry->set_key(key);
    addReplicas(replicas, entry->mutable_replicas());
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::ExistKey(grpc::ServerContext*, const proto::KeyRequest* request,
                                        proto::ExistKeyResponse* response) {
  ScopedLatency timer(service_.latency("ExistKey"));
  response->set_exists(service_.existKey(request->key()));
  setError(Status::OK(), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchExistKey(grpc::ServerContext*,
                                             const proto::KeysRequest* request,
                                             proto::BatchExistKeyResponse* response) {
  ScopedLatency timer(service_.latency("BatchExistKey"));
  for (const auto& key : request->keys()) {
    proto::ExistKeyResponse* item = response->add_items();
    item->set_exists(service_.existKey(key));
    setError(Status::OK(), item->mutable_error());
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::Remove(grpc::ServerContext*, const proto::KeyRequest* request,
                                      proto::ErrorResponse* response) {
  ScopedLatency timer(service_.latency("Remove"));
  setError(service_.remove(request->key(), request->force()), response->mutable_error());
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::BatchRemove(grpc::ServerContext*, const proto::KeysRequest* request,
                                           proto::ErrorsResponse* response) {
  ScopedLatency timer(service_.latency("BatchRemove"));
  for (const auto& key : request->keys()) {
    setError(service_.remove(key, request->force()), response->add_errors());
  }
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::RemoveByRegex(grpc::ServerContext*,
                                             const proto::RegexRequest* request,
                                             proto::CountResponse* response) {
  ScopedLatency timer(service_.latency("RemoveByRegex"));
  auto count = service_.removeByRegex(request->pattern(), request->force());
  setError(count.status(), response->mutable_error());
  if (count.ok()) response->set_count(*count);
  return grpc::Status::OK;
}

grpc::Status MasterRpcService::RemoveAll(grpc::ServerContext*, const proto::RegexRequest* request,
                                         proto::CountResponse* response) {
  ScopedLatency timer(service_.latency("RemoveAll"));
  response->set_count(service_.removeAll(request->force()));
  setError(Status::OK(), response->mutable_error());
  return grpc::Status::OK;
}

}  // namespace mooncake::store
