// The errors DummyClient's translation units share.
#pragma once

#include "mooncake/common/status.h"

namespace mooncake::store::daemon {

inline Status lengthMismatch() {
  return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                            "keys, buffers and sizes differ in length");
}

inline Status malformedReply() {
  return Status::storeError(StoreErrorCode::RPC_FAIL, "malformed reply from the node daemon");
}

}  // namespace mooncake::store::daemon
