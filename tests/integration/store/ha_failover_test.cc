// HA failover keeps every object (docs/STORE.md "HA"): two mooncake_master processes with
// --enable_ha on a real etcd, storage clients in their own processes, writers checking every
// byte. The leader is killed with SIGKILL ten times in a row under the load (each time the
// killed master comes back as the standby); then etcd itself stops answering for 15 s.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <random>
#include <thread>

#include "integration/store/verifying_workload.h"
#include "mooncake/store/client.h"
#include "support/auth.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {
namespace {

constexpr int kLeaseSeconds = 2;

class HaFailoverTest : public ::testing::Test {
 protected:
  struct Master {
    uint16_t port = 0;
    uint16_t metrics_port = 0;
    std::unique_ptr<testing::ChildProcess> process;
  };

  void SetUp() override {
    ASSERT_TRUE(etcd_.ok()) << "etcd did not start";
    cluster_id_ = "ha-failover-" + std::to_string(std::random_device()());
    ::setenv("MC_STORE_CLUSTER_ID", cluster_id_.c_str(), 1);
    for (auto& master : masters_) {
      master.port = testing::freeLoopbackPort();
      master.metrics_port = testing::freeLoopbackPort();
    }
  }
  void TearDown() override { ::unsetenv("MC_STORE_CLUSTER_ID"); }

  void startMaster(Master& master) {
    master.process.reset();
    master.process = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"),
        std::vector<std::string>{
            "--enable_ha", "--etcd_endpoints=" + etcd_.endpoint(), "--cluster_id=" + cluster_id_,
            "--rpc_address=127.0.0.1", "--port=" + std::to_string(master.port),
            "--metrics_host=127.0.0.1", "--metrics_port=" + std::to_string(master.metrics_port),
            "--ha_lease_ttl_sec=" + std::to_string(kLeaseSeconds), "--client_ttl=10",
            "--put_start_discard_timeout_sec=2", "--put_start_release_timeout_sec=3"});
  }

  std::string metrics(const Master& master) {
    auto response = testing::httpCall(
        "GET", "http://127.0.0.1:" + std::to_string(master.metrics_port) + "/metrics");
    return response.ok() ? response->body : "";
  }
  int64_t metric(const Master& master, const std::string& name) {
    std::string body = metrics(master);
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(body.substr(at + name.size() + 2));
  }
  std::string role(const Master& master) {
    auto response = testing::httpCall(
        "GET", "http://127.0.0.1:" + std::to_string(master.metrics_port) + "/role");
    return response.ok() ? response->body : "";
  }
  // The leader, once it has an in-sync standby (replies then wait for it).
  Master* leaderWithStandby() {
    Master* leader = nullptr;
    bool ok = testing::waitFor(
        [&] {
          for (auto& master : masters_) {
            if (role(master) == "leader" &&
                metric(master, "mooncake_master_ha_in_sync_standbys") == 1) {
              leader = &master;
              return true;
            }
          }
          return false;
        },
        std::chrono::seconds(30));
    return ok ? leader : nullptr;
  }

  // Master 0 leads, master 1 stands by, one storage process holds 64 MiB.
  void startCluster() {
    startMaster(masters_[0]);
    ASSERT_TRUE(
        testing::waitFor([&] { return role(masters_[0]) == "leader"; }, std::chrono::seconds(20)));
    startMaster(masters_[1]);
    startStorageClient(64 << 20);
  }

  std::string etcdUrl() const { return "etcd://" + etcd_.endpoint(); }

  void startStorageClient(uint64_t segment_bytes) {
    servers_.push_back(std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/store_bench"),
        std::vector<std::string>{
            "--operation=serve", "--local_hostname=127.0.0.1", "--metadata_server=" + etcdUrl(),
            "--master_server_address=" + etcdUrl(),
            "--global_segment_size=" + std::to_string(segment_bytes), "--local_buffer_size=0"}));
    std::string line = servers_.back()->readLine(std::chrono::seconds(30));
    EXPECT_NE(line.find("store_bench serving "), std::string::npos) << line;
  }

  std::unique_ptr<Client> pureClient() {
    ClientOptions options;
    options.rpc_timeout = std::chrono::milliseconds(1000);
    options.local_hostname = "127.0.0.1";
    options.metadata_server = etcdUrl();
    options.master_server_address = etcdUrl();
    options.global_segment_size = 0;
    options.local_buffer_size = 16 << 20;
    auto created = Client::create(options);
    EXPECT_TRUE(created.ok()) << created.status().toString();
    return created.ok() ? std::move(created).value() : nullptr;
  }

  testing::EtcdServer etcd_;
  std::string cluster_id_;
  Master masters_[2];
  std::vector<std::unique_ptr<testing::ChildProcess>> servers_;
};

TEST_F(HaFailoverTest, LeaderKilledTenTimesUnderLoadLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(startCluster());
  startStorageClient(64 << 20);
  std::vector<std::unique_ptr<Client>> writers;
  for (int w = 0; w < 2; ++w) {
    writers.push_back(pureClient());
    ASSERT_TRUE(writers.back());
  }
  VerifyingWorkload workload({writers[0].get(), writers[1].get()}, 40);
  std::mt19937_64 random(7);
  for (int cycle = 0; cycle < 10; ++cycle) {
    Master* leader = leaderWithStandby();
    ASSERT_NE(leader, nullptr) << "no leader with an in-sync standby";
    workload.start(cycle);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 500));
    const auto killed = std::chrono::steady_clock::now();
    leader->process->signal(SIGKILL);
    leader->process->wait(std::chrono::seconds(10));
    ASSERT_TRUE(testing::waitFor([&] { return writers[0]->isExist("probe").ok(); },
                                 std::chrono::seconds(30)));
    const auto answering = std::chrono::steady_clock::now() - killed;
    // The lease runs out, the standby wins and serves; clients find it through etcd.
    EXPECT_LT(answering, std::chrono::seconds(kLeaseSeconds + 4));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // remounts; writers go on
    workload.stop();
    std::printf("[ ha ] kill %d: clients served again %lld ms after the kill\n", cycle,
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(answering).count()));
    workload.check(cycle);
    startMaster(*leader);  // back as the standby
  }
  std::printf(
      "[ ha ] 10 leader kills: %llu completed objects checked, %llu recovered, %llu wrong\n",
      static_cast<unsigned long long>(workload.completed),
      static_cast<unsigned long long>(workload.recovered),
      static_cast<unsigned long long>(workload.wrong));
  EXPECT_GT(workload.completed, 0u);
  EXPECT_EQ(workload.completed, workload.recovered);
  EXPECT_EQ(workload.wrong, 0u);
  // Nothing leaks across the failovers: with every object removed, all space comes back.
  Master* leader = leaderWithStandby();
  ASSERT_NE(leader, nullptr);
  ASSERT_TRUE(writers[0]->removeAll(true).ok());
  writers.clear();
  EXPECT_TRUE(testing::waitFor([&] { return metric(*leader, "mooncake_master_bytes_used") == 0; },
                               std::chrono::seconds(30)))
      << "bytes still allocated: " << metric(*leader, "mooncake_master_bytes_used");
}

// A standby that stops acknowledging (SIGSTOP) holds the leader's replies back for about a
// second; then the leader drops it from master_replicas and goes on alone. When it resumes, it
// copies the state again, is in sync again, and can take over without losing anything.
TEST_F(HaFailoverTest, APausedStandbyIsDroppedThenRejoins) {
  ASSERT_NO_FATAL_FAILURE(startCluster());
  auto writer = pureClient();
  ASSERT_TRUE(writer);
  Master* leader = leaderWithStandby();
  ASSERT_EQ(leader, &masters_[0]);
  masters_[1].process->signal(SIGSTOP);
  std::chrono::steady_clock::duration slowest{};
  for (int i = 0; i < 200; ++i) {
    std::string v = VerifyingWorkload::value(2000, i);
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(writer->put("paused/" + std::to_string(i), v.data(), v.size()).ok()) << i;
    slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::printf("[ ha ] slowest put while the standby was paused: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count()));
  EXPECT_LT(slowest, std::chrono::seconds(3));  // held back about the 1 s ack timeout, no more
  EXPECT_EQ(metric(masters_[0], "mooncake_master_ha_in_sync_standbys"), 0);
  masters_[1].process->signal(SIGCONT);
  ASSERT_EQ(leaderWithStandby(), &masters_[0]);
  masters_[0].process->signal(SIGKILL);
  masters_[0].process->wait(std::chrono::seconds(10));
  ASSERT_TRUE(
      testing::waitFor([&] { return writer->get("paused/0").ok(); }, std::chrono::seconds(30)));
  for (int i = 0; i < 200; ++i) {
    auto read = writer->get("paused/" + std::to_string(i));
    ASSERT_TRUE(read.ok()) << i << ": " << read.status().toString();
    EXPECT_EQ(*read, VerifyingWorkload::value(2000, i)) << i;
  }
}

TEST_F(HaFailoverTest, AnEtcdOutageLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(startCluster());
  auto writer = pureClient();
  ASSERT_TRUE(writer);
  ASSERT_NE(leaderWithStandby(), nullptr);
  constexpr int kObjects = 2000;
  for (int i = 0; i < kObjects; ++i) {
    std::string v = VerifyingWorkload::value(1000 + i % 3000, i);
    ASSERT_TRUE(writer->put("outage/" + std::to_string(i), v.data(), v.size()).ok()) << i;
  }
  // etcd stops answering (connections stay open): the leader cannot renew its lease and
  // steps down; nobody can be elected until etcd is back.
  etcd_.signal(SIGSTOP);
  std::this_thread::sleep_for(std::chrono::seconds(15));
  etcd_.signal(SIGCONT);
  ASSERT_NE(leaderWithStandby(), nullptr);
  // The holder remounts on the (maybe new) leader.
  EXPECT_TRUE(
      testing::waitFor([&] { return writer->get("outage/0").ok(); }, std::chrono::seconds(20)));
  int lost = 0;
  int wrong = 0;
  for (int i = 0; i < kObjects; ++i) {
    auto read = writer->get("outage/" + std::to_string(i));
    if (!read.ok()) {
      ++lost;
    } else if (*read != VerifyingWorkload::value(1000 + i % 3000, i)) {
      ++wrong;
    }
  }
  std::printf("[ ha ] etcd stopped 15 s: %d of %d objects lost, %d wrong\n", lost, kObjects, wrong);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace mooncake::store
