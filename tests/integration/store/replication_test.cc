// The HA record stream in one process (docs/STORE.md "High availability"): a ReplicationHub on a
// real MasterService and ReplicationFollowers that find it through a real etcd. A standby's copy
// must equal the leader's state exactly, whether the changes came before it joined (the dump),
// while it joined, or after (the live stream); replies wait for an in-sync standby and stop
// waiting for one that went silent only after master_replicas no longer names it.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "common/etcd/etcd_gateway.h"
#include "store/master/durable/metadata_log.h"
#include "store/master/ha/replica_set.h"
#include "store/master/ha/replication_follower.h"
#include "store/master/ha/replication_hub.h"
#include "store/master/master_service.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake::store {
namespace {

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.ok()) << "etcd did not start";
    cluster_ = "replication-" + std::to_string(std::random_device()());
  }
  // The hub's threads call back into the fixture: stop them before its members go.
  void TearDown() override {
    if (hub_) hub_->stop();
  }

  static MasterOptions options() {
    MasterOptions o;
    o.shard_count = 8;
    return o;
  }

  void startLeader(std::chrono::milliseconds ack_timeout = std::chrono::milliseconds(1000)) {
    ReplicationHubOptions o;
    o.bind_address = "127.0.0.1";
    o.term = 7;
    o.ack_timeout = ack_timeout;
    o.publish_in_sync = [this](const std::vector<std::string>& standbys) {
      if (!etcd_writable_.load()) return Status::error(ErrorCode::ERR_METADATA, "etcd is down");
      std::lock_guard lock(mutex_);
      published_.push_back(standbys);
      return Status::OK();
    };
    hub_ = std::make_unique<ReplicationHub>(o);
    log_ = durable::MetadataLog::inMemory(1, hub_.get());
    durable::RecoveredState empty;
    service_.restore(empty, log_.get());
    service_.setReplicationGate(hub_.get());
    ASSERT_TRUE(hub_->start([this](const auto& write) { return service_.dumpState(write); }).ok());
    etcd::EtcdGateway gateway({etcd_.endpoint()});
    ASSERT_TRUE(
        gateway
            .put(replicationKey(cluster_),
                 ReplicationEndpoint{"127.0.0.1:" + std::to_string(hub_->port()), 7}.encode(), 0)
            .ok());
  }

  std::unique_ptr<ReplicationFollower> follower(const std::string& name) {
    auto f = std::make_unique<ReplicationFollower>(
        ReplicationFollowerOptions{{etcd_.endpoint()}, cluster_, name, nullptr});
    f->start();
    return f;
  }

  std::vector<std::string> lastPublished() {
    std::lock_guard lock(mutex_);
    return published_.empty() ? std::vector<std::string>() : published_.back();
  }

  // A mutating call as the RPC layer makes it: the change, then the wait before replying.
  void put(const std::string& key, uint64_t size) {
    ReplicateConfig config;
    config.replica_num = 1;
    auto started = service_.putStart("writer", key, size, config);
    ASSERT_TRUE(started.ok()) << started.status().toString();
    ASSERT_TRUE(service_.awaitReplicated());
    ASSERT_TRUE(service_.putEnd("writer", key).ok());
    ASSERT_TRUE(service_.awaitReplicated());
  }

  durable::RecoveredState leaderState() {
    durable::RecoveredState state;
    EXPECT_TRUE(service_
                    .dumpState([&](durable::SnapshotSink& sink) {
                      durable::applyFrames(sink.buffer(), state);
                      sink.buffer().clear();
                      return Status::OK();
                    })
                    .ok());
    state.compact();
    return state;
  }

  static void expectSame(const durable::RecoveredState& leader,
                         const durable::RecoveredState& copy) {
    EXPECT_EQ(leader.objects.size(), copy.objects.size());
    for (const auto& [key, entry] : leader.objects) {
      auto it = copy.objects.find(key);
      ASSERT_NE(it, copy.objects.end()) << key;
      const auto& a = entry.value;
      const auto& b = it->second.value;
      EXPECT_EQ(a.version, b.version) << key;
      EXPECT_EQ(a.complete, b.complete) << key;
      ASSERT_EQ(a.replicas.size(), b.replicas.size()) << key;
      for (size_t r = 0; r < a.replicas.size(); ++r) {
        EXPECT_EQ(a.replicas[r].segment, b.replicas[r].segment) << key;
        EXPECT_EQ(a.replicas[r].address, b.replicas[r].address) << key;
      }
    }
    EXPECT_EQ(leader.segments.size(), copy.segments.size());
    EXPECT_EQ(leader.reservations.size(), copy.reservations.size());
  }

  testing::EtcdServer etcd_;
  std::string cluster_;
  MasterService service_{options()};
  std::unique_ptr<ReplicationHub> hub_;
  std::unique_ptr<durable::MetadataLog> log_;
  std::atomic<bool> etcd_writable_{true};
  std::mutex mutex_;
  std::vector<std::vector<std::string>> published_;
};

TEST_F(ReplicationTest, AStandbysCopyEqualsTheLeaderBeforeDuringAndAfterItJoins) {
  startLeader();
  ASSERT_TRUE(service_.mountSegment("holder", {"seg", 1ull << 30, 256 << 20, "seg:1"}).ok());
  for (int i = 0; i < 500; ++i) put("before/" + std::to_string(i), 4096 + i);
  // Writers keep changing the state (puts, removes) while the standby copies it.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937_64 random(1);
    for (int i = 0; !stop.load(); ++i) {
      put("during/" + std::to_string(i), 1000 + random() % 100000);
      if (i % 3 == 0) {
        (void)service_.remove("before/" + std::to_string(random() % 500), true);  // may be gone
        ASSERT_TRUE(service_.awaitReplicated());
      }
    }
  });
  auto standby = follower("127.0.0.1:1001");
  ASSERT_TRUE(
      testing::waitFor([&] { return hub_->inSyncStandbys() == 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(lastPublished(), std::vector<std::string>{"127.0.0.1:1001"});
  for (int i = 0; i < 300; ++i) put("after/" + std::to_string(i), 2048);
  stop.store(true);
  writer.join();
  // Every reply above waited for the standby: stopping it now, its copy has everything.
  auto copy = standby->stop();
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->term, 7);
  durable::RecoveredState leader = leaderState();
  EXPECT_GT(leader.objects.size(), 800u);
  expectSame(leader, copy->state);
}

TEST_F(ReplicationTest, ASilentStandbyIsDroppedOnlyAfterEtcdNoLongerNamesIt) {
  startLeader(std::chrono::milliseconds(300));
  ASSERT_TRUE(service_.mountSegment("holder", {"seg", 1ull << 30, 256 << 20, "seg:1"}).ok());
  auto standby = follower("127.0.0.1:1002");
  ASSERT_TRUE(
      testing::waitFor([&] { return hub_->inSyncStandbys() == 1; }, std::chrono::seconds(20)));
  put("k0", 100);
  // The standby goes away while etcd cannot be written: replies must keep waiting (the leader
  // cannot prove the standby is no longer a valid successor).
  etcd_writable_.store(false);
  (void)standby->stop();
  std::atomic<bool> answered{false};
  std::thread call([&] {
    put("k1", 100);
    answered.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_FALSE(answered.load()) << "a reply went out while master_replicas still named the standby";
  etcd_writable_.store(true);
  ASSERT_TRUE(testing::waitFor([&] { return answered.load(); }, std::chrono::seconds(5)));
  call.join();
  EXPECT_TRUE(lastPublished().empty());
  EXPECT_EQ(hub_->inSyncStandbys(), 0u);
  // Alone, the leader answers at once; a stopped hub answers nothing.
  put("k2", 100);
  hub_->stop();
  ReplicateConfig config;
  ASSERT_TRUE(service_.putStart("writer", "k3", 100, config).ok());
  EXPECT_FALSE(service_.awaitReplicated());
}

TEST(ReplicaSetTest, EncodesAndDecodes) {
  ReplicaSet set{42, "10.0.0.1:50051", {"10.0.0.2:50051", "10.0.0.3:50051"}};
  auto decoded = ReplicaSet::decode(set.encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->term, 42);
  EXPECT_EQ(decoded->leader, "10.0.0.1:50051");
  EXPECT_EQ(decoded->standbys, set.standbys);
  EXPECT_TRUE(decoded->holds("10.0.0.3:50051"));
  EXPECT_FALSE(decoded->holds("10.0.0.4:50051"));
  EXPECT_FALSE(ReplicaSet::decode("leader x\n").has_value());  // no term
  EXPECT_FALSE(ReplicaSet::decode("term -1\nleader x").has_value());
  EXPECT_FALSE(ReplicaSet::decode("garbage").has_value());
  auto endpoint = ReplicationEndpoint::decode("127.0.0.1:4000 9");
  ASSERT_TRUE(endpoint.has_value());
  EXPECT_EQ(endpoint->address, "127.0.0.1:4000");
  EXPECT_EQ(endpoint->term, 9);
  EXPECT_FALSE(ReplicationEndpoint::decode("127.0.0.1:4000").has_value());
}

}  // namespace
}  // namespace mooncake::store
