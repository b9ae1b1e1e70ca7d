#include "common/net/http_server_runner.h"

#include <chrono>

namespace mooncake::net {

Status HttpServerRunner::start(const std::string& host, uint16_t port, const std::string& what) {
  // stop() waits for every worker, and a worker holding an idle keep-alive connection only looks
  // up after this long (cpp-httplib's default is 5 s, which a master's SIGTERM then waited for).
  server_.set_keep_alive_timeout(1);
  int bound = port == 0 ? server_.bind_to_any_port(host.c_str())
                        : (server_.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0) {
    return Status::error(ErrorCode::ERR_SOCKET, "bind address already in use: " + host + ":" +
                                                    std::to_string(port) + " (" + what + ")");
  }
  port_ = static_cast<uint16_t>(bound);
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // listen_after_bind() cannot fail after a successful bind; wait until it accepts.
  for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::OK();
}

void HttpServerRunner::stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

}  // namespace mooncake::net
