// Runs a cpp-httplib server on its own thread: bind (port 0 picks one), serve, stop and join.
// Shared by the HTTP metadata server and the master's admin server.
// Owner thread only; stop() is idempotent and called by the destructor.
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

#include "mooncake/common/status.h"

namespace mooncake::net {

class HttpServerRunner {
 public:
  explicit HttpServerRunner(httplib::Server& server) : server_(server) {}
  ~HttpServerRunner() { stop(); }
  HttpServerRunner(const HttpServerRunner&) = delete;
  HttpServerRunner& operator=(const HttpServerRunner&) = delete;

  // Errors: ERR_SOCKET "bind address already in use: host:port (<what>)".
  Status start(const std::string& host, uint16_t port, const std::string& what);
  void stop();
  uint16_t port() const { return port_; }

 private:
  httplib::Server& server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace mooncake::net
