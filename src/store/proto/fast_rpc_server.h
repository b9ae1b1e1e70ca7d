// The master's fast RPC listener (protocol in fast_rpc_frame.h): a thread per client connection
// that reads a request, runs its handler from master_handlers.h and writes the answer, so a call
// costs one wake-up on each side. A store client holds one connection per thread that talks to
// the master at once, so the thread count follows the clients' concurrency.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "store/master/master_service.h"

namespace mooncake::store {

class FastRpcServer {
 public:
  explicit FastRpcServer(MasterService& service) : service_(service) {}
  ~FastRpcServer() { stop(); }
  FastRpcServer(const FastRpcServer&) = delete;
  FastRpcServer& operator=(const FastRpcServer&) = delete;

  // port 0 picks a free one. Errors: ERR_SOCKET when the address cannot be bound.
  Status start(const std::string& host, uint16_t port);
  void stop();
  uint16_t port() const { return port_; }

 private:
  struct Connection {
    net::UniqueFd fd;
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  void acceptLoop();
  void serve(Connection& connection);
  // Joins and closes connections whose peers went away. Requires mutex_.
  void reapFinished();

  MasterService& service_;
  net::UniqueFd listen_fd_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  bool stopping_ = false;                               // GUARDED_BY(mutex_)
  std::list<std::unique_ptr<Connection>> connections_;  // GUARDED_BY(mutex_)
};

}  // namespace mooncake::store
