#include "common/auth/stream_auth.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "common/net/socket.h"

namespace mooncake::auth {
namespace {

using Clock = std::chrono::steady_clock;

Mac proof(const Secret& secret, std::string_view role, std::string_view label,
          std::string_view server_nonce, std::string_view client_nonce) {
  return secret.mac({"mooncake-auth-v1", role, label, server_nonce, client_nonce});
}

std::string makeHello(const std::string& nonce) {
  std::string hello(kHelloMagic);
  hello += nonce;
  return hello;
}

Status rejected(std::string why) {
  return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE, std::move(why));
}

// Sends all of `bytes` before `until`.
Status sendBy(int fd, std::string_view bytes, Clock::time_point until) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t put = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) {
      sent += static_cast<size_t>(put);
      continue;
    }
    if (put < 0 && errno == EINTR) continue;
    if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return rejected("timed out sending the authentication");
      struct pollfd pfd {
        fd, POLLOUT, 0
      };
      ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
      continue;
    }
    return rejected("connection lost during authentication: " + net::errnoText(errno));
  }
  return Status::OK();
}

// Receives up to `want` more bytes into `*buffer` before `until`: > 0 bytes taken, 0 on EOF,
// -1 on timeout, -2 on a socket error.
int receiveBy(int fd, std::string* buffer, size_t want, Clock::time_point until) {
  while (true) {
    char chunk[64];
    ssize_t got = ::recv(fd, chunk, std::min(want, sizeof(chunk)), MSG_DONTWAIT);
    if (got > 0) {
      buffer->append(chunk, static_cast<size_t>(got));
      return static_cast<int>(got);
    }
    if (got == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -2;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return -1;
    struct pollfd pfd {
      fd, POLLIN, 0
    };
    ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
  }
}

}  // namespace

bool looksLikeHello(std::string_view bytes) {
  size_t n = std::min(bytes.size(), kHelloMagic.size());
  return n > 0 && bytes.substr(0, n) == kHelloMagic.substr(0, n);
}

ServerHandshake::ServerHandshake(SecretRef secret, std::string_view label)
    : secret_(std::move(secret)), label_(label), nonce_(randomBytes(kNonceBytes)) {
  hello_ = makeHello(nonce_);
}

ServerHandshake::State ServerHandshake::fail(std::string why) {
  stage_ = Stage::kFailed;
  failure_ = std::move(why);
  return State::kFailed;
}

ServerHandshake::State ServerHandshake::feed(std::string_view received, size_t* consumed,
                                             std::string* out) {
  *consumed = 0;
  if (stage_ == Stage::kFailed) return State::kFailed;
  if (stage_ == Stage::kHello) {
    if (!received.empty() && !looksLikeHello(received)) {
      return fail(
          "the peer sent a request without authenticating (it has no MC_AUTH_SECRET, "
          "or is not a Mooncake process)");
    }
    if (received.size() < kHelloBytes) return State::kNeedMore;
    peer_nonce_ = std::string(received.substr(kHelloMagic.size(), kNonceBytes));
    Mac mine = proof(*secret_, "server", label_, nonce_, peer_nonce_);
    out->append(reinterpret_cast<const char*>(mine.data()), mine.size());
    received.remove_prefix(kHelloBytes);
    *consumed += kHelloBytes;
    stage_ = Stage::kProof;
  }
  if (stage_ == Stage::kProof) {
    if (received.size() < kProofBytes) return State::kNeedMore;
    Mac expected = proof(*secret_, "client", label_, nonce_, peer_nonce_);
    if (!equalMacs(expected.data(), reinterpret_cast<const uint8_t*>(received.data()),
                   kProofBytes)) {
      return fail(
          "the peer's proof does not match this process's secret (another "
          "MC_AUTH_SECRET?)");
    }
    *consumed += kProofBytes;
    stage_ = Stage::kDone;
  }
  return State::kDone;
}

Status serverHandshake(int fd, const SecretRef& secret, std::string_view label,
                       std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  ServerHandshake handshake(secret, label);
  MC_RETURN_IF_ERROR(sendBy(fd, handshake.hello(), until));
  std::string received;
  bool hello_in = false;  // the client's hello arrived (and our proof went out)
  while (true) {
    size_t consumed = 0;
    std::string out;
    auto state = handshake.feed(received, &consumed, &out);
    received.erase(0, consumed);
    if (!out.empty()) {
      hello_in = true;
      MC_RETURN_IF_ERROR(sendBy(fd, out, until));
    }
    if (state == ServerHandshake::State::kDone) return Status::OK();
    if (state == ServerHandshake::State::kFailed) return rejected(handshake.failure());
    // Never reads past the exchange: what follows is the first request.
    size_t want = (hello_in ? kProofBytes : kHelloBytes) - received.size();
    int got = receiveBy(fd, &received, want, until);
    if (got == 0) return rejected("the peer closed the connection during authentication");
    if (got == -1) return rejected("the peer did not authenticate within the deadline");
    if (got < 0) return rejected("connection lost during authentication");
  }
}

Status clientHandshake(int fd, const SecretRef& secret, std::string_view label,
                       const std::string& peer, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  const std::string nonce = randomBytes(kNonceBytes);
  Status sent = sendBy(fd, makeHello(nonce), until);
  if (!sent.ok()) return rejected(peer + ": " + sent.message());
  std::string received;
  while (received.size() < kHelloBytes + kProofBytes) {
    int got = receiveBy(fd, &received, kHelloBytes + kProofBytes - received.size(), until);
    if (!received.empty() && !looksLikeHello(received)) {
      return rejected(peer +
                      " answered the authentication hello with something else: it runs "
                      "without MC_AUTH_SECRET, or is not a Mooncake process");
    }
    if (got == 0) {
      return rejected(peer +
                      " closed the connection during authentication: it runs without "
                      "MC_AUTH_SECRET, or with another secret");
    }
    if (got == -1) {
      return rejected(peer + ": no authentication answer within " +
                      std::to_string(deadline.count()) + " ms");
    }
    if (got < 0) return rejected(peer + ": connection lost during authentication");
  }
  std::string_view server_nonce(received.data() + kHelloMagic.size(), kNonceBytes);
  Mac expected = proof(*secret, "server", label, server_nonce, nonce);
  if (!equalMacs(expected.data(), reinterpret_cast<const uint8_t*>(received.data() + kHelloBytes),
                 kProofBytes)) {
    return rejected(peer + " proved another secret: check MC_AUTH_SECRET on both sides");
  }
  Mac mine = proof(*secret, "client", label, server_nonce, nonce);
  sent =
      sendBy(fd, std::string_view(reinterpret_cast<const char*>(mine.data()), mine.size()), until);
  if (!sent.ok()) return rejected(peer + ": " + sent.message());
  return Status::OK();
}

}  // namespace mooncake::auth
