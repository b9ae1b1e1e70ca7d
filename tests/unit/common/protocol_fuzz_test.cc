// Random and mutated input, for MC_FUZZ_SECONDS each (tests/support/fuzz.h), against the
// project's own HTTP request parser (behind the session authentication) and the authentication
// decoders: the server keeps answering well-formed requests, nothing forged ever authenticates.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/auth/session_auth.h"
#include "common/auth/stream_auth.h"
#include "common/net/http_client.h"
#include "common/net/http_server.h"
#include "common/net/socket.h"
#include "support/fuzz.h"

namespace mooncake {
namespace {

using Clock = std::chrono::steady_clock;

auth::SecretRef fuzzSecret() { return *auth::Secret::fromText("fuzz-cluster-secret-0001", "t"); }

TEST(ProtocolFuzzTest, HttpRequestsNeverTakeTheServerDown) {
  auto random = testing::fuzzRandom("http");
  net::HttpServerOptions options;
  options.auth = fuzzSecret();
  options.open_paths = {"/health"};
  net::HttpServer server(options);
  server.route("PUT", "/metadata",
               [](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
                 response.set(std::string(request.body), "text/plain");
               });
  server.route("GET", "/health", [](const net::HttpServerRequest&, net::HttpServerResponse& r) {
    r.set("OK", "text/plain");
  });
  ASSERT_TRUE(server.start("127.0.0.1", 0, "fuzz").ok());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/metadata?key=k";
  // A real credential, so mutations of it reach the session table.
  net::HttpClient client;
  auth::SessionCredential credential(options.auth, "http");
  auto answer = client.sendAuthenticated("PUT", url, "{}", std::chrono::seconds(2),
                                         std::chrono::seconds(2), credential);
  ASSERT_TRUE(answer.ok() && answer->status == 200);
  const std::string valid[] = {
      "PUT /metadata?key=a%20b HTTP/1.1\r\nHost: x\r\nAuthorization: " + credential.current() +
          "\r\nContent-Length: 2\r\n\r\n{}",
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
      "PUT /metadata?key=k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
      "GET /metadata?key=%zz&&=&a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"};
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t sent = 0;
  while (Clock::now() < until) {
    std::string request = random() % 5 == 0
                              ? std::string(random() % 512, static_cast<char>(random()))
                              : testing::mutate(valid[random() % 4], random);
    auto fd = net::connectTcp({"127.0.0.1", server.port()}, std::chrono::seconds(2));
    ASSERT_TRUE(fd.ok());
    struct linger reset {
      1, 0
    };
    ::setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    (void)::send(fd->get(), request.data(), request.size(), MSG_NOSIGNAL);
    net::setReceiveTimeout(fd->get(), std::chrono::milliseconds(2));
    char sink[4096];
    (void)::recv(fd->get(), sink, sizeof(sink), 0);
    if (++sent % 200 == 0) {
      answer = client.sendAuthenticated("PUT", url, "{}", std::chrono::seconds(2),
                                        std::chrono::seconds(2), credential);
      ASSERT_TRUE(answer.ok() && answer->status == 200) << "after " << sent << " requests";
    }
  }
  std::printf("http: %llu requests\n", static_cast<unsigned long long>(sent));
}

TEST(ProtocolFuzzTest, NoForgedHandshakeOrCredentialAuthenticates) {
  auto random = testing::fuzzRandom("auth");
  auto secret = fuzzSecret();
  auth::SessionVerifier verifier(secret, "http", auth::Listener::kHttpMetadata);
  auth::SessionCredential credential(secret, "http");
  ASSERT_TRUE(credential.answer(verifier.challenge()));
  const std::string good = credential.current();
  ASSERT_TRUE(verifier.verify(good));
  // A client hello and proof of the right shape, to mutate.
  std::string client_bytes = std::string(auth::kHelloMagic) + std::string(16, 'c');
  const auto until = Clock::now() + testing::fuzzDuration();
  uint64_t tried = 0;
  while (Clock::now() < until) {
    for (int i = 0; i < 200; ++i, ++tried) {
      std::string forged = testing::mutate(good, random);
      if (forged != good) {
        ASSERT_FALSE(verifier.verify(forged)) << forged;
      }
      auth::ServerHandshake server(secret, "t");
      std::string stream = random() % 3 == 0
                               ? std::string(random() % 96, char(random()))
                               : testing::mutate(client_bytes + std::string(32, 'p'), random);
      size_t consumed = 0;
      std::string out;
      auto state = server.feed(stream, &consumed, &out);
      ASSERT_NE(state, auth::ServerHandshake::State::kDone);
      ASSERT_LE(consumed, stream.size());
    }
  }
  EXPECT_TRUE(verifier.verify(good));  // the genuine one still works
  std::printf("auth: %llu forgeries\n", static_cast<unsigned long long>(tried));
}

}  // namespace
}  // namespace mooncake
