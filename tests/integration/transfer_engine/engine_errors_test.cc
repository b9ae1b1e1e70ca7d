// Error paths users hit at init and on the wire: taken ports, bad names, malformed handshake
// frames, and peers that send out-of-range requests straight to the data port.
#include <gtest/gtest.h>

#include <cstring>

#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/engine_peer.h"
#include "support/process.h"
#include "transfer_engine/handshake/frame_codec.h"
#include "transfer_engine/handshake/handshake_client.h"
#include "transfer_engine/metadata/segment_descriptor.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake {
namespace {

TEST(EngineErrorsTest, PortInUseFailsInitWithBindAddressAlreadyInUse) {
  auto taken = net::listenTcp("127.0.0.1", 0, 4);
  ASSERT_TRUE(taken.ok());
  uint16_t port = *net::boundPort(taken->get());
  TransferEngine engine;
  Status status = engine.init("P2PHANDSHAKE", "127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.is(ErrorCode::ERR_SOCKET));
  EXPECT_NE(status.message().find("bind address already in use"), std::string::npos);
  EXPECT_NE(status.message().find(std::to_string(port)), std::string::npos);
}

TEST(EngineErrorsTest, UnresolvableNameFailsInitWithDnsError) {
  TransferEngine engine;
  Status status = engine.init("P2PHANDSHAKE", "no-such-host.invalid");
  EXPECT_TRUE(status.is(ErrorCode::ERR_DNS)) << status.toString();
  EXPECT_NE(status.message().find("no-such-host.invalid"), std::string::npos);
}

TEST(EngineErrorsTest, BadEnvironmentValueFailsInitNamingTheVariable) {
  ::setenv("MC_SLICE_SIZE", "12 parsecs", 1);
  TransferEngine engine;
  Status status = engine.init("P2PHANDSHAKE", "127.0.0.1");
  ::unsetenv("MC_SLICE_SIZE");
  EXPECT_TRUE(status.is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_NE(status.message().find("MC_SLICE_SIZE"), std::string::npos);
}

TEST(EngineErrorsTest, MalformedAndOversizedHandshakeFramesLeaveTheListenerServing) {
  TransferEngine engine;
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  net::HostPort rpc{"127.0.0.1", engine.getRpcPort()};
  auto send_raw = [&](const std::string& bytes) {
    auto fd = net::connectTcp(rpc, std::chrono::seconds(2));
    ASSERT_TRUE(fd.ok());
    (void)net::sendAll(fd->get(), bytes.data(), bytes.size());
    char reply[16];
    net::setReceiveTimeout(fd->get(), std::chrono::seconds(5));
    // The server drops the frame and closes: recv sees EOF, not a reply.
    EXPECT_FALSE(net::recvAll(fd->get(), reply, sizeof(reply)).ok());
  };
  send_raw(std::string(8, '\0'));                       // zero length
  uint64_t huge = 64ull << 20;                          // above MC_HANDSHAKE_MAX_LENGTH
  send_raw(std::string(reinterpret_cast<char*>(&huge), 8) + "xxxx");
  send_raw("\x05\x00\x00");                              // truncated header
  // A well-formed frame of a type nobody serves is answered with a reason.
  auto rejected = te::handshakeCall(rpc, te::FrameType::kConnection, "{}",
                                    std::chrono::seconds(2), 1 << 20);
  EXPECT_TRUE(rejected.status().is(ErrorCode::ERR_REJECT_HANDSHAKE));
  EXPECT_NE(rejected.status().message().find("Handshake request rejected by peer endpoint"),
            std::string::npos);
  EXPECT_TRUE(engine.probePeerAlive(engine.getLocalSegmentName()).ok());
}

TEST(EngineErrorsTest, TargetRejectsOutOfRangeRequestsOnTheWire) {
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  auto rpc = net::parseHostPort(peer.segment_name, 0);
  ASSERT_TRUE(rpc.ok());
  auto reply = te::handshakeCall(*rpc, te::FrameType::kMetadata, "{}", std::chrono::seconds(2),
                                 1 << 20);
  ASSERT_TRUE(reply.ok()) << reply.status().toString();
  auto descriptor = te::decodeSegmentDescriptor(*reply);
  ASSERT_TRUE(descriptor.ok());
  for (uint64_t addr : {peer.buffer_addr - 16, peer.buffer_addr + peer.buffer_length - 8}) {
    auto fd = net::connectTcp({"127.0.0.1", descriptor->tcp_data_port}, std::chrono::seconds(2));
    ASSERT_TRUE(fd.ok());
    auto header = te::tcp::makeHeader(te::tcp::kOpWrite, addr, 64);
    std::string payload(64, 'Z');
    ASSERT_TRUE(net::sendAll(fd->get(), &header, sizeof(header)).ok());
    (void)net::sendAll(fd->get(), payload.data(), payload.size());
    uint64_t word = 0;
    ASSERT_TRUE(net::recvAll(fd->get(), &word, sizeof(word)).ok());
    EXPECT_EQ(word, te::tcp::kStatusRejected);
  }
  EXPECT_EQ(peer.checkGuard(), "GUARD OK");
}

}  // namespace
}  // namespace mooncake
