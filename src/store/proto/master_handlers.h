// The master's RPC handlers, one per method in MC_MASTER_METHODS: request message in, response
// message out, store errors in-band. Transport-free, so the gRPC service and the fast RPC server
// run the same code. Thread-safe (MasterService is).
#pragma once

#include "master.pb.h"
#include "store/master/master_service.h"
#include "store/proto/master_methods.h"

namespace mooncake::store::handlers {

#define MC_DECLARE_MASTER_HANDLER(Name, Request, Response) \
  void Name(MasterService& service, const proto::Request& request, proto::Response* response);
MC_MASTER_METHODS(MC_DECLARE_MASTER_HANDLER)
#undef MC_DECLARE_MASTER_HANDLER

}  // namespace mooncake::store::handlers
