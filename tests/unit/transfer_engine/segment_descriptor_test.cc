#include "transfer_engine/metadata/segment_descriptor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mooncake::te {
namespace {

TEST(SegmentDescriptorTest, RoundTripsUpstreamTcpShape) {
  SegmentDescriptor in;
  in.name = "node-a";
  in.tcp_data_port = 15123;
  in.timestamp = descriptorTimestamp();
  in.buffers = {{"cpu:0", 0x7f0000000000, 1 << 20}, {"cpu:1", 0x7f0000200000, 4096}};
  std::string json = encodeSegmentDescriptor(in);
  auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["protocol"], "tcp");
  EXPECT_EQ(parsed["tcp_proto_version"], 2);
  EXPECT_EQ(parsed["buffers"][0]["name"], "cpu:0");
  auto out = decodeSegmentDescriptor(json);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_TRUE(out->sameContent(in));
}

TEST(SegmentDescriptorTest, SameHostDirectOfferRoundTripsAndIsOptional) {
  SegmentDescriptor in;
  in.name = "node-a";
  in.buffers = {{"cpu:0", 0x7f0000000000, 1 << 20}};
  EXPECT_FALSE(nlohmann::json::parse(encodeSegmentDescriptor(in)).contains("same_host_direct"));
  in.host_instance = "boot-1/pid:[4026531836]";
  in.pid = 4242;
  in.pid_start = 987654;
  std::string json = encodeSegmentDescriptor(in);
  auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["same_host_direct"]["pid"], 4242);
  auto out = decodeSegmentDescriptor(json);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_EQ(out->host_instance, in.host_instance);
  EXPECT_EQ(out->pid, 4242);
  EXPECT_EQ(out->pid_start, 987654u);
  EXPECT_TRUE(out->sameContent(in));
  auto bad = decodeSegmentDescriptor(
      R"({"name":"a","protocol":"tcp","buffers":[],"same_host_direct":{"pid":1}})");
  EXPECT_TRUE(bad.status().is(ErrorCode::ERR_MALFORMED_JSON));
}

TEST(SegmentDescriptorTest, RejectsMalformedDescriptors) {
  for (const char* bad :
       {"not json", "[]", R"({"protocol":"tcp","buffers":[]})", R"({"name":"a","protocol":"tcp"})",
        R"({"name":"a","protocol":"tcp","buffers":[{"name":"cpu:0","addr":0,"length":1}]})",
        R"({"name":"a","protocol":"tcp","buffers":[{"name":"cpu:0","addr":"x","length":1}]})"}) {
    auto out = decodeSegmentDescriptor(bad);
    EXPECT_TRUE(out.status().is(ErrorCode::ERR_MALFORMED_JSON)) << bad;
  }
}

TEST(SegmentDescriptorTest, ContainsRangeChecksBufferBounds) {
  SegmentDescriptor d;
  d.buffers = {{"cpu:0", 0x1000, 0x1000}, {"cpu:0", 0x3000, 0x1000}};
  EXPECT_TRUE(d.containsRange(0x1000, 0x1000));
  EXPECT_FALSE(d.containsRange(0x1800, 0x1000));
  EXPECT_FALSE(d.containsRange(0x2000, 1));
  EXPECT_TRUE(d.containsRange(0x3fff, 1));
  EXPECT_FALSE(d.containsRange(UINT64_MAX, 2));
}

TEST(SegmentDescriptorTest, KeyLayoutMatchesUpstream) {
  EXPECT_EQ(metadataKeyPrefix(""), "mooncake/");
  EXPECT_EQ(metadataKeyPrefix("prod"), "mooncake/prod/");
  EXPECT_EQ(metadataKeyPrefix("prod/"), "mooncake/prod/");
  EXPECT_EQ(segmentKey("mooncake/", "node-a"), "mooncake/ram/node-a");
  EXPECT_EQ(segmentKey("mooncake/", "nvmeof/disk1"), "mooncake/nvmeof/disk1");
  EXPECT_EQ(rpcMetaKey("mooncake/prod/", "node-a"), "mooncake/prod/rpc_meta/node-a");
}

TEST(SegmentDescriptorTest, RpcMetaRoundTrips) {
  std::string json = encodeRpcMeta({"10.0.0.5", 15001});
  EXPECT_EQ(nlohmann::json::parse(json)["ip_or_host_name"], "10.0.0.5");
  auto meta = decodeRpcMeta(json);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->rpc_port, 15001);
  EXPECT_TRUE(decodeRpcMeta(R"({"rpc_port":1})").status().is(ErrorCode::ERR_MALFORMED_JSON));
}

}  // namespace
}  // namespace mooncake::te
