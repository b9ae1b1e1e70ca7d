// Durable metadata (docs/STORE.md "Durable metadata"): a master killed with SIGKILL and started
// again with the same command line serves every object whose put completed, byte for byte;
// puts in flight at the kill end whole or absent; nothing leaks; no read returns wrong bytes.
// And a holder declared dead that comes back gets its objects back.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "integration/store/cluster_fixture.h"
#include "integration/store/verifying_workload.h"

namespace mooncake::store {
namespace {

class MasterRestartTest : public StoreClusterTest {
 protected:
  // A gauge or counter from /metrics (-1 when absent).
  int64_t metric(const std::string& name) {
    std::string body = httpGet("/metrics");
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + name.size() + 2));
  }

  // Waits until the master answers and `key` reads back (the holders have remounted).
  bool waitReadable(Client& client, const std::string& key) {
    return testing::waitFor([&] { return client.get(key).ok(); }, std::chrono::seconds(20));
  }
};

TEST_F(MasterRestartTest, RestartedMasterServesEveryCompletedObject) {
  startMaster({"--client_ttl=10"});
  ASSERT_FALSE(startStorageClient(64 << 20).empty());
  ASSERT_FALSE(startStorageClient(64 << 20).empty());
  auto client = pureClient();
  ASSERT_TRUE(client);
  std::map<std::string, std::string> expected;
  ReplicateConfig two;
  two.replica_num = 2;
  ReplicateConfig pinned;
  pinned.with_hard_pin = true;
  for (int i = 0; i < 300; ++i) {
    std::string key = "obj/" + std::to_string(i);
    std::string v = value(1024 + (i * 7919) % 200000, i);
    const ReplicateConfig& config = i % 3 == 0 ? two : (i % 7 == 0 ? pinned : ReplicateConfig{});
    ASSERT_TRUE(client->put(key, v.data(), v.size(), config).ok()) << key;
    expected[key] = v;
  }
  for (int i = 0; i < 300; i += 10) {
    std::string key = "obj/" + std::to_string(i);
    ASSERT_TRUE(client->remove(key).ok() || client->remove(key, true).ok()) << key;
    expected.erase(key);
  }
  for (int i = 1; i < 300; i += 25) {  // rewritten values, in place or not
    std::string key = "obj/" + std::to_string(i);
    std::string v = value(expected.count(key) ? expected[key].size() : 5000, 1000 + i);
    ASSERT_TRUE(client->upsert(key, v.data(), v.size()).ok()) << key;
    expected[key] = v;
  }
  const int64_t used_before = metric("mooncake_master_bytes_used");
  ASSERT_GT(used_before, 0);

  restartMaster();
  const auto restarted = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitReadable(*client, expected.begin()->first));
  const auto took = std::chrono::steady_clock::now() - restarted;
  // The clients' next heartbeat (1 s) brings their holders back; 2 s is the budget.
  EXPECT_LT(took, std::chrono::milliseconds(3500))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  for (const auto& [key, v] : expected) {
    auto read = client->get(key);
    ASSERT_TRUE(read.ok()) << key << ": " << read.status().toString();
    EXPECT_TRUE(*read == v) << key << " read back different bytes";
  }
  for (int i = 0; i < 300; i += 10) {
    EXPECT_TRUE(
        client->get("obj/" + std::to_string(i)).status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  }
  EXPECT_EQ(metric("mooncake_master_recovered_objects"), static_cast<int64_t>(expected.size()));
  // A client that starts after the restart reaches every holder: they published their Transfer
  // Engine records again (the embedded metadata server had forgotten them).
  // (within their next heartbeat, which the first reads above need not wait for).
  {
    auto late = pureClient();
    ASSERT_TRUE(late);
    for (const auto& [key, v] : expected) {
      ASSERT_TRUE(testing::waitFor([&] { return late->get(key).ok(); }, std::chrono::seconds(5)))
          << key;
      EXPECT_TRUE(late->get(key).value() == v) << key;
    }
  }
  // Every object's space is allocated again (the writer's reservations, held before, may have
  // been given back by now: its first ping after the restart answered NEED_REMOUNT).
  int64_t object_bytes = 0;
  for (const auto& [key, v] : expected) object_bytes += static_cast<int64_t>(v.size());
  EXPECT_GE(metric("mooncake_master_bytes_used"), object_bytes);
  EXPECT_LE(metric("mooncake_master_bytes_used"), used_before);
  // The restored allocators hand out only free space: new objects do not clobber old ones.
  for (int i = 0; i < 100; ++i) {
    std::string key = "after/" + std::to_string(i);
    std::string v = value(50000, 5000 + i);
    ASSERT_TRUE(client->put(key, v.data(), v.size(), two).ok()) << key;
    expected[key] = v;
  }
  for (const auto& [key, v] : expected) {
    auto read = client->get(key);
    ASSERT_TRUE(read.ok()) << key << ": " << read.status().toString();
    EXPECT_TRUE(*read == v) << key;
  }

  // A second restart also finds what the first one recovered (compacted into a snapshot).
  ASSERT_TRUE(
      testing::waitFor([&] { return metric("mooncake_master_metadata_snapshots_total") > 0; },
                       std::chrono::seconds(10)));
  restartMaster();
  ASSERT_TRUE(waitReadable(*client, "after/0"));
  for (const auto& [key, v] : expected) {
    auto read = client->get(key);
    ASSERT_TRUE(read.ok()) << key << ": " << read.status().toString();
    EXPECT_TRUE(*read == v) << key;
  }
}

// Writers put, rewrite and remove while the master is killed at random moments, 20 times. A
// put the client saw succeed must be readable with its bytes afterwards (unless removed); a
// put or remove that failed may have happened or not, but a key that exists reads as one of
// the values written to it. At the end, after removing everything and the quarantine of
// abandoned puts, no byte stays allocated.
TEST_F(MasterRestartTest, KilledAtRandomPointsLosesNothingAndNeverServesWrongBytes) {
  startMaster({"--client_ttl=10", "--put_start_discard_timeout_sec=2",
               "--put_start_release_timeout_sec=3"});
  ASSERT_FALSE(startStorageClient(64 << 20).empty());
  ASSERT_FALSE(startStorageClient(64 << 20).empty());
  constexpr int kWriters = 2;
  constexpr int kKeysPerWriter = 40;
  std::vector<std::unique_ptr<Client>> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.push_back(pureClient(std::chrono::milliseconds(1000)));
    ASSERT_TRUE(writers.back());
  }
  std::vector<Client*> raw;
  for (auto& writer : writers) raw.push_back(writer.get());
  VerifyingWorkload workload(raw, kKeysPerWriter);
  std::mt19937_64 random(42);
  for (int cycle = 0; cycle < 20; ++cycle) {
    workload.start(cycle);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 400));
    const auto killed = std::chrono::steady_clock::now();
    restartMaster();
    ASSERT_TRUE(testing::waitFor([&] { return writers[0]->isExist("probe").ok(); },
                                 std::chrono::seconds(20)));
    const auto answering = std::chrono::steady_clock::now() - killed;
    // Clients reach the restarted master at once (no reconnect backoff).
    EXPECT_LT(answering, std::chrono::seconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // remounts; writers go on
    workload.stop();
    std::printf("[ durability ] kill %d: clients served again %lld ms after the kill\n", cycle,
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(answering).count()));
    workload.check(cycle);
  }
  std::printf(
      "[ durability ] 20 kills: %llu completed objects checked, %llu recovered, %llu wrong\n",
      static_cast<unsigned long long>(workload.completed),
      static_cast<unsigned long long>(workload.recovered),
      static_cast<unsigned long long>(workload.wrong));
  EXPECT_EQ(workload.completed, workload.recovered);
  EXPECT_EQ(workload.wrong, 0u);
  uint64_t reserved = 0;
  for (const auto& writer : writers) reserved += writer->writeStats().reserved;
  std::printf("[ durability ] %llu puts went onto reserved space\n",
              static_cast<unsigned long long>(reserved));
  EXPECT_GT(reserved, 0u);  // the reserved-space path crossed the restarts too
  // Nothing leaks: with every object removed and the writers gone (their reservations given
  // back or quarantined), all space returns once abandoned puts' quarantine has run out.
  ASSERT_TRUE(writers[0]->removeAll(true).ok());
  writers.clear();
  EXPECT_TRUE(testing::waitFor([&] { return metric("mooncake_master_bytes_used") == 0; },
                               std::chrono::seconds(20)))
      << "bytes still allocated: " << metric("mooncake_master_bytes_used")
      << ", objects: " << metric("mooncake_master_objects");
}

// A holder paused past --client_ttl (SIGSTOP, then SIGCONT: its memory is intact) is declared
// dead, but its objects are only hidden; when it pings again it remounts and they are back,
// byte for byte, except a key put again meanwhile, which keeps the new value.
TEST_F(MasterRestartTest, AHolderPausedPastItsTtlGetsItsObjectsBack) {
  startMaster({"--client_ttl=2", "--dead_client_grace_sec=60"});
  std::string paused = startStorageClient(32 << 20);
  std::string steady = startStorageClient(32 << 20);
  ASSERT_FALSE(paused.empty() || steady.empty());
  auto client = pureClient();
  ASSERT_TRUE(client);
  ReplicateConfig on_paused;
  on_paused.preferred_segments = {paused};
  ReplicateConfig on_steady;
  on_steady.preferred_segments = {steady};
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 300; ++i) {
    std::string key = "held/" + std::to_string(i);
    std::string v = value(1000 + (i * 131) % 60000, 700 + i);
    ASSERT_TRUE(client->put(key, v.data(), v.size(), i % 3 ? on_paused : on_steady).ok()) << key;
    expected[key] = v;
  }
  servers_[0]->signal(SIGSTOP);
  ASSERT_TRUE(testing::waitFor([&] { return metric("mooncake_master_detached_segments") == 1; },
                               std::chrono::seconds(20)));
  // Away: its objects read as absent (not as a hanging read), the others as before, and a key
  // of its may be written again.
  EXPECT_TRUE(client->get("held/1").status().is(StoreErrorCode::OBJECT_NOT_FOUND));
  EXPECT_TRUE(client->get("held/0").value() == expected["held/0"]);
  std::string replaced = value(5000, 99);
  ASSERT_TRUE(client->put("held/2", replaced.data(), replaced.size(), on_steady).ok());
  expected["held/2"] = replaced;
  servers_[0]->signal(SIGCONT);
  ASSERT_TRUE(
      testing::waitFor([&] { return client->get("held/1").ok(); }, std::chrono::seconds(10)));
  for (const auto& [key, v] : expected) {
    auto read = client->get(key);
    ASSERT_TRUE(read.ok()) << key << ": " << read.status().toString();
    EXPECT_TRUE(*read == v) << key;
  }
  EXPECT_EQ(metric("mooncake_master_returned_clients_total"), 1);
  EXPECT_EQ(metric("mooncake_master_detached_segments"), 0);
  // The space of the replaced value on the returned holder was given back, not leaked.
  ASSERT_TRUE(client->removeAll(true).ok());
  client.reset();  // gives its reserved space back
  EXPECT_TRUE(testing::waitFor([&] { return metric("mooncake_master_bytes_used") == 0; },
                               std::chrono::seconds(20)))
      << metric("mooncake_master_bytes_used");
}

}  // namespace
}  // namespace mooncake::store
