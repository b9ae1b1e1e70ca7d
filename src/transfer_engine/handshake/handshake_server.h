// The rpc-port listener: accepts a connection, reads one frame, hands it to the handler, writes
// the reply with the same type, closes. A handler error travels back as {"reply_msg": reason}
// (the caller turns it into ERR_REJECT_HANDSHAKE); malformed or oversized frames are dropped
// with a warning and the listener keeps serving.
//
// Connections are served one after another on the listener thread; each has a 2-second
// receive deadline so a stalled client delays others by at most that.
// Thread-safe start/stop; stop() joins the thread.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "common/net/unique_fd.h"
#include "transfer_engine/handshake/frame_codec.h"

namespace mooncake::te {

class HandshakeServer {
 public:
  using Handler = std::function<Result<std::string>(FrameType type, const std::string& json)>;

  HandshakeServer(uint64_t max_frame_length, Handler handler)
      : max_frame_length_(max_frame_length), handler_(std::move(handler)) {}
  ~HandshakeServer() { stop(); }
  HandshakeServer(const HandshakeServer&) = delete;
  HandshakeServer& operator=(const HandshakeServer&) = delete;

  // Takes a listening socket and starts serving it.
  void start(net::UniqueFd listen_fd);
  void stop();

 private:
  void serve();
  void serveConnection(int fd);

  const uint64_t max_frame_length_;
  const Handler handler_;
  net::UniqueFd listen_fd_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace mooncake::te
