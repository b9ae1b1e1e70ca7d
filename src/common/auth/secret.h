// The cluster secret that every Mooncake process proves it knows before a peer serves it
// (docs/SECURITY.md). It never travels: peers exchange fresh nonces and answer with
// HMAC-SHA256(secret, purpose | nonces), compared in constant time.
//
// Where it comes from, first match wins: an explicit value in a component's options (tests,
// embedders), else the file named by MC_AUTH_SECRET_FILE (what every binary's
// --auth_secret_file sets), else MC_AUTH_SECRET. None of them: authentication is off, and
// servers reachable beyond loopback say so at start.
//
// Immutable and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mooncake/common/status.h"

namespace mooncake::auth {

using Mac = std::array<uint8_t, 32>;

class Secret {
 public:
  // At least kMinBytes bytes (surrounding whitespace, e.g. a file's newline, is dropped).
  // Errors: ERR_INVALID_ARGUMENT naming `origin` ("MC_AUTH_SECRET", a file) and the length.
  static Result<std::shared_ptr<const Secret>> fromText(std::string_view text,
                                                        const std::string& origin);
  // Reads the file; warns when others may read it. Errors name the path.
  static Result<std::shared_ptr<const Secret>> fromFile(const std::string& path);

  static constexpr size_t kMinBytes = 16;

  // HMAC-SHA256 over the parts, each preceded by its length (so no two part lists collide).
  Mac mac(std::initializer_list<std::string_view> parts) const;
  const std::string& origin() const { return origin_; }

 private:
  Secret(std::string key, std::string origin) : key_(std::move(key)), origin_(std::move(origin)) {}
  std::string key_;
  std::string origin_;
};

using SecretRef = std::shared_ptr<const Secret>;

// The secret of this process (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET), read each time it is
// asked for (a process asks when a component starts). nullptr when neither is set. Errors: an
// unreadable file or a secret that is too short.
Result<SecretRef> processSecret();

// A component's secret: `explicit_secret` when given ("" = authentication off, whatever the
// environment says), else processSecret().
Result<SecretRef> resolveSecret(const std::optional<std::string>& explicit_secret);

// Constant-time comparison.
bool equalMacs(const uint8_t* a, const uint8_t* b, size_t length);

// Random bytes from the kernel (getrandom).
std::string randomBytes(size_t count);

std::string toHex(std::string_view bytes);
// nullopt when `hex` is not an even-length hex string.
std::optional<std::string> fromHex(std::string_view hex);

}  // namespace mooncake::auth
