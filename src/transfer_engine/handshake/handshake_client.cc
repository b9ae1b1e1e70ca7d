#include "transfer_engine/handshake/handshake_client.h"

#include <nlohmann/json.hpp>

namespace mooncake::te {

Result<std::string> handshakeCall(const net::HostPort& peer, FrameType type,
                                  const std::string& json, std::chrono::milliseconds timeout,
                                  uint64_t max_frame_length) {
  const std::string where = "handshake with " + peer.toString();
  auto fd = net::connectTcp(peer, timeout);
  if (!fd.ok()) return fd.status().withContext(where);
  net::setReceiveTimeout(fd->get(), timeout);
  net::setSendTimeout(fd->get(), timeout);
  Status sent = writeFrame(fd->get(), type, json);
  if (!sent.ok()) return sent.withContext(where);
  auto reply = readFrame(fd->get(), max_frame_length);
  if (!reply.ok()) return reply.status().withContext(where);
  if (reply->type != type) {
    return Status::error(ErrorCode::ERR_MALFORMED_JSON,
                         where + ": reply of type " + std::to_string(int(reply->type)) +
                             " to a request of type " + std::to_string(int(type)));
  }
  auto parsed = nlohmann::json::parse(reply->json, nullptr, false);
  if (parsed.is_discarded()) {
    return Status::error(ErrorCode::ERR_MALFORMED_JSON, where + ": reply is not JSON");
  }
  if (parsed.is_object()) {
    auto it = parsed.find("reply_msg");
    if (it != parsed.end() && it->is_string() && !it->get<std::string>().empty()) {
      return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE,
                           "Handshake request rejected by peer endpoint: " +
                               it->get<std::string>() + " (" + peer.toString() + ")");
    }
  }
  return std::move(reply->json);
}

}  // namespace mooncake::te
