#include "common/auth/session_auth.h"

#include "common/auth/stream_auth.h"
#include "common/logging.h"

namespace mooncake::auth {
namespace {

Mac sessionProof(const Secret& secret, std::string_view label, std::string_view server_nonce,
                 std::string_view client_nonce) {
  return secret.mac({"mooncake-session-v1", label, server_nonce, client_nonce});
}

// "Mooncake <rest>" -> rest, or "".
std::string_view afterScheme(std::string_view value) {
  if (value.size() <= kScheme.size() + 1 || value.substr(0, kScheme.size()) != kScheme ||
      value[kScheme.size()] != ' ') {
    return {};
  }
  return value.substr(kScheme.size() + 1);
}

}  // namespace

SessionVerifier::SessionVerifier(SecretRef secret, std::string label, Listener listener)
    : secret_(std::move(secret)), label_(std::move(label)), listener_(listener) {}

void SessionVerifier::forgetOld(Clock::time_point now) {
  while (!issued_.empty() &&
         (issued_.size() > kMaxChallenges || now - issued_.front().first > kChallengeLifetime)) {
    open_challenges_.erase(issued_.front().second);
    issued_.pop_front();
  }
  if (sessions_.size() >= kMaxSessions) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      it = now - it->second > kSessionIdle ? sessions_.erase(it) : std::next(it);
    }
    // Still full: forget an arbitrary one (its client answers a new challenge).
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  }
}

std::string SessionVerifier::challenge() {
  std::string nonce = toHex(randomBytes(kNonceBytes));
  auto now = Clock::now();
  std::lock_guard lock(mutex_);
  issued_.emplace_back(now, nonce);
  open_challenges_.insert(nonce);
  forgetOld(now);
  return nonce;
}

bool SessionVerifier::verify(std::string_view authorization) {
  if (authorization.empty()) return false;
  Check result = check(afterScheme(authorization));
  if (result == Check::kOk) return true;
  // A proof of the secret for a challenge this server no longer knows (it restarted, or
  // forgot an idle session) is not an attack: the client answers a new challenge.
  if (result == Check::kStale) return false;
  countFailure(listener_);
  LOG_EVERY_N(WARNING, 100) << "auth: refused a request on the " << listenerName(listener_)
                            << " port: its credential does not prove this cluster's secret";
  return false;
}

SessionVerifier::Check SessionVerifier::check(std::string_view credential) {
  if (credential.empty()) return Check::kBad;
  const auto now = Clock::now();
  std::string key(credential);
  {
    std::lock_guard lock(mutex_);
    auto known = sessions_.find(key);
    if (known != sessions_.end()) {
      if (now - known->second <= kSessionIdle) {
        known->second = now;
        return Check::kOk;
      }
      sessions_.erase(known);
      return Check::kStale;
    }
  }
  // "<Ns hex>.<Nc hex>.<mac hex>"
  size_t first = credential.find('.');
  size_t second = first == std::string_view::npos ? first : credential.find('.', first + 1);
  if (second == std::string_view::npos) return Check::kBad;
  std::string_view server_hex = credential.substr(0, first);
  auto client_nonce = fromHex(credential.substr(first + 1, second - first - 1));
  auto mac = fromHex(credential.substr(second + 1));
  auto server_nonce = fromHex(server_hex);
  if (!server_nonce || server_nonce->size() != kNonceBytes || !client_nonce ||
      client_nonce->size() != kNonceBytes || !mac || mac->size() != kProofBytes) {
    return Check::kBad;
  }
  Mac expected = sessionProof(*secret_, label_, *server_nonce, *client_nonce);
  if (!equalMacs(expected.data(), reinterpret_cast<const uint8_t*>(mac->data()), kProofBytes)) {
    return Check::kBad;
  }
  std::lock_guard lock(mutex_);
  forgetOld(now);
  // Ours, unanswered and fresh: the challenge is used up by this answer.
  if (open_challenges_.erase(std::string(server_hex)) == 0) return Check::kStale;
  sessions_[std::move(key)] = now;
  return Check::kOk;
}

std::string SessionCredential::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool SessionCredential::answer(std::string_view challenge) {
  auto server_nonce = fromHex(challenge);
  if (!secret_ || !server_nonce || server_nonce->size() != kNonceBytes) return false;
  std::string client_nonce = randomBytes(kNonceBytes);
  Mac mac = sessionProof(*secret_, label_, *server_nonce, client_nonce);
  std::string value =
      std::string(kScheme) + " " + std::string(challenge) + "." + toHex(client_nonce) + "." +
      toHex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  std::lock_guard lock(mutex_);
  current_ = std::move(value);
  return true;
}

std::string_view challengeOf(std::string_view www_authenticate) {
  return afterScheme(www_authenticate);
}

}  // namespace mooncake::auth
