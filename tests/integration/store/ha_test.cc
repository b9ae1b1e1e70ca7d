// Master high availability on a real etcd: two (then three) mooncake_master processes with
// --enable_ha, a client that addresses the cluster as etcd://..., kill -9 of the leader and a
// graceful hand-over.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <random>

#include "common/net/http_client.h"
#include "mooncake/store/client.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {
namespace {

class MasterHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.ok()) << "etcd did not start";
    cluster_id_ = "ha-test-" + std::to_string(std::random_device()());
    ::setenv("MC_STORE_CLUSTER_ID", cluster_id_.c_str(), 1);
  }
  void TearDown() override { ::unsetenv("MC_STORE_CLUSTER_ID"); }

  std::unique_ptr<testing::ChildProcess> startMaster(uint16_t port, uint16_t metrics_port = 0) {
    return std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"),
        std::vector<std::string>{"--enable_ha", "--etcd_endpoints=" + etcd_.endpoint(),
                                 "--cluster_id=" + cluster_id_, "--rpc_address=127.0.0.1",
                                 "--port=" + std::to_string(port), "--metrics_host=127.0.0.1",
                                 "--metrics_port=" + std::to_string(metrics_port)});
  }

  static std::string httpGet(uint16_t port, const std::string& path) {
    net::HttpClient http;
    auto response = http.send("GET", "http://127.0.0.1:" + std::to_string(port) + path, "",
                              std::chrono::seconds(5), std::chrono::seconds(2));
    return response.ok() ? response->body : "";
  }

  std::unique_ptr<Client> client() {
    ClientOptions options;
    options.local_hostname = "127.0.0.1";
    options.metadata_server = "etcd://" + etcd_.endpoint();
    options.master_server_address = "etcd://" + etcd_.endpoint();
    options.global_segment_size = 32 << 20;
    options.local_buffer_size = 8 << 20;
    options.ping_interval = std::chrono::milliseconds(100);
    options.rpc_timeout = std::chrono::milliseconds(2000);
    auto created = Client::create(options);
    EXPECT_TRUE(created.ok()) << created.status().toString();
    return created.ok() ? std::move(created).value() : nullptr;
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  testing::EtcdServer etcd_;
  std::string cluster_id_;
};

TEST_F(MasterHaTest, StandbyTakesOverAndClientsFollowTheLeader) {
  uint16_t port_a = testing::freeLoopbackPort();
  uint16_t port_b = testing::freeLoopbackPort();
  uint16_t metrics_a = testing::freeLoopbackPort();
  uint16_t metrics_b = testing::freeLoopbackPort();
  auto a = startMaster(port_a, metrics_a);
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port_a); }, std::chrono::seconds(20)));
  auto b = startMaster(port_b, metrics_b);
  // B stands by: it does not serve RPCs while A leads, and says so on its metrics port.
  ASSERT_TRUE(testing::waitFor([&] { return httpGet(metrics_b, "/role") == "standby"; },
                               std::chrono::seconds(20)));
  EXPECT_FALSE(testing::portAccepts(port_b));
  EXPECT_NE(httpGet(metrics_b, "/health").find("\"leader\":\"127.0.0.1:" + std::to_string(port_a)),
            std::string::npos);
  EXPECT_NE(httpGet(metrics_b, "/metrics").find("mooncake_master_is_leader 0"), std::string::npos);
  EXPECT_EQ(httpGet(metrics_a, "/role"), "leader");

  auto c = client();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->put("before", "1", 1).ok());
  EXPECT_EQ(*c->get("before"), "1");
  // B follows A's changes; A's replies wait for it once it is in sync.
  ASSERT_TRUE(testing::waitFor(
      [&] {
        return httpGet(metrics_a, "/metrics").find("mooncake_master_ha_in_sync_standbys 1") !=
               std::string::npos;
      },
      std::chrono::seconds(20)));

  a->signal(SIGKILL);
  a->wait(std::chrono::seconds(10));
  // A's lease (5 s) runs out, B wins the view key and starts serving.
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port_b); }, std::chrono::seconds(20)));
  EXPECT_TRUE(testing::waitFor([&] { return httpGet(metrics_b, "/role") == "leader"; },
                               std::chrono::seconds(10)));
  // The client finds B through etcd, gets NEED_REMOUNT, remounts, and writes again.
  ASSERT_TRUE(
      testing::waitFor([&] { return c->put("after", "2", 1).ok(); }, std::chrono::seconds(20)));
  EXPECT_EQ(*c->get("after"), "2");
  // B held A's state: the object written before the kill is still there.
  auto before = c->get("before");
  ASSERT_TRUE(before.ok()) << before.status().toString();
  EXPECT_EQ(*before, "1");

  // A graceful stop resigns at once: a third master takes over well within the lease TTL.
  uint16_t port_c = testing::freeLoopbackPort();
  uint16_t metrics_c = testing::freeLoopbackPort();
  auto third = startMaster(port_c, metrics_c);
  ASSERT_TRUE(testing::waitFor([&] { return httpGet(metrics_c, "/role") == "standby"; },
                               std::chrono::seconds(20)));
  auto stopped_at = std::chrono::steady_clock::now();
  b->signal(SIGTERM);
  EXPECT_EQ(b->wait(std::chrono::seconds(10)), 0);
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port_c); }, std::chrono::seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(4));
  ASSERT_TRUE(
      testing::waitFor([&] { return c->put("third", "3", 1).ok(); }, std::chrono::seconds(20)));
  EXPECT_EQ(*c->get("third"), "3");
}

TEST_F(MasterHaTest, MisconfiguredHaIsRefusedWithAClearMessage) {
  testing::TempDir dir;
  std::string log = dir.path() + "/stderr";
  testing::ChildProcess wildcard(
      testing::builtBinary("tools/mooncake_master"),
      {"--enable_ha", "--etcd_endpoints=" + etcd_.endpoint(), "--metrics_port=0"}, {}, log);
  EXPECT_EQ(wildcard.wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(readFile(log).find("set --rpc_address to this host's reachable address"),
            std::string::npos)
      << readFile(log);
  testing::ChildProcess no_etcd(testing::builtBinary("tools/mooncake_master"),
                                {"--enable_ha", "--rpc_address=127.0.0.1", "--metrics_port=0"}, {},
                                log + "2");
  EXPECT_EQ(no_etcd.wait(std::chrono::seconds(10)), 2);
  EXPECT_NE(readFile(log + "2").find("--enable_ha needs --ha_backend_connstring"),
            std::string::npos)
      << readFile(log + "2");
}

}  // namespace
}  // namespace mooncake::store
