// Answers one dummy client's request (daemon_wire.h) with the daemon's Store client: memory
// named in the request is translated into the dummy's mapping and handed to the zero-copy calls,
// so every byte moves between the cluster and the dummy's memory directly.
#pragma once

#include <string>
#include <string_view>

#include "mooncake/store/client.h"
#include "store/client/daemon/daemon_wire.h"
#include "store/client/daemon/dummy_session.h"

namespace mooncake::store::daemon {

struct HandledRequest {
  ReplyCode code = ReplyCode::kOk;
  std::string payload;
};

// Any op but kHello. kMalformed for a payload that does not parse or names memory outside the
// session's file (nothing was done); kUnknownOp for an op this daemon does not know.
HandledRequest handleRequest(Client& client, const DummySession& session, uint32_t op,
                             std::string_view payload);

}  // namespace mooncake::store::daemon
