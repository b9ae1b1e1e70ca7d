#include "transfer_engine/handshake/frame_codec.h"

#include <gtest/gtest.h>

#include <cstring>

namespace mooncake::te {
namespace {

TEST(FrameCodecTest, EncodesLengthTypeAndJson) {
  std::string frame = encodeFrame(FrameType::kMetadata, "{}");
  ASSERT_EQ(frame.size(), 8u + 1 + 2);
  uint64_t length;
  std::memcpy(&length, frame.data(), 8);
  EXPECT_EQ(length, 3u);  // type byte + JSON
  EXPECT_EQ(frame[8], 1);
  auto decoded_length = decodeFrameLength(frame.data(), 1 << 20);
  ASSERT_TRUE(decoded_length.ok());
  auto body = decodeFrameBody(std::string_view(frame).substr(8));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->type, FrameType::kMetadata);
  EXPECT_EQ(body->json, "{}");
}

TEST(FrameCodecTest, RejectsZeroAndOversizedLengths) {
  char header[8] = {};
  EXPECT_TRUE(decodeFrameLength(header, 1 << 20).status().is(ErrorCode::ERR_INVALID_ARGUMENT));
  uint64_t big = (1 << 20) + 1;
  std::memcpy(header, &big, 8);
  auto status = decodeFrameLength(header, 1 << 20).status();
  EXPECT_TRUE(status.is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_NE(status.message().find("MC_HANDSHAKE_MAX_LENGTH"), std::string::npos);
}

TEST(FrameCodecTest, LegacyFrameWithoutTypeIsAConnectionFrame) {
  auto body = decodeFrameBody(R"({"local_nic_path":"a@mlx5_0"})");
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->type, FrameType::kConnection);
  EXPECT_EQ(body->json[0], '{');
  EXPECT_FALSE(decodeFrameBody("").ok());
}

}  // namespace
}  // namespace mooncake::te
