// One request/response exchange with a peer's rpc port.
#pragma once

#include <chrono>
#include <string>

#include "common/auth/secret.h"
#include "common/net/socket.h"
#include "transfer_engine/handshake/frame_codec.h"

namespace mooncake::te {

// Sends `json` as a frame of `type` and returns the peer's reply JSON. Errors: ERR_SOCKET
// (connection refused/timeout, with the address), ERR_MALFORMED_JSON (reply of another type or
// not JSON), ERR_REJECT_HANDSHAKE (the peer answered with a non-empty reply_msg: its reason).
Result<std::string> handshakeCall(const net::HostPort& peer, FrameType type,
                                  const std::string& json, std::chrono::milliseconds timeout,
                                  uint64_t max_frame_length, const auth::SecretRef& secret);

}  // namespace mooncake::te
