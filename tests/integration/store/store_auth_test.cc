// A mooncake_master with a cluster secret (MC_AUTH_SECRET in its environment) and store clients
// in this process with the secret, none, or another one: every master port (gRPC, fast RPC,
// embedded HTTP metadata, admin) refuses the latter two, nothing is read or removed, and the
// refusals show in /metrics.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdlib>
#include <regex>

#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "mooncake/store/client.h"
#include "store/client/master_client.h"
#include "store/proto/fast_rpc_frame.h"
#include "support/process.h"
#include "support/servers.h"
#include "support/test_certificate.h"

namespace mooncake::store {
namespace {

constexpr char kSecret[] = "store-auth-test-secret-00001";

class StoreAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {}

  void start(const std::vector<std::string>& extra = {}) {
    for (int attempt = 0; attempt < 3 && fast_port_ == 0; ++attempt) startMaster(extra);
    ASSERT_NE(fast_port_, 0) << "mooncake_master did not start (see its output above)";
  }

  void startMaster(const std::vector<std::string>& extra) {
    rpc_port_ = testing::freeLoopbackPort();
    http_port_ = testing::freeLoopbackPort();
    metrics_port_ = testing::freeLoopbackPort();
    std::vector<std::string> args{"--rpc_address=127.0.0.1",
                                  "--metadata_dir=none",
                                  "--port=" + std::to_string(rpc_port_),
                                  "--enable_http_metadata_server",
                                  "--http_metadata_server_host=127.0.0.1",
                                  "--http_metadata_server_port=" + std::to_string(http_port_),
                                  "--metrics_host=127.0.0.1",
                                  "--metrics_port=" + std::to_string(metrics_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    master_ = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"), args,
        std::vector<std::string>{std::string("MC_AUTH_SECRET=") + kSecret});
    // "mooncake_master listening on 127.0.0.1:P (fast RPC port F, metrics port M)"
    std::string line = master_->readLine(std::chrono::seconds(20));
    std::smatch match;
    if (std::regex_search(line, match, std::regex("fast RPC port ([0-9]+)"))) {
      fast_port_ = static_cast<uint16_t>(std::stoi(match[1]));
    }
  }

  Result<std::unique_ptr<Client>> client(std::optional<std::string> secret) {
    ClientOptions options;
    options.local_hostname = "127.0.0.1";
    options.metadata_server = scheme_ + "://127.0.0.1:" + std::to_string(http_port_) + "/metadata";
    options.master_server_address = "127.0.0.1:" + std::to_string(rpc_port_);
    options.global_segment_size = 16 << 20;
    options.local_buffer_size = 16 << 20;
    options.auth_secret = std::move(secret);
    return Client::create(options);
  }

  std::string admin(const std::string& path, long* status) {
    net::HttpClient http;
    auto answer = http.send("GET", "http://127.0.0.1:" + std::to_string(metrics_port_) + path, "",
                            std::chrono::seconds(2), std::chrono::seconds(2));
    EXPECT_TRUE(answer.ok()) << answer.status().toString();
    *status = answer.ok() ? answer->status : 0;
    return answer.ok() ? answer->body : "";
  }

  uint16_t rpc_port_ = 0, http_port_ = 0, metrics_port_ = 0, fast_port_ = 0;
  std::string scheme_ = "http";  // of the embedded HTTP metadata server
  std::unique_ptr<testing::ChildProcess> master_;
};

TEST_F(StoreAuthTest, ClientsWithTheSecretWorkAndOthersAreRefused) {
  start();
  if (HasFatalFailure()) return;
  auto owner = client(kSecret);
  ASSERT_TRUE(owner.ok()) << owner.status().toString();
  const std::string value(100000, 'v');
  ASSERT_TRUE((*owner)->put("auth-key", value.data(), value.size()).ok());

  auto none = client(std::string());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("requires authentication"), std::string::npos)
      << none.status().toString();
  auto wrong = client(std::string("a-different-secret-0000001"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("MC_AUTH_SECRET"), std::string::npos)
      << wrong.status().toString();

  // The master's gRPC port on its own (the clients above stopped at the metadata server).
  MasterClient no_secret("127.0.0.1:" + std::to_string(rpc_port_), std::chrono::seconds(2));
  auto removed = no_secret.removeAll(/*force=*/true);
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.status().message().find("requires authentication"), std::string::npos)
      << removed.status().toString();
  auto forged = auth::Secret::fromText("a-different-secret-0000001", "test");
  ASSERT_TRUE(forged.ok());
  MasterClient other_secret("127.0.0.1:" + std::to_string(rpc_port_), std::chrono::seconds(2),
                            *forged);
  removed = other_secret.removeAll(/*force=*/true);
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.status().message().find("does not accept"), std::string::npos)
      << removed.status().toString();

  // One raw fast RPC frame (RemoveAll, the 18-byte wipe): closed unanswered.
  auto fd = net::connectTcp({"127.0.0.1", fast_port_}, std::chrono::seconds(2));
  ASSERT_TRUE(fd.ok());
  fast_rpc::FrameHeader header{2, static_cast<uint32_t>(fast_rpc::MethodId::kRemoveAll), 1};
  std::string frame(reinterpret_cast<const char*>(&header), sizeof(header));
  frame += std::string("\x10\x01", 2);  // force = true
  ASSERT_EQ(::send(fd->get(), frame.data(), frame.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(frame.size()));
  net::setReceiveTimeout(fd->get(), std::chrono::seconds(2));
  std::string got;
  char chunk[256];
  for (ssize_t n; (n = ::recv(fd->get(), chunk, sizeof(chunk), 0)) > 0;) got.append(chunk, n);
  EXPECT_LE(got.size(), size_t{24}) << "the master answered an unauthenticated frame";

  // Everything is still there for the owner.
  auto read = (*owner)->get("auth-key");
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(*read, value);

  // Admin: key listings need a credential; metrics stay open and count the refusals.
  long status = 0;
  std::string keys = admin("/get_all_keys", &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(keys.find("auth-key"), std::string::npos);
  std::string metrics = admin("/metrics", &status);
  EXPECT_EQ(status, 200);
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      metrics, match,
      std::regex("mooncake_auth_failures_total\\{port=\"master_fast_rpc\"\\} (\\d+)")))
      << metrics;
  EXPECT_GE(std::stoull(match[1]), 1u);
  ASSERT_TRUE(std::regex_search(
      metrics, match, std::regex("mooncake_auth_failures_total\\{port=\"master_grpc\"\\} (\\d+)")));
  EXPECT_GE(std::stoull(match[1]), 1u);  // the other secret's proof
}

// TLS on the gRPC and HTTP ports (--tls_cert_file/--tls_key_file): clients that trust the
// certificate (MC_TLS_CA_FILE) work, over gRPC, fast RPC and HTTPS; a plain-text client cannot
// talk to them.
TEST_F(StoreAuthTest, TlsOnTheGrpcPortServesClientsThatTrustTheCertificate) {
  testing::TempDir dir;
  testing::TestCertificate certificate;
  ASSERT_TRUE(testing::makeTestCertificate(dir.path(), &certificate))
      << "openssl could not make a test certificate";
  const std::string& cert = certificate.cert;
  const std::string& key = certificate.key;
  start({"--tls_cert_file=" + cert, "--tls_key_file=" + key});
  scheme_ = "https";  // the embedded HTTP metadata server speaks TLS too
  if (HasFatalFailure()) return;
  auto secret = auth::Secret::fromText(kSecret, "test");
  ASSERT_TRUE(secret.ok());
  const std::string address = "127.0.0.1:" + std::to_string(rpc_port_);

  MasterClient plain(address, std::chrono::seconds(2), *secret);
  EXPECT_FALSE(plain.existKey("k").ok());

  ::setenv("MC_TLS_CA_FILE", cert.c_str(), 1);
  {
    MasterClient trusting(address, std::chrono::seconds(5), *secret);
    auto exists = trusting.existKey("k");
    ASSERT_TRUE(exists.ok()) << exists.status().toString();
    EXPECT_FALSE(*exists);
    auto owner = client(kSecret);
    ASSERT_TRUE(owner.ok()) << owner.status().toString();
    const std::string value(5000, 't');
    ASSERT_TRUE((*owner)->put("tls-key", value.data(), value.size()).ok());
    EXPECT_EQ(*(*owner)->get("tls-key"), value);
  }
  ::setenv("MC_TLS_CA_FILE", (dir.path() + "/missing.pem").c_str(), 1);
  MasterClient misconfigured(address, std::chrono::seconds(2), *secret);
  auto failed = misconfigured.existKey("k");
  ::unsetenv("MC_TLS_CA_FILE");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("MC_TLS_CA_FILE"), std::string::npos);
}

}  // namespace
}  // namespace mooncake::store
