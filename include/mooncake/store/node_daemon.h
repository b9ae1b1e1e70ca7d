// The node daemon (mooncake_client): a Store client that also serves the dummy clients of its
// node (upstream's setup_dummy). Dummies attach over a Unix socket in the abstract namespace,
// "@mooncake_client_<port>.sock", and pass their memory once as a shared memory file, which the
// daemon maps and registers, so their puts and gets move bytes between the cluster and their
// memory with no copy in the daemon. A status port on 127.0.0.1:<port> answers HTTP GET /health
// and /metrics.
//
// A dummy's memory is released when its last connection closes, which is also what happens
// when it dies. Only processes of the daemon's own user (or root) may attach.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "mooncake/common/status.h"
#include "mooncake/store/client.h"

namespace mooncake::store {

struct NodeDaemonOptions {
  uint16_t port = 50052;
  std::string socket_name;  // empty: "@mooncake_client_<port>.sock"
  size_t max_connections = 4096;
  // A request that started must arrive whole, and its reply must leave, within this.
  std::chrono::milliseconds frame_deadline{10000};
};

struct NodeDaemonStats {
  size_t sessions = 0;     // dummies attached now
  size_t connections = 0;  // their connections now
  uint64_t requests = 0;   // answered since start
  uint64_t refused = 0;    // connections refused (another user, over the cap)
  uint64_t malformed = 0;  // requests refused as malformed
};

class NodeDaemon {
 public:
  // Binds the status port and the socket, then serves dummies with `client` (which must outlive
  // the daemon). Errors: ERR_SOCKET "bind address already in use: ..." when another daemon
  // serves the port.
  static Result<std::unique_ptr<NodeDaemon>> start(Client& client,
                                                   const NodeDaemonOptions& options);
  ~NodeDaemon();
  NodeDaemon(const NodeDaemon&) = delete;
  NodeDaemon& operator=(const NodeDaemon&) = delete;

  // Closes every connection and joins the service threads; idempotent.
  void stop();
  NodeDaemonStats stats() const;
  std::string socketName() const;

 private:
  struct Impl;
  explicit NodeDaemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mooncake::store
