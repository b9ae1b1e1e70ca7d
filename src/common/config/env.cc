#include "common/config/env.h"

#include <cstdlib>

namespace mooncake::config {

std::optional<std::string> readEnv(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace mooncake::config
