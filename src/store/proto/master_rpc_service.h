// gRPC adapter for MasterService (callback API: handlers run on gRPC's own threads, no hand-off
// to a worker pool). Each method runs its handler from master_handlers.h, timed under its name.
// Thread-safe (MasterService is).
#pragma once

#include <string_view>

#include "common/metrics/latency_histogram.h"
#include "master.grpc.pb.h"
#include "store/proto/master_handlers.h"

namespace mooncake::store {

class MasterRpcService final : public proto::Master::CallbackService {
 public:
  explicit MasterRpcService(MasterService& service) : service_(service) {}

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
    {
      ScopedLatency timer(service_.latency(method));
      handler(service_, request, response);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  MasterService& service_;
};

}  // namespace mooncake::store
