// Reserved space: a put as its write plus one commit (MasterService::reserve/commitReserved).
#include <gtest/gtest.h>

#include "master_service_fixture.h"

namespace mooncake::store {
namespace {

ReplicateConfig replicas(size_t count) {
  ReplicateConfig config;
  config.replica_num = count;
  return config;
}

TEST_F(MasterServiceTest, ReservedSpaceBecomesAnObjectInOneCommit) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x900000, 1 << 20);
  auto reserved = service_.reserve("writer", 4096, replicas(2));
  ASSERT_TRUE(reserved.ok()) << reserved.status().toString();
  ASSERT_EQ(reserved->replicas.size(), 2u);
  EXPECT_NE(reserved->replicas[0].te_endpoint, reserved->replicas[1].te_endpoint);
  EXPECT_EQ(service_.usedBytes(), 2 * 4096u);  // reserved space is used space
  EXPECT_TRUE(service_.getReplicaList("k").status().is(StoreErrorCode::OBJECT_NOT_FOUND));

  ReservedShape shape;
  ASSERT_TRUE(service_.commitReserved("writer", "k", reserved->id, {}, &shape).ok());
  EXPECT_EQ(shape.size, 4096u);
  EXPECT_EQ(shape.config.replica_num, 2u);
  auto list = service_.getReplicaList("k");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->replicas.size(), 2u);
  EXPECT_EQ(list->replicas[0].address, reserved->replicas[0].address);
  EXPECT_EQ(list->replicas[1].address, reserved->replicas[1].address);
  EXPECT_EQ(service_.reservationCount(), 0u);
  EXPECT_EQ(service_.usedBytes(), 2 * 4096u);
  // Used up: a second commit names nothing.
  EXPECT_TRUE(
      service_.commitReserved("writer", "k2", reserved->id).is(StoreErrorCode::INVALID_PARAMS));
}

TEST_F(MasterServiceTest, AnExistingKeyLeavesTheReservationWithItsClient) {
  mount("c1", "node1", 0x100000, 1 << 20);
  put("k", 4096);
  auto reserved = service_.reserve("writer", 4096, replicas(1));
  ASSERT_TRUE(reserved.ok());
  EXPECT_TRUE(service_.commitReserved("writer", "k", reserved->id)
                  .is(StoreErrorCode::OBJECT_ALREADY_EXISTS));
  // Another client cannot use it; its owner can, for another key.
  EXPECT_TRUE(
      service_.commitReserved("thief", "k3", reserved->id).is(StoreErrorCode::INVALID_PARAMS));
  ASSERT_TRUE(service_.commitReserved("writer", "k2", reserved->id).ok());
  EXPECT_EQ(service_.getReplicaList("k2")->replicas[0].address, reserved->replicas[0].address);
}

TEST_F(MasterServiceTest, FailedReplicaWritesOfAReservationAreDropped) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x900000, 1 << 20);
  auto reserved = service_.reserve("writer", 4096, replicas(2));
  ASSERT_TRUE(reserved.ok());
  const std::string failed = reserved->replicas[1].te_endpoint;
  ASSERT_TRUE(service_.commitReserved("writer", "k", reserved->id, {failed}).ok());
  auto list = service_.getReplicaList("k");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->replicas.size(), 1u);
  EXPECT_NE(list->replicas[0].te_endpoint, failed);
  auto all_failed = service_.reserve("writer", 4096, replicas(1));
  ASSERT_TRUE(all_failed.ok());
  EXPECT_TRUE(
      service_.commitReserved("writer", "k4", all_failed->id, {all_failed->replicas[0].te_endpoint})
          .is(StoreErrorCode::INVALID_WRITE));
  EXPECT_TRUE(service_.getReplicaList("k4").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
}

TEST_F(MasterServiceTest, ReleasedReservationsFreeTheirSpaceAtOnce) {
  mount("c1", "node1", 0x100000, 1 << 20);
  auto first = service_.reserve("writer", 8192, replicas(1));
  auto second = service_.reserve("writer", 8192, replicas(1));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(service_.usedBytes(), 2 * 8192u);
  service_.releaseReserved("someone else", {first->id});  // not theirs: ignored
  EXPECT_EQ(service_.usedBytes(), 2 * 8192u);
  service_.releaseReserved("writer", {first->id, second->id, 12345});
  EXPECT_EQ(service_.usedBytes(), 0u);
  EXPECT_EQ(service_.reservationCount(), 0u);
}

TEST_F(MasterServiceTest, UnusedAndOrphanedReservationsAreQuarantinedThenFreed) {
  mount("c1", "node1", 0x100000, 1 << 20);
  auto idle = service_.reserve("c1", 4096, replicas(1));
  ASSERT_TRUE(idle.ok());
  advance(std::chrono::seconds(31));  // past --put_start_discard_timeout_sec unused
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kOk);
  service_.tick();
  EXPECT_TRUE(service_.commitReserved("c1", "k", idle->id).is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_EQ(service_.usedBytes(), 4096u);  // its writer might be slow, not gone: held back

  // A client that goes silent loses its reservations the same way.
  auto orphan = service_.reserve("silent", 4096, replicas(1));
  ASSERT_TRUE(orphan.ok());
  EXPECT_EQ(service_.ping("silent"), ClientStatus::kNeedRemount);  // registers it
  ASSERT_TRUE(service_.remountSegments("silent", {}).ok());
  advance(std::chrono::seconds(11));  // past --client_ttl for "silent"
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kOk);
  service_.tick();
  EXPECT_TRUE(
      service_.commitReserved("silent", "k", orphan->id).is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_EQ(service_.usedBytes(), 2 * 4096u);
  advance(std::chrono::seconds(601));  // past --put_start_release_timeout_sec
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kOk);
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 0u);
}

TEST_F(MasterServiceTest, AReservationOnASegmentThatGoesAwayIsDropped) {
  SegmentId gone = mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x900000, 1 << 20);
  auto reserved = service_.reserve("writer", 4096, replicas(2));
  ASSERT_TRUE(reserved.ok());
  ASSERT_TRUE(service_.unmountSegment(gone, "c1").ok());
  EXPECT_EQ(service_.reservationCount(), 0u);
  EXPECT_TRUE(
      service_.commitReserved("writer", "k", reserved->id).is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_TRUE(
      service_.reserve("writer", 0, replicas(1)).status().is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_TRUE(service_.reserve("writer", 64 << 20, replicas(1))
                  .status()
                  .is(StoreErrorCode::NO_AVAILABLE_HANDLE));
}

}  // namespace
}  // namespace mooncake::store
