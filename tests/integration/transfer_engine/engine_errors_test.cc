// Error paths users hit at init and on the wire: taken ports, bad names, malformed handshake
// frames, and peers that send out-of-range requests straight to the data port.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/backends.h"
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

TEST(EngineErrorsTest, ASegmentNameUsedByALiveNodeIsRefusedAndADeadOnesIsTakenOver) {
  std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const std::string name = "dup-" + std::to_string(testing::freeLoopbackPort());
  // A live peer process holds the name.
  auto peer = testing::startEnginePeer(metadata, name, 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  TransferEngine second;
  Status refused = second.init(metadata, name, "127.0.0.1");
  ASSERT_TRUE(refused.is(ErrorCode::ERR_INVALID_ARGUMENT)) << refused.toString();
  EXPECT_NE(refused.message().find("already used by a live node"), std::string::npos);
  EXPECT_NE(refused.message().find("local_server_name"), std::string::npos);
  // The peer dies without unpublishing: its records stay, but nobody answers there any more.
  peer.process->signal(SIGKILL);
  peer.process->wait(std::chrono::seconds(10));
  TransferEngine third;
  Status taken = third.init(metadata, name, "127.0.0.1");
  ASSERT_TRUE(taken.ok()) << taken.toString();
  EXPECT_EQ(third.getLocalSegmentName(), name);
}

TEST(EngineErrorsTest, MalformedAndOversizedHandshakeFramesLeaveTheListenerServing) {
  testing::ScopedNoAuth no_auth;  // raw frames of the unauthenticated protocol
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
  send_raw(std::string(8, '\0'));  // zero length
  uint64_t huge = 1ull << 40;      // above MC_HANDSHAKE_MAX_LENGTH
  send_raw(std::string(reinterpret_cast<char*>(&huge), 8) + "xxxx");
  send_raw("\x05\x00\x00");  // truncated header
  // A well-formed frame of a type nobody serves is answered with a reason.
  auto rejected = te::handshakeCall(rpc, te::FrameType::kConnection, "{}", std::chrono::seconds(2),
                                    1 << 20, testing::processSecret());
  EXPECT_TRUE(rejected.status().is(ErrorCode::ERR_REJECT_HANDSHAKE));
  EXPECT_NE(rejected.status().message().find("Handshake request rejected by peer endpoint"),
            std::string::npos);
  EXPECT_TRUE(engine.probePeerAlive(engine.getLocalSegmentName()).ok());
}

// A client dripping a frame a byte at a time, and hundreds of idle connections, used to hold the
// single-threaded handshake listener (its timeout was per recv): peers must still be answered.
TEST(EngineErrorsTest, SlowAndIdleClientsDoNotStallTheHandshakePort) {
  testing::ScopedNoAuth no_auth;  // raw frames of the unauthenticated protocol
  TransferEngine engine;
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  net::HostPort rpc{"127.0.0.1", engine.getRpcPort()};
  std::vector<net::UniqueFd> idle;
  for (int i = 0; i < 300; ++i) {
    auto fd = net::connectTcp(rpc, std::chrono::seconds(2));
    ASSERT_TRUE(fd.ok());
    idle.push_back(std::move(fd).value());
  }
  auto drip = net::connectTcp(rpc, std::chrono::seconds(2));
  ASSERT_TRUE(drip.ok());
  std::string frame = te::encodeFrame(te::FrameType::kProbe, "{}");
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    ASSERT_EQ(::send(drip->get(), &frame[i], 1, MSG_NOSIGNAL), 1);
    auto started = std::chrono::steady_clock::now();
    auto reply = te::handshakeCall(rpc, te::FrameType::kProbe, "{}", std::chrono::seconds(2),
                                   1 << 20, nullptr);
    ASSERT_TRUE(reply.ok()) << i << ": " << reply.status().toString();
    // Answered promptly (well under the 2 s per-recv timeout that used to hold the port).
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  }
  // The dripping connection itself is cut off once its frame runs past the deadline (5 s).
  char byte;
  net::setReceiveTimeout(drip->get(), std::chrono::seconds(10));
  EXPECT_LE(::recv(drip->get(), &byte, 1, 0), 0);
}

TEST(EngineErrorsTest, TargetRejectsOutOfRangeRequestsOnTheWire) {
  testing::ScopedNoAuth no_auth;  // raw frames of the unauthenticated protocol
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  auto rpc = net::parseHostPort(peer.segment_name, 0);
  ASSERT_TRUE(rpc.ok());
  auto reply = te::handshakeCall(*rpc, te::FrameType::kMetadata, "{}", std::chrono::seconds(2),
                                 1 << 20, nullptr);
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

namespace mooncake {
namespace {

// Options for a peer that gets stopped: TCP (a stopped peer stalls only there), a 1 s stall
// timeout, and retries enough to outlast the pause.
TransferEngineOptions stallTestOptions() {
  TransferEngineOptions options;
  options.same_host_direct = false;
  options.tcp_status_timeout_sec = 1;
  options.retry_count = 20;
  return options;
}

// A small transfer whose waiter reads the reply itself (Transport::drive) while the peer is
// stopped: the waiter notices the stall, the slice is retried, and completes after SIGCONT.
TEST(EngineRetryTest, AStalledSmallTransferWithItsWaiterReadingIsRetriedAndCompletes) {
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  TransferEngine engine(stallTestOptions());
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  std::vector<char> local(4096);
  ASSERT_TRUE(engine.registerLocalMemory(local.data(), local.size()).ok());
  auto target = engine.openSegment(peer.segment_name);
  ASSERT_TRUE(target.ok());
  // Connect the lanes first, so the stalled read is sent inline and read by this thread.
  auto warm = engine.allocateBatchID(1);
  ASSERT_TRUE(warm.ok());
  TransferRequest read{TransferRequest::READ, local.data(), *target,
                       peer.buffer_addr + 7,  local.size(), 0};
  ASSERT_TRUE(engine.submitTransfer(*warm, {read}).ok());
  TransferStatus status;
  ASSERT_TRUE(engine.waitBatchTransferStatus(*warm, status, std::chrono::seconds(10)).ok());
  ASSERT_EQ(status.s, COMPLETED);
  ASSERT_TRUE(engine.freeBatchID(*warm).ok());
  std::fill(local.begin(), local.end(), 0);

  peer.process->signal(SIGSTOP);
  auto batch = engine.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(engine.submitTransfer(*batch, {read}).ok());
  ASSERT_TRUE(engine.waitBatchTransferStatus(*batch, status, std::chrono::milliseconds(2500)).ok());
  EXPECT_EQ(status.s, WAITING);
  peer.process->signal(SIGCONT);
  ASSERT_TRUE(engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
  EXPECT_EQ(status.s, COMPLETED);
  for (size_t i = 0; i < local.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(local[i]), testing::peerPatternByte(7 + i)) << i;
  }
  EXPECT_TRUE(engine.freeBatchID(*batch).ok());
}

// A peer that stops answering (paused) makes the lane stall past MC_TCP_STATUS_TIMEOUT_SEC; the
// slices must be retried on fresh connections and complete once the peer answers again.
TEST(EngineRetryTest, StalledSlicesAreRetriedOnANewConnectionAndComplete) {
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 8 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  TransferEngine engine(stallTestOptions());
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  std::vector<char> local(8 << 20);
  ASSERT_TRUE(engine.registerLocalMemory(local.data(), local.size()).ok());
  auto target = engine.openSegment(peer.segment_name);
  ASSERT_TRUE(target.ok());
  peer.process->signal(SIGSTOP);
  auto batch = engine.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  TransferRequest read{TransferRequest::READ, local.data(), *target,
                       peer.buffer_addr,      local.size(), 0};
  ASSERT_TRUE(engine.submitTransfer(*batch, {read}).ok());
  // Let at least one stall timeout expire, so the first connection is abandoned.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  TransferStatus status;
  ASSERT_TRUE(engine.getTransferStatus(*batch, 0, status).ok());
  EXPECT_EQ(status.s, WAITING);
  peer.process->signal(SIGCONT);
  ASSERT_TRUE(testing::waitFor(
      [&] { return engine.getTransferStatus(*batch, 0, status).ok() && status.s != WAITING; },
      std::chrono::seconds(30)));
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_EQ(status.transferred_bytes, local.size());
  for (size_t i = 0; i < local.size(); i += 4099) {
    ASSERT_EQ(static_cast<unsigned char>(local[i]), testing::peerPatternByte(i)) << i;
  }
  EXPECT_TRUE(engine.freeBatchID(*batch).ok());
}

}  // namespace
}  // namespace mooncake

namespace mooncake {
namespace {

// A peer that died (its port refuses connections): the first transfer fails within its short
// connect back-off, and later ones within microseconds for the next two seconds (the peer is
// remembered as down) instead of a retry budget of connects each; the error says why.
TEST(EngineErrorsTest, ADeadPeerFailsTransfersAtOnceOnceItRefusedAConnection) {
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  TransferEngineOptions options;
  options.same_host_direct = false;
  TransferEngine engine(options);
  ASSERT_TRUE(engine.init("P2PHANDSHAKE", "127.0.0.1").ok());
  std::vector<char> local(4096);
  ASSERT_TRUE(engine.registerLocalMemory(local.data(), local.size()).ok());
  auto target = engine.openSegment(peer.segment_name);
  ASSERT_TRUE(target.ok());
  TransferRequest read{TransferRequest::READ, local.data(), *target,
                       peer.buffer_addr,      local.size(), 0};
  auto transfer = [&](std::chrono::steady_clock::duration* took) {
    auto started = std::chrono::steady_clock::now();
    auto batch = engine.allocateBatchID(1);
    EXPECT_TRUE(batch.ok());
    EXPECT_TRUE(engine.submitTransfer(*batch, {read}).ok());
    TransferStatus status;
    EXPECT_TRUE(engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
    EXPECT_TRUE(engine.freeBatchID(*batch).ok());
    *took = std::chrono::steady_clock::now() - started;
    return status.s;
  };
  std::chrono::steady_clock::duration took;
  ASSERT_EQ(transfer(&took), COMPLETED);

  peer.process->signal(SIGKILL);
  peer.process->wait(std::chrono::seconds(10));
  EXPECT_EQ(transfer(&took), FAILED);
  EXPECT_LT(took, std::chrono::milliseconds(900));  // was ~1 s of refused connects per lane
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(transfer(&took), FAILED);
    EXPECT_LT(took, std::chrono::milliseconds(100)) << i;
  }
}

}  // namespace
}  // namespace mooncake
