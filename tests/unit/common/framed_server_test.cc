// FramedServer against clients that misbehave (a byte at a time, idle, huge announced frames,
// garbage, too many), on loopback with a small echo protocol (uint32 length + payload).
#include "common/net/framed_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include "common/net/socket.h"
#include "support/net_probe.h"

namespace mooncake::net {
namespace {

using namespace std::chrono_literals;

FrameScan echoScan(std::string_view received) {
  if (received.size() < 4) return FrameScan::needMore(4);
  uint32_t length = 0;
  std::memcpy(&length, received.data(), 4);
  if (length == 0xffffffffu) return FrameScan::invalid("garbage");
  return FrameScan::complete(4 + size_t{length});
}

std::string frameOf(const std::string& payload) {
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::string frame(reinterpret_cast<const char*>(&length), 4);
  return frame + payload;
}

class FramedServerTest : public ::testing::Test {
 protected:
  void start(FramedServerOptions options) {
    auto fd = listenTcp("127.0.0.1", 0, 1024);
    ASSERT_TRUE(fd.ok());
    port_ = *boundPort(fd->get());
    server_ = std::make_unique<FramedServer>(options, echoScan, [](std::string_view frame) {
      return FrameReply{std::string(frame), false};
    });
    ASSERT_TRUE(server_->start(std::move(fd).value()).ok());
  }

  UniqueFd connect() {
    auto fd = connectTcp({"127.0.0.1", port_}, 2s);
    EXPECT_TRUE(fd.ok());
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }

  // One echo call; "" when no whole answer came within `limit` (or the server closed).
  static std::string call(int fd, const std::string& payload, std::chrono::milliseconds limit) {
    std::string frame = frameOf(payload);
    if (!sendAll(fd, frame.data(), frame.size()).ok()) return "";
    std::string answer;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (answer.size() < frame.size()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      struct pollfd p {
        fd, POLLIN, 0
      };
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char buffer[65536];
      ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) return "";
      answer.append(buffer, static_cast<size_t>(got));
    }
    return answer == frame ? payload : "";
  }

  uint16_t port_ = 0;
  std::unique_ptr<FramedServer> server_;
};

TEST_F(FramedServerTest, EchoesFramesIncludingPipelinedAndLargeOnes) {
  start({});
  UniqueFd fd = connect();
  EXPECT_EQ(call(fd.get(), "hello", 2s), "hello");
  std::string both = frameOf("a") + frameOf("bc");
  ASSERT_TRUE(sendAll(fd.get(), both.data(), both.size()).ok());
  std::string expected = both;
  std::string answer(expected.size(), '\0');
  ASSERT_TRUE(recvAll(fd.get(), answer.data(), answer.size()).ok());
  EXPECT_EQ(answer, expected);
  std::string large(3 << 20, 'x');
  for (size_t i = 0; i < large.size(); i += 4093) large[i] = static_cast<char>(i);
  EXPECT_EQ(call(fd.get(), large, 10s), large);
}

TEST_F(FramedServerTest, ADrippingClientIsCutOffAndOthersKeepBeingServed) {
  FramedServerOptions options;
  options.frame_deadline = 1s;
  start(options);
  UniqueFd drip = connect();
  UniqueFd good = connect();
  std::string frame = frameOf(std::string(100, 'd'));
  bool cut = false;
  for (size_t i = 0; i < frame.size() && !cut; ++i) {
    cut = ::send(drip.get(), &frame[i], 1, MSG_NOSIGNAL) < 0 ||
          testing::closedWithin(drip.get(), 300ms);
    // Every call of the well-behaved client is answered while the other one drips.
    ASSERT_EQ(call(good.get(), "ping", 500ms), "ping") << i;
  }
  EXPECT_TRUE(cut || testing::closedWithin(drip.get(), 2s));
  EXPECT_GE(server_->timedOut(), 1u);
}

TEST_F(FramedServerTest, ThousandsOfIdleConnectionsCostNoThreadAndAreClosedWhenIdleTooLong) {
  FramedServerOptions options;
  options.idle_timeout = 1500ms;
  start(options);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 2000; ++i) idle.push_back(connect());
  UniqueFd good = connect();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call(good.get(), "still here", 500ms), "still here");
  // Idle ones go after the timeout; the busy one stays.
  bool first_closed = false;
  for (int round = 0; round < 25 && !first_closed; ++round) {
    ASSERT_EQ(call(good.get(), "alive", 500ms), "alive");
    first_closed = testing::closedWithin(idle.front().get(), 200ms);
  }
  EXPECT_TRUE(first_closed);
  // The last one connected up to a second after the first (2,000 connects on a loaded machine):
  // its idle timeout runs out that much later.
  EXPECT_TRUE(testing::closedWithin(idle.back().get(), 3s));
  EXPECT_EQ(call(good.get(), "alive", 500ms), "alive");
}

TEST_F(FramedServerTest, AHugeAnnouncedFrameCostsNoMemoryUntilItsBytesCome) {
  start({});
  const long before = testing::residentBytes();
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(connect());
    uint32_t length = 64u << 20;  // announces 64 MiB, sends 10 bytes of it
    std::string start(reinterpret_cast<const char*>(&length), 4);
    start += "0123456789";
    ASSERT_TRUE(sendAll(clients.back().get(), start.data(), start.size()).ok());
  }
  UniqueFd good = connect();
  EXPECT_EQ(call(good.get(), "x", 2s), "x");                // the server has read them all by now
  EXPECT_LT(testing::residentBytes() - before, 64l << 20);  // 16 x 64 MiB would be 1 GiB
}

TEST_F(FramedServerTest, GarbageClosesTheConnectionAndTheCapRefusesExtraConnections) {
  FramedServerOptions options;
  options.max_connections = 4;
  start(options);
  UniqueFd garbage = connect();
  uint32_t bad = 0xffffffffu;
  ASSERT_TRUE(sendAll(garbage.get(), &bad, sizeof(bad)).ok());
  EXPECT_TRUE(testing::closedWithin(garbage.get(), 2s));
  EXPECT_EQ(server_->invalid(), 1u);
  std::vector<UniqueFd> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect());
  for (auto& fd : held) ASSERT_EQ(call(fd.get(), "in", 1s), "in");
  UniqueFd extra = connect();
  EXPECT_TRUE(testing::closedWithin(extra.get(), 2s));
  EXPECT_EQ(server_->refused(), 1u);
  held.pop_back();  // a slot frees
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    UniqueFd again = connect();
    served = call(again.get(), "again", 200ms) == "again";
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace mooncake::net
