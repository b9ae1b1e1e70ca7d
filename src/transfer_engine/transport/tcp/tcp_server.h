// Target side of the TCP transport: accepts initiator connections on the data port and serves
// their requests in order, one thread per connection. Every (addr, size) is checked against the
// remote-accessible buffers before a byte moves; a request outside them is answered with the
// rejected status and the connection is closed (its payload is never read into memory).
// Requests are read through a small per-connection buffer (InboundStream): small WRITE payloads
// are copied from it, payloads of 16 KiB or more are received straight into the target buffer;
// READ payloads are sent straight from it.
//
// Thread-safe start/stop. stop() closes the listener, shuts every connection down and joins.
#pragma once

#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "common/auth/secret.h"
#include "common/net/unique_fd.h"
#include "transfer_engine/engine/buffer_registry.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake::te {

class AckBuffer;
class InboundStream;

class TcpServer {
 public:
  // With a secret, a connection is served only after its peer proved it (tcp::kAuthLabel).
  TcpServer(const BufferRegistry& registry, auth::SecretRef secret)
      : registry_(registry), secret_(std::move(secret)) {}
  ~TcpServer() { stop(); }
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  void start(net::UniqueFd listen_fd);
  void stop();

 private:
  struct Session {
    net::UniqueFd fd;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  void acceptLoop();
  void serve(Session* session);
  // True when the request is well-formed and inside remote-accessible memory (logs otherwise).
  bool acceptable(const tcp::RequestHeader& header) const;
  bool answerReads(int fd, InboundStream& stream, const tcp::RequestHeader& first, AckBuffer& acks,
                   std::optional<tcp::RequestHeader>& stashed);
  void reapFinished();

  const BufferRegistry& registry_;
  const auth::SecretRef secret_;
  net::UniqueFd listen_fd_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex sessions_mutex_;
  std::list<Session> sessions_;  // GUARDED_BY(sessions_mutex_)
};

}  // namespace mooncake::te
