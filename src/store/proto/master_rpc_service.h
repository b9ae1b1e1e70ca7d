// gRPC adapter for MasterService (callback API: handlers run on gRPC's own threads, no hand-off
// to a worker pool): converts messages to calls and Statuses to in-band errors. No policy lives
// here. Thread-safe (MasterService is).
#pragma once

#include "master.grpc.pb.h"
#include "store/master/master_service.h"

namespace mooncake::store {

class MasterRpcService final : public proto::Master::CallbackService {
 public:
  explicit MasterRpcService(MasterService& service) : service_(service) {}

  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext*, const proto::PingRequest*,
                                 proto::PingResponse*) override;
  grpc::ServerUnaryReactor* ServiceReady(grpc::CallbackServerContext*, const proto::Empty*,
                                         proto::ErrorResponse*) override;
  grpc::ServerUnaryReactor* MountSegment(grpc::CallbackServerContext*,
                                         const proto::MountSegmentRequest*,
                                         proto::MountSegmentResponse*) override;
  grpc::ServerUnaryReactor* ReMountSegment(grpc::CallbackServerContext*,
                                           const proto::ReMountSegmentRequest*,
                                           proto::ReMountSegmentResponse*) override;
  grpc::ServerUnaryReactor* UnmountSegment(grpc::CallbackServerContext*,
                                           const proto::UnmountSegmentRequest*,
                                           proto::ErrorResponse*) override;
  grpc::ServerUnaryReactor* PutStart(grpc::CallbackServerContext*, const proto::PutStartRequest*,
                                     proto::PutStartResponse*) override;
  grpc::ServerUnaryReactor* PutEnd(grpc::CallbackServerContext*, const proto::KeyRequest*,
                                   proto::ErrorResponse*) override;
  grpc::ServerUnaryReactor* PutRevoke(grpc::CallbackServerContext*, const proto::KeyRequest*,
                                      proto::ErrorResponse*) override;
  grpc::ServerUnaryReactor* BatchPutStart(grpc::CallbackServerContext*,
                                          const proto::BatchPutStartRequest*,
                                          proto::BatchPutStartResponse*) override;
  grpc::ServerUnaryReactor* BatchPutEnd(grpc::CallbackServerContext*, const proto::KeysRequest*,
                                        proto::ErrorsResponse*) override;
  grpc::ServerUnaryReactor* BatchPutRevoke(grpc::CallbackServerContext*, const proto::KeysRequest*,
                                           proto::ErrorsResponse*) override;
  grpc::ServerUnaryReactor* UpsertStart(grpc::CallbackServerContext*, const proto::PutStartRequest*,
                                        proto::PutStartResponse*) override;
  grpc::ServerUnaryReactor* UpsertEnd(grpc::CallbackServerContext* context,
                                      const proto::KeyRequest* request,
                                      proto::ErrorResponse* response) override {
    return PutEnd(context, request, response);
  }
  grpc::ServerUnaryReactor* UpsertRevoke(grpc::CallbackServerContext* context,
                                         const proto::KeyRequest* request,
                                         proto::ErrorResponse* response) override {
    return PutRevoke(context, request, response);
  }
  grpc::ServerUnaryReactor* BatchUpsertStart(grpc::CallbackServerContext*,
                                             const proto::BatchPutStartRequest*,
                                             proto::BatchPutStartResponse*) override;
  grpc::ServerUnaryReactor* BatchUpsertEnd(grpc::CallbackServerContext* context,
                                           const proto::KeysRequest* request,
                                           proto::ErrorsResponse* response) override {
    return BatchPutEnd(context, request, response);
  }
  grpc::ServerUnaryReactor* BatchUpsertRevoke(grpc::CallbackServerContext* context,
                                              const proto::KeysRequest* request,
                                              proto::ErrorsResponse* response) override {
    return BatchPutRevoke(context, request, response);
  }
  grpc::ServerUnaryReactor* GetReplicaList(grpc::CallbackServerContext*, const proto::KeyRequest*,
                                           proto::GetReplicaListResponse*) override;
  grpc::ServerUnaryReactor* BatchGetReplicaList(grpc::CallbackServerContext*,
                                                const proto::KeysRequest*,
                                                proto::BatchGetReplicaListResponse*) override;
  grpc::ServerUnaryReactor* GetReplicaListByRegex(grpc::CallbackServerContext*,
                                                  const proto::RegexRequest*,
                                                  proto::GetReplicaListByRegexResponse*) override;
  grpc::ServerUnaryReactor* ExistKey(grpc::CallbackServerContext*, const proto::KeyRequest*,
                                     proto::ExistKeyResponse*) override;
  grpc::ServerUnaryReactor* BatchExistKey(grpc::CallbackServerContext*, const proto::KeysRequest*,
                                          proto::BatchExistKeyResponse*) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext*, const proto::KeyRequest*,
                                   proto::ErrorResponse*) override;
  grpc::ServerUnaryReactor* BatchRemove(grpc::CallbackServerContext*, const proto::KeysRequest*,
                                        proto::ErrorsResponse*) override;
  grpc::ServerUnaryReactor* RemoveByRegex(grpc::CallbackServerContext*, const proto::RegexRequest*,
                                          proto::CountResponse*) override;
  grpc::ServerUnaryReactor* RemoveAll(grpc::CallbackServerContext*, const proto::RegexRequest*,
                                      proto::CountResponse*) override;

 private:
  // Runs `work` (which fills the response) timed under `method`, then finishes the call. The
  // work is short and never blocks on I/O, so it runs on gRPC's callback thread directly.
  template <typename Work>
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* context, std::string_view method,
                                  Work&& work);

  MasterService& service_;
};

}  // namespace mooncake::store
