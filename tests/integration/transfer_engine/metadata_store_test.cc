// The contract every metadata backend meets, against real servers, plus etcd's lease and
// failover behaviour.
#include "transfer_engine/metadata/metadata_store.h"

#include <gtest/gtest.h>

#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/backends.h"
#include "support/engine_peer.h"
#include "support/servers.h"
#include "transfer_engine/metadata/etcd_metadata_store.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::te {
namespace {

using testing::Backend;

class MetadataStoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string server = testing::metadataServerFor(GetParam());
    ASSERT_FALSE(server.empty());
    auto connection = parseMetadataConnection(server);
    ASSERT_TRUE(connection.ok());
    auto store =
        createMetadataStore(*connection, TransferEngineOptions(), testing::processSecret());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    store_ = std::move(store).value();
    prefix_ = "mooncake/contract-" + std::to_string(::getpid()) + "/";
  }
  std::unique_ptr<MetadataStore> store_;
  std::string prefix_;
};

TEST_P(MetadataStoreContractTest, PutGetOverwriteRemove) {
  std::string key = prefix_ + "ram/node a?&=";
  auto missing = store_->get(key);
  ASSERT_TRUE(missing.ok()) << missing.status().toString();
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(store_->put(key, R"({"v":1})").ok());
  EXPECT_EQ(**store_->get(key), R"({"v":1})");
  ASSERT_TRUE(store_->put(key, R"({"v":2})").ok());
  EXPECT_EQ(**store_->get(key), R"({"v":2})");
  ASSERT_TRUE(store_->remove(key).ok());
  EXPECT_FALSE(store_->get(key)->has_value());
  EXPECT_TRUE(store_->remove(key).ok());  // absent is fine
}

TEST_P(MetadataStoreContractTest, StoresLargeValuesExactly) {
  std::string value(512 * 1024, 'x');
  for (size_t i = 0; i < value.size(); i += 7) value[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->put(prefix_ + "big", value).ok());
  EXPECT_EQ(**store_->get(prefix_ + "big"), value);
  ASSERT_TRUE(store_->remove(prefix_ + "big").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, MetadataStoreContractTest,
                         ::testing::Values(Backend::kHttp, Backend::kEtcd, Backend::kRedis),
                         [](const auto& info) { return testing::backendName(info.param); });

TEST(EtcdMetadataStoreTest, UnreachableEtcdSaysErrorFromEtcdClientWithEndpoint) {
  uint16_t port = testing::freeLoopbackPort();
  std::string endpoint = "127.0.0.1:" + std::to_string(port);
  auto start = std::chrono::steady_clock::now();
  TransferEngine engine;
  Status status = engine.init("etcd://" + endpoint, "lonely", "127.0.0.1");
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(status.is(ErrorCode::ERR_METADATA));
  EXPECT_EQ(status.message().rfind("Error from etcd client", 0), 0u) << status.message();
  EXPECT_NE(status.message().find(endpoint), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(EtcdMetadataStoreTest, FailsOverToTheNextEndpoint) {
  std::string live = testing::metadataServerFor(Backend::kEtcd);
  ASSERT_FALSE(live.empty());
  std::string dead = "127.0.0.1:" + std::to_string(testing::freeLoopbackPort());
  auto store = EtcdMetadataStore::connect({dead, live.substr(7)}, 10);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  ASSERT_TRUE((*store)->put("mooncake/failover-test", "1").ok());
  EXPECT_EQ(**(*store)->get("mooncake/failover-test"), "1");
}

TEST(EtcdMetadataStoreTest, CrashedNodeKeysVanishWithItsLease) {
  std::string server = testing::metadataServerFor(Backend::kEtcd);
  ASSERT_FALSE(server.empty());
  std::string name = "crasher-" + std::to_string(::getpid());
  auto peer = testing::startEnginePeer(server, name, 1 << 20, {"MC_METADATA_LEASE_TTL=2"});
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  auto reader = EtcdMetadataStore::connect({server.substr(7)}, 10);
  ASSERT_TRUE(reader.ok());
  std::string key = segmentKey(metadataKeyPrefix(""), name);
  ASSERT_TRUE((*reader)->get(key)->has_value());
  ASSERT_TRUE((*reader)->get(rpcMetaKey(metadataKeyPrefix(""), name))->has_value());
  peer.process->signal(SIGKILL);
  EXPECT_TRUE(
      testing::waitFor([&] { return !(*reader)->get(key)->has_value(); }, std::chrono::seconds(20)))
      << "the crashed node's descriptor outlived its lease";
  EXPECT_FALSE((*reader)->get(rpcMetaKey(metadataKeyPrefix(""), name))->has_value());
}

TEST(EtcdMetadataStoreTest, CleanShutdownRemovesKeysAtOnce) {
  std::string server = testing::metadataServerFor(Backend::kEtcd);
  ASSERT_FALSE(server.empty());
  std::string name = "leaver-" + std::to_string(::getpid());
  {
    TransferEngine engine;
    ASSERT_TRUE(engine.init(server, name, "127.0.0.1").ok());
  }
  auto reader = EtcdMetadataStore::connect({server.substr(7)}, 10);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE((*reader)->get(segmentKey(metadataKeyPrefix(""), name))->has_value());
}

}  // namespace
}  // namespace mooncake::te
