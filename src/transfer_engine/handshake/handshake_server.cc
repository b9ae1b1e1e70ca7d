#include "transfer_engine/handshake/handshake_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/net/socket.h"

namespace mooncake::te {

void HandshakeServer::start(net::UniqueFd listen_fd) {
  listen_fd_ = std::move(listen_fd);
  thread_ = std::thread([this] { serve(); });
}

void HandshakeServer::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  listen_fd_.reset();
}

void HandshakeServer::serve() {
  while (!stopping_.load()) {
    // Poll with a short timeout so stop() is noticed without closing the fd under accept().
    struct pollfd pfd {
      listen_fd_.get(), POLLIN, 0
    };
    int rc = ::poll(&pfd, 1, 100);
    if (rc <= 0) continue;
    net::UniqueFd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    serveConnection(client.get());
  }
}

void HandshakeServer::serveConnection(int fd) {
  net::setReceiveTimeout(fd, std::chrono::milliseconds(2000));
  net::setSendTimeout(fd, std::chrono::milliseconds(2000));
  auto frame = readFrame(fd, max_frame_length_);
  if (!frame.ok()) {
    LOG_EVERY_N(WARNING, 100) << "handshake: dropped a request: " << frame.status().toString();
    return;
  }
  auto reply = handler_(frame->type, frame->json);
  std::string body = reply.ok() ? std::move(reply).value()
                                : nlohmann::json{{"reply_msg", reply.status().toString()}}.dump();
  Status status = writeFrame(fd, frame->type, body);
  if (!status.ok()) VLOG(1) << "handshake: reply not delivered: " << status.toString();
  ::shutdown(fd, SHUT_WR);
}

}  // namespace mooncake::te
