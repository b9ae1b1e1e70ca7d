// The rpc-port listener: reads one frame per connection, hands it to the handler, writes the
// reply with the same type, closes. A handler error travels back as {"reply_msg": reason} (the
// caller turns it into ERR_REJECT_HANDSHAKE); malformed or oversized frames close the
// connection with a warning.
//
// On a FramedServer (one epoll loop): slow or idle clients cannot hold it. A frame must arrive
// whole within 5 s of its first byte, a connection that sends nothing is closed after 5 s, at
// most 1024 connections at once, and memory grows only with received bytes.
// Thread-safe start/stop; stop() joins the loop.
#pragma once

#include <functional>
#include <memory>

#include "common/auth/secret.h"
#include "common/net/framed_server.h"
#include "common/net/unique_fd.h"
#include "transfer_engine/handshake/frame_codec.h"

namespace mooncake::te {

class HandshakeServer {
 public:
  using Handler = std::function<Result<std::string>(FrameType type, const std::string& json)>;

  // With a secret, every connection authenticates first (kAuthLabel).
  HandshakeServer(uint64_t max_frame_length, Handler handler, auth::SecretRef secret)
      : max_frame_length_(max_frame_length),
        handler_(std::move(handler)),
        secret_(std::move(secret)) {}
  ~HandshakeServer() { stop(); }
  HandshakeServer(const HandshakeServer&) = delete;
  HandshakeServer& operator=(const HandshakeServer&) = delete;

  // Takes a listening socket and starts serving it. Errors: ERR_SOCKET (epoll setup).
  Status start(net::UniqueFd listen_fd);
  void stop();

 private:
  net::FrameReply serveFrame(std::string_view frame);

  const uint64_t max_frame_length_;
  const Handler handler_;
  const auth::SecretRef secret_;
  std::unique_ptr<net::FramedServer> server_;
};

}  // namespace mooncake::te
