// Two real processes on loopback, for every metadata backend: this test is the initiator,
// te_test_peer the target.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/backends.h"
#include "support/engine_peer.h"

namespace mooncake {
namespace {

using testing::Backend;
constexpr uint64_t kBufferBytes = 136ull << 20;  // room for two 64 MiB regions

class EngineTransferTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    // These tests are about the TCP transport (a stopped peer that cannot answer, waiters
    // reading their own replies); same_host_direct_test.cc covers the same-host path.
    ::setenv("MC_SAME_HOST_DIRECT", "0", 1);
    metadata_ = testing::metadataServerFor(GetParam());
    ASSERT_FALSE(metadata_.empty())
        << "could not start the " << testing::backendName(GetParam()) << " metadata server";
    static std::atomic<int> counter{0};
    std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(counter++);
    bool p2p = GetParam() == Backend::kP2P;
    peer_ =
        testing::startEnginePeer(metadata_, p2p ? "127.0.0.1" : "target-" + suffix, kBufferBytes);
    ASSERT_TRUE(peer_.error.empty()) << peer_.error;
    Status status = engine_.init(metadata_, p2p ? "127.0.0.1" : "initiator-" + suffix, "127.0.0.1");
    ASSERT_TRUE(status.ok()) << status.toString();
    local_ = static_cast<char*>(
        ::mmap(nullptr, kBufferBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(local_, MAP_FAILED);
    ASSERT_TRUE(engine_.registerLocalMemory(local_, kBufferBytes).ok());
    auto target = engine_.openSegment(peer_.segment_name);
    ASSERT_TRUE(target.ok()) << target.status().toString();
    target_ = *target;
  }

  void TearDown() override {
    ::unsetenv("MC_SAME_HOST_DIRECT");
    (void)engine_.freeEngine();
    if (local_ != nullptr && local_ != MAP_FAILED) ::munmap(local_, kBufferBytes);
  }

  TransferRequest request(TransferRequest::OpCode op, uint64_t local_offset, uint64_t remote_offset,
                          uint64_t length) {
    TransferRequest r;
    r.opcode = op;
    r.source = local_ + local_offset;
    r.target_id = target_;
    r.target_offset = peer_.buffer_addr + remote_offset;
    r.length = length;
    return r;
  }

  // Submits, waits up to `timeout`, frees; returns the final batch status.
  TransferStatusEnum run(const std::vector<TransferRequest>& requests,
                         std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto batch = engine_.allocateBatchID(requests.size());
    EXPECT_TRUE(batch.ok());
    Status submitted = engine_.submitTransfer(*batch, requests);
    EXPECT_TRUE(submitted.ok()) << submitted.toString();
    // The blocking wait: completion wakes it; only a stuck transfer reaches the timeout.
    TransferStatus status;
    EXPECT_TRUE(engine_.waitBatchTransferStatus(*batch, status, timeout).ok());
    if (status.s != WAITING) {
      EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
    }
    return status.s;
  }

  std::string metadata_;
  testing::EnginePeer peer_;
  TransferEngine engine_;
  char* local_ = nullptr;
  SegmentHandle target_ = 0;
};

TEST_P(EngineTransferTest, ReadsTheTargetsInitialContents) {
  ASSERT_EQ(run({request(TransferRequest::READ, 0, 12345, 300000)}), COMPLETED);
  for (uint64_t i = 0; i < 300000; ++i) {
    ASSERT_EQ(static_cast<unsigned char>(local_[i]), testing::peerPatternByte(12345 + i)) << i;
  }
}

TEST_P(EngineTransferTest, WriteThenReadRoundTripsEverySize) {
  std::mt19937_64 random(42);
  const uint64_t half = kBufferBytes / 2;
  for (uint64_t length :
       {1ull, 7ull, 4095ull, 65536ull, 65537ull, 81921ull, (1ull << 20) + 13, 64ull << 20}) {
    for (uint64_t i = 0; i < length; i += 8) {
      uint64_t value = random();
      std::memcpy(local_ + i, &value, std::min<uint64_t>(8, length - i));
    }
    std::memset(local_ + half, 0, length);
    const uint64_t remote_offset = 3;  // deliberately unaligned
    ASSERT_EQ(run({request(TransferRequest::WRITE, 0, remote_offset, length)}), COMPLETED)
        << length;
    ASSERT_EQ(run({request(TransferRequest::READ, half, remote_offset, length)}), COMPLETED)
        << length;
    ASSERT_EQ(std::memcmp(local_, local_ + half, length), 0) << "length " << length;
  }
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

TEST_P(EngineTransferTest, ThreadsSubmittingBatchesConcurrentlyKeepTheirData) {
  constexpr int kThreads = 4;
  constexpr uint64_t kRegion = 4ull << 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint64_t src = 2 * t * kRegion;
      uint64_t dst = src + kRegion;
      for (int iteration = 0; iteration < 8; ++iteration) {
        std::memset(local_ + src, 'a' + (t * 8 + iteration) % 26, kRegion);
        std::vector<TransferRequest> writes;
        for (uint64_t off = 0; off < kRegion; off += kRegion / 8) {
          writes.push_back(
              request(TransferRequest::WRITE, src + off, t * kRegion + off, kRegion / 8));
        }
        if (run(writes) != COMPLETED) ++failures;
        if (run({request(TransferRequest::READ, dst, t * kRegion, kRegion)}) != COMPLETED) {
          ++failures;
        }
        if (std::memcmp(local_ + src, local_ + dst, kRegion) != 0) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// A small single-slice submit is read by its waiter (Transport::drive); a user who only polls
// must see it complete too, also with several such submits pending in one batch.
TEST_P(EngineTransferTest, SmallTransfersCompleteWhenOnlyPolled) {
  constexpr uint64_t kSize = 4096;
  constexpr size_t kSubmits = 5;
  for (size_t i = 0; i < kSubmits * kSize; ++i) local_[i] = static_cast<char>('A' + i % 23);
  auto batch = engine_.allocateBatchID(2 * kSubmits);
  ASSERT_TRUE(batch.ok());
  for (size_t i = 0; i < kSubmits; ++i) {
    ASSERT_TRUE(engine_
                    .submitTransfer(*batch, {request(TransferRequest::WRITE, i * kSize,
                                                     1000 + i * kSize, kSize)})
                    .ok());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  TransferStatus status;
  for (size_t task = 0; task < kSubmits; ++task) {  // the writes land before the reads start
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ASSERT_TRUE(engine_.getTransferStatus(*batch, task, status).ok());
    } while (status.s == WAITING && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(status.s, COMPLETED) << task;
  }
  const uint64_t back = 1ull << 20;
  for (size_t i = 0; i < kSubmits; ++i) {
    ASSERT_TRUE(engine_
                    .submitTransfer(*batch, {request(TransferRequest::READ, back + i * kSize,
                                                     1000 + i * kSize, kSize)})
                    .ok());
  }
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(engine_.getBatchTransferStatus(*batch, status).ok());
  } while (status.s == WAITING && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(status.s, COMPLETED);
  EXPECT_EQ(std::memcmp(local_, local_ + back, kSubmits * kSize), 0);
  EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
}

// More threads than connections, each waiting for its own small transfers: replies of one
// connection are read by whichever waiter (or the receiver thread) holds it, in order.
TEST_P(EngineTransferTest, ManyThreadsOfSmallTransfersKeepTheirData) {
  constexpr int kThreads = 6;
  constexpr uint64_t kSize = 4096;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t src = t * 2 * kSize;
      const uint64_t dst = src + kSize;
      for (int iteration = 0; iteration < 200; ++iteration) {
        std::memset(local_ + src, 'a' + (t * 7 + iteration) % 26, kSize);
        if (run({request(TransferRequest::WRITE, src, t * kSize, kSize)}) != COMPLETED) ++failures;
        if (run({request(TransferRequest::READ, dst, t * kSize, kSize)}) != COMPLETED) ++failures;
        if (std::memcmp(local_ + src, local_ + dst, kSize) != 0) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// One batch of many requests of mixed sizes, reads and writes interleaved: the target reads
// small ones through its per-connection buffer (a payload can straddle two refills) and large
// ones straight into memory; the initiator takes runs of replies with one recvmsg.
TEST_P(EngineTransferTest, MixedBurstsOfSmallAndLargeRequestsKeepTheirData) {
  std::mt19937_64 random(7);
  const uint64_t quarter = kBufferBytes / 4;
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  while (sizes.size() < 200) {
    uint64_t size = random() % 8 == 0 ? 16384 + random() % 150000 : 1 + random() % 9000;
    sizes.push_back(size);
    total += size;
  }
  ASSERT_LT(total, quarter);
  for (uint64_t i = 0; i < total; ++i) local_[i] = static_cast<char>(random());
  // Region A on the target gets the data in one burst of writes...
  std::vector<TransferRequest> writes;
  for (uint64_t offset = 0, i = 0; i < sizes.size(); offset += sizes[i++]) {
    writes.push_back(request(TransferRequest::WRITE, offset, offset, sizes[i]));
  }
  ASSERT_EQ(run(writes), COMPLETED);
  // ...then one burst alternates reading A back and writing the same chunks to region B.
  std::vector<TransferRequest> mixed;
  for (uint64_t offset = 0, i = 0; i < sizes.size(); offset += sizes[i++]) {
    mixed.push_back(request(TransferRequest::READ, quarter + offset, offset, sizes[i]));
    mixed.push_back(request(TransferRequest::WRITE, offset, quarter + offset, sizes[i]));
  }
  ASSERT_EQ(run(mixed), COMPLETED);
  ASSERT_EQ(std::memcmp(local_, local_ + quarter, total), 0);
  ASSERT_EQ(run({request(TransferRequest::READ, 2 * quarter, quarter, total)}), COMPLETED);
  ASSERT_EQ(std::memcmp(local_, local_ + 2 * quarter, total), 0);
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

// The target unregistered its buffer after this side cached its descriptor: a burst of small
// writes is rejected at the target (the first one answered "rejected", the connection closed)
// and the batch fails in bounded time, not after the whole retry budget of timeouts.
TEST_P(EngineTransferTest, ABurstToAnUnregisteredBufferFails) {
  ASSERT_EQ(run({request(TransferRequest::WRITE, 0, 0, 4096)}), COMPLETED);  // connected
  ASSERT_EQ(peer_.unregisterBuffer(), "UNREGISTERED");
  std::vector<TransferRequest> burst;
  for (uint64_t i = 0; i < 32; ++i)
    burst.push_back(request(TransferRequest::WRITE, 0, i * 4096, 4096));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run(burst, std::chrono::seconds(30)), FAILED);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

TEST_P(EngineTransferTest, RejectsRangesOutsideRegisteredBuffersBeforeMovingBytes) {
  auto batch = engine_.allocateBatchID(4);
  ASSERT_TRUE(batch.ok());
  // Remote range starting in the guard zone below the buffer.
  TransferRequest below = request(TransferRequest::WRITE, 0, 0, 64);
  below.target_offset = peer_.buffer_addr - 16;
  // Remote range running past the end.
  TransferRequest past = request(TransferRequest::WRITE, 0, kBufferBytes - 8, 64);
  // Local source outside any registered buffer.
  char unregistered[64] = {};
  TransferRequest local = request(TransferRequest::WRITE, 0, 0, sizeof(unregistered));
  local.source = unregistered;
  for (const TransferRequest& bad : {below, past, local}) {
    // A good request first: the whole call must be refused, the good one included.
    Status status = engine_.submitTransfer(*batch, {request(TransferRequest::WRITE, 0, 0, 8), bad});
    EXPECT_TRUE(status.is(ErrorCode::ERR_ADDRESS_NOT_REGISTERED)) << status.toString();
  }
  TransferStatus task;
  EXPECT_TRUE(engine_.getTransferStatus(*batch, 0, task).is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
  EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
}

TEST_P(EngineTransferTest, TooManyRequestsIsRefusedWhole) {
  auto batch = engine_.allocateBatchID(2);
  ASSERT_TRUE(batch.ok());
  // Distinct local ranges: requests of one batch may run concurrently on different lanes.
  std::vector<TransferRequest> three = {request(TransferRequest::READ, 0, 0, 16),
                                        request(TransferRequest::READ, 16, 16, 16),
                                        request(TransferRequest::READ, 32, 32, 16)};
  EXPECT_TRUE(engine_.submitTransfer(*batch, three).is(ErrorCode::ERR_TOO_MANY_REQUESTS));
  EXPECT_TRUE(engine_.submitTransfer(*batch, {three[0], three[1]}).ok());
  EXPECT_TRUE(engine_.submitTransfer(*batch, {three[2]}).is(ErrorCode::ERR_TOO_MANY_REQUESTS));
  TransferStatus status;
  ASSERT_TRUE(testing::waitFor(
      [&] { return engine_.getBatchTransferStatus(*batch, status).ok() && status.s != WAITING; },
      std::chrono::seconds(30)));
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_EQ(status.transferred_bytes, 32u);
  EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
  EXPECT_TRUE(engine_.freeBatchID(*batch).is(ErrorCode::ERR_INVALID_ARGUMENT));
}

TEST_P(EngineTransferTest, FreeingABatchInFlightIsBusy) {
  peer_.process->signal(SIGSTOP);  // the target cannot answer, so the task stays in flight
  auto batch = engine_.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(engine_.submitTransfer(*batch, {request(TransferRequest::READ, 0, 0, 1 << 20)}).ok());
  EXPECT_TRUE(engine_.freeBatchID(*batch).is(ErrorCode::ERR_BATCH_BUSY));
  // The blocking wait gives up after its timeout and says WAITING.
  TransferStatus status;
  auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(engine_.waitBatchTransferStatus(*batch, status, std::chrono::milliseconds(200)).ok());
  EXPECT_EQ(status.s, WAITING);
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(200));
  EXPECT_TRUE(engine_.waitBatchTransferStatus(999999, status, std::chrono::milliseconds(1))
                  .is(ErrorCode::ERR_INVALID_ARGUMENT));
  peer_.process->signal(SIGCONT);
  ASSERT_TRUE(testing::waitFor(
      [&] { return engine_.getTransferStatus(*batch, 0, status).ok() && status.s != WAITING; },
      std::chrono::seconds(30)));
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
}

TEST_P(EngineTransferTest, PeerKilledMidBatchFailsTasksInBoundedTime) {
  peer_.process->signal(SIGSTOP);
  std::vector<TransferRequest> requests;
  for (uint64_t i = 0; i < 32; ++i) {
    requests.push_back(
        request(i % 2 ? TransferRequest::READ : TransferRequest::WRITE, i << 20, i << 20, 1 << 20));
  }
  auto batch = engine_.allocateBatchID(requests.size());
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(engine_.submitTransfer(*batch, requests).ok());
  peer_.process->signal(SIGKILL);
  peer_.process->wait(std::chrono::seconds(10));
  TransferStatus status;
  ASSERT_TRUE(testing::waitFor(
      [&] { return engine_.getBatchTransferStatus(*batch, status).ok() && status.s != WAITING; },
      std::chrono::seconds(60)))
      << "tasks still WAITING a minute after the peer died";
  EXPECT_EQ(status.s, FAILED);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(engine_.getTransferStatus(*batch, i, status).ok());
    EXPECT_EQ(status.s, FAILED) << "task " << i;
  }
  EXPECT_TRUE(engine_.freeBatchID(*batch).ok());
  EXPECT_FALSE(engine_.probePeerAlive(target_).ok());
}

TEST_P(EngineTransferTest, ProbesALivePeerAndRefusesUnknownSegments) {
  EXPECT_TRUE(engine_.probePeerAlive(target_).ok());
  std::string missing = GetParam() == Backend::kP2P ? "127.0.0.1:1" : "no-such-node";
  auto handle = engine_.openSegment(missing);
  ASSERT_FALSE(handle.ok());
  EXPECT_NE(handle.status().message().find("Failed to get description of " + missing),
            std::string::npos)
      << handle.status().toString();
  EXPECT_TRUE(engine_.openSegment("").status().is(ErrorCode::ERR_INVALID_ARGUMENT));
  EXPECT_EQ(*engine_.openSegment(engine_.getLocalSegmentName()), LOCAL_SEGMENT_ID);
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineTransferTest,
                         ::testing::Values(Backend::kP2P, Backend::kHttp, Backend::kEtcd,
                                           Backend::kRedis),
                         [](const auto& info) { return testing::backendName(info.param); });

}  // namespace
}  // namespace mooncake
