// Random and mutated input against the Transfer Engine's decoders and listeners, each for
// MC_FUZZ_SECONDS (30 by default; the seed is printed, MC_FUZZ_SEED replays it): handshake
// frames at a live rpc port, segment descriptor / rpc_meta JSON, and request headers at a live
// peer's TCP data port, whose guard zones must stay untouched. Run under ASan in the sanitizer
// configuration.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/engine_peer.h"
#include "support/fuzz.h"
#include "support/peer_descriptor.h"
#include "transfer_engine/handshake/frame_codec.h"
#include "transfer_engine/handshake/handshake_client.h"
#include "transfer_engine/metadata/segment_descriptor.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake {
namespace {

using Clock = std::chrono::steady_clock;

// Connects, sends `bytes`, reads whatever comes back for a moment, and resets the connection
// (no TIME_WAIT: thousands of these run per second).
void poke(const net::HostPort& address, const std::string& bytes, std::chrono::milliseconds wait) {
  auto fd = net::connectTcp(address, std::chrono::seconds(2));
  ASSERT_TRUE(fd.ok()) << fd.status().toString();
  struct linger reset {
    1, 0
  };
  ::setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  (void)::send(fd->get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  net::setReceiveTimeout(fd->get(), wait);
  char sink[4096];
  (void)::recv(fd->get(), sink, sizeof(sink), 0);  // the answer, if one comes
}

TEST(WireFuzzTest, HandshakeFramesNeverTakeTheRpcPortDown) {
  auto random = testing::fuzzRandom("handshake");
  TransferEngine engine;
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  const net::HostPort rpc{"127.0.0.1", engine.getRpcPort()};
  const std::string valid[] = {
      te::encodeFrame(te::FrameType::kProbe, "{}"), te::encodeFrame(te::FrameType::kMetadata, "{}"),
      te::encodeFrame(te::FrameType::kNotify, R"({"name":"n","notify_msg":"m"})"),
      te::encodeFrame(te::FrameType::kConnection, R"({"a":1})")};
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t sent = 0;
  while (Clock::now() < until) {
    std::string frame = random() % 4 == 0 ? std::string(random() % 64, static_cast<char>(random()))
                                          : testing::mutate(valid[random() % 4], random);
    // The codec on its own, then the listener.
    if (frame.size() >= te::kFrameHeaderBytes) {
      (void)te::decodeFrameLength(frame.data(), 1 << 20);
      (void)te::decodeFrameBody(std::string_view(frame).substr(te::kFrameHeaderBytes));
    }
    poke(rpc, frame, std::chrono::milliseconds(3));
    if (++sent % 200 == 0) {
      ASSERT_TRUE(engine.probePeerAlive(engine.getLocalSegmentName()).ok());
    }
  }
  EXPECT_TRUE(engine.probePeerAlive(engine.getLocalSegmentName()).ok());
  std::printf("handshake: %llu frames\n", static_cast<unsigned long long>(sent));
}

TEST(WireFuzzTest, DescriptorAndRpcMetaJsonDecodeOrFailCleanly) {
  auto random = testing::fuzzRandom("descriptor json");
  te::SegmentDescriptor descriptor;
  descriptor.name = "127.0.0.1:12345";
  descriptor.tcp_data_port = 15000;
  descriptor.host_instance = "boot/pid:[1]";
  descriptor.pid = 42;
  descriptor.pid_start = 7;
  descriptor.direct_socket = "mooncake-te-direct/42/abc";
  for (uint64_t i = 0; i < 8; ++i) descriptor.buffers.push_back({"cpu:0", (i + 1) << 20, 4096});
  const std::string valid = te::encodeSegmentDescriptor(descriptor);
  const std::string meta = te::encodeRpcMeta({"127.0.0.1", 15001});
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t decoded = 0, total = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 100; ++i, ++total) {
      auto result = te::decodeSegmentDescriptor(testing::mutate(valid, random));
      if (result.ok()) {
        ++decoded;
        for (const auto& buffer : result->buffers)
          ASSERT_TRUE(buffer.addr != 0 && buffer.length != 0);
      } else {
        ASSERT_FALSE(result.status().message().empty());
      }
      (void)te::decodeRpcMeta(testing::mutate(meta, random));
    }
  }
  std::printf("descriptor json: %llu of %llu mutations still decoded\n",
              static_cast<unsigned long long>(decoded), static_cast<unsigned long long>(total));
}

TEST(WireFuzzTest, DataPortHeadersNeverReachOutsideTheRegisteredBuffer) {
  auto random = testing::fuzzRandom("tcp data");
  auto peer =
      testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20, {"MC_SAME_HOST_DIRECT=0"});
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  auto descriptor = testing::fetchPeerDescriptor(peer);
  ASSERT_TRUE(descriptor.ok()) << descriptor.status().toString();
  const net::HostPort data{"127.0.0.1", descriptor->tcp_data_port};
  const uint64_t base = peer.buffer_addr;
  const uint64_t length = peer.buffer_length;
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t sent = 0;
  while (Clock::now() < until) {
    // Addresses around the buffer's edges (where an off-by-one would hurt) or anywhere.
    const uint64_t edges[] = {base, base + length, base - 4096, base + length - 1, 0, ~0ull};
    uint64_t addr = random() % 3 == 0 ? random() : edges[random() % 6] + (random() % 64) - 32;
    uint64_t size = random() % 4 == 0 ? random() : random() % 8192;
    // Padded frames (tcp_proto_version 3) too, with pads around the limit.
    const uint8_t padded = random() % 2 == 0 ? te::tcp::kOpPaddedFlag : 0;
    uint8_t opcode = random() % 5 == 0
                         ? static_cast<uint8_t>(random())
                         : static_cast<uint8_t>(random() % 2 | te::tcp::kOpV2Flag | padded);
    auto header = te::tcp::makeHeader(0, addr, size);
    header.opcode = opcode;
    header.payload_pad = static_cast<uint16_t>(random() % 8 == 0 ? random() : random() % 160);
    std::string bytes(reinterpret_cast<const char*>(&header), sizeof(header));
    if (random() % 4 == 0) bytes = testing::mutate(bytes, random);
    bytes.append(std::min<uint64_t>(size, 8192), static_cast<char>(0xEE));  // a write's payload
    poke(data, bytes, std::chrono::milliseconds(5));
    ++sent;
  }
  EXPECT_EQ(peer.checkGuard(), "GUARD OK");
  // And it still serves a well-formed transfer.
  TransferEngineOptions options;
  options.same_host_direct = false;
  TransferEngine engine(options);
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  std::vector<char> local(4096);
  ASSERT_TRUE(engine.registerLocalMemory(local.data(), local.size()).ok());
  auto target = engine.openSegment(peer.segment_name);
  ASSERT_TRUE(target.ok());
  auto batch = engine.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(
      engine.submitTransfer(*batch, {{TransferRequest::READ, local.data(), *target, base, 4096, 0}})
          .ok());
  TransferStatus status;
  ASSERT_TRUE(engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_TRUE(engine.freeBatchID(*batch).ok());
  std::printf("tcp data: %llu requests\n", static_cast<unsigned long long>(sent));
}

}  // namespace
}  // namespace mooncake
