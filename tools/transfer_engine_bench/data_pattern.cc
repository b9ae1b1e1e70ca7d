#include "transfer_engine_bench/data_pattern.h"

#include <cstring>

namespace mooncake::bench {
namespace {

inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t word(uint64_t offset, uint64_t seed) { return mix((offset >> 3) ^ (seed << 56)); }

}  // namespace

void fillPattern(void* data, size_t length, uint64_t offset, uint64_t seed) {
  auto* out = static_cast<unsigned char*>(data);
  for (size_t i = 0; i + 8 <= length; i += 8) {
    uint64_t value = word(offset + i, seed);
    std::memcpy(out + i, &value, 8);
  }
}

bool matchesPattern(const void* data, size_t length, uint64_t offset, uint64_t seed) {
  const auto* in = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i + 8 <= length; i += 8) {
    uint64_t value;
    std::memcpy(&value, in + i, 8);
    if (value != word(offset + i, seed)) return false;
  }
  return true;
}

}  // namespace mooncake::bench
