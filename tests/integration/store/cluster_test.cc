// A whole small cluster in real processes: mooncake_master, three storage clients (store_bench
// --operation=serve, each its own process with its own segment) and a writer/reader client in
// this process. Covers client death (kill -9) and eviction under memory pressure.
#include <gtest/gtest.h>
#include <signal.h>

#include <random>

#include "integration/store/cluster_fixture.h"

namespace mooncake::store {
namespace {

// The same cluster with every process on MC_SAME_HOST_DIRECT (reads and writes by one kernel
// copy between the processes) and without it (loopback TCP).
class StoreClusterTransportTest : public StoreClusterTest,
                                  public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    const char* direct = GetParam() ? "1" : "0";
    storage_env_ = {std::string("MC_SAME_HOST_DIRECT=") + direct};
    ::setenv("MC_SAME_HOST_DIRECT", direct, 1);  // this process's clients
  }
  void TearDown() override { ::unsetenv("MC_SAME_HOST_DIRECT"); }
};

INSTANTIATE_TEST_SUITE_P(Transports, StoreClusterTransportTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "SameHostDirect" : "Tcp";
                         });

TEST_P(StoreClusterTransportTest, KilledClientLosesItsReplicasAndTheMasterKeepsServing) {
  startMaster({"--client_ttl=2"});
  std::string victim = startStorageClient(32 << 20);
  std::string survivor1 = startStorageClient(32 << 20);
  std::string survivor2 = startStorageClient(32 << 20);
  ASSERT_FALSE(victim.empty() || survivor1.empty() || survivor2.empty());
  auto client = pureClient();
  ASSERT_TRUE(client);

  ReplicateConfig only_victim;
  only_victim.preferred_segments = {victim};
  ReplicateConfig two_copies;
  two_copies.replica_num = 2;
  two_copies.preferred_segments = {victim, survivor1};
  ReplicateConfig three_copies;
  three_copies.replica_num = 3;
  std::string a = value(100000, 1), b = value(100000, 2), c = value(5000, 3);
  ASSERT_TRUE(client->put("on-victim", a.data(), a.size(), only_victim).ok());
  ASSERT_TRUE(client->put("two-copies", b.data(), b.size(), two_copies).ok());
  ASSERT_TRUE(client->put("three-copies", c.data(), c.size(), three_copies).ok());
  // Three segments, on three distinct processes.
  std::string segments = httpGet("/get_all_segments");
  for (const std::string& name : {victim, survivor1, survivor2}) {
    EXPECT_NE(segments.find(name), std::string::npos) << segments;
  }
  std::string where = httpGet("/query_key?key=three-copies");
  for (const std::string& name : {victim, survivor1, survivor2}) {
    EXPECT_NE(where.find(name), std::string::npos) << where;
  }

  servers_[0]->signal(SIGKILL);
  servers_[0]->wait(std::chrono::seconds(10));
  // Gets of its keys read another replica, or fail, at once rather than after a budget of
  // connects each: the client's engine remembers that the holder refused a connection.
  for (int i = 0; i < 5; ++i) {
    auto started = std::chrono::steady_clock::now();
    auto read = client->get("two-copies");
    ASSERT_TRUE(read.ok()) << read.status().toString();
    EXPECT_EQ(*read, b);
    EXPECT_FALSE(client->get("on-victim").ok());
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, i == 0 ? std::chrono::milliseconds(1500) : std::chrono::milliseconds(300))
        << "round " << i << ": "
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  }
  // Before the master notices (--client_ttl), a put that places a replica on the dead client
  // still succeeds, with its replicas on the live holders: the client writes it again avoiding
  // the holder that failed (and later puts avoid it from the start).
  std::string d = value(50000, 4);
  ASSERT_TRUE(client->put("during-ttl", d.data(), d.size(), three_copies).ok());
  EXPECT_EQ(*client->get("during-ttl"), d);
  std::string during = httpGet("/query_key?key=during-ttl");
  EXPECT_EQ(during.find(victim), std::string::npos) << during;
  EXPECT_NE(during.find(survivor1), std::string::npos) << during;
  EXPECT_NE(during.find(survivor2), std::string::npos) << during;
  ReplicateConfig prefer_victim;
  prefer_victim.preferred_segments = {victim};
  ASSERT_TRUE(client->put("avoids-victim", d.data(), d.size(), prefer_victim).ok());
  EXPECT_EQ(httpGet("/query_key?key=avoids-victim").find(victim), std::string::npos);
  // Small puts go onto reserved space; the reservations later commits bring avoid the holder
  // that failed too, so the dead one costs no further failed writes.
  const uint64_t fallbacks_before = client->writeStats().fallback;
  ReplicateConfig two_anywhere;
  two_anywhere.replica_num = 2;
  for (int i = 0; i < 20; ++i) {
    std::string v = value(30000, 200 + i);
    std::string key = "small/" + std::to_string(i);
    ASSERT_TRUE(client->put(key, v.data(), v.size(), two_anywhere).ok()) << key;
    EXPECT_EQ(httpGet("/query_key?key=" + key).find(victim), std::string::npos) << key;
  }
  EXPECT_LE(client->writeStats().fallback - fallbacks_before, 1u);
  // After --client_ttl the master declares the victim dead and unmounts its segment.
  ASSERT_TRUE(testing::waitFor(
      [&] { return httpGet("/get_all_segments").find(victim) == std::string::npos; },
      std::chrono::seconds(15)));
  EXPECT_NE(httpGet("/metrics").find("mooncake_master_expired_clients_total 1\n"),
            std::string::npos);
  // The object that lived only there is gone (not a failing read); the others read back whole.
  EXPECT_TRUE(client->get("on-victim").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_EQ(*client->get("two-copies"), b);
  EXPECT_EQ(*client->get("three-copies"), c);
  EXPECT_EQ(httpGet("/query_key?key=two-copies").find(victim), std::string::npos);
  // New writes land on the survivors.
  for (int i = 0; i < 20; ++i) {
    std::string v = value(20000, 100 + i);
    ASSERT_TRUE(client->put("after/" + std::to_string(i), v.data(), v.size()).ok());
    EXPECT_EQ(*client->get("after/" + std::to_string(i)), v);
  }
}

TEST_F(StoreClusterTest, EvictionUnderMemoryPressureSparesLeasedAndPinnedObjects) {
  // Long leases, so the lease taken below outlives the whole test.
  startMaster({"--default_kv_lease_ttl=120000"});
  ASSERT_FALSE(startStorageClient(4 << 20).empty());
  auto client = pureClient();
  ASSERT_TRUE(client);
  constexpr size_t kSize = 64 * 1024;
  std::string pinned_value = value(kSize, 1);
  std::string leased_value = value(kSize, 2);
  ReplicateConfig hard_pin;
  hard_pin.with_hard_pin = true;
  ASSERT_TRUE(client->put("pinned", pinned_value.data(), kSize, hard_pin).ok());
  ASSERT_TRUE(client->put("leased", leased_value.data(), kSize).ok());
  ASSERT_TRUE(*client->isExist("leased"));  // grants a read lease
  // 16x the segment's capacity: every put must find room through eviction.
  constexpr int kPuts = 1024;
  for (int i = 0; i < kPuts; ++i) {
    std::string v = value(kSize, 1000 + i);
    Status put = client->put("fill/" + std::to_string(i), v.data(), v.size());
    ASSERT_TRUE(put.ok()) << i << ": " << put.toString();
  }
  EXPECT_EQ(*client->get("pinned"), pinned_value);
  EXPECT_EQ(*client->get("leased"), leased_value);
  // Evicted objects are absent, never stale or torn: every key reads whole or not at all.
  int present = 0;
  for (int i = 0; i < kPuts; ++i) {
    auto got = client->get("fill/" + std::to_string(i));
    if (got.ok()) {
      ++present;
      EXPECT_EQ(*got, value(kSize, 1000 + i)) << i;
    } else {
      EXPECT_TRUE(got.status().is(StoreErrorCode::OBJECT_NOT_FOUND)) << got.status().toString();
    }
  }
  EXPECT_GT(present, 0);
  EXPECT_LT(present, kPuts);
  std::string metrics = httpGet("/metrics");
  EXPECT_EQ(metrics.find("mooncake_master_evicted_objects_total 0\n"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace mooncake::store
