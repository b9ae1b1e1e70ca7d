#include "common/config/parse.h"

#include <gtest/gtest.h>

namespace mooncake::config {
namespace {

TEST(ParseTest, SizesAcceptUnitsWithAndWithoutSpaceAndIB) {
  EXPECT_EQ(*parseSize("4096"), 4096u);
  EXPECT_EQ(*parseSize("64KB"), 65536u);
  EXPECT_EQ(*parseSize("64 KiB"), 65536u);
  EXPECT_EQ(*parseSize("16MB"), 16u << 20);
  EXPECT_EQ(*parseSize("16 MB"), 16u << 20);
  EXPECT_EQ(*parseSize("1GiB"), 1ull << 30);
  EXPECT_EQ(*parseSize("1g"), 1ull << 30);
  EXPECT_EQ(*parseSize("1.5GB"), 3ull << 29);
  EXPECT_EQ(*parseSize("2T"), 2ull << 40);
}

TEST(ParseTest, SizesRejectPercentagesNegativesAndJunk) {
  for (const char* bad : {"", "50%", "-1", "12XB", "GB", "1e9", "99999999999999999999"}) {
    auto parsed = parseSize(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_TRUE(parsed.status().is(ErrorCode::ERR_INVALID_ARGUMENT)) << bad;
  }
  EXPECT_FALSE(parseSize("16777216T").ok());  // overflows 64 bits
}

TEST(ParseTest, IntegersAreBounded) {
  EXPECT_EQ(*parseInt("9", 1, 127), 9);
  EXPECT_FALSE(parseInt("0", 1, 127).ok());
  EXPECT_FALSE(parseInt("128", 1, 127).ok());
  EXPECT_FALSE(parseInt("12a", 1, 127).ok());
  EXPECT_NE(parseInt("500", 1, 127).status().message().find("[1, 127]"), std::string::npos);
}

TEST(ParseTest, BooleansAcceptCommonSpellings) {
  for (const char* yes : {"1", "true", "YES", "On"}) EXPECT_TRUE(*parseBool(yes)) << yes;
  for (const char* no : {"0", "false", "no", "OFF"}) EXPECT_FALSE(*parseBool(no)) << no;
  EXPECT_FALSE(parseBool("maybe").ok());
}

TEST(ParseTest, FormatSizeUsesLargestExactUnit) {
  EXPECT_EQ(formatSize(65536), "64 KiB");
  EXPECT_EQ(formatSize(1ull << 30), "1 GiB");
  EXPECT_EQ(formatSize(1000), "1000 B");
}

}  // namespace
}  // namespace mooncake::config
