#include "store/master/master_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "master_service_fixture.h"

namespace mooncake::store {
namespace {

TEST_F(MasterServiceTest, ReadersNeverSeeAnObjectBeforePutEnd) {
  mount("c1", "node1", 0x100000, 1 << 20);
  auto started = service_.putStart("w", "k", 4096, {});
  ASSERT_TRUE(started.ok());
  EXPECT_TRUE(service_.getReplicaList("k").status().is(StoreErrorCode::REPLICA_IS_NOT_READY));
  EXPECT_FALSE(service_.existKey("k"));
  ASSERT_TRUE(service_.putEnd("w", "k").ok());
  auto replicas = service_.getReplicaList("k");
  ASSERT_TRUE(replicas.ok());
  ASSERT_EQ(replicas->replicas.size(), 1u);
  EXPECT_EQ(replicas->replicas[0].address, (*started)[0].address);
  EXPECT_EQ(replicas->replicas[0].size, 4096u);
  EXPECT_EQ(replicas->replicas[0].te_endpoint, "node1:15001");
  EXPECT_EQ(replicas->lease_ttl_ms, 1000u);
}

TEST_F(MasterServiceTest, ExistingKeysAreRefusedAndRevokeFreesSpace) {
  mount("c1", "node1", 0x100000, 1 << 20);
  put("k", 4096);
  EXPECT_TRUE(
      service_.putStart("w", "k", 4096, {}).status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS));
  ASSERT_TRUE(service_.putStart("w", "pending", 8192, {}).ok());
  uint64_t used = service_.usedBytes();
  ASSERT_TRUE(service_.putRevoke("w", "pending").ok());
  EXPECT_EQ(service_.usedBytes(), used - 8192);
  EXPECT_TRUE(service_.getReplicaList("pending").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(service_.putRevoke("w", "k").is(StoreErrorCode::INVALID_WRITE));
  EXPECT_TRUE(service_.putStart("w", "", 1, {}).status().is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_TRUE(service_.putStart("w", "z", 0, {}).status().is(StoreErrorCode::INVALID_PARAMS));
}

TEST_F(MasterServiceTest, UpsertOfTheSameSizeReusesTheAllocationAndHidesTheObjectUntilEnd) {
  mount("c1", "node1", 0x100000, 1 << 20);
  auto first = put("k", 4096);
  ASSERT_EQ(first.size(), 1u);
  uint64_t used = service_.usedBytes();
  auto again = service_.upsertStart("w", "k", 4096, {});
  ASSERT_TRUE(again.ok()) << again.status().toString();
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].address, first[0].address);
  EXPECT_EQ(service_.usedBytes(), used);
  EXPECT_TRUE(service_.getReplicaList("k").status().is(StoreErrorCode::REPLICA_IS_NOT_READY));
  // A second writer meets the update in progress.
  EXPECT_TRUE(
      service_.upsertStart("w2", "k", 4096, {}).status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS));
  ASSERT_TRUE(service_.putEnd("w", "k").ok());
  EXPECT_TRUE(service_.getReplicaList("k").ok());
  EXPECT_EQ(service_.counters().upserts_in_place.load(), 1u);
  // An absent key is simply inserted.
  ASSERT_TRUE(service_.upsertStart("w", "new", 100, {}).ok());
  ASSERT_TRUE(service_.putEnd("w", "new").ok());
  EXPECT_EQ(service_.getReplicaList("new")->replicas[0].size, 100u);
}

TEST_F(MasterServiceTest, UpsertOfALeasedOrResizedObjectKeepsOldSpaceUntilTheLeaseEnds) {
  mount("c1", "node1", 0x100000, 1 << 20);
  auto first = put("k", 4096);
  ASSERT_TRUE(service_.getReplicaList("k").ok());  // a reader's lease: 1000 ms
  auto moved = service_.upsertStart("w", "k", 4096, {});
  ASSERT_TRUE(moved.ok());
  EXPECT_NE((*moved)[0].address, first[0].address);  // never under a reader's feet
  EXPECT_EQ(service_.usedBytes(), 8192u);            // the old copy is still reserved
  ASSERT_TRUE(service_.putEnd("w", "k").ok());
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 8192u);
  advance(std::chrono::milliseconds(1001));
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 4096u);
  // A different size always takes new space; the old space is free once no lease holds it.
  advance(std::chrono::milliseconds(1001));
  auto resized = service_.upsertStart("w", "k", 12288, {});
  ASSERT_TRUE(resized.ok());
  ASSERT_TRUE(service_.putEnd("w", "k").ok());
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 12288u);
  EXPECT_EQ(service_.getReplicaList("k")->replicas[0].size, 12288u);
  // Revoking an update deletes the object: its old bytes may be half overwritten.
  advance(std::chrono::milliseconds(1001));
  ASSERT_TRUE(service_.upsertStart("w", "k", 12288, {}).ok());
  ASSERT_TRUE(service_.putRevoke("w", "k").ok());
  EXPECT_TRUE(service_.getReplicaList("k").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(service_.usedBytes(), 0u);
}

TEST_F(MasterServiceTest, ReplicasLandOnDistinctSegmentsBestEffort) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x100000, 1 << 20);
  auto replicas = put("k", 4096, 3);  // only two segments: two replicas, not an error
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_NE(replicas[0].te_endpoint, replicas[1].te_endpoint);
  ReplicateConfig prefer;
  prefer.preferred_segments = {"node2"};
  auto preferred = put("p", 4096, 1, prefer);
  ASSERT_EQ(preferred.size(), 1u);
  EXPECT_EQ(preferred[0].te_endpoint, "node2:15001");
}

// A put that asks for two replicas when one segment is full of evictable objects evicts there
// rather than settling for one replica (fewer only when space is short even after eviction).
TEST_F(MasterServiceTest, AFullSegmentIsEvictedForTheReplicasAPutAsksFor) {
  mount("c1", "node1", 0x100000, 64 << 10);
  mount("c2", "node2", 0x100000, 1 << 20);
  ReplicateConfig on1;
  on1.preferred_segments = {"node1"};
  for (int i = 0; i < 16; ++i) put("fill" + std::to_string(i), 4096, 1, on1);  // node1 is full
  advance(std::chrono::seconds(2));  // past the read leases
  auto replicas = put("two", 4096, 2);
  ASSERT_EQ(replicas.size(), 2u);
  EXPECT_NE(replicas[0].te_endpoint, replicas[1].te_endpoint);
  EXPECT_GT(service_.counters().evicted_objects.load(), 0u);
}

TEST_F(MasterServiceTest, PlacementStrategiesOrderTheSegments) {
  auto build = [](AllocationStrategy strategy) {
    MasterOptions o = options();
    o.allocation_strategy = strategy;
    auto service = std::make_unique<MasterService>(o);
    EXPECT_TRUE(service->mountSegment("c1", {"node1", 0x100000, 1 << 20, "node1:1"}).ok());
    EXPECT_TRUE(service->mountSegment("c2", {"node2", 0x100000, 1 << 20, "node2:1"}).ok());
    EXPECT_TRUE(service->mountSegment("c3", {"node3", 0x100000, 1 << 20, "node3:1"}).ok());
    return service;
  };
  ReplicateConfig one;
  // free_ratio_first: after filling node1 and node2 a little, node3 (emptiest) goes first.
  auto by_free = build(AllocationStrategy::kFreeRatioFirst);
  ReplicateConfig on1 = one, on2 = one;
  on1.preferred_segments = {"node1"};
  on2.preferred_segments = {"node2"};
  ASSERT_TRUE(by_free->putStart("c1", "f1", 8192, on1).ok());
  ASSERT_TRUE(by_free->putStart("c1", "f2", 4096, on2).ok());
  EXPECT_EQ((*by_free->putStart("c1", "f3", 4096, one))[0].te_endpoint, "node3:1");
  // node2 and node3 now tie (4 KiB used each): the lower id wins, then node3 is emptier.
  EXPECT_EQ((*by_free->putStart("c1", "f4", 4096, one))[0].te_endpoint, "node2:1");
  EXPECT_EQ((*by_free->putStart("c1", "f5", 4096, one))[0].te_endpoint, "node3:1");
  // local_first: the writer's own segment, for every put.
  auto local = build(AllocationStrategy::kLocalFirst);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ((*local->putStart("c2", "l" + std::to_string(i), 4096, one))[0].te_endpoint,
              "node2:1");
  }
  // random: spreads over every segment; prefer_alloc_in_same_node asks for local per put.
  auto random = build(AllocationStrategy::kRandom);
  std::set<std::string> seen;
  for (int i = 0; i < 60; ++i) {
    seen.insert((*random->putStart("c1", "r" + std::to_string(i), 1024, one))[0].te_endpoint);
  }
  EXPECT_EQ(seen.size(), 3u);
  ReplicateConfig same_node;
  same_node.prefer_alloc_in_same_node = true;
  same_node.replica_num = 2;
  for (int i = 0; i < 10; ++i) {
    auto placed = random->putStart("c3", "s" + std::to_string(i), 1024, same_node);
    ASSERT_EQ(placed->size(), 2u);
    EXPECT_EQ((*placed)[0].te_endpoint, "node3:1");
    EXPECT_NE((*placed)[1].te_endpoint, "node3:1");
  }
}

TEST_F(MasterServiceTest, FailedReplicaWritesAreDroppedAndUnreachableHoldersAvoided) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x100000, 1 << 20);
  mount("c3", "node3", 0x100000, 1 << 20);
  ReplicateConfig three;
  three.replica_num = 3;
  auto started = service_.putStart("w", "k", 4096, three);
  ASSERT_EQ(started->size(), 3u);
  // node2's write failed: the object completes with the other two, node2's space comes back.
  ASSERT_TRUE(service_.putEnd("w", "k", {"node2:15001"}).ok());
  auto list = service_.getReplicaList("k");
  ASSERT_EQ(list->replicas.size(), 2u);
  for (const auto& r : list->replicas) EXPECT_NE(r.te_endpoint, "node2:15001");
  EXPECT_EQ(service_.usedBytes(), 2u * 4096);
  EXPECT_EQ(service_.counters().degraded_puts.load(), 1u);
  // Every replica failed: PutEnd refuses; the writer revokes.
  ReplicateConfig one;
  ASSERT_TRUE(service_.putStart("w", "lost", 4096, one).ok());
  EXPECT_TRUE(service_.putEnd("w", "lost", {"node1:15001", "node2:15001", "node3:15001"})
                  .is(StoreErrorCode::INVALID_WRITE));
  ASSERT_TRUE(service_.putRevoke("w", "lost").ok());
  // Avoided holders get no replica.
  for (int i = 0; i < 20; ++i) {
    auto placed = service_.putStart("w", "a" + std::to_string(i), 1024, one, {"node1:15001"});
    ASSERT_TRUE(placed.ok());
    EXPECT_NE((*placed)[0].te_endpoint, "node1:15001");
  }
  EXPECT_TRUE(
      service_.putStart("w", "none", 1024, one, {"node1:15001", "node2:15001", "node3:15001"})
          .status()
          .is(StoreErrorCode::NO_AVAILABLE_HANDLE));
}

TEST_F(MasterServiceTest, LeasesBlockRemovalUntilTheyExpire) {
  mount("c1", "node1", 0x100000, 1 << 20);
  put("k", 4096);
  ASSERT_TRUE(service_.getReplicaList("k").ok());
  EXPECT_TRUE(service_.remove("k", false).is(StoreErrorCode::OBJECT_HAS_LEASE));
  EXPECT_EQ(service_.removeAll(false), 0u);
  advance(std::chrono::milliseconds(1001));
  EXPECT_TRUE(service_.remove("k", false).ok());
  EXPECT_TRUE(service_.remove("k", false).is(StoreErrorCode::OBJECT_NOT_FOUND));
  put("forced", 4096);
  ASSERT_TRUE(service_.getReplicaList("forced").ok());
  EXPECT_TRUE(service_.remove("forced", true).ok());
}

TEST_F(MasterServiceTest, RemoveByRegexAndRemoveAllCountWhatTheyRemove) {
  mount("c1", "node1", 0x100000, 1 << 20);
  for (const char* key : {"a/1", "a/2", "b/1"}) put(key, 1024);
  auto removed = service_.removeByRegex("^a/", false);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_TRUE(service_.removeByRegex("(", false).status().is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_EQ(service_.removeAll(false), 1u);
  EXPECT_EQ(service_.objectCount(), 0u);
  EXPECT_EQ(service_.usedBytes(), 0u);
}

TEST_F(MasterServiceTest, EvictionFreesLeastRecentlyUsedAndSparesLeasedAndPinned) {
  mount("c1", "node1", 0x100000, 64 * 1024);  // room for 16 objects of 4 KiB
  ReplicateConfig hard;
  hard.with_hard_pin = true;
  put("pinned", 4096, 1, hard);
  for (int i = 0; i < 15; ++i) {
    put("k" + std::to_string(i), 4096);
    advance(std::chrono::milliseconds(1));
  }
  advance(std::chrono::milliseconds(2000));         // all leases (none granted yet) are expired
  ASSERT_TRUE(service_.getReplicaList("k0").ok());  // k0: leased and most recently used
  // The segment is full: the next put must evict, oldest unleased first (k1).
  auto started = service_.putStart("w", "new", 4096, {});
  ASSERT_TRUE(started.ok()) << started.status().toString();
  EXPECT_TRUE(service_.existKey("k0"));
  EXPECT_TRUE(service_.existKey("pinned"));
  EXPECT_FALSE(service_.existKey("k1"));
  EXPECT_TRUE(service_.existKey("k14"));
}

TEST_F(MasterServiceTest, EvictionFollowsGlobalRecencyAcrossShardsAndRounds) {
  constexpr int kObjects = 2000;  // 250 per shard: several merge rounds of 64 candidates
  mount("c1", "node1", 0x100000, kObjects * 1024);
  for (int i = 0; i < kObjects; ++i) put("o" + std::to_string(i), 1024);
  // Read them in a shuffled order: that order, not the insertion order, is the recency.
  std::vector<int> order(kObjects);
  for (int i = 0; i < kObjects; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (int i : order) {
    advance(std::chrono::milliseconds(1));
    ASSERT_TRUE(service_.getReplicaList("o" + std::to_string(i)).ok());
  }
  advance(std::chrono::milliseconds(2000));  // leases over
  EXPECT_EQ(service_.evict(kObjects / 2 * 1024), kObjects / 2 * 1024u);
  for (int rank = 0; rank < kObjects; ++rank) {
    bool expected_present = rank >= kObjects / 2;
    ASSERT_EQ(service_.existKey("o" + std::to_string(order[rank])), expected_present) << rank;
  }
}

TEST_F(MasterServiceTest, SoftPinnedObjectsGoLast) {
  mount("c1", "node1", 0x100000, 8 * 4096);
  ReplicateConfig soft;
  soft.with_soft_pin = true;
  put("soft", 4096, 1, soft);  // the oldest, yet pinned
  for (int i = 0; i < 7; ++i) {
    advance(std::chrono::milliseconds(1));
    put("k" + std::to_string(i), 4096);
  }
  EXPECT_EQ(service_.evict(4096), 4096u);
  EXPECT_TRUE(service_.existKey("soft"));
  EXPECT_FALSE(service_.existKey("k0"));
}

TEST_F(MasterServiceTest, NothingFitsIsNoAvailableHandle) {
  mount("c1", "node1", 0x100000, 4096);
  ASSERT_TRUE(service_.putStart("w", "a", 4096, {}).ok());  // incomplete: never evicted
  EXPECT_TRUE(
      service_.putStart("w", "b", 4096, {}).status().is(StoreErrorCode::NO_AVAILABLE_HANDLE));
}

TEST_F(MasterServiceTest, SilentClientsLoseTheirSegmentsAndReplicas) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x100000, 1 << 20);
  put("both", 4096, 2);
  ReplicateConfig on1;
  on1.preferred_segments = {"node1"};
  put("only1", 4096, 1, on1);
  advance(std::chrono::seconds(6));
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
  advance(std::chrono::seconds(6));  // c1 silent for 12 s > client_ttl
  service_.tick();
  EXPECT_FALSE(service_.existKey("only1"));
  auto both = service_.getReplicaList("both");
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->replicas.size(), 1u);
  EXPECT_EQ(both->replicas[0].te_endpoint, "node2:15001");
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kNeedRemount);
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
}

// A client declared dead keeps its objects hidden for --dead_client_grace_sec: when it mounts
// the same segment again they are back (minus keys written meanwhile); after the grace period
// they are gone and the segment with them.
TEST_F(MasterServiceTest, ADeadClientThatComesBackGetsItsObjectsBack) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x100000, 1 << 20);
  ReplicateConfig on1;
  on1.preferred_segments = {"node1"};
  auto kept = put("kept", 4096, 1, on1);
  put("rewritten", 4096, 1, on1);
  put("both", 4096, 2);
  const uint64_t capacity = service_.capacityBytes();
  advance(std::chrono::seconds(6));
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
  advance(std::chrono::seconds(6));  // c1 silent for 12 s > client_ttl
  service_.tick();
  EXPECT_EQ(service_.detachedSegmentCount(), 1u);
  EXPECT_LT(service_.capacityBytes(), capacity);  // not part of the pool while away
  EXPECT_TRUE(service_.getReplicaList("kept").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(service_.getReplicaList("both")->replicas.size(), 1u);
  ASSERT_TRUE(service_.putStart("c2", "rewritten", 8192, {}).ok());  // replaces the hidden one
  ASSERT_TRUE(service_.putEnd("c2", "rewritten").ok());
  // c1 comes back (same id, same memory): its segment and replicas return.
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kNeedRemount);
  ASSERT_TRUE(service_.remountSegments("c1", {{"node1", 0x100000, 1 << 20, "node1:15001"}}).ok());
  EXPECT_EQ(service_.detachedSegmentCount(), 0u);
  EXPECT_EQ(service_.capacityBytes(), capacity);
  auto back = service_.getReplicaList("kept");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->replicas[0].address, kept[0].address);
  EXPECT_EQ(service_.getReplicaList("both")->replicas.size(), 2u);
  EXPECT_EQ(service_.getReplicaList("rewritten")->replicas[0].te_endpoint, "node2:15001");
  EXPECT_EQ(service_.counters().returned_clients.load(), 1u);
  // Away past the grace period: dropped for good.
  advance(std::chrono::seconds(12));
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
  service_.tick();
  EXPECT_EQ(service_.detachedSegmentCount(), 1u);
  advance(std::chrono::seconds(601));
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
  service_.tick();
  EXPECT_EQ(service_.detachedSegmentCount(), 0u);
  EXPECT_EQ(service_.segmentStats().size(), 1u);
  EXPECT_FALSE(service_.existKey("kept"));
}

// A holder a client reported unreachable is declared dead as soon as it has also been silent
// for a couple of seconds, not after the whole client TTL; a reported holder that keeps
// pinging (the reporter's own network, say) is left alone.
TEST_F(MasterServiceTest, AReportedHolderThatAlsoStoppedPingingIsDeadWithinSeconds) {
  mount("c1", "node1", 0x100000, 1 << 20);
  mount("c2", "node2", 0x100000, 1 << 20);
  ReplicateConfig on1;
  on1.preferred_segments = {"node1"};
  put("only1", 4096, 1, on1);
  advance(std::chrono::milliseconds(500));
  service_.reportUnreachable({"node1:15001", "node2:15001", "nobody:1"});
  for (int i = 0; i < 3; ++i) {  // c2 keeps pinging, c1 went quiet
    advance(std::chrono::seconds(1));
    EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
    service_.tick();
  }
  EXPECT_FALSE(service_.existKey("only1"));  // 3.5 s of silence, far below client_ttl
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kNeedRemount);
  EXPECT_EQ(service_.ping("c2"), ClientStatus::kOk);
  // A report that predates the holder's last ping says nothing about it now.
  mount("c3", "node3", 0x100000, 1 << 20);
  service_.reportUnreachable({"node3:15001"});
  advance(std::chrono::milliseconds(10));
  EXPECT_EQ(service_.ping("c3"), ClientStatus::kOk);
  advance(std::chrono::seconds(3));
  service_.tick();
  EXPECT_EQ(service_.ping("c3"), ClientStatus::kOk);
}

TEST_F(MasterServiceTest, AbandonedPutsCanBeTakenOverAndTheirSpaceReturnsLater) {
  mount("c1", "node1", 0x100000, 1 << 20);
  ASSERT_TRUE(service_.putStart("crashed", "k", 8192, {}).ok());
  EXPECT_TRUE(
      service_.putStart("w", "k", 8192, {}).status().is(StoreErrorCode::OBJECT_ALREADY_EXISTS));
  advance(std::chrono::seconds(31));
  ASSERT_TRUE(service_.putStart("w", "k", 8192, {}).ok());
  EXPECT_EQ(service_.usedBytes(), 2 * 8192u);  // the old space is held back
  advance(std::chrono::seconds(600));
  EXPECT_EQ(service_.ping("c1"), ClientStatus::kOk);  // the segment owner stays alive
  service_.tick();
  EXPECT_EQ(service_.usedBytes(), 8192u);
  EXPECT_TRUE(service_.putEnd("w", "k").ok());
}

TEST_F(MasterServiceTest, ConcurrentWritersOfOneKeyGetExactlyOneWinner) {
  mount("c1", "node1", 0x100000, 16 << 20);
  for (int round = 0; round < 20; ++round) {
    std::string key = "race" + std::to_string(round);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (service_.putStart("w", key, 4096, {}).ok()) ++winners;
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1) << key;
  }
  EXPECT_EQ(service_.usedBytes(), 20 * 4096u);  // losers released their space
}

}  // namespace
}  // namespace mooncake::store

namespace mooncake::store {
namespace {

TEST_F(MasterServiceTest, SoftPinTtlFollowsUpstreamsRules) {
  mount("c1", "seg-a", 0x100000, 1 << 20);
  ReplicateConfig config;
  config.soft_pin_ttl_ms = 1000;  // a TTL without ENABLE (PRESERVE / DISABLE)
  EXPECT_TRUE(service_.putStart("writer", "pin-a", 100, config)
                  .status()
                  .is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_TRUE(service_.upsertStart("writer", "pin-a", 100, config)
                  .status()
                  .is(StoreErrorCode::INVALID_PARAMS));
  EXPECT_TRUE(service_.reserve("writer", 100, config).status().is(StoreErrorCode::INVALID_PARAMS));
  config.with_soft_pin = true;
  config.soft_pin_ttl_ms = MasterOptions().max_kv_soft_pin_ttl_ms + 1;  // above the cap
  EXPECT_TRUE(service_.putStart("writer", "pin-a", 100, config)
                  .status()
                  .is(StoreErrorCode::INVALID_PARAMS));
  config.soft_pin_ttl_ms = MasterOptions().max_kv_soft_pin_ttl_ms;
  EXPECT_TRUE(service_.putStart("writer", "pin-a", 100, config).ok());
  config.soft_pin_ttl_ms = 0;  // ENABLE with 0 is accepted
  EXPECT_TRUE(service_.putStart("writer", "pin-b", 100, config).ok());
  config.soft_pin_ttl_ms.reset();  // ENABLE with the master's default
  EXPECT_TRUE(service_.putStart("writer", "pin-c", 100, config).ok());
}

}  // namespace
}  // namespace mooncake::store

namespace mooncake::store {
namespace {

TEST_F(MasterServiceTest, BatchReplicaClearDropsOnlyTheWritersUnleasedReplicas) {
  mount("c1", "seg-a", 0x100000, 1 << 20);
  mount("c2", "seg-b", 0x900000, 1 << 20);
  put("two", 1000, 2);
  put("one", 1000, 1);
  put("leased", 1000, 1);
  ASSERT_TRUE(service_.getReplicaList("leased").ok());  // a reader holds a lease
  ReplicateConfig config;
  ASSERT_TRUE(service_.putStart("other-writer", "foreign", 1000, config).ok());
  ASSERT_TRUE(service_.putEnd("other-writer", "foreign").ok());
  ASSERT_TRUE(service_.putStart("writer", "unfinished", 1000, config).ok());

  // One segment: "two" keeps its other replica; a key with nothing there is skipped.
  const std::string holder_b = "seg-b:15001";
  auto on_b = service_.batchReplicaClear("writer", {"two"}, holder_b);
  EXPECT_EQ(on_b, std::vector<std::string>{"two"});
  auto left = service_.getReplicaList("two");
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->replicas.size(), 1u);
  EXPECT_NE(left->replicas[0].te_endpoint, holder_b);
  EXPECT_TRUE(service_.batchReplicaClear("writer", {"two"}, holder_b).empty());

  advance(std::chrono::milliseconds(2000));             // leases end
  ASSERT_TRUE(service_.getReplicaList("leased").ok());  // leased again
  auto cleared = service_.batchReplicaClear(
      "writer", {"one", "leased", "foreign", "unfinished", "absent", ""}, "");
  EXPECT_EQ(cleared, std::vector<std::string>{"one"});
  EXPECT_TRUE(service_.getReplicaList("one").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(service_.getReplicaList("foreign").ok());
  advance(std::chrono::milliseconds(2000));
  EXPECT_EQ(service_.batchReplicaClear("writer", {"leased", "two"}, ""),
            (std::vector<std::string>{"leased", "two"}));
}

}  // namespace
}  // namespace mooncake::store
