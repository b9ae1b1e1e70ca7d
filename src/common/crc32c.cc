#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mooncake {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // CRC-32C, reflected

constexpr std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) value = (value >> 1) ^ ((value & 1) ? kPolynomial : 0);
    table[i] = value;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = makeTable();

uint32_t crcTable(uint32_t crc, const unsigned char* p, size_t size) {
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crcHardware(uint32_t crc, const unsigned char* p,
                                                       size_t size) {
  uint64_t value = crc;
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    value = _mm_crc32_u64(value, word);
    p += 8;
    size -= 8;
  }
  auto narrow = static_cast<uint32_t>(value);
  while (size-- > 0) narrow = _mm_crc32_u8(narrow, *p++);
  return narrow;
}

const bool kHaveHardware = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  crc = kHaveHardware ? crcHardware(crc, p, size) : crcTable(crc, p, size);
#else
  crc = crcTable(crc, p, size);
#endif
  return ~crc;
}

}  // namespace mooncake
