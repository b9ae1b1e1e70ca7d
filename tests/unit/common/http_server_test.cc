// net::HttpServer: routing, keep-alive, query decoding, 100-continue, the refusals (oversized,
// chunked, malformed), and clients that are slow or idle, with real sockets on loopback.
#include "common/net/http_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "support/test_certificate.h"

namespace mooncake::net {
namespace {

using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(options);
    server_->route(
        "GET", "/echo", [](const HttpServerRequest& request, HttpServerResponse& response) {
          response.set(request.param("key") + "|" + request.param("other"), "text/plain");
        });
    server_->route("PUT", "/echo",
                   [](const HttpServerRequest& request, HttpServerResponse& response) {
                     response.set(std::string(request.body), "application/json");
                   });
    ASSERT_TRUE(server_->start("127.0.0.1", 0, "test").ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  UniqueFd connect() {
    auto fd = connectTcp({"127.0.0.1", server_->port()}, 2s);
    EXPECT_TRUE(fd.ok());
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }

  // Sends raw bytes and reads until the peer closes or `limit` passes.
  static std::string exchange(int fd, const std::string& bytes, std::chrono::milliseconds limit) {
    if (!bytes.empty() && !sendAll(fd, bytes.data(), bytes.size()).ok()) return "";
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      struct pollfd p {
        fd, POLLIN, 0
      };
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(HttpServerTest, ServesRoutesWithDecodedQueriesBodiesAndKeepAlive) {
  start();
  HttpClient client;  // keeps its connection alive between calls
  for (int i = 0; i < 3; ++i) {
    auto got = client.send("GET", base_ + "/echo?key=a%2Fb%20c&other=x+y", "", 2s, 2s);
    ASSERT_TRUE(got.ok()) << got.status().toString();
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->body, "a/b c|x y");
  }
  std::string value(300000, 'v');  // large enough for clients to ask for 100-continue
  auto put = client.send("PUT", base_ + "/echo", value, 5s, 2s);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->body, value);
  EXPECT_EQ(client.send("GET", base_ + "/nowhere", "", 2s, 2s)->status, 404);
  EXPECT_EQ(client.send("DELETE", base_ + "/echo", "", 2s, 2s)->status, 405);
}

TEST_F(HttpServerTest, AnswersExpectContinueThenReadsTheBody) {
  start();
  UniqueFd fd = connect();
  std::string head =
      "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
  std::string interim = exchange(fd.get(), head, 500ms);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  std::string answer = exchange(fd.get(), "hello", 500ms);
  EXPECT_NE(answer.find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(answer.find("\r\n\r\nhello"), std::string::npos);
}

TEST_F(HttpServerTest, RefusesOversizedChunkedAndMalformedRequestsAndCloses) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  start(options);
  {
    UniqueFd fd = connect();  // the body is never sent: refused from the head
    std::string answer =
        exchange(fd.get(), "PUT /echo HTTP/1.1\r\nContent-Length: 209715200\r\n\r\n", 2s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  }
  {
    UniqueFd fd = connect();
    std::string answer =
        exchange(fd.get(), "PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n", 2s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 411", 0), 0u) << answer;
  }
  {
    UniqueFd fd = connect();
    std::string answer = exchange(fd.get(), "NONSENSE\r\n\r\n", 2s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  }
  {
    UniqueFd fd = connect();
    std::string answer =
        exchange(fd.get(), "GET /echo HTTP/1.1\r\nX: " + std::string(20000, 'h'), 2s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 40);
  }
}

TEST_F(HttpServerTest, SlowAndIdleClientsDoNotStopTheServer) {
  HttpServerOptions options;
  options.request_deadline = 1s;
  start(options);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(connect());
  std::vector<UniqueFd> dripping;
  for (int i = 0; i < 16; ++i) dripping.push_back(connect());
  const std::string request = "GET /echo?key=k HTTP/1.1\r\nHost: x\r\n\r\n";
  HttpClient client;
  for (size_t i = 0; i < 12; ++i) {
    for (auto& fd : dripping) (void)::send(fd.get(), &request[i], 1, MSG_NOSIGNAL);
    auto got = client.send("GET", base_ + "/echo?key=ok", "", 1s, 1s);
    ASSERT_TRUE(got.ok()) << i << ": " << got.status().toString();
    EXPECT_EQ(got->body, "ok|");
    std::this_thread::sleep_for(150ms);  // the drip's pace: a byte per 150 ms
  }
  // Each dripping connection was cut off once its request ran past the deadline.
  for (auto& fd : dripping) {
    std::string rest = exchange(fd.get(), "", 2s);
    EXPECT_EQ(rest.find("200 OK"), std::string::npos);
  }
  EXPECT_GE(server_->server()->timedOut(), 16u);
}

}  // namespace
}  // namespace mooncake::net

namespace mooncake::net {
namespace {

using namespace std::chrono_literals;

// A self-signed certificate for 127.0.0.1 (support/test_certificate.h) in a fresh directory.
struct TestCertificate {
  TestCertificate() {
    char pattern[] = "/tmp/mc_tls_XXXXXX";
    dir = ::mkdtemp(pattern) != nullptr ? pattern : "";
    ok = !dir.empty() && testing::makeTestCertificate(dir, &made);
    cert = made.cert;
    key = made.key;
  }
  ~TestCertificate() {
    if (!dir.empty()) (void)std::system(("rm -rf " + dir).c_str());
  }
  testing::TestCertificate made;
  std::string dir, cert, key;
  bool ok = false;
};

TEST(HttpServerTlsTest, ServesHttpsToClientsThatTrustItAndNothingElse) {
  TestCertificate certificate;
  ASSERT_TRUE(certificate.ok) << "openssl could not make a test certificate";
  auto tls = TlsContext::server(certificate.cert, certificate.key);
  ASSERT_TRUE(tls.ok()) << tls.status().toString();
  HttpServerOptions options;
  options.tls = *tls;
  HttpServer server(options);
  server.route("PUT", "/echo", [](const HttpServerRequest& request, HttpServerResponse& response) {
    response.set(std::string(request.body), "application/octet-stream");
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0, "test").ok());
  const std::string https = "https://127.0.0.1:" + std::to_string(server.port()) + "/echo";

  ::setenv("MC_TLS_CA_FILE", certificate.cert.c_str(), 1);
  HttpClient trusting;
  ::unsetenv("MC_TLS_CA_FILE");
  std::string body(3 << 20, '\0');  // several TLS records each way
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 31 + 7);
  for (int round = 0; round < 3; ++round) {  // a kept-alive connection, several requests
    auto answer = trusting.send("PUT", https, body, 10s, 2s);
    ASSERT_TRUE(answer.ok()) << answer.status().toString();
    EXPECT_EQ(answer->status, 200);
    EXPECT_TRUE(answer->body == body);
  }
  HttpClient untrusting;  // the system's CAs do not know this certificate
  EXPECT_FALSE(untrusting.send("PUT", https, "x", 5s, 2s).ok());
  auto plain = untrusting.send("PUT", "http://127.0.0.1:" + std::to_string(server.port()) + "/echo",
                               "x", 5s, 2s);
  EXPECT_TRUE(!plain.ok() || plain->status != 200);
  // Still serving after both.
  auto again = trusting.send("PUT", https, "after", 5s, 2s);
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_EQ(again->body, "after");
}

}  // namespace
}  // namespace mooncake::net
