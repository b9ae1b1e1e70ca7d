// The authentication building blocks: secrets, the stream challenge-response on real socket
// pairs (both roles, every mismatch), and session credentials.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/auth/auth_failures.h"
#include "common/auth/secret.h"
#include "common/auth/session_auth.h"
#include "common/auth/stream_auth.h"
#include "common/net/unique_fd.h"

namespace mooncake::auth {
namespace {

SecretRef secretOf(const std::string& text) {
  auto secret = Secret::fromText(text, "test");
  EXPECT_TRUE(secret.ok()) << secret.status().toString();
  return secret.ok() ? *secret : nullptr;
}

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client.reset(fds[0]);
    server.reset(fds[1]);
  }
  net::UniqueFd client;
  net::UniqueFd server;
};

TEST(SecretTest, ShortSecretsAreRefusedWithTheirOrigin) {
  auto secret = Secret::fromText("  short\n", "MC_AUTH_SECRET");
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("MC_AUTH_SECRET"), std::string::npos);
  EXPECT_NE(secret.status().message().find("5 bytes"), std::string::npos);
}

TEST(SecretTest, FileSecretDropsTheTrailingNewline) {
  char path[] = "/tmp/mc_auth_secretXXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "0123456789abcdef0123\n";
  auto from_file = Secret::fromFile(path);
  ::unlink(path);
  ASSERT_TRUE(from_file.ok()) << from_file.status().toString();
  auto from_text = Secret::fromText("0123456789abcdef0123", "text");
  ASSERT_TRUE(from_text.ok());
  EXPECT_EQ((*from_file)->mac({"a", "b"}), (*from_text)->mac({"a", "b"}));
  EXPECT_NE((*from_file)->mac({"a", "b"}), (*from_text)->mac({"ab", ""}));  // length-prefixed
  EXPECT_FALSE(Secret::fromFile("/nonexistent/secret").ok());
}

TEST(SecretTest, ExplicitEmptySecretMeansNone) {
  auto none = resolveSecret(std::string());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

TEST(StreamAuthTest, MatchingSecretsAuthenticateBothWaysAndLeaveTheStreamIntact) {
  SocketPair pair;
  auto secret = secretOf("the-cluster-secret-0001");
  Status server_status;
  std::thread server([&] { server_status = serverHandshake(pair.server.get(), secret, "test"); });
  Status client_status = clientHandshake(pair.client.get(), secret, "test", "peer");
  server.join();
  ASSERT_TRUE(client_status.ok()) << client_status.toString();
  ASSERT_TRUE(server_status.ok()) << server_status.toString();
  // The first request after the exchange arrives untouched.
  ASSERT_EQ(::send(pair.client.get(), "request", 7, 0), 7);
  char buffer[16] = {};
  ASSERT_EQ(::recv(pair.server.get(), buffer, sizeof(buffer), 0), 7);
  EXPECT_EQ(std::string(buffer, 7), "request");
}

TEST(StreamAuthTest, AnotherSecretFailsOnBothSides) {
  SocketPair pair;
  Status server_status;
  std::thread server([&] {
    server_status = serverHandshake(pair.server.get(), secretOf("server-secret-00000001"), "test");
    ::shutdown(pair.server.get(), SHUT_RDWR);
  });
  Status client_status =
      clientHandshake(pair.client.get(), secretOf("client-secret-00000001"), "test", "peer");
  ::shutdown(pair.client.get(), SHUT_RDWR);  // what a caller does with a failed connection
  server.join();
  EXPECT_TRUE(client_status.is(ErrorCode::ERR_REJECT_HANDSHAKE));
  EXPECT_NE(client_status.message().find("another secret"), std::string::npos)
      << client_status.toString();
  EXPECT_FALSE(server_status.ok());
}

TEST(StreamAuthTest, AProofForAnotherPortIsRefused) {
  SocketPair pair;
  auto secret = secretOf("the-cluster-secret-0001");
  Status server_status;
  std::thread server([&] {
    server_status = serverHandshake(pair.server.get(), secret, "te-data");
    ::shutdown(pair.server.get(), SHUT_RDWR);
  });
  Status client_status = clientHandshake(pair.client.get(), secret, "te-handshake", "peer");
  ::shutdown(pair.client.get(), SHUT_RDWR);
  server.join();
  EXPECT_FALSE(client_status.ok());
  EXPECT_FALSE(server_status.ok());
}

TEST(StreamAuthTest, AClientWithoutSecretIsRefusedAtItsFirstByte) {
  SocketPair pair;
  Status server_status;
  std::thread server([&] {
    server_status = serverHandshake(pair.server.get(), secretOf("the-cluster-secret-0001"), "t");
  });
  // A plain request where the hello belongs.
  ASSERT_EQ(::send(pair.client.get(), "\x10\0\0\0\x23\0\0\0", 8, 0), 8);
  server.join();
  ASSERT_FALSE(server_status.ok());
  EXPECT_NE(server_status.message().find("without authenticating"), std::string::npos)
      << server_status.toString();
  // What the client reads is the server's hello, which it can recognise.
  char buffer[kHelloBytes];
  ASSERT_EQ(::recv(pair.client.get(), buffer, sizeof(buffer), MSG_WAITALL),
            static_cast<ssize_t>(kHelloBytes));
  EXPECT_TRUE(looksLikeHello(std::string_view(buffer, sizeof(buffer))));
}

TEST(StreamAuthTest, AServerWithoutSecretMakesTheClientFailFast) {
  SocketPair pair;
  std::thread server([&] {
    char buffer[64];
    (void)::recv(pair.server.get(), buffer, sizeof(buffer), 0);  // reads "garbage", closes
    ::shutdown(pair.server.get(), SHUT_RDWR);
  });
  auto started = std::chrono::steady_clock::now();
  Status client_status =
      clientHandshake(pair.client.get(), secretOf("the-cluster-secret-0001"), "t", "peer");
  server.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  ASSERT_FALSE(client_status.ok());
  EXPECT_NE(client_status.message().find("without MC_AUTH_SECRET"), std::string::npos)
      << client_status.toString();
}

TEST(StreamAuthTest, ASilentPeerTimesOut) {
  SocketPair pair;
  Status server_status = serverHandshake(pair.server.get(), secretOf("the-cluster-secret-0001"),
                                         "t", std::chrono::milliseconds(200));
  EXPECT_NE(server_status.message().find("deadline"), std::string::npos)
      << server_status.toString();
}

TEST(StreamAuthTest, TheStateMachineTakesBytesOneAtATime) {
  auto secret = secretOf("the-cluster-secret-0001");
  SocketPair pair;
  std::thread client(
      [&] { EXPECT_TRUE(clientHandshake(pair.client.get(), secret, "t", "peer").ok()); });
  ServerHandshake handshake(secret, "t");
  ASSERT_EQ(::send(pair.server.get(), handshake.hello().data(), handshake.hello().size(), 0),
            static_cast<ssize_t>(handshake.hello().size()));
  std::string pending;
  auto state = ServerHandshake::State::kNeedMore;
  while (state == ServerHandshake::State::kNeedMore) {
    char byte;
    ASSERT_EQ(::recv(pair.server.get(), &byte, 1, 0), 1);
    pending.push_back(byte);
    size_t consumed = 0;
    std::string out;
    state = handshake.feed(pending, &consumed, &out);
    pending.erase(0, consumed);
    if (!out.empty()) {
      ASSERT_EQ(::send(pair.server.get(), out.data(), out.size(), 0), 32);
    }
  }
  client.join();
  EXPECT_EQ(state, ServerHandshake::State::kDone);
  EXPECT_TRUE(pending.empty());
}

TEST(SessionAuthTest, AnAnsweredChallengeOpensASessionUntilTheServerForgetsIt) {
  auto secret = secretOf("the-cluster-secret-0001");
  SessionVerifier verifier(secret, "http", Listener::kHttpMetadata);
  SessionCredential credential(secret, "http");
  EXPECT_FALSE(verifier.verify(credential.current()));  // nothing yet: the usual first request
  ASSERT_TRUE(credential.answer(verifier.challenge()));
  std::string value = credential.current();
  EXPECT_EQ(value.rfind("Mooncake ", 0), 0u);
  EXPECT_TRUE(verifier.verify(value));
  EXPECT_TRUE(verifier.verify(value));  // a session, not a one-shot
  // A restarted server knows neither the challenge nor the session: refused, not counted.
  uint64_t before = failures(Listener::kHttpMetadata);
  SessionVerifier restarted(secret, "http", Listener::kHttpMetadata);
  EXPECT_FALSE(restarted.verify(value));
  EXPECT_EQ(failures(Listener::kHttpMetadata), before);
}

TEST(SessionAuthTest, WrongSecretsForgeriesAndReusedChallengesAreRefused) {
  auto secret = secretOf("the-cluster-secret-0001");
  SessionVerifier verifier(secret, "http", Listener::kHttpMetadata);
  uint64_t before = failures(Listener::kHttpMetadata);

  SessionCredential wrong(secretOf("another-secret-000000001"), "http");
  ASSERT_TRUE(wrong.answer(verifier.challenge()));
  EXPECT_FALSE(verifier.verify(wrong.current()));
  EXPECT_EQ(failures(Listener::kHttpMetadata), before + 1);

  SessionCredential other_port(secret, "master-grpc");
  ASSERT_TRUE(other_port.answer(verifier.challenge()));
  EXPECT_FALSE(verifier.verify(other_port.current()));

  EXPECT_FALSE(verifier.verify("Mooncake 00.11.22"));
  EXPECT_FALSE(verifier.verify("Basic dXNlcjpwYXNz"));

  // A challenge is single-use: a second answer to it (another client nonce) opens nothing.
  std::string challenge = verifier.challenge();
  SessionCredential first(secret, "http"), second(secret, "http");
  ASSERT_TRUE(first.answer(challenge));
  ASSERT_TRUE(second.answer(challenge));
  EXPECT_TRUE(verifier.verify(first.current()));
  EXPECT_FALSE(verifier.verify(second.current()));
  // Challenges this server never issued open nothing either.
  SessionCredential made_up(secret, "http");
  ASSERT_TRUE(made_up.answer(toHex(randomBytes(kNonceBytes))));
  EXPECT_FALSE(verifier.verify(made_up.current()));
}

}  // namespace
}  // namespace mooncake::auth
