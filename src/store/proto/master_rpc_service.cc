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
}

}  // namespace

template <typename Work>
grpc::ServerUnaryReactor* MasterRpcService::serve(grpc::CallbackServerContext* context,
                                                  std::string_view method, Work&& work) {
  {
    ScopedLatency timer(service_.latency(method));
    work();
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MasterRpcService::Ping(grpc::CallbackServerContext* context,
                                                 const proto::PingRequest* request,
                                                 proto::PingResponse* response) {
  return serve(context, "Ping", [&] {
    response->set_client_status(static_cast<int32_t>(service_.ping(request->client_id())));
    setError(Status::OK(), response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::ServiceReady(grpc::CallbackServerContext* context,
                                                         const proto::Empty*,
                                                         proto::ErrorResponse* response) {
  return serve(context, "ServiceReady", [&] { setError(Status::OK(), response->mutable_error()); });
}

grpc::ServerUnaryReactor* MasterRpcService::MountSegment(grpc::CallbackServerContext* context,
                                                         const proto::MountSegmentRequest* request,
                                                         proto::MountSegmentResponse* response) {
  return serve(context, "MountSegment", [&] {
    auto id = service_.mountSegment(request->client_id(), fromProto(request->segment()));
    setError(id.status(), response->mutable_error());
    if (id.ok()) response->set_segment_id(*id);
  });
}

grpc::ServerUnaryReactor* MasterRpcService::ReMountSegment(
    grpc::CallbackServerContext* context, const proto::ReMountSegmentRequest* request,
    proto::ReMountSegmentResponse* response) {
  return serve(context, "ReMountSegment", [&] {
    std::vector<SegmentInfo> segments;
    for (const auto& segment : request->segments()) segments.push_back(fromProto(segment));
    auto ids = service_.remountSegments(request->client_id(), segments);
    setError(ids.status(), response->mutable_error());
    if (ids.ok()) response->mutable_segment_ids()->Add(ids->begin(), ids->end());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::UnmountSegment(
    grpc::CallbackServerContext* context, const proto::UnmountSegmentRequest* request,
    proto::ErrorResponse* response) {
  return serve(context, "UnmountSegment", [&] {
    setError(service_.unmountSegment(request->segment_id(), request->client_id()),
             response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::PutStart(grpc::CallbackServerContext* context,
                                                     const proto::PutStartRequest* request,
                                                     proto::PutStartResponse* response) {
  return serve(context, "PutStart", [&] { putStartOne(service_, *request, response); });
}

grpc::ServerUnaryReactor* MasterRpcService::PutEnd(grpc::CallbackServerContext* context,
                                                   const proto::KeyRequest* request,
                                                   proto::ErrorResponse* response) {
  return serve(context, "PutEnd", [&] {
    std::vector<std::string> failed(request->failed_endpoints().begin(),
                                    request->failed_endpoints().end());
    setError(service_.putEnd(request->client_id(), request->key(), failed),
             response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::PutRevoke(grpc::CallbackServerContext* context,
                                                      const proto::KeyRequest* request,
                                                      proto::ErrorResponse* response) {
  return serve(context, "PutRevoke", [&] {
    setError(service_.putRevoke(request->client_id(), request->key()), response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchPutStart(
    grpc::CallbackServerContext* context, const proto::BatchPutStartRequest* request,
    proto::BatchPutStartResponse* response) {
  return serve(context, "BatchPutStart", [&] {
    for (const auto& item : request->items()) putStartOne(service_, item, response->add_items());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchPutEnd(grpc::CallbackServerContext* context,
                                                        const proto::KeysRequest* request,
                                                        proto::ErrorsResponse* response) {
  return serve(context, "BatchPutEnd", [&] {
    for (const auto& key : request->keys()) {
      setError(service_.putEnd(request->client_id(), key), response->add_errors());
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchPutRevoke(grpc::CallbackServerContext* context,
                                                           const proto::KeysRequest* request,
                                                           proto::ErrorsResponse* response) {
  return serve(context, "BatchPutRevoke", [&] {
    for (const auto& key : request->keys()) {
      setError(service_.putRevoke(request->client_id(), key), response->add_errors());
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::UpsertStart(grpc::CallbackServerContext* context,
                                                        const proto::PutStartRequest* request,
                                                        proto::PutStartResponse* response) {
  return serve(context, "UpsertStart",
               [&] { putStartOne(service_, *request, response, /*upsert=*/true); });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchUpsertStart(
    grpc::CallbackServerContext* context, const proto::BatchPutStartRequest* request,
    proto::BatchPutStartResponse* response) {
  return serve(context, "BatchUpsertStart", [&] {
    for (const auto& item : request->items()) {
      putStartOne(service_, item, response->add_items(), /*upsert=*/true);
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::GetReplicaList(
    grpc::CallbackServerContext* context, const proto::KeyRequest* request,
    proto::GetReplicaListResponse* response) {
  return serve(context, "GetReplicaList",
               [&] { getReplicaListOne(service_, request->key(), response); });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchGetReplicaList(
    grpc::CallbackServerContext* context, const proto::KeysRequest* request,
    proto::BatchGetReplicaListResponse* response) {
  return serve(context, "BatchGetReplicaList", [&] {
    for (const auto& key : request->keys()) getReplicaListOne(service_, key, response->add_items());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::GetReplicaListByRegex(
    grpc::CallbackServerContext* context, const proto::RegexRequest* request,
    proto::GetReplicaListByRegexResponse* response) {
  return serve(context, "GetReplicaListByRegex", [&] {
    auto objects = service_.replicasByRegex(request->pattern());
    setError(objects.status(), response->mutable_error());
    if (!objects.ok()) return;
    for (const auto& [key, replicas] : *objects) {
      proto::ReplicaListByKey* entry = response->add_objects();
      entry->set_key(key);
      addReplicas(replicas, entry->mutable_replicas());
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::ExistKey(grpc::CallbackServerContext* context,
                                                     const proto::KeyRequest* request,
                                                     proto::ExistKeyResponse* response) {
  return serve(context, "ExistKey", [&] {
    response->set_exists(service_.existKey(request->key()));
    setError(Status::OK(), response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchExistKey(grpc::CallbackServerContext* context,
                                                          const proto::KeysRequest* request,
                                                          proto::BatchExistKeyResponse* response) {
  return serve(context, "BatchExistKey", [&] {
    for (const auto& key : request->keys()) {
      proto::ExistKeyResponse* item = response->add_items();
      item->set_exists(service_.existKey(key));
      setError(Status::OK(), item->mutable_error());
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::Remove(grpc::CallbackServerContext* context,
                                                   const proto::KeyRequest* request,
                                                   proto::ErrorResponse* response) {
  return serve(context, "Remove", [&] {
    setError(service_.remove(request->key(), request->force()), response->mutable_error());
  });
}

grpc::ServerUnaryReactor* MasterRpcService::BatchRemove(grpc::CallbackServerContext* context,
                                                        const proto::KeysRequest* request,
                                                        proto::ErrorsResponse* response) {
  return serve(context, "BatchRemove", [&] {
    for (const auto& key : request->keys()) {
      setError(service_.remove(key, request->force()), response->add_errors());
    }
  });
}

grpc::ServerUnaryReactor* MasterRpcService::RemoveByRegex(grpc::CallbackServerContext* context,
                                                          const proto::RegexRequest* request,
                                                          proto::CountResponse* response) {
  return serve(context, "RemoveByRegex", [&] {
    auto count = service_.removeByRegex(request->pattern(), request->force());
    setError(count.status(), response->mutable_error());
    if (count.ok()) response->set_count(*count);
  });
}

grpc::ServerUnaryReactor* MasterRpcService::RemoveAll(grpc::CallbackServerContext* context,
                                                      const proto::RegexRequest* request,
                                                      proto::CountResponse* response) {
  return serve(context, "RemoveAll", [&] {
    response->set_count(service_.removeAll(request->force()));
    setError(Status::OK(), response->mutable_error());
  });
}

}  // namespace mooncake::store
