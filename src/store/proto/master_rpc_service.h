// gRPC adapter for MasterService (callback API: handlers run on gRPC's own threads, no hand-off
// to a worker pool). Each method runs its handler from master_handlers.h, timed under its name.
// Thread-safe (MasterService is).
#pragma once

#include <string_view>

#include "common/auth/session_auth.h"
#include "common/metrics/latency_histogram.h"
#include "master.grpc.pb.h"
#include "store/proto/master_handlers.h"

namespace mooncake::store {

class MasterRpcService final : public proto::Master::CallbackService {
 public:
  // With a secret, every call must carry a session credential in its "authorization" metadata
  // (common/auth/session_auth.h); without one it fails UNAUTHENTICATED with a challenge in the
  // trailing metadata.
  MasterRpcService(MasterService& service, auth::SecretRef secret)
      : service_(service),
        verifier_(std::move(secret), std::string(kGrpcAuthLabel), auth::Listener::kMasterGrpc) {}

#define MC_GRPC_MASTER_METHOD(Name, Request, Response)                                     \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* context,                     \
                                 const proto::Request* request, proto::Response* response) \
      override {                                                                           \
    return serve(context, #Name, handlers::Name, *request, response);                      \
  }
  MC_MASTER_METHODS(MC_GRPC_MASTER_METHOD)
#undef MC_GRPC_MASTER_METHOD

 private:
  // The handler is short and never blocks on I/O, so it runs on gRPC's callback thread directly.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* context, std::string_view method,
                                  void (*handler)(MasterService&, const Request&, Response*),
                                  const Request& request, Response* response) {
    if (verifier_.enabled() && !authenticated(context)) {
      context->AddTrailingMetadata(auth::kChallengeTrailer, verifier_.challenge());
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                   "this master requires authentication: run the client with the "
                                   "cluster's MC_AUTH_SECRET (or --auth_secret_file)"));
      return reactor;
    }
    {
      ScopedLatency timer(service_.latency(method));
      handler(service_, request, response);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (!service_.awaitReplicated()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "this master is stepping down: ask the new leader"));
      return reactor;
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  bool authenticated(grpc::CallbackServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto it = metadata.find("authorization");
    if (it == metadata.end()) return verifier_.verify({});
    return verifier_.verify(std::string_view(it->second.data(), it->second.size()));
  }

  MasterService& service_;
  auth::SessionVerifier verifier_;
};

}  // namespace mooncake::store
