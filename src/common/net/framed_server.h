// A TCP server for length-prefixed request/response protocols that a few sockets cannot stall:
// a few epoll loop threads own the connections (idle connections cost an fd, not a thread; new
// ones go to the loop with the fewest), reads and writes never block,
// memory grows only with the bytes that actually arrived, and every connection has deadlines: a
// frame that started must arrive whole within `frame_deadline`, a reply must leave within it, and
// an idle connection is closed after `idle_timeout`. Beyond `max_connections` a new connection is
// closed at once.
//
// The protocol is two callbacks: `frame_length` looks at the bytes received so far and says how
// long the first frame is (or that more bytes are needed, or that the stream is garbage), and
// `handle` answers one whole frame. Handlers run on the loop threads (one at a time per
// connection, several connections in parallel), so they must be thread-safe and quick.
//
// Thread-safe start/stop; stop() joins the loops and closes every connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/auth/auth_failures.h"
#include "common/auth/secret.h"
#include "common/net/tls.h"
#include "common/net/unique_fd.h"
#include "mooncake/common/status.h"

namespace mooncake::net {

struct FramedServerOptions {
  std::string name = "server";  // for logs: "handshake", "master fast RPC"
  size_t threads = 1;           // epoll loops
  size_t max_connections = 4096;
  std::chrono::milliseconds frame_deadline{10000};  // a started frame / pending reply, whole
  std::chrono::milliseconds idle_timeout{600000};   // no frame in progress, nothing to send
  int backlog = 512;
  // With a secret, every connection first runs the stream authentication (common/auth/
  // stream_auth.h) under `auth_label`; frames reach the handler only after the peer proved the
  // secret, and a failed proof closes the connection and counts against `auth_listener`.
  auth::SecretRef auth;
  std::string auth_label;
  auth::Listener auth_listener = auth::Listener::kHandshake;
  // With a context, connections speak TLS (the handshake counts against the frame deadline);
  // frames, replies and the authentication above run over the decrypted stream.
  std::shared_ptr<TlsContext> tls;
};

// What frame_length says about the bytes received so far.
struct FrameScan {
  enum Kind { kNeedMore, kComplete, kInvalid } kind = kNeedMore;
  size_t length = 0;  // kComplete: bytes of the first frame; kNeedMore: at least this many
  std::string why;    // kInvalid: logged, then the connection is closed
  // kNeedMore: bytes to send once while the rest of this frame is awaited (HTTP's
  // "100 Continue").
  std::string interim;

  static FrameScan needMore(size_t at_least) { return {kNeedMore, at_least, "", ""}; }
  static FrameScan complete(size_t length) { return {kComplete, length, "", ""}; }
  static FrameScan invalid(std::string why) { return {kInvalid, 0, std::move(why), ""}; }
};

// What handle does with a frame.
struct FrameReply {
  std::string bytes;         // sent back (may be empty)
  bool close_after = false;  // close once the reply left (one exchange per connection)
};

class FramedServer {
 public:
  using FrameLength = std::function<FrameScan(std::string_view received)>;
  using Handler = std::function<FrameReply(std::string_view frame)>;

  FramedServer(FramedServerOptions options, FrameLength frame_length, Handler handler);
  ~FramedServer();
  FramedServer(const FramedServer&) = delete;
  FramedServer& operator=(const FramedServer&) = delete;

  // Serves the listening socket (made non-blocking). Errors: ERR_SOCKET (epoll setup).
  Status start(UniqueFd listen_fd);
  void stop();

  // Connections open now, and connections closed for a missed deadline / refused at the cap /
  // closed for a garbage frame since start.
  size_t connections() const { return open_.load(); }
  uint64_t timedOut() const { return timed_out_.load(); }
  uint64_t refused() const { return refused_.load(); }
  uint64_t invalid() const { return invalid_.load(); }
  // Connections closed for a failed authentication since start.
  uint64_t unauthenticated() const { return unauthenticated_.load(); }

 private:
  class Loop;

  const FramedServerOptions options_;
  const FrameLength frame_length_;
  const Handler handler_;
  UniqueFd listen_fd_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> invalid_{0};
  std::atomic<uint64_t> unauthenticated_{0};
};

}  // namespace mooncake::net
