// Transfer Engines with a cluster secret (docs/SECURITY.md), in real processes on loopback: the
// target (te_test_peer) and the HTTP metadata server have MC_AUTH_SECRET; initiators in this
// process have the secret, none, or another one. Without the right secret nothing is read or
// changed on any port: the metadata server's writes and reads, the rpc port, the data port.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/auth/auth_failures.h"
#include "common/auth/secret.h"
#include "common/net/http_client.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "support/engine_peer.h"
#include "support/process.h"
#include "support/servers.h"
#include "support/test_certificate.h"
#include "transfer_engine/handshake/handshake_client.h"
#include "transfer_engine/metadata/http_metadata_store.h"
#include "transfer_engine/metadata/segment_descriptor.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake {
namespace {

constexpr char kSecret[] = "engine-auth-test-secret-0001";
constexpr uint64_t kPeerBytes = 1 << 20;

std::vector<std::string> secretEnv() {
  return {std::string("MC_AUTH_SECRET=") + kSecret, "MC_SAME_HOST_DIRECT=0"};
}

TransferEngineOptions optionsWith(std::optional<std::string> secret) {
  auto options = TransferEngineOptions::fromEnvironment();
  EXPECT_TRUE(options.ok());
  options->auth_secret = std::move(secret);
  options->same_host_direct = false;  // the TCP ports are what is under test
  return *options;
}

// Reads until the peer closes (or 2 s pass); returns everything received.
std::string drain(int fd) {
  net::setReceiveTimeout(fd, std::chrono::seconds(2));
  std::string out;
  char chunk[4096];
  while (true) {
    ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
    if (got <= 0) return out;
    out.append(chunk, static_cast<size_t>(got));
  }
}

class EngineAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int attempt = 0; attempt < 3 && !metadata_ready_; ++attempt) {
      http_port_ = testing::freeLoopbackPort();
      metadata_ = std::make_unique<testing::ChildProcess>(
          testing::builtBinary("tools/mooncake_http_metadata_server"),
          std::vector<std::string>{"--host=127.0.0.1", "--port=" + std::to_string(http_port_)},
          secretEnv());
      metadata_ready_ = testing::waitFor([this] { return testing::portAccepts(http_port_); },
                                         std::chrono::seconds(10));
    }
    ASSERT_TRUE(metadata_ready_) << "mooncake_http_metadata_server did not start";
    url_ = "http://127.0.0.1:" + std::to_string(http_port_) + "/metadata";
    peer_ = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", kPeerBytes, secretEnv());
    ASSERT_TRUE(peer_.error.empty()) << peer_.error;
    local_ = static_cast<char*>(
        ::mmap(nullptr, kPeerBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(local_, MAP_FAILED);
  }

  void TearDown() override {
    if (local_ != nullptr && local_ != MAP_FAILED) ::munmap(local_, kPeerBytes);
  }

  // Runs one request; returns the batch's final state.
  TransferStatusEnum run(TransferEngine& engine, SegmentHandle target, TransferRequest::OpCode op,
                         uint64_t offset, uint64_t length) {
    TransferRequest r;
    r.opcode = op;
    r.source = local_ + offset;
    r.target_id = target;
    r.target_offset = peer_.buffer_addr + offset;
    r.length = length;
    auto batch = engine.allocateBatchID(1);
    EXPECT_TRUE(batch.ok());
    EXPECT_TRUE(engine.submitTransfer(*batch, {r}).ok());
    TransferStatus status;
    EXPECT_TRUE(engine.waitBatchTransferStatus(*batch, status, std::chrono::seconds(30)).ok());
    EXPECT_TRUE(engine.freeBatchID(*batch).ok());
    return status.s;
  }

  // The peer's registered bytes still hold their initial pattern (read with the secret).
  void expectPeerUntouched() {
    TransferEngine reader(optionsWith(kSecret));
    ASSERT_TRUE(reader.init("P2PHANDSHAKE", "127.0.0.1").ok());
    ASSERT_TRUE(reader.registerLocalMemory(local_, kPeerBytes).ok());
    auto target = reader.openSegment(peer_.segment_name);
    ASSERT_TRUE(target.ok()) << target.status().toString();
    std::memset(local_, 0, kPeerBytes);
    ASSERT_EQ(run(reader, *target, TransferRequest::READ, 0, kPeerBytes), COMPLETED);
    for (uint64_t i = 0; i < kPeerBytes; ++i) {
      ASSERT_EQ(static_cast<unsigned char>(local_[i]), testing::peerPatternByte(i)) << i;
    }
    EXPECT_EQ(peer_.checkGuard(), "GUARD OK");
  }

  uint16_t http_port_ = 0;
  bool metadata_ready_ = false;
  std::string url_;
  std::unique_ptr<testing::ChildProcess> metadata_;
  testing::EnginePeer peer_;
  char* local_ = nullptr;
};

TEST_F(EngineAuthTest, WithTheSecretEveryPortServes) {
  // Through the authenticated HTTP metadata server...
  TransferEngine engine(optionsWith(kSecret));
  Status init = engine.init(url_, "initiator-" + std::to_string(::getpid()), "127.0.0.1");
  ASSERT_TRUE(init.ok()) << init.toString();
  // ...and peer to peer (rpc port, then data port) with the peer.
  TransferEngine p2p(optionsWith(kSecret));
  ASSERT_TRUE(p2p.init("P2PHANDSHAKE", "127.0.0.1").ok());
  ASSERT_TRUE(p2p.registerLocalMemory(local_, kPeerBytes).ok());
  auto target = p2p.openSegment(peer_.segment_name);
  ASSERT_TRUE(target.ok()) << target.status().toString();
  for (uint64_t i = 0; i < 65536; ++i) local_[i] = static_cast<char>(i * 7);
  ASSERT_EQ(run(p2p, *target, TransferRequest::WRITE, 0, 65536), COMPLETED);
  std::memset(local_, 0, 65536);
  ASSERT_EQ(run(p2p, *target, TransferRequest::READ, 0, 65536), COMPLETED);
  for (uint64_t i = 0; i < 65536; ++i) ASSERT_EQ(local_[i], static_cast<char>(i * 7)) << i;
}

TEST_F(EngineAuthTest, WithoutTheSecretTheMetadataServerRefusesReadsAndWrites) {
  TransferEngine none(optionsWith(std::string()));
  Status init = none.init(url_, "intruder-" + std::to_string(::getpid()), "127.0.0.1");
  ASSERT_FALSE(init.ok());
  EXPECT_NE(init.message().find("requires authentication"), std::string::npos) << init.toString();

  TransferEngine wrong(optionsWith(std::string("a-different-secret-0000001")));
  init = wrong.init(url_, "intruder2-" + std::to_string(::getpid()), "127.0.0.1");
  ASSERT_FALSE(init.ok());
  EXPECT_NE(init.message().find("does not accept"), std::string::npos) << init.toString();

  // Raw requests: refused with a challenge, nothing stored.
  auto secret = auth::Secret::fromText(kSecret, "test");
  ASSERT_TRUE(secret.ok());
  te::HttpMetadataStore authenticated(url_, *secret);
  ASSERT_TRUE(authenticated.put("victim", "original").ok());
  net::HttpClient raw;
  for (const char* method : {"PUT", "GET", "DELETE"}) {
    auto answer = raw.send(method, url_ + "?key=victim", "forged", std::chrono::seconds(2),
                           std::chrono::seconds(2), {"Authorization: Mooncake 00.11.22"});
    ASSERT_TRUE(answer.ok()) << answer.status().toString();
    EXPECT_EQ(answer->status, 401) << method;
    EXPECT_EQ(answer->www_authenticate.rfind("Mooncake ", 0), 0u) << answer->www_authenticate;
    EXPECT_EQ(answer->body.find("original"), std::string::npos);
  }
  auto kept = authenticated.get("victim");
  ASSERT_TRUE(kept.ok() && kept->has_value()) << kept.status().toString();
  EXPECT_EQ(**kept, "original");
  auto health = raw.send("GET", "http://127.0.0.1:" + std::to_string(http_port_) + "/health", "",
                         std::chrono::seconds(2), std::chrono::seconds(2));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);  // liveness stays open
}

TEST_F(EngineAuthTest, WithoutTheSecretTheRpcPortRefusesAndTheTargetIsUntouched) {
  TransferEngine none(optionsWith(std::string()));
  ASSERT_TRUE(none.init("P2PHANDSHAKE", "127.0.0.1").ok());
  auto opened = none.openSegment(peer_.segment_name);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("requires authentication"), std::string::npos)
      << opened.status().toString();

  TransferEngine wrong(optionsWith(std::string("a-different-secret-0000001")));
  ASSERT_TRUE(wrong.init("P2PHANDSHAKE", "127.0.0.1").ok());
  auto started = std::chrono::steady_clock::now();
  opened = wrong.openSegment(peer_.segment_name);
  ASSERT_FALSE(opened.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_TRUE(opened.status().is(ErrorCode::ERR_REJECT_HANDSHAKE)) << opened.status().toString();
  expectPeerUntouched();
}

TEST_F(EngineAuthTest, TheDataPortMovesNoByteForAnUnauthenticatedPeer) {
  // Where the data port is: asked with the secret (an attacker could learn it anyway).
  auto secret = auth::Secret::fromText(kSecret, "test");
  ASSERT_TRUE(secret.ok());
  auto rpc = net::parseHostPort(peer_.segment_name, 0);
  ASSERT_TRUE(rpc.ok());
  auto reply = te::handshakeCall(*rpc, te::FrameType::kMetadata, "{}", std::chrono::seconds(2),
                                 1 << 20, *secret);
  ASSERT_TRUE(reply.ok()) << reply.status().toString();
  auto descriptor = te::decodeSegmentDescriptor(*reply);
  ASSERT_TRUE(descriptor.ok());
  const net::HostPort data{"127.0.0.1", descriptor->tcp_data_port};

  // A READ of the whole buffer: only the server's hello comes back, then the close.
  auto fd = net::connectTcp(data, std::chrono::seconds(2));
  ASSERT_TRUE(fd.ok());
  auto header = te::tcp::makeHeader(te::tcp::kOpRead, peer_.buffer_addr, kPeerBytes);
  ASSERT_EQ(::send(fd->get(), &header, sizeof(header), MSG_NOSIGNAL),
            static_cast<ssize_t>(sizeof(header)));
  std::string got = drain(fd->get());
  EXPECT_LE(got.size(), size_t{24}) << "bytes beyond the authentication hello came back";

  // A WRITE with its payload: nothing lands.
  fd = net::connectTcp(data, std::chrono::seconds(2));
  ASSERT_TRUE(fd.ok());
  header = te::tcp::makeHeader(te::tcp::kOpWrite, peer_.buffer_addr, 65536);
  std::string frame(reinterpret_cast<const char*>(&header), sizeof(header));
  frame.append(65536, '\x5A');
  (void)::send(fd->get(), frame.data(), frame.size(), MSG_NOSIGNAL);
  (void)drain(fd->get());

  // A forged hello with a made-up proof: closed, nothing moves.
  fd = net::connectTcp(data, std::chrono::seconds(2));
  ASSERT_TRUE(fd.ok());
  std::string forged = "MCAUTH01" + std::string(16, 'n') + std::string(32, 'p');
  forged.append(reinterpret_cast<const char*>(&header), sizeof(header));
  forged.append(65536, '\x5A');
  (void)::send(fd->get(), forged.data(), forged.size(), MSG_NOSIGNAL);
  got = drain(fd->get());
  EXPECT_LE(got.size(), size_t{24 + 32}) << "an answer came back to a forged proof";

  expectPeerUntouched();
}

// The HTTP metadata server over HTTPS (--tls_cert_file/--tls_key_file) with the secret: an
// engine that trusts the certificate (MC_TLS_CA_FILE) publishes and reads through it.
TEST_F(EngineAuthTest, TheMetadataServerOverHttpsServesEnginesThatTrustIt) {
  testing::TempDir dir;
  testing::TestCertificate certificate;
  ASSERT_TRUE(testing::makeTestCertificate(dir.path(), &certificate))
      << "openssl could not make a test certificate";
  const std::string& cert = certificate.cert;
  const std::string& key = certificate.key;
  const uint16_t port = testing::freeLoopbackPort();
  testing::ChildProcess https_server(testing::builtBinary("tools/mooncake_http_metadata_server"),
                                     {"--host=127.0.0.1", "--port=" + std::to_string(port),
                                      "--tls_cert_file=" + cert, "--tls_key_file=" + key},
                                     secretEnv());
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port); }, std::chrono::seconds(10)));
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/metadata";
  ::setenv("MC_TLS_CA_FILE", cert.c_str(), 1);
  TransferEngine target(optionsWith(kSecret)), initiator(optionsWith(kSecret));
  const std::string suffix = std::to_string(::getpid());
  Status a = target.init(url, "tls-target-" + suffix, "127.0.0.1");
  Status b = initiator.init(url, "tls-initiator-" + suffix, "127.0.0.1");
  ::unsetenv("MC_TLS_CA_FILE");
  ASSERT_TRUE(a.ok()) << a.toString();
  ASSERT_TRUE(b.ok()) << b.toString();
  std::vector<char> remote(65536, 'r');
  ASSERT_TRUE(target.registerLocalMemory(remote.data(), remote.size()).ok());
  ASSERT_TRUE(initiator.registerLocalMemory(local_, kPeerBytes).ok());
  auto opened = initiator.openSegment("tls-target-" + suffix);
  ASSERT_TRUE(opened.ok()) << opened.status().toString();
  auto buffers = initiator.getSegmentBuffers(*opened);
  ASSERT_TRUE(buffers.ok());
  ASSERT_EQ(buffers->size(), 1u);
  // Without the certificate trusted, nothing reaches it.
  TransferEngine untrusting(optionsWith(kSecret));
  EXPECT_FALSE(untrusting.init(url, "tls-untrusting-" + suffix, "127.0.0.1").ok());
}

}  // namespace
}  // namespace mooncake
