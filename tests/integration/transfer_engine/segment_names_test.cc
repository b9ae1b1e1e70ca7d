// With a metadata service a segment name is only a name: any string, advertised at
// MC_TCP_BIND_ADDRESS (or the name's host when it is an address, else the host's first
// non-loopback address), on a free rpc port unless MC_LEGACY_RPC_PORT_BINDING.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/auth.h"
#include "support/backends.h"
#include "support/process.h"
#include "support/servers.h"

namespace mooncake {
namespace {

TransferEngineOptions loopbackOptions() {
  TransferEngineOptions options;
  options.tcp_bind_address = "127.0.0.1";  // tests stay on loopback
  return options;
}

nlohmann::json rpcMetaOf(const std::string& metadata, const std::string& name) {
  auto reply = testing::httpCall(
      "GET", metadata + "?key=" + net::HttpClient::urlEncode("mooncake/rpc_meta/" + name));
  if (!reply.ok() || reply->status != 200) return nullptr;
  return nlohmann::json::parse(reply->body, nullptr, false);
}

TEST(SegmentNamesTest, AnyStringIsANameAndTheRpcPortIsFree) {
  const std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const uint16_t written_port = testing::freeLoopbackPort();
  const std::string suffix = std::to_string(written_port);
  // Two engines whose names carry the same port: neither binds it, both start.
  TransferEngine first(loopbackOptions());
  TransferEngine second(loopbackOptions());
  ASSERT_TRUE(first.init(metadata, "prefill-a:" + suffix).ok());
  ASSERT_TRUE(second.init(metadata, "prefill-b:" + suffix).ok());
  EXPECT_EQ(first.getLocalSegmentName(), "prefill-a:" + suffix);
  EXPECT_NE(first.getRpcPort(), written_port);
  EXPECT_NE(second.getRpcPort(), written_port);
  EXPECT_TRUE(testing::portAccepts(written_port) == false);
  // Names that are not host:port at all.
  TransferEngine plain(loopbackOptions());
  ASSERT_TRUE(plain.init(metadata, "decode/node 7:rank:0").ok());
  auto meta = rpcMetaOf(metadata, "decode/node 7:rank:0");
  ASSERT_TRUE(meta.is_object());
  EXPECT_EQ(meta["ip_or_host_name"], "127.0.0.1");
  EXPECT_EQ(meta["rpc_port"], plain.getRpcPort());
  // And they move bytes like any other segment.
  std::vector<char> source(4096, 'n'), target(4096, 0);
  ASSERT_TRUE(first.registerLocalMemory(source.data(), source.size()).ok());
  ASSERT_TRUE(plain.registerLocalMemory(target.data(), target.size()).ok());
  auto handle = first.openSegment("decode/node 7:rank:0");
  ASSERT_TRUE(handle.ok()) << handle.status().toString();
  auto batch = first.allocateBatchID(1);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(first
                  .submitTransfer(*batch, {{TransferRequest::WRITE, source.data(), *handle,
                                            reinterpret_cast<uint64_t>(target.data()), 4096, 0}})
                  .ok());
  TransferStatus status;
  ASSERT_TRUE(first.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
  EXPECT_EQ(status.s, COMPLETED);
  EXPECT_TRUE(first.freeBatchID(*batch).ok());
  EXPECT_EQ(target[4095], 'n');
}

TEST(SegmentNamesTest, TheSameNameTwiceIsRefusedByName) {
  const std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const std::string name = "localhost:" + std::to_string(testing::freeLoopbackPort());
  TransferEngine first(loopbackOptions());
  ASSERT_TRUE(first.init(metadata, name).ok());
  TransferEngine second(loopbackOptions());
  Status refused = second.init(metadata, name);
  EXPECT_TRUE(refused.is(ErrorCode::ERR_INVALID_ARGUMENT)) << refused.toString();
  EXPECT_NE(refused.message().find("already used by a live node"), std::string::npos);
}

TEST(SegmentNamesTest, LegacyBindingListensOnThePortInTheName) {
  const std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const uint16_t port = testing::freeLoopbackPort();
  TransferEngineOptions options = loopbackOptions();
  options.legacy_rpc_port_binding = true;
  TransferEngine engine(options);
  ASSERT_TRUE(engine.init(metadata, "legacy:" + std::to_string(port)).ok());
  EXPECT_EQ(engine.getRpcPort(), port);
  // P2PHANDSHAKE keeps binding the name's port (the name is the address there).
  const uint16_t p2p_port = testing::freeLoopbackPort();
  TransferEngine p2p(loopbackOptions());
  ASSERT_TRUE(p2p.init("P2PHANDSHAKE", "127.0.0.1:" + std::to_string(p2p_port)).ok());
  EXPECT_EQ(p2p.getRpcPort(), p2p_port);
}

// Without MC_TCP_BIND_ADDRESS a plain name advertises the host's first non-loopback address
// (checked in the metadata only: no traffic goes there).
TEST(SegmentNamesTest, APlainNameAdvertisesTheFirstNonLoopbackAddress) {
  const std::string metadata = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(metadata.empty());
  const std::string lan = net::firstNonLoopbackIPv4();
  if (lan.empty()) GTEST_SKIP() << "this host has no non-loopback IPv4 address";
  TransferEngineOptions options;  // no tcp_bind_address
  TransferEngine engine(options);
  const std::string name = "plain-" + std::to_string(testing::freeLoopbackPort());
  ASSERT_TRUE(engine.init(metadata, name).ok());
  auto meta = rpcMetaOf(metadata, name);
  ASSERT_TRUE(meta.is_object());
  EXPECT_EQ(meta["ip_or_host_name"], lan);
  // A name whose host is an address advertises that address.
  TransferEngine addressed(options);
  ASSERT_TRUE(
      addressed.init(metadata, "127.0.0.1:" + std::to_string(testing::freeLoopbackPort())).ok());
  auto addressed_meta = rpcMetaOf(metadata, addressed.getLocalSegmentName());
  ASSERT_TRUE(addressed_meta.is_object());
  EXPECT_EQ(addressed_meta["ip_or_host_name"], "127.0.0.1");
}

}  // namespace
}  // namespace mooncake
