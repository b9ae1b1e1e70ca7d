// Tests under a cluster secret: `MC_AUTH_SECRET=... scripts/test.sh` runs every test with
// authentication on. Tests that talk to the servers themselves use the process's secret the way
// the project's own clients do, and tests about the unauthenticated wire protocols (raw frames,
// fuzzing) pin authentication off for themselves and the processes they start.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

#include "common/auth/secret.h"
#include "common/auth/session_auth.h"
#include "common/net/http_client.h"

namespace mooncake::testing {

// This process's secret (MC_AUTH_SECRET_FILE / MC_AUTH_SECRET), or null.
inline auth::SecretRef processSecret() {
  auto secret = auth::processSecret();
  return secret.ok() ? *secret : nullptr;
}

// An HTTP call with the process's secret (a challenge is answered, as the project's clients do).
inline Result<net::HttpResponse> httpCall(const std::string& method, const std::string& url,
                                          const std::string& body = "") {
  net::HttpClient client;
  auth::SessionCredential credential(processSecret(), "http");
  return client.sendAuthenticated(method, url, body, std::chrono::seconds(5),
                                  std::chrono::seconds(2), credential);
}

// Authentication off for this process and the children it starts, while in scope.
class ScopedNoAuth {
 public:
  ScopedNoAuth() {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      saved_[index(name)] = value ? std::optional<std::string>(value) : std::nullopt;
      ::unsetenv(name);
    }
  }
  ~ScopedNoAuth() {
    for (const char* name : kNames) {
      const auto& value = saved_[index(name)];
      if (value) ::setenv(name, value->c_str(), 1);
    }
  }
  ScopedNoAuth(const ScopedNoAuth&) = delete;
  ScopedNoAuth& operator=(const ScopedNoAuth&) = delete;

 private:
  static constexpr const char* kNames[] = {"MC_AUTH_SECRET", "MC_AUTH_SECRET_FILE"};
  static size_t index(const char* name) { return name == kNames[0] ? 0 : 1; }
  std::optional<std::string> saved_[2];
};

}  // namespace mooncake::testing
