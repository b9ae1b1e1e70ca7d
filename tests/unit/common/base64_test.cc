#include "common/base64.h"

#include <gtest/gtest.h>

#include <vector>

namespace mooncake {
namespace {

TEST(Base64Test, RoundTripsEveryLengthModuloThree) {
  for (std::string text : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                   std::string("\0\xff\x10", 3)}) {
    auto decoded = base64Decode(base64Encode(text));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
}

TEST(Base64Test, RejectsBadInput) {
  EXPECT_FALSE(base64Decode("abc").ok());
  EXPECT_FALSE(base64Decode("ab!d").ok());
  EXPECT_FALSE(base64Decode("a=bc").ok());
}

}  // namespace
}  // namespace mooncake
