// CRC-32C: the known check value, the hardware path against the table path (odd lengths and
// offsets), and the striped checksum against its definition.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace mooncake {
namespace {

// The table path, written out here as the reference.
uint32_t reference(const unsigned char* p, size_t size) {
  uint32_t crc = ~0u;
  for (size_t i = 0; i < size; ++i) {
    crc ^= p[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

std::string randomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

TEST(Crc32cTest, KnownValueAndAnyLengthOrAlignment) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  std::string bytes = randomBytes(5000, 1);
  for (size_t offset : {0, 1, 3, 7}) {
    for (size_t size : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 4093}) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
      EXPECT_EQ(crc32c(0, p, size), reference(p, size)) << offset << "+" << size;
    }
  }
  // Extending a CRC equals one pass over the concatenation.
  EXPECT_EQ(crc32c(crc32c(0, bytes.data(), 1234), bytes.data() + 1234, 3000),
            crc32c(0, bytes.data(), 4234));
}

TEST(Crc32cTest, StripedIsTheCrcOfTheThreeStripeCrcs) {
  for (size_t size : {size_t{100}, size_t{3071}, size_t{3072}, size_t{3073}, size_t{4096},
                      size_t{128 << 10}, size_t{(1 << 20) + 5}}) {
    std::string bytes = randomBytes(size, size);
    uint32_t expected = crc32c(bytes);
    if (size >= 3072) {
      const size_t stripe = size / 3 / 8 * 8;
      uint32_t parts[3] = {crc32c(0, bytes.data(), stripe),
                           crc32c(0, bytes.data() + stripe, stripe),
                           crc32c(0, bytes.data() + 2 * stripe, size - 2 * stripe)};
      unsigned char packed[12];
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 4; ++j)
          packed[4 * i + j] = static_cast<unsigned char>(parts[i] >> (8 * j));
      }
      expected = crc32c(0, packed, sizeof(packed));
    }
    EXPECT_EQ(crc32cStriped(bytes.data(), size), expected) << size;
    // One flipped bit anywhere changes it.
    bytes[size / 2] ^= 0x10;
    EXPECT_NE(crc32cStriped(bytes.data(), size), expected) << size;
  }
}

}  // namespace
}  // namespace mooncake
