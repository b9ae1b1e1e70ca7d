// How a same-host peer gets a process's live range table without trusting the metadata
// service: the process listens on an abstract Unix socket (named in its descriptor) and hands
// the sealed table fd to whoever connects (SCM_RIGHTS). The connecting side asks the kernel who
// is listening (SO_PEERCRED) and uses the table only when that is the pid the descriptor names:
// a rewritten descriptor can point elsewhere, but it cannot make another process answer as the
// peer, nor the peer hand out another table.
//
// The server writes one small message per connection with MSG_DONTWAIT and closes it; it never
// reads, so a client cannot stall it. Abstract socket names are per network namespace: a peer
// in another one cannot connect, and uses TCP.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace mooncake::te {

// Thread-safe start/stop; stop() joins the serving thread.
class TableOfferServer {
 public:
  TableOfferServer() = default;
  ~TableOfferServer() { stop(); }
  TableOfferServer(const TableOfferServer&) = delete;
  TableOfferServer& operator=(const TableOfferServer&) = delete;

  // Listens on a fresh random abstract name and serves `table_fd` (not owned; must outlive the
  // server). Errors: ERR_SOCKET when no socket could be bound.
  Status start(int table_fd);
  void stop();
  // The abstract socket name (without its leading NUL), for the descriptor.
  const std::string& name() const { return name_; }

 private:
  void serve();

  int table_fd_ = -1;
  std::string name_;
  net::UniqueFd listen_fd_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Connects to `socket_name`, checks that the process listening there is `expected_pid`, and
// returns the table fd it hands over. Errors: ERR_SOCKET (cannot connect, no answer within
// `timeout`), ERR_REJECT_HANDSHAKE (another process answered, or no fd came).
Result<net::UniqueFd> fetchTableFd(const std::string& socket_name, pid_t expected_pid,
                                   std::chrono::milliseconds timeout);

}  // namespace mooncake::te
