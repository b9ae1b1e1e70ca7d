// The master's fast RPC listener against peers that misbehave: a header announcing 64 MiB, a
// byte at a time, idle floods, too many connections. Real sockets on loopback, in process.
#include "store/proto/fast_rpc_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "common/net/socket.h"
#include "store/proto/fast_rpc_frame.h"
#include "support/net_probe.h"

namespace mooncake::store {
namespace {

using namespace std::chrono_literals;

class FastRpcServerTest : public ::testing::Test {
 protected:
  void start(FastRpcLimits limits) {
    server_ = std::make_unique<FastRpcServer>(service_, nullptr, limits);
    ASSERT_TRUE(server_->start("127.0.0.1", 0).ok());
  }

  net::UniqueFd connect() {
    auto fd = net::connectTcp({"127.0.0.1", server_->port()}, 2s);
    EXPECT_TRUE(fd.ok());
    return fd.ok() ? std::move(fd).value() : net::UniqueFd();
  }

  // ServiceReady (no payload); true when its answer came back within `limit`.
  static bool call(int fd, std::chrono::milliseconds limit) {
    fast_rpc::FrameHeader request{0, static_cast<uint32_t>(fast_rpc::MethodId::kServiceReady), 7};
    if (!net::sendAll(fd, &request, sizeof(request)).ok()) return false;
    struct pollfd p {
      fd, POLLIN, 0
    };
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    fast_rpc::FrameHeader response;
    if (!net::recvAll(fd, &response, sizeof(response)).ok()) return false;
    std::string payload(response.payload_length, '\0');
    return net::recvAll(fd, payload.data(), payload.size()).ok() && response.call_id == 7 &&
           response.code == fast_rpc::kOk;
  }

  MasterService service_{MasterOptions{}};
  std::unique_ptr<FastRpcServer> server_;
};

TEST_F(FastRpcServerTest, AHeaderAnnouncing64MiBCostsNoMemory) {
  start({});
  const long before = testing::residentBytes();
  std::vector<net::UniqueFd> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(connect());
    fast_rpc::FrameHeader header{64u << 20, 1, 1};
    std::string start(reinterpret_cast<const char*>(&header), sizeof(header));
    start += "0123456789";
    ASSERT_TRUE(net::sendAll(clients.back().get(), start.data(), start.size()).ok());
  }
  net::UniqueFd good = connect();
  EXPECT_TRUE(call(good.get(), 2s));
  // Watched for a second while the connection threads read: 16 x 64 MiB would be 1 GiB.
  long most = 0;
  for (auto until = std::chrono::steady_clock::now() + 1s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(20ms)) {
    most = std::max(most, testing::residentBytes() - before);
  }
  EXPECT_LT(most, 64l << 20);
}

TEST_F(FastRpcServerTest, ADrippingClientIsCutOffAndOthersKeepBeingServed) {
  FastRpcLimits limits;
  limits.frame_deadline = 1s;
  start(limits);
  net::UniqueFd drip = connect();
  net::UniqueFd good = connect();
  fast_rpc::FrameHeader header{100, 1, 1};
  std::string frame(reinterpret_cast<const char*>(&header), sizeof(header));
  frame += std::string(100, 'x');
  bool cut = false;
  for (size_t i = 0; i < frame.size() && !cut; ++i) {
    cut = ::send(drip.get(), &frame[i], 1, MSG_NOSIGNAL) < 0 ||
          testing::closedWithin(drip.get(), 300ms);
    ASSERT_TRUE(call(good.get(), 500ms)) << i;
  }
  EXPECT_TRUE(cut || testing::closedWithin(drip.get(), 2s));
  EXPECT_GE(server_->timedOut(), 1u);
}

TEST_F(FastRpcServerTest, IdleFloodsDoNotStopOthersAndIdleConnectionsAreClosed) {
  FastRpcLimits limits;
  limits.idle_timeout = 1500ms;
  start(limits);
  std::vector<net::UniqueFd> idle;
  for (int i = 0; i < 500; ++i) idle.push_back(connect());
  net::UniqueFd good = connect();
  // Its connection thread may come after the flood's (slow under sanitizers); then every call
  // is answered while the idle ones sit there.
  ASSERT_TRUE(call(good.get(), 20s));
  bool closed = false;
  for (int round = 0; round < 25 && !closed; ++round) {
    ASSERT_TRUE(call(good.get(), 1s));
    closed = testing::closedWithin(idle.front().get(), 200ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(testing::closedWithin(idle.back().get(), 2s));
  EXPECT_TRUE(call(good.get(), 500ms));
}

TEST_F(FastRpcServerTest, ConnectionsBeyondTheCapAreRefused) {
  FastRpcLimits limits;
  limits.max_connections = 4;
  start(limits);
  std::vector<net::UniqueFd> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect());
  for (auto& fd : held) ASSERT_TRUE(call(fd.get(), 1s));
  net::UniqueFd extra = connect();
  EXPECT_TRUE(testing::closedWithin(extra.get(), 2s));
  EXPECT_EQ(server_->refused(), 1u);
}

}  // namespace
}  // namespace mooncake::store
