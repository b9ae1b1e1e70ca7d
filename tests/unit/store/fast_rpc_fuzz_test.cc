// Random frames at the master's fast RPC listener for MC_FUZZ_SECONDS (30 by default; the seed
// is printed, MC_FUZZ_SEED replays it): valid headers with every method number (and beyond)
// carrying random or mutated protobuf payloads, and raw garbage. The master must keep answering
// and stay consistent. Run under ASan in the sanitizer configuration.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/net/socket.h"
#include "master.pb.h"
#include "store/proto/fast_rpc_frame.h"
#include "store/proto/fast_rpc_server.h"
#include "support/fuzz.h"

namespace mooncake::store {
namespace {

using Clock = std::chrono::steady_clock;

// A few well-formed requests to mutate (so the parser gets past the first bytes).
std::vector<std::string> seedPayloads() {
  std::vector<std::string> out;
  proto::KeyRequest key;
  key.set_client_id("fuzz");
  key.set_key("k");
  out.push_back(key.SerializeAsString());
  proto::KeysRequest keys;
  keys.set_client_id("fuzz");
  for (int i = 0; i < 4; ++i) keys.add_keys("k" + std::to_string(i));
  out.push_back(keys.SerializeAsString());
  proto::PutStartRequest put;
  put.set_client_id("fuzz");
  put.set_key("k");
  put.set_size(4096);
  out.push_back(put.SerializeAsString());
  proto::RegexRequest regex;
  regex.set_pattern("^k");
  out.push_back(regex.SerializeAsString());
  return out;
}

TEST(FastRpcFuzzTest, RandomFramesNeverTakeTheMasterDown) {
  auto random = testing::fuzzRandom("fast rpc");
  MasterService service{MasterOptions{}};
  ASSERT_TRUE(service.mountSegment("holder", {"seg", 0x100000, 64 << 20, "seg:1"}).ok());
  FastRpcServer server(service, nullptr);
  ASSERT_TRUE(server.start("127.0.0.1", 0).ok());
  const net::HostPort address{"127.0.0.1", server.port()};
  const auto seeds = seedPayloads();
  const uint32_t methods =
      static_cast<uint32_t>(fast_rpc::MethodId::kBatchReplicaClear) + 3;  // and unknown ones
  net::UniqueFd fd;
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t frames = 0;
  while (Clock::now() < until) {
    if (!fd.valid()) {
      auto connected = net::connectTcp(address, std::chrono::seconds(2));
      ASSERT_TRUE(connected.ok()) << connected.status().toString();
      fd = std::move(connected).value();
      net::setReceiveTimeout(fd.get(), std::chrono::milliseconds(20));
    }
    std::string payload = random() % 3 == 0
                              ? std::string(random() % 256, static_cast<char>(random()))
                              : testing::mutate(seeds[random() % seeds.size()], random);
    fast_rpc::FrameHeader header{static_cast<uint32_t>(payload.size()),
                                 static_cast<uint32_t>(random() % methods), frames};
    std::string frame(reinterpret_cast<const char*>(&header), sizeof(header));
    frame += payload;
    if (random() % 20 == 0) frame = testing::mutate(frame, random);  // a broken header too
    ++frames;
    if (!net::sendAll(fd.get(), frame.data(), frame.size()).ok()) {
      fd.reset();
      continue;
    }
    fast_rpc::FrameHeader answer;
    if (!net::recvAll(fd.get(), &answer, sizeof(answer)).ok() ||
        answer.payload_length > fast_rpc::kMaxPayload) {
      fd.reset();  // closed on a bad frame, or out of step after one: start anew
      continue;
    }
    std::string body(answer.payload_length, '\0');
    if (!net::recvAll(fd.get(), body.data(), body.size()).ok()) fd.reset();
  }
  // Still serving, and the object map still answers sanely.
  auto connected = net::connectTcp(address, std::chrono::seconds(2));
  ASSERT_TRUE(connected.ok());
  fast_rpc::FrameHeader ready{0, static_cast<uint32_t>(fast_rpc::MethodId::kServiceReady), 1};
  ASSERT_TRUE(net::sendAll(connected->get(), &ready, sizeof(ready)).ok());
  fast_rpc::FrameHeader answer;
  ASSERT_TRUE(net::recvAll(connected->get(), &answer, sizeof(answer)).ok());
  EXPECT_EQ(answer.code, fast_rpc::kOk);
  (void)service.removeAll(true);
  std::printf("fast rpc: %llu frames\n", static_cast<unsigned long long>(frames));
  server.stop();
}

}  // namespace
}  // namespace mooncake::store
