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

// Three stripes of `stripe` bytes (a multiple of 8) from p, p + stripe, p + 2 * stripe.
__attribute__((target("sse4.2"))) void crcHardware3(const unsigned char* p, size_t stripe,
                                                    uint64_t crc[3]) {
  const unsigned char* a = p;
  const unsigned char* b = p + stripe;
  const unsigned char* c = p + 2 * stripe;
  uint64_t x = crc[0], y = crc[1], z = crc[2];
  for (size_t at = 0; at < stripe; at += 8) {
    uint64_t wa, wb, wc;
    std::memcpy(&wa, a + at, 8);
    std::memcpy(&wb, b + at, 8);
    std::memcpy(&wc, c + at, 8);
    x = _mm_crc32_u64(x, wa);
    y = _mm_crc32_u64(y, wb);
    z = _mm_crc32_u64(z, wc);
  }
  crc[0] = x;
  crc[1] = y;
  crc[2] = z;
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

uint32_t crc32cStriped(const void* data, size_t size) {
  if (size < 3072) return crc32c(0, data, size);
  const auto* p = static_cast<const unsigned char*>(data);
  const size_t stripe = size / 3 / 8 * 8;
  uint32_t parts[3];
#if defined(__x86_64__)
  if (kHaveHardware) {
    uint64_t crc[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
    crcHardware3(p, stripe, crc);
    parts[0] = ~static_cast<uint32_t>(crc[0]);
    parts[1] = ~static_cast<uint32_t>(crc[1]);
    // The third stripe runs to the end (its tail past 3 * stripe included).
    parts[2] = crc32c(~static_cast<uint32_t>(crc[2]), p + 3 * stripe, size - 3 * stripe);
  } else
#endif
  {
    parts[0] = crc32c(0, p, stripe);
    parts[1] = crc32c(0, p + stripe, stripe);
    parts[2] = crc32c(0, p + 2 * stripe, size - 2 * stripe);
  }
  unsigned char packed[12];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) packed[4 * i + j] = static_cast<unsigned char>(parts[i] >> (8 * j));
  }
  return crc32c(0, packed, sizeof(packed));
}

}  // namespace mooncake
