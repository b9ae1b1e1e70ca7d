// Values that are a function of their key, so any process of a test can write a key and any
// other can verify it byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace mooncake::testing {

inline std::string valueForKey(const std::string& key, size_t size) {
  std::string out(size, '\0');
  uint64_t state = std::hash<std::string>()(key) | 1;
  for (size_t i = 0; i < size; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    out[i] = static_cast<char>(state);
  }
  return out;
}

}  // namespace mooncake::testing
