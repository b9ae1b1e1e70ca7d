#include "common/net/socket.h"

#include <gtest/gtest.h>

namespace mooncake::net {
namespace {

TEST(SocketTest, ParsesHostPortForms) {
  auto plain = parseHostPort("node1:15001", 12001);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "node1");
  EXPECT_EQ(plain->port, 15001);
  auto no_port = parseHostPort("node1", 12001);
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->port, 12001);
  auto v6 = parseHostPort("[::1]:80", 0);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->toString(), "[::1]:80");
  EXPECT_FALSE(parseHostPort("node1:99999", 0).ok());
  EXPECT_FALSE(parseHostPort(":80", 0).ok());
  EXPECT_FALSE(parseHostPort("[::1", 0).ok());
}

TEST(SocketTest, PortInUseSaysBindAddressAlreadyInUse) {
  auto first = listenTcp("127.0.0.1", 0, 16);
  ASSERT_TRUE(first.ok());
  uint16_t port = *boundPort(first->get());
  auto second = listenTcp("127.0.0.1", port, 16);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().is(ErrorCode::ERR_SOCKET));
  EXPECT_NE(second.status().message().find("bind address already in use"), std::string::npos);
  EXPECT_NE(second.status().message().find(std::to_string(port)), std::string::npos);
}

TEST(SocketTest, RefusedConnectNamesAddress) {
  uint16_t port;
  {
    auto listener = listenTcp("127.0.0.1", 0, 1);
    ASSERT_TRUE(listener.ok());
    port = *boundPort(listener->get());
  }
  auto fd = connectTcp({"127.0.0.1", port}, std::chrono::milliseconds(1000));
  ASSERT_FALSE(fd.ok());
  EXPECT_TRUE(fd.status().is(ErrorCode::ERR_SOCKET));
  EXPECT_NE(fd.status().message().find("connection refused"), std::string::npos);
  EXPECT_NE(fd.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(SocketTest, ClassifiesLoopbackAndUnresolvableHosts) {
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(isLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(isLoopbackHost("localhost"));
  EXPECT_FALSE(isLoopbackHost("10.0.0.1"));
  Status status = checkResolvable("no-such-host.invalid");
  EXPECT_TRUE(status.is(ErrorCode::ERR_DNS));
  EXPECT_NE(status.message().find("no-such-host.invalid"), std::string::npos);
}

}  // namespace
}  // namespace mooncake::net
