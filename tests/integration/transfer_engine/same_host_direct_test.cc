// MC_SAME_HOST_DIRECT: transfers to a peer process on this host by one kernel copy, with the
// engine's range checks, a dead peer failing in bounded time, and TCP when the peer does not
// offer it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "common/net/http_client.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/backends.h"
#include "support/engine_peer.h"

namespace mooncake {
namespace {

constexpr uint64_t kPeerBytes = 8 << 20;

class SameHostDirectTest : public ::testing::Test {
 protected:
  void start(bool peer_offers, const std::string& metadata = "P2PHANDSHAKE",
             const std::string& peer_name = "127.0.0.1",
             const std::string& own_name = "127.0.0.1") {
    peer_ =
        testing::startEnginePeer(metadata, peer_name, kPeerBytes,
                                 {std::string("MC_SAME_HOST_DIRECT=") + (peer_offers ? "1" : "0")});
    ASSERT_TRUE(peer_.error.empty()) << peer_.error;
    // The kernel must let us read the peer (ptrace rules); where it does not, the engine uses
    // TCP, which other tests cover.
    char probe = 0;
    struct iovec local {
      &probe, 1
    };
    struct iovec remote {
      reinterpret_cast<void*>(peer_.buffer_addr), 1
    };
    if (::process_vm_readv(peer_.process->pid(), &local, 1, &remote, 1, 0) != 1) {
      GTEST_SKIP() << "process_vm_readv on a peer is not permitted here: " << std::strerror(errno);
    }
    TransferEngineOptions options;
    options.same_host_direct = true;
    options.retry_count = 3;
    engine_ = std::make_unique<TransferEngine>(options);
    ASSERT_TRUE(engine_->init(metadata, own_name, "127.0.0.1").ok());
    local_.assign(2 * kPeerBytes, 0);
    ASSERT_TRUE(engine_->registerLocalMemory(local_.data(), local_.size()).ok());
    auto target = engine_->openSegment(peer_.segment_name);
    ASSERT_TRUE(target.ok()) << target.status().toString();
    target_ = *target;
  }

  void TearDown() override {
    if (engine_) (void)engine_->freeEngine();
  }

  TransferStatusEnum run(TransferRequest::OpCode op, uint64_t local_offset, uint64_t remote_offset,
                         uint64_t length) {
    return runAt(op, local_offset, peer_.buffer_addr + remote_offset, length);
  }

  TransferStatusEnum runAt(TransferRequest::OpCode op, uint64_t local_offset, uint64_t remote_addr,
                           uint64_t length) {
    TransferRequest request{op, local_.data() + local_offset, target_, remote_addr, length, 0};
    auto batch = engine_->allocateBatchID(1);
    EXPECT_TRUE(batch.ok());
    Status submitted = engine_->submitTransfer(*batch, {request});
    if (!submitted.ok()) {
      (void)engine_->freeBatchID(*batch);
      return FAILED;
    }
    TransferStatus status;
    EXPECT_TRUE(engine_->waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
    EXPECT_TRUE(engine_->freeBatchID(*batch).ok());
    return status.s;
  }

  testing::EnginePeer peer_;
  std::unique_ptr<TransferEngine> engine_;
  std::vector<char> local_;
  SegmentHandle target_ = 0;
};

TEST_F(SameHostDirectTest, MovesEverySizeExactlyAndOnlyInsideThePeersBuffer) {
  start(/*peer_offers=*/true);
  if (IsSkipped() || HasFatalFailure()) return;
  // Stopped, the peer cannot answer over TCP: only the direct path can complete these.
  peer_.process->signal(SIGSTOP);
  ASSERT_EQ(run(TransferRequest::READ, 0, 12345, 300000), COMPLETED);
  for (uint64_t i = 0; i < 300000; ++i) {
    ASSERT_EQ(static_cast<unsigned char>(local_[i]), testing::peerPatternByte(12345 + i)) << i;
  }
  std::mt19937_64 random(7);
  for (uint64_t length : {1ull, 4095ull, 65537ull, (1ull << 20) + 13, 4ull << 20}) {
    for (uint64_t i = 0; i < length; ++i) local_[i] = static_cast<char>(random());
    std::memset(local_.data() + kPeerBytes, 0, length);
    ASSERT_EQ(run(TransferRequest::WRITE, 0, 3, length), COMPLETED) << length;
    ASSERT_EQ(run(TransferRequest::READ, kPeerBytes, 3, length), COMPLETED) << length;
    ASSERT_EQ(std::memcmp(local_.data(), local_.data() + kPeerBytes, length), 0) << length;
  }
  // Outside what the peer published: refused before any byte moves.
  auto batch = engine_->allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  TransferRequest outside{
      TransferRequest::WRITE, local_.data(), target_, peer_.buffer_addr + kPeerBytes - 10, 100, 0};
  EXPECT_TRUE(engine_->submitTransfer(*batch, {outside}).is(ErrorCode::ERR_ADDRESS_NOT_REGISTERED));
  EXPECT_TRUE(engine_->freeBatchID(*batch).ok());
  peer_.process->signal(SIGCONT);
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

// A buffer the peer removed after we fetched its descriptor must not be written directly (it
// may be freed memory by now): the engine goes over TCP, where the peer refuses the range.
TEST_F(SameHostDirectTest, ABufferThePeerRemovedIsNotWrittenDirectly) {
  start(/*peer_offers=*/true);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(run(TransferRequest::WRITE, 0, 0, 4096), COMPLETED);
  ASSERT_EQ(peer_.unregisterBuffer(), "UNREGISTERED");
  // Our cached descriptor still lists the buffer, so the request passes the engine's check.
  EXPECT_EQ(run(TransferRequest::WRITE, 0, 0, 4096), FAILED);
  EXPECT_EQ(run(TransferRequest::READ, 0, 0, 4096), FAILED);
}

// Anyone may write the metadata service. A descriptor rewritten to claim more of the peer's
// memory must not let an honest initiator touch it: the direct path checks the peer's own live
// table, and what it does not cover goes over TCP, where the peer refuses it.
TEST_F(SameHostDirectTest, ARewrittenDescriptorDoesNotOpenThePeersOtherMemory) {
  const std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const std::string suffix = std::to_string(::getpid());
  start(/*peer_offers=*/true, metadata, "direct-victim-" + suffix, "direct-initiator-" + suffix);
  if (IsSkipped() || HasFatalFailure()) return;
  // The attacker's PUT (an insider: with a cluster secret, the server refuses anyone else's):
  // the peer's one buffer now spans both 64 KiB guard zones around it.
  const std::string url =
      metadata + "?key=" + net::HttpClient::urlEncode("mooncake/ram/" + peer_.segment_name);
  auto published = testing::httpCall("GET", url);
  ASSERT_TRUE(published.ok() && published->status == 200);
  auto descriptor = nlohmann::json::parse(published->body);
  ASSERT_EQ(descriptor["buffers"].size(), 1u);
  descriptor["buffers"][0]["addr"] = peer_.buffer_addr - 65536;
  descriptor["buffers"][0]["length"] = kPeerBytes + 2 * 65536;
  auto put = testing::httpCall("PUT", url, descriptor.dump());
  ASSERT_TRUE(put.ok() && put->status == 200);
  ASSERT_TRUE(engine_->syncSegmentCache(peer_.segment_name).ok());

  std::memset(local_.data(), 0x5a, 8192);
  EXPECT_EQ(runAt(TransferRequest::WRITE, 0, peer_.buffer_addr - 4096, 4096), FAILED);
  EXPECT_EQ(runAt(TransferRequest::WRITE, 0, peer_.buffer_addr + kPeerBytes, 4096), FAILED);
  EXPECT_EQ(runAt(TransferRequest::WRITE, 0, peer_.buffer_addr + kPeerBytes - 100, 200), FAILED);
  std::memset(local_.data() + kPeerBytes, 0, 4096);
  EXPECT_EQ(runAt(TransferRequest::READ, kPeerBytes, peer_.buffer_addr - 4096, 4096), FAILED);
  for (uint64_t i = 0; i < 4096; ++i) ASSERT_EQ(local_[kPeerBytes + i], 0) << i;
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
  // The peer's real buffer still goes directly: stopped, only the direct path can answer.
  peer_.process->signal(SIGSTOP);
  EXPECT_EQ(run(TransferRequest::WRITE, 0, 0, 4096), COMPLETED);
  EXPECT_EQ(run(TransferRequest::READ, kPeerBytes, 0, 4096), COMPLETED);
  peer_.process->signal(SIGCONT);
  EXPECT_EQ(std::memcmp(local_.data(), local_.data() + kPeerBytes, 4096), 0);
}

TEST_F(SameHostDirectTest, ADeadPeerFailsPromptlyAndAPeerThatDoesNotOfferItGetsTcp) {
  start(/*peer_offers=*/true);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_EQ(run(TransferRequest::READ, 0, 0, 4096), COMPLETED);
  peer_.process->signal(SIGKILL);
  peer_.process->wait(std::chrono::seconds(10));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run(TransferRequest::READ, 0, 0, 4096), FAILED);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));

  (void)engine_->freeEngine();
  start(/*peer_offers=*/false);
  peer_.process->signal(SIGSTOP);  // over TCP a stopped peer cannot answer...
  auto batch = engine_->allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  TransferRequest read{TransferRequest::READ, local_.data(), target_, peer_.buffer_addr, 4096, 0};
  ASSERT_TRUE(engine_->submitTransfer(*batch, {read}).ok());
  TransferStatus status;
  ASSERT_TRUE(
      engine_->waitBatchTransferStatus(*batch, status, std::chrono::milliseconds(500)).ok());
  EXPECT_EQ(status.s, WAITING);
  peer_.process->signal(SIGCONT);  // ...and answers once it runs again
  ASSERT_TRUE(engine_->waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_TRUE(engine_->freeBatchID(*batch).ok());
  EXPECT_EQ(static_cast<unsigned char>(local_[100]), testing::peerPatternByte(100));
}

}  // namespace
}  // namespace mooncake

namespace mooncake {
namespace {

// 100,000 registered buffers: registered one by one in address order (each registration O(1)
// for the live table and, with P2PHANDSHAKE, for publishing), their descriptor (~7 MiB) fetched
// by a peer through the rpc port, transfers to any of them, and a removal in the middle.
TEST(ManyBuffersTest, AHundredThousandBuffersCanBeOpenedAndUsed) {
  constexpr size_t kBuffers = 100000;
  constexpr size_t kEach = 4096;
  std::vector<char> memory(kBuffers * kEach * 2);  // every other 4 KiB page is registered
  TransferEngine target;
  ASSERT_TRUE(target.init("P2PHANDSHAKE", "127.0.0.1").ok());
  for (size_t i = 0; i < kBuffers; ++i) {
    ASSERT_TRUE(target.registerLocalMemory(memory.data() + 2 * i * kEach, kEach).ok()) << i;
  }
  std::memset(memory.data() + 2 * 77777 * kEach, 'z', kEach);
  for (bool direct : {false, true}) {
    TransferEngineOptions options;
    options.same_host_direct = direct;
    TransferEngine initiator(options);
    ASSERT_TRUE(initiator.init("P2PHANDSHAKE", "127.0.0.1").ok());
    std::vector<char> local(kEach);
    ASSERT_TRUE(initiator.registerLocalMemory(local.data(), local.size()).ok());
    auto handle = initiator.openSegment(target.getLocalSegmentName());
    ASSERT_TRUE(handle.ok()) << handle.status().toString();
    auto buffers = initiator.getSegmentBuffers(*handle);
    ASSERT_TRUE(buffers.ok());
    EXPECT_EQ(buffers->size(), kBuffers);
    auto read = [&](size_t index) {
      auto batch = initiator.allocateBatchID(1);
      EXPECT_TRUE(batch.ok());
      TransferRequest request{TransferRequest::READ,
                              local.data(),
                              *handle,
                              reinterpret_cast<uint64_t>(memory.data() + 2 * index * kEach),
                              kEach,
                              0};
      if (!initiator.submitTransfer(*batch, {request}).ok()) return FAILED;
      TransferStatus status;
      EXPECT_TRUE(initiator.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
      EXPECT_TRUE(initiator.freeBatchID(*batch).ok());
      return status.s;
    };
    std::memset(local.data(), 0, kEach);
    ASSERT_EQ(read(77777), COMPLETED) << (direct ? "direct" : "tcp");
    EXPECT_EQ(local[kEach - 1], 'z');
    ASSERT_EQ(read(kBuffers - 1), COMPLETED);
  }
  // A removal in the middle reaches a direct peer's view at once.
  TransferEngine initiator;
  ASSERT_TRUE(initiator.init("P2PHANDSHAKE", "127.0.0.1").ok());
  std::vector<char> local(kEach);
  ASSERT_TRUE(initiator.registerLocalMemory(local.data(), local.size()).ok());
  auto handle = initiator.openSegment(target.getLocalSegmentName());
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(target.unregisterLocalMemory(memory.data() + 2 * 50000 * kEach).ok());
  auto batch = initiator.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  TransferRequest removed{TransferRequest::WRITE,
                          local.data(),
                          *handle,
                          reinterpret_cast<uint64_t>(memory.data() + 2 * 50000 * kEach),
                          kEach,
                          0};
  ASSERT_TRUE(initiator.submitTransfer(*batch, {removed}).ok());  // the cached list still has it
  TransferStatus status;
  ASSERT_TRUE(initiator.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
  EXPECT_EQ(status.s, FAILED);
  EXPECT_EQ(status.error_code, static_cast<int32_t>(ErrorCode::ERR_ADDRESS_NOT_REGISTERED));
  EXPECT_TRUE(initiator.freeBatchID(*batch).ok());
}

}  // namespace
}  // namespace mooncake
