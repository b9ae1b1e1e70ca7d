// MasterService's side of the disk tier on a fake clock: disk replicas recorded only after the
// holder reports a durable write, memory held back while an offload may read it, offload on
// eviction, registration after a restart, holder death, removals told to the holder, promotion.
#include <gtest/gtest.h>

#include "master_service_fixture.h"
#include "store/master/master_service.h"

namespace mooncake::store {
namespace {

class MasterDiskTierTest : public ::testing::Test {
 protected:
  static MasterOptions options(bool on_evict) {
    MasterOptions o;
    o.default_kv_lease_ttl_ms = 1000;
    o.client_ttl_sec = 10;
    o.dead_client_grace_sec = 0;
    o.shard_count = 4;
    o.enable_offload = true;
    o.offload_on_evict = on_evict;
    o.promotion_on_hit = true;
    o.promotion_admission_threshold = 2;
    return o;
  }

  explicit MasterDiskTierTest(bool on_evict = false)
      : service_(options(on_evict), [this] { return now_; }) {}

  // Client c1 with a 1 MiB segment and a disk tier.
  void holder() {
    ASSERT_TRUE(service_.mountSegment("c1", {"node1", 0x100000, 1 << 20, "node1:15001"}).ok());
    ASSERT_TRUE(service_.mountDiskTier("c1", {"node1:7000", "node1:15001", 1 << 30}).ok());
  }

  void put(const std::string& key, uint64_t size) {
    ASSERT_TRUE(service_.putStart("w", key, size, {}).ok());
    ASSERT_TRUE(service_.putEnd("w", key).ok());
  }

  OffloadWork poll(size_t max = 64) { return service_.offloadHeartbeat("c1", {}, max); }

  // Polls and reports every offload handed out as written.
  size_t landAll() {
    OffloadWork work = poll();
    std::vector<DiskObjectRef> written;
    for (const OffloadTask& t : work.offload) written.push_back({t.key, t.version, t.size});
    for (const Status& s : service_.offloadDone("c1", written, {})) EXPECT_TRUE(s.ok());
    return written.size();
  }

  void advance(std::chrono::milliseconds by) { now_ += by; }

  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  MasterService service_;
};

class MasterOffloadOnEvictTest : public MasterDiskTierTest {
 protected:
  MasterOffloadOnEvictTest() : MasterDiskTierTest(true) {}
};

TEST_F(MasterDiskTierTest, ADiskCopyCountsOnlyAfterTheHolderReportsItDurable) {
  holder();
  put("k", 4096);
  OffloadWork work = poll();
  ASSERT_EQ(work.offload.size(), 1u);
  const OffloadTask task = work.offload.front();
  EXPECT_EQ(task.key, "k");
  EXPECT_EQ(task.address, service_.getReplicaList("k")->replicas.front().address);
  EXPECT_TRUE(poll().offload.empty());       // handed out once
  advance(std::chrono::milliseconds(1001));  // the lease of the lookup above
  // Not reported yet: eviction cannot drop the memory copy for a disk copy that may not exist.
  EXPECT_EQ(service_.evict(4096), 4096u);  // counted: it goes when the write lands
  EXPECT_EQ(service_.usedBytes(), 4096u);
  ASSERT_TRUE(service_.offloadDone("c1", {{"k", task.version, 4096}}, {}).front().ok());
  EXPECT_EQ(service_.usedBytes(), 0u);  // evicted on landing
  auto list = service_.getReplicaList("k");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->replicas.size(), 1u);
  EXPECT_TRUE(list->replicas.front().isDisk());
  EXPECT_EQ(list->replicas.front().disk_endpoint, "node1:7000");
  EXPECT_EQ(list->replicas.front().te_endpoint, "node1:15001");
  EXPECT_EQ(list->version, task.version);
  EXPECT_EQ(service_.counters().offloaded_objects.load(), 1u);
}

TEST_F(MasterDiskTierTest, AnObjectThatChangedWhileItWasWrittenIsRejectedAndItsMemoryHeldBack) {
  holder();
  put("k", 4096);
  OffloadWork work = poll();
  ASSERT_EQ(work.offload.size(), 1u);
  ASSERT_TRUE(service_.remove("k", true).ok());
  // The holder may still be reading that memory: it is not reused yet.
  EXPECT_EQ(service_.usedBytes(), 4096u);
  auto report = service_.offloadDone("c1", {{"k", work.offload.front().version, 4096}}, {});
  EXPECT_TRUE(report.front().is(StoreErrorCode::INVALID_VERSION));
  advance(MasterService::kOffloadHold + std::chrono::seconds(1));
  (void)service_.ping("c1");
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 0u);
  // A key put again is a new version: the old report cannot land on it.
  put("k", 4096);
  report = service_.offloadDone("c1", {{"k", work.offload.front().version, 4096}}, {});
  EXPECT_FALSE(report.front().ok());
}

TEST_F(MasterDiskTierTest, RemovingAnObjectTellsItsHolderToDropTheCopy) {
  holder();
  put("k", 4096);
  ASSERT_EQ(landAll(), 1u);
  uint64_t version = service_.getReplicaList("k")->version;
  advance(std::chrono::milliseconds(1001));
  ASSERT_TRUE(service_.remove("k", false).ok());
  OffloadWork work = poll();
  ASSERT_EQ(work.drop.size(), 1u);
  EXPECT_EQ(work.drop.front().key, "k");
  EXPECT_EQ(work.drop.front().version, version);
}

TEST_F(MasterDiskTierTest, ClearingOneReplicaMakesANewVersionWithoutTheOldDiskCopy) {
  holder();
  ASSERT_TRUE(service_.mountSegment("c2", {"node2", 0x900000, 1 << 20, "node2:15001"}).ok());
  ReplicateConfig two;
  two.replica_num = 2;
  ASSERT_TRUE(service_.putStart("w", "k", 4096, two).ok());
  ASSERT_TRUE(service_.putEnd("w", "k").ok());
  ASSERT_EQ(landAll(), 1u);
  uint64_t old_version = service_.getReplicaList("k")->version;
  advance(std::chrono::milliseconds(1001));
  ASSERT_EQ(service_.batchReplicaClear("w", {"k"}, "node2:15001").size(), 1u);
  auto list = service_.getReplicaList("k");
  ASSERT_TRUE(list.ok());
  EXPECT_NE(list->version, old_version);
  ASSERT_EQ(list->replicas.size(), 1u);
  EXPECT_FALSE(list->replicas.front().isDisk());
  OffloadWork work = poll();
  ASSERT_EQ(work.drop.size(), 1u);  // the old version's copy goes from the holder's disk
  EXPECT_EQ(work.drop.front().version, old_version);
}

TEST_F(MasterDiskTierTest, RegisteredDiskObjectsComeBackUnlessTheKeyHoldsAnotherVersion) {
  holder();
  put("live", 4096);
  uint64_t live_version = service_.getReplicaList("live")->version;
  auto results = service_.registerDiskObjects(
      "c1", {{"gone", 77, 1000}, {"live", live_version, 4096}, {"live", live_version + 1, 4096}});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  EXPECT_TRUE(results[2].is(StoreErrorCode::OBJECT_ALREADY_EXISTS));
  auto gone = service_.getReplicaList("gone");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->replicas.front().isDisk());
  EXPECT_EQ(gone->version, 77u);
  EXPECT_FALSE(service_.getReplicaList("live")->replicas.front().isDisk());  // memory first
  // A client without a disk tier cannot register anything.
  EXPECT_FALSE(service_.registerDiskObjects("c2", {{"x", 1, 1}}).front().ok());
}

TEST_F(MasterDiskTierTest, AHolderDeclaredDeadTakesItsDiskReplicasAlong) {
  holder();
  ASSERT_TRUE(service_.mountSegment("c2", {"node2", 0x900000, 1 << 20, "node2:15001"}).ok());
  ASSERT_TRUE(service_.registerDiskObjects("c1", {{"disk-only", 5, 100}}).front().ok());
  advance(std::chrono::seconds(5));
  (void)service_.ping("c2");
  advance(std::chrono::seconds(6));
  (void)service_.ping("c2");
  service_.tick();  // c1 silent for 11 s
  EXPECT_TRUE(service_.getReplicaList("disk-only").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(service_.diskHolderStats().empty());
}

TEST_F(MasterDiskTierTest, HotDiskObjectsGetAMemoryReplicaInTheBackground) {
  holder();
  ASSERT_TRUE(service_.registerDiskObjects("c1", {{"hot", 9, 8192}}).front().ok());
  // Existence checks are not reads: no promotion for them.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(service_.existKey("hot"));
  service_.tick();
  EXPECT_TRUE(poll().promote.empty());
  ASSERT_TRUE(service_.getReplicaList("hot").ok());
  ASSERT_TRUE(service_.getReplicaList("hot").ok());  // the admission threshold
  service_.tick();
  OffloadWork work = poll();
  ASSERT_EQ(work.promote.size(), 1u);
  EXPECT_EQ(work.promote.front().key, "hot");
  EXPECT_EQ(work.promote.front().target.te_endpoint, "node1:15001");
  EXPECT_EQ(service_.usedBytes(), 8192u);
  ASSERT_TRUE(service_.promotionDone("c1", "hot", 9, true).ok());
  auto list = service_.getReplicaList("hot");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE(list->replicas.front().isDisk());
  EXPECT_EQ(list->replicas.front().address, work.promote.front().target.address);
  EXPECT_EQ(service_.counters().promotions.load(), 1u);
}

TEST_F(MasterOffloadOnEvictTest, OnlyEvictionQueuesOffloadsAndMemoryGoesWhenTheyLand) {
  holder();
  for (int i = 0; i < 8; ++i) {
    put("k" + std::to_string(i), 64 << 10);
    advance(std::chrono::milliseconds(1));  // k0 is the least recently used
  }
  EXPECT_TRUE(poll().offload.empty());  // nothing is written before eviction picks it
  EXPECT_EQ(service_.evict(128 << 10), 128u << 10);
  EXPECT_EQ(service_.usedBytes(), 512u << 10);  // still there until written
  EXPECT_EQ(landAll(), 2u);                     // the two oldest
  EXPECT_EQ(service_.usedBytes(), 384u << 10);
  EXPECT_TRUE(service_.getReplicaList("k0")->replicas.front().isDisk());
  EXPECT_FALSE(service_.getReplicaList("k2")->replicas.front().isDisk());
  EXPECT_EQ(service_.counters().evicted_to_disk.load(), 2u);
  EXPECT_EQ(service_.counters().evicted_without_offload.load(), 0u);
}

TEST_F(MasterOffloadOnEvictTest, AFailedWriteLeavesTheObjectInMemory) {
  holder();
  put("k", 4096);
  service_.evict(4096);
  OffloadWork work = poll();
  ASSERT_EQ(work.offload.size(), 1u);
  (void)service_.offloadDone("c1", {}, {{"k", work.offload.front().version, 4096}});
  auto list = service_.getReplicaList("k");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE(list->replicas.front().isDisk());
  EXPECT_EQ(service_.counters().offload_failures.load(), 1u);
}

TEST_F(MasterServiceTest, ADiskTierNeedsAMasterWithOffload) {
  mount("c1", "node1", 0x100000, 1 << 20);
  EXPECT_TRUE(service_.mountDiskTier("c1", {"node1:7000", "node1:15001", 1 << 30})
                  .is(StoreErrorCode::NOT_SUPPORTED));
}

}  // namespace
}  // namespace mooncake::store
