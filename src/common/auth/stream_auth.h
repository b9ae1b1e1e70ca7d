// Mutual challenge-response on a fresh stream connection (fast RPC, the Transfer Engine's
// handshake and data ports), before any request:
//
//   both sides, at once:  "MCAUTH01" + a 16-byte random nonce            (hello, 24 bytes)
//   then each:            HMAC(secret, "client"|"server", label, Ns, Nc)  (proof, 32 bytes)
//
// The label names the protocol, so a proof for one port is worth nothing on another; the role
// keeps a server's proof from being replayed as a client's. The server answers the client's
// hello with its proof at once and serves nothing until the client's proof checked out; the
// client trusts nothing before the server's proof did. One round trip per connection.
//
// Without a secret on one side the other fails fast and says why: a server reads a request
// where it expected the magic and closes (counted as a failed proof); a client reads the
// server's hello where it expected an answer, or the connection closes under its hello.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/auth/secret.h"
#include "mooncake/common/status.h"

namespace mooncake::auth {

constexpr std::string_view kHelloMagic = "MCAUTH01";
constexpr size_t kNonceBytes = 16;
constexpr size_t kHelloBytes = kHelloMagic.size() + kNonceBytes;
constexpr size_t kProofBytes = 32;

// How long a peer has to complete the exchange.
constexpr std::chrono::milliseconds kHandshakeDeadline{10000};

// True when `bytes` starts like an authentication hello (a client without a secret can tell
// the user why its answer looks wrong).
bool looksLikeHello(std::string_view bytes);

// The server's side as a state machine over received bytes, for event loops.
class ServerHandshake {
 public:
  ServerHandshake(SecretRef secret, std::string_view label);

  // Bytes to send as soon as the connection is accepted.
  const std::string& hello() const { return hello_; }

  enum class State { kNeedMore, kDone, kFailed };
  // Takes what it needs from `received` (`*consumed` says how much), appends what to send to
  // `*out`. kDone: the client proved the secret; bytes after `*consumed` are its first request.
  // kFailed: close the connection; failure() says why.
  State feed(std::string_view received, size_t* consumed, std::string* out);
  const std::string& failure() const { return failure_; }

 private:
  enum class Stage { kHello, kProof, kDone, kFailed };
  State fail(std::string why);

  SecretRef secret_;
  std::string label_;
  std::string nonce_;       // ours
  std::string peer_nonce_;  // the client's
  std::string hello_;
  Stage stage_ = Stage::kHello;
  std::string failure_;
};

// Blocking server side on a connected socket, within `deadline`. Errors: ERR_REJECT_HANDSHAKE
// with the reason (the caller closes the connection and counts it).
Status serverHandshake(int fd, const SecretRef& secret, std::string_view label,
                       std::chrono::milliseconds deadline = kHandshakeDeadline);

// Blocking client side on a freshly connected socket. `peer` names the server in errors.
// Errors: ERR_REJECT_HANDSHAKE saying what went wrong (no secret on the server, another
// secret, no answer in time).
Status clientHandshake(int fd, const SecretRef& secret, std::string_view label,
                       const std::string& peer,
                       std::chrono::milliseconds deadline = kHandshakeDeadline);

}  // namespace mooncake::auth
