// The TCP data port's payload pads (tcp_proto_version 3, tcp_wire.h): hand-built frames at a
// live peer, padded and unpadded mixed on one connection, land every byte where the header says
// and come back with the pads the requests asked for; a pad beyond the limit is rejected; and
// engines with and without pads (MC_TCP_PROTO) move the same bytes.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "common/auth/stream_auth.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/engine_peer.h"
#include "support/peer_descriptor.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake {
namespace {

namespace tcp = te::tcp;

class TcpPaddingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_ =
        testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20, {"MC_SAME_HOST_DIRECT=0"});
    ASSERT_TRUE(peer_.error.empty()) << peer_.error;
    auto descriptor = testing::fetchPeerDescriptor(peer_);
    ASSERT_TRUE(descriptor.ok()) << descriptor.status().toString();
    EXPECT_EQ(descriptor->tcp_proto_version, tcp::kPaddedProtoVersion);
    data_port_ = net::HostPort{"127.0.0.1", descriptor->tcp_data_port};
  }

  // A connection to the data port, authenticated when this process has a secret.
  net::UniqueFd connectData() {
    auto fd = net::connectTcp(data_port_, std::chrono::seconds(2));
    EXPECT_TRUE(fd.ok()) << fd.status().toString();
    if (!fd.ok()) return net::UniqueFd();
    if (auto secret = testing::processSecret()) {
      Status proved = auth::clientHandshake(fd->get(), secret, tcp::kAuthLabel, "data port");
      EXPECT_TRUE(proved.ok()) << proved.toString();
    }
    net::setReceiveTimeout(fd->get(), std::chrono::seconds(10));
    return std::move(fd).value();
  }

  static std::string frame(uint8_t op, uint64_t addr, uint64_t size, int pad) {
    tcp::RequestHeader header = tcp::makeHeader(op, addr, size);
    if (pad >= 0) {
      header.opcode |= tcp::kOpPaddedFlag;
      header.payload_pad = static_cast<uint16_t>(pad);
    }
    return std::string(reinterpret_cast<const char*>(&header), sizeof(header));
  }

  static std::string word(uint64_t value) {
    return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
  }

  testing::EnginePeer peer_;
  net::HostPort data_port_;
};

TEST_F(TcpPaddingTest, PaddedAndUnpaddedFramesOnOneConnectionLandWhereTheHeadersSay) {
  std::mt19937_64 random(11);
  std::string first(20000, '\0'), second(16384, '\0');
  for (char& c : first) c = static_cast<char>(random());
  for (char& c : second) c = static_cast<char>(random());
  const uint64_t a = peer_.buffer_addr + 5, b = peer_.buffer_addr + 300001;
  // -1: an unpadded (upstream v2) frame.
  std::string requests;
  requests += frame(tcp::kOpWrite, a, first.size(), 37) + std::string(37, '\0') + first;
  requests += frame(tcp::kOpRead, a, first.size(), 17);
  requests += frame(tcp::kOpRead, a, 100, -1);
  requests += frame(tcp::kOpRead, a, first.size(), 0);
  requests += frame(tcp::kOpWrite, b, second.size(), -1) + second;
  requests += frame(tcp::kOpRead, b, second.size(), 3);
  requests += frame(tcp::kOpRead, peer_.buffer_addr + 700000, 40000, 127);
  std::string expected;
  expected += word(tcp::kStatusOk);
  expected += word(tcp::kStatusOk) + std::string(17, '\0') + first;
  expected += word(tcp::kStatusOk) + first.substr(0, 100);
  expected += word(tcp::kStatusOk) + first;
  expected += word(tcp::kStatusOk);
  expected += word(tcp::kStatusOk) + std::string(3, '\0') + second;
  expected += word(tcp::kStatusOk) + std::string(127, '\0');
  for (uint64_t i = 0; i < 40000; ++i) {
    expected += static_cast<char>(testing::peerPatternByte(700000 + i));
  }

  net::UniqueFd fd = connectData();
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(net::sendAll(fd.get(), requests.data(), requests.size()).ok());
  std::string replies(expected.size(), '\0');
  ASSERT_TRUE(net::recvAll(fd.get(), replies.data(), replies.size()).ok());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(replies[i], expected[i]) << "reply byte " << i;
  }
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

TEST_F(TcpPaddingTest, APadBeyondTheLimitIsRejectedWithoutTouchingMemory) {
  net::UniqueFd fd = connectData();
  ASSERT_TRUE(fd.valid());
  const int pad = tcp::kMaxPad + 1;
  std::string request = frame(tcp::kOpWrite, peer_.buffer_addr, 16384, pad) +
                        std::string(pad, '\0') + std::string(16384, '\x5A');
  ASSERT_TRUE(net::sendAll(fd.get(), request.data(), request.size()).ok());
  uint64_t status = 0;
  ASSERT_TRUE(net::recvAll(fd.get(), &status, sizeof(status)).ok());
  EXPECT_EQ(status, tcp::kStatusRejected);
  char more = 0;
  EXPECT_LE(::recv(fd.get(), &more, 1, 0), 0) << "the data port closes after a rejection";
  EXPECT_NE(static_cast<unsigned char>(more), 0x5A);
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

// The same round trips with pads (MC_TCP_PROTO=3, the default) and without (2), at offsets that
// make every pad differ from zero somewhere.
TEST_F(TcpPaddingTest, EnginesWithAndWithoutPadsMoveTheSameBytes) {
  for (const char* proto : {"2", "3"}) {
    ::setenv("MC_TCP_PROTO", proto, 1);
    ::setenv("MC_SAME_HOST_DIRECT", "0", 1);
    TransferEngine engine;
    Status status = engine.init("P2PHANDSHAKE", "127.0.0.1", "127.0.0.1");
    ::unsetenv("MC_TCP_PROTO");
    ::unsetenv("MC_SAME_HOST_DIRECT");
    ASSERT_TRUE(status.ok()) << status.toString();
    const size_t bytes = 8 << 20;
    auto* local = static_cast<char*>(
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(local, MAP_FAILED);
    ASSERT_TRUE(engine.registerLocalMemory(local, bytes).ok());
    auto target = engine.openSegment(peer_.segment_name);
    ASSERT_TRUE(target.ok()) << target.status().toString();
    std::mt19937_64 random(proto[0]);
    uint64_t remote = 0;
    for (uint64_t length : {16384ull, 20001ull, 65536ull, 300000ull}) {
      for (uint64_t local_offset : {0ull, 3ull, 48ull, 4090ull}) {
        const uint64_t remote_offset = remote % (900000 - length);
        remote += 7919;
        for (uint64_t i = 0; i < length; ++i) local[local_offset + i] = static_cast<char>(random());
        std::memset(local + (4 << 20) + local_offset, 0, length);
        for (auto op : {TransferRequest::WRITE, TransferRequest::READ}) {
          TransferRequest request;
          request.opcode = op;
          request.source = local + local_offset + (op == TransferRequest::READ ? (4 << 20) : 0);
          request.target_id = *target;
          request.target_offset = peer_.buffer_addr + remote_offset;
          request.length = length;
          auto batch = engine.allocateBatchID(1);
          ASSERT_TRUE(batch.ok());
          ASSERT_TRUE(engine.submitTransfer(*batch, {request}).ok());
          TransferStatus done;
          ASSERT_TRUE(engine.waitBatchTransferStatus(*batch, done, std::chrono::seconds(30)).ok());
          ASSERT_EQ(done.s, COMPLETED) << "MC_TCP_PROTO=" << proto << " length " << length;
          EXPECT_TRUE(engine.freeBatchID(*batch).ok());
        }
        ASSERT_EQ(std::memcmp(local + local_offset, local + local_offset + (4 << 20), length), 0)
            << "MC_TCP_PROTO=" << proto << " length " << length << " offset " << local_offset;
      }
    }
    EXPECT_TRUE(engine.freeEngine().ok());
    ::munmap(local, bytes);
  }
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

}  // namespace
}  // namespace mooncake
