// Challenge-response for request/response protocols where a request is not tied to one
// connection (HTTP, gRPC): the server refuses an unauthenticated request and hands out a
// single-use challenge with the refusal (HTTP 401 with "WWW-Authenticate: Mooncake <hex>";
// gRPC UNAUTHENTICATED with trailing metadata "x-mooncake-challenge"); the client answers with
//
//   Authorization: Mooncake <server nonce>.<client nonce>.<HMAC(secret, label, Ns, Nc)>
//
// and sends that credential with every later request to this server. The server checks the
// proof once (constant time, the challenge must be its own and unused, at most 30 s old) and
// then knows the credential for an hour of idleness, so a request costs a table lookup, not an
// HMAC. A server that restarted, or forgot the credential, refuses it with a fresh challenge;
// clients answer it and retry once. The secret never travels; a credential is worth nothing on
// another kind of port (the label) or once the server forgot it. Like the authenticated stream
// connections, credentials travel in clear text unless the port uses TLS.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/auth/auth_failures.h"
#include "common/auth/secret.h"

namespace mooncake::auth {

constexpr std::string_view kScheme = "Mooncake";
constexpr char kChallengeTrailer[] = "x-mooncake-challenge";

class SessionVerifier {
 public:
  SessionVerifier(SecretRef secret, std::string label, Listener listener);

  // A new challenge (hex) for a refusal.
  std::string challenge();
  // True when `authorization` (the header's value) carries a valid credential. A false is
  // counted as a failed proof when a credential was offered (a request without one is the
  // usual first step, not an attack).
  bool verify(std::string_view authorization);

  bool enabled() const { return secret_ != nullptr; }

  static constexpr size_t kMaxChallenges = 16384;
  static constexpr size_t kMaxSessions = 65536;
  static constexpr std::chrono::seconds kChallengeLifetime{30};
  static constexpr std::chrono::seconds kSessionIdle{3600};

 private:
  using Clock = std::chrono::steady_clock;
  enum class Check { kOk, kStale, kBad };
  Check check(std::string_view credential);
  void forgetOld(Clock::time_point now);  // requires mutex_

  const SecretRef secret_;
  const std::string label_;
  const Listener listener_;
  std::mutex mutex_;
  std::deque<std::pair<Clock::time_point, std::string>> issued_;  // oldest first
  std::unordered_set<std::string> open_challenges_;               // not yet answered
  std::unordered_map<std::string, Clock::time_point> sessions_;   // credential -> last use
};

// Client side: the credential for one server. Thread-safe.
class SessionCredential {
 public:
  SessionCredential(SecretRef secret, std::string label)
      : secret_(std::move(secret)), label_(std::move(label)) {}

  // The Authorization value to send, or "" before the first challenge was answered.
  std::string current() const;
  // Answers a refusal's challenge (the value after the scheme, or the trailer); false when the
  // challenge is malformed.
  bool answer(std::string_view challenge);
  bool enabled() const { return secret_ != nullptr; }

 private:
  const SecretRef secret_;
  const std::string label_;
  mutable std::mutex mutex_;
  std::string current_;  // GUARDED_BY(mutex_)
};

// The challenge in a "WWW-Authenticate: Mooncake <hex>" value, or "" when it is not ours.
std::string_view challengeOf(std::string_view www_authenticate);

}  // namespace mooncake::auth
