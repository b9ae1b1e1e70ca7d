// gRPC adapter for MasterService: converts messages to calls and Statuses to in-band errors.
// No policy lives here. Thread-safe (MasterService is).
#pragma once

#include "master.grpc.pb.h"
#include "store/master/master_service.h"

namespace mooncake::store {

class MasterRpcService final : public proto::Master::Service {
 public:
  explicit MasterRpcService(MasterService& service) : service_(service) {}

  grpc::Status Ping(grpc::ServerContext*, const proto::PingRequest*, proto::PingResponse*) override;
  grpc::Status ServiceReady(grpc::ServerContext*, const proto::Empty*,
                            proto::ErrorResponse*) override;
  grpc::Status MountSegment(grpc::ServerContext*, const proto::MountSegmentRequest*,
                            proto::MountSegmentResponse*) override;
  grpc::Status ReMountSegment(grpc::ServerContext*, const proto::ReMountSegmentRequest*,
                              proto::ReMountSegmentResponse*) override;
  grpc::Status UnmountSegment(grpc::ServerContext*, const proto::UnmountSegmentRequest*,
                              proto::ErrorResponse*) override;
  grpc::Status PutStart(grpc::ServerContext*, const proto::PutStartRequest*,
                        proto::PutStartResponse*) override;
  grpc::Status PutEnd(grpc::ServerContext*, const proto::KeyRequest*,
                      proto::ErrorResponse*) override;
  grpc::Status PutRevoke(grpc::ServerContext*, const proto::KeyRequest*,
                         proto::ErrorResponse*) override;
  grpc::Status BatchPutStart(grpc::ServerContext*, const proto::BatchPutStartRequest*,
                             proto::BatchPutStartResponse*) override;
  grpc::Status BatchPutEnd(grpc::ServerContext*, const proto::KeysRequest*,
                           proto::ErrorsResponse*) override;
  grpc::Status BatchPutRevoke(grpc::ServerContext*, const proto::KeysRequest*,
                              proto::ErrorsResponse*) override;
  grpc::Status UpsertStart(grpc::ServerContext*, const proto::PutStartRequest*,
                           proto::PutStartResponse*) override;
  grpc::Status UpsertEnd(grpc::ServerContext* context, const proto::KeyRequest* request,
                         proto::ErrorResponse* response) override {
    return PutEnd(context, request, response);
  }
  grpc::Status UpsertRevoke(grpc::ServerContext* context, const proto::KeyRequest* request,
                            proto::ErrorResponse* response) override {
    return PutRevoke(context, request, response);
  }
  grpc::Status BatchUpsertStart(grpc::ServerContext*, const proto::BatchPutStartRequest*,
                                proto::BatchPutStartResponse*) override;
  grpc::Status BatchUpsertEnd(grpc::ServerContext* context, const proto::KeysRequest* request,
                              proto::ErrorsResponse* response) override {
    return BatchPutEnd(context, request, response);
  }
  grpc::Status BatchUpsertRevoke(grpc::ServerContext* context, const proto::KeysRequest* request,
                                 proto::ErrorsResponse* response) override {
    return BatchPutRevoke(context, request, response);
  }
  grpc::Status GetReplicaList(grpc::ServerContext*, const proto::KeyRequest*,
                              proto::GetReplicaListResponse*) override;
  grpc::Status BatchGetReplicaList(grpc::ServerContext*, const proto::KeysRequest*,
                                   proto::BatchGetReplicaListResponse*) override;
  grpc::Status GetReplicaListByRegex(grpc::ServerContext*, const proto::RegexRequest*,
                                     proto::GetReplicaListByRegexResponse*) override;
  grpc::Status ExistKey(grpc::ServerContext*, const proto::KeyRequest*,
                        proto::ExistKeyResponse*) override;
  grpc::Status BatchExistKey(grpc::ServerContext*, const proto::KeysRequest*,
                             proto::BatchExistKeyResponse*) override;
  grpc::Status Remove(grpc::ServerContext*, const proto::KeyRequest*,
                      proto::ErrorResponse*) override;
  grpc::Status BatchRemove(grpc::ServerContext*, const proto::KeysRequest*,
                           proto::ErrorsResponse*) override;
  grpc::Status RemoveByRegex(grpc::ServerContext*, const proto::RegexRequest*,
                             proto::CountResponse*) override;
  grpc::Status RemoveAll(grpc::ServerContext*, const proto::RegexRequest*,
                         proto::CountResponse*) override;

 private:
  MasterService& service_;
};

}  // namespace mooncake::store
