#include "transfer_engine/handshake/handshake_server.h"

#include <nlohmann/json.hpp>

#include "common/logging.h"

namespace mooncake::te {

Status HandshakeServer::start(net::UniqueFd listen_fd) {
  net::FramedServerOptions options;
  options.name = "handshake";
  options.threads = 1;
  options.max_connections = 1024;
  options.frame_deadline = std::chrono::seconds(5);
  options.idle_timeout = std::chrono::seconds(5);
  options.auth = secret_;
  options.auth_label = std::string(kAuthLabel);
  options.auth_listener = auth::Listener::kHandshake;
  const uint64_t max_length = max_frame_length_;
  auto scan = [max_length](std::string_view received) -> net::FrameScan {
    if (received.size() < kFrameHeaderBytes) {
      return net::FrameScan::needMore(kFrameHeaderBytes);
    }
    auto length = decodeFrameLength(received.data(), max_length);
    if (!length.ok()) return net::FrameScan::invalid(length.status().message());
    return net::FrameScan::complete(kFrameHeaderBytes + *length);
  };
  server_ = std::make_unique<net::FramedServer>(
      options, scan, [this](std::string_view frame) { return serveFrame(frame); });
  return server_->start(std::move(listen_fd));
}

void HandshakeServer::stop() {
  if (server_) server_->stop();
}

net::FrameReply HandshakeServer::serveFrame(std::string_view frame) {
  net::FrameReply reply;
  reply.close_after = true;  // one exchange per connection
  auto decoded = decodeFrameBody(frame.substr(kFrameHeaderBytes));
  if (!decoded.ok()) {
    LOG_EVERY_N(WARNING, 100) << "handshake: dropped a request: " << decoded.status().toString();
    return reply;
  }
  auto answer = handler_(decoded->type, decoded->json);
  std::string body = answer.ok() ? std::move(answer).value()
                                 : nlohmann::json{{"reply_msg", answer.status().toString()}}.dump();
  reply.bytes = encodeFrame(decoded->type, body);
  return reply;
}

}  // namespace mooncake::te
