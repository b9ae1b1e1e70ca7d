#include <gtest/gtest.h>

#include "transfer_engine/metadata/metadata_store.h"

namespace mooncake::te {
namespace {

TEST(MetadataConnectionTest, ClassifiesEveryForm) {
  EXPECT_EQ(parseMetadataConnection("P2PHANDSHAKE")->backend, MetadataBackend::kP2PHandshake);
  auto http = parseMetadataConnection("http://127.0.0.1:8080/metadata");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->backend, MetadataBackend::kHttp);
  EXPECT_EQ(http->url, "http://127.0.0.1:8080/metadata");
  auto etcd = parseMetadataConnection("etcd://h1:2379,h2:2379");
  ASSERT_TRUE(etcd.ok());
  EXPECT_EQ(etcd->backend, MetadataBackend::kEtcd);
  EXPECT_EQ(etcd->endpoints, (std::vector<std::string>{"h1:2379", "h2:2379"}));
  auto bare = parseMetadataConnection("h1:2379");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->backend, MetadataBackend::kEtcd);
  auto redis = parseMetadataConnection("redis://127.0.0.1:6379");
  ASSERT_TRUE(redis.ok());
  EXPECT_EQ(redis->backend, MetadataBackend::kRedis);
  EXPECT_EQ(redis->endpoints.front(), "127.0.0.1:6379");
}

TEST(MetadataConnectionTest, RejectsUnknownSchemesAndEmptyEndpoints) {
  for (const char* bad : {"zk://h:1", "etcd://", ""}) {
    auto parsed = parseMetadataConnection(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("P2PHANDSHAKE"), std::string::npos);
  }
}

}  // namespace
}  // namespace mooncake::te
