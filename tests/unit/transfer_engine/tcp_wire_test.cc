// The TCP data port's payload pads (tcp_proto_version 3): the pad an initiator picks keeps both
// kernel copies of a payload out of the slow 1-63 byte distance, and stays within the bound the
// data port accepts.
#include "transfer_engine/transport/tcp/tcp_wire.h"

#include <gtest/gtest.h>

#include <random>

namespace mooncake::te::tcp {
namespace {

TEST(TcpWireTest, SlowDistancesAreOneToSixtyThreeBytesAheadModuloFourKiB) {
  EXPECT_FALSE(slowCopyDistance(0));
  EXPECT_TRUE(slowCopyDistance(1));
  EXPECT_TRUE(slowCopyDistance(24));
  EXPECT_TRUE(slowCopyDistance(63));
  EXPECT_FALSE(slowCopyDistance(64));
  EXPECT_FALSE(slowCopyDistance(4095));
  EXPECT_TRUE(slowCopyDistance(4096 + 8));
  EXPECT_FALSE(slowCopyDistance(uint64_t{0} - 8));  // the destination behind the source
}

TEST(TcpWireTest, ThePadLeavesNeitherCopySlowAndIsAtMostTheLimit) {
  std::mt19937_64 random(3);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t at = random() % 512;
    const uint64_t source = random();
    const uint64_t destination = random() % 4 == 0 ? source + random() % 128 : random();
    const uint16_t pad = choosePad(at, source, destination);
    ASSERT_LE(pad, kMaxPad);
    EXPECT_FALSE(slowCopyDistance(at + pad - source)) << at << " " << source << " " << destination;
    EXPECT_FALSE(slowCopyDistance(destination - (at + pad)))
        << at << " " << source << " " << destination;
  }
}

TEST(TcpWireTest, AlignedBuffersAfterAHeaderGetTheSmallestPadThatHelps) {
  // A 24-byte header in front of a payload copied between page-aligned buffers: the payload
  // moves to byte 64, where both copies run aligned.
  EXPECT_EQ(choosePad(sizeof(RequestHeader), 0x10000, 0x7f0000020000), 40);
  // A READ's payload after its 8-byte status word.
  EXPECT_EQ(choosePad(sizeof(uint64_t), 0x7f0000020000, 0x10000), 56);
  // Nothing to fix: no pad.
  EXPECT_EQ(choosePad(64, 0, 0), 0);
  EXPECT_EQ(choosePad(24, 0x1000 + 24, 0x5000 + 24), 0);
}

TEST(TcpWireTest, TheHeaderKeepsItsTwentyFourBytesAndCarriesThePadAfterTheOpcode) {
  RequestHeader header = makeHeader(kOpWrite, 0x1122, 77);
  header.opcode |= kOpPaddedFlag;
  header.payload_pad = 0x0155;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&header);
  EXPECT_EQ(bytes[16], kOpWrite | kOpV2Flag | kOpPaddedFlag);
  EXPECT_EQ(bytes[18], 0x55);
  EXPECT_EQ(bytes[19], 0x01);
  EXPECT_EQ(baseOpcode(header.opcode), kOpWrite);
}

}  // namespace
}  // namespace mooncake::te::tcp
