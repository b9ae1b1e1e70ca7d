// The master's fast RPC listener (protocol in fast_rpc_frame.h): a thread per client connection
// that reads a request, runs its handler from master_handlers.h and writes the answer, so a call
// costs one wake-up on each side. A store client holds one connection per thread that talks to
// the master at once, so the thread count follows the clients' concurrency. (An epoll loop,
// common/net/framed_server.h, costs a system call more per call: 19% of single-key lookups on
// the development VM, so this server keeps its threads and bounds them instead.)
//
// Bounded against misbehaving peers (FastRpcLimits): a request must arrive whole within 10 s of
// its first byte, a connection idle for 5 minutes is closed (clients reconnect), at most 4096 are
// served (more are closed at once; clients then use gRPC), and memory grows only with the bytes
// that arrived (a header announcing 64 MiB costs nothing until they come).
// A slow or idle connection holds only its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/auth/secret.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"
#include "store/master/master_service.h"

namespace mooncake::store {

// Bounds on what one peer may hold (the defaults are what the master runs with).
struct FastRpcLimits {
  std::chrono::milliseconds frame_deadline{10000};  // a started request, whole
  std::chrono::milliseconds idle_timeout{300000};   // between requests
  size_t max_connections = 4096;
};

class FastRpcServer {
 public:
  // With a secret, a connection is served only after its peer proved it (kFastRpcAuthLabel).
  FastRpcServer(MasterService& service, auth::SecretRef secret, FastRpcLimits limits = {})
      : service_(service), limits_(limits), secret_(std::move(secret)) {}
  ~FastRpcServer() { stop(); }
  FastRpcServer(const FastRpcServer&) = delete;
  FastRpcServer& operator=(const FastRpcServer&) = delete;

  // port 0 picks a free one. Errors: ERR_SOCKET when the address cannot be bound.
  Status start(const std::string& host, uint16_t port);
  void stop();
  uint16_t port() const { return port_; }
  // Connections closed for a missed deadline, and refused at the cap, since start.
  uint64_t timedOut() const { return timed_out_.load(); }
  uint64_t refused() const { return refused_.load(); }

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
  const FastRpcLimits limits_;
  const auth::SecretRef secret_;
  net::UniqueFd listen_fd_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  bool stopping_ = false;                               // GUARDED_BY(mutex_)
  std::list<std::unique_ptr<Connection>> connections_;  // GUARDED_BY(mutex_)
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace mooncake::store
