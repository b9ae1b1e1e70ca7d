#include "transfer_engine/handshake/handshake_client.h"

#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "common/auth/stream_auth.h"

namespace mooncake::te {

Result<std::string> handshakeCall(const net::HostPort& peer, FrameType type,
                                  const std::string& json, std::chrono::milliseconds timeout,
                                  uint64_t max_frame_length, const auth::SecretRef& secret) {
  const std::string where = "handshake with " + peer.toString();
  auto fd = net::connectTcp(peer, timeout);
  if (!fd.ok()) return fd.status().withContext(where);
  net::setReceiveTimeout(fd->get(), timeout);
  net::setSendTimeout(fd->get(), timeout);
  if (secret) {
    MC_RETURN_IF_ERROR(auth::clientHandshake(fd->get(), secret, kAuthLabel,
                                             "rpc port " + peer.toString(), timeout));
  }
  Status sent = writeFrame(fd->get(), type, json);
  if (!sent.ok()) return sent.withContext(where);
  if (!secret) {
    // A peer that requires authentication greets first: say so instead of "bad frame length".
    char first[kFrameHeaderBytes];
    ssize_t got = ::recv(fd->get(), first, sizeof(first), MSG_PEEK | MSG_WAITALL);
    if (got > 0 && auth::looksLikeHello(std::string_view(first, static_cast<size_t>(got)))) {
      return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE,
                           where +
                               ": the peer requires authentication; run with the cluster's "
                               "MC_AUTH_SECRET");
    }
  }
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
