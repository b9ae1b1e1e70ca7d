#include "common/auth/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/config/env.h"
#include "common/logging.h"

namespace mooncake::auth {
namespace {

std::string_view trimmed(std::string_view text) {
  const char* space = " \t\r\n";
  size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

}  // namespace

Result<SecretRef> Secret::fromText(std::string_view text, const std::string& origin) {
  std::string_view key = trimmed(text);
  if (key.size() < kMinBytes) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         origin + " holds a secret of " + std::to_string(key.size()) +
                             " bytes; use at least " + std::to_string(kMinBytes) +
                             " (e.g. the output of `openssl rand -hex 32`)");
  }
  return SecretRef(new Secret(std::string(key), origin));
}

Result<SecretRef> Secret::fromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error(
        ErrorCode::ERR_INVALID_ARGUMENT,
        "cannot read the auth secret file " + path + ": " + std::string(std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    LOG_FIRST_N(WARNING, 1) << "auth: the secret file " << path
                            << " is readable by other users; chmod 600 it";
  }
  return fromText(content.str(), "the auth secret file " + path);
}

Mac Secret::mac(std::initializer_list<std::string_view> parts) const {
  Mac out{};
  std::string message;
  size_t total = 0;
  for (std::string_view part : parts) total += 4 + part.size();
  message.reserve(total);
  for (std::string_view part : parts) {
    uint32_t length = static_cast<uint32_t>(part.size());
    message.append(reinterpret_cast<const char*>(&length), sizeof(length));
    message.append(part);
  }
  unsigned int written = 0;
  ::HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
         &written);
  return out;
}

Result<SecretRef> processSecret() {
  if (auto file = config::readEnv("MC_AUTH_SECRET_FILE"); file && !file->empty()) {
    return Secret::fromFile(*file);
  }
  if (auto text = config::readEnv("MC_AUTH_SECRET"); text && !text->empty()) {
    return Secret::fromText(*text, "MC_AUTH_SECRET");
  }
  return SecretRef();
}

Result<SecretRef> resolveSecret(const std::optional<std::string>& explicit_secret) {
  if (!explicit_secret) return processSecret();
  if (explicit_secret->empty()) return SecretRef();
  return Secret::fromText(*explicit_secret, "the configured auth secret");
}

bool equalMacs(const uint8_t* a, const uint8_t* b, size_t length) {
  uint8_t diff = 0;
  for (size_t i = 0; i < length; ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

std::string randomBytes(size_t count) {
  std::string out(count, '\0');
  size_t have = 0;
  while (have < count) {
    ssize_t got = ::getrandom(out.data() + have, count - have, 0);
    if (got > 0) have += static_cast<size_t>(got);
  }
  return out;
}

std::string toHex(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> fromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int high = digit(hex[2 * i]);
    int low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out[i] = static_cast<char>(high * 16 + low);
  }
  return out;
}

}  // namespace mooncake::auth
