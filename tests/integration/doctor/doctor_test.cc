// mooncake_doctor's checks, each healthy and broken, against real servers where the check talks
// to one (an HTTP metadata server, etcd bound to loopback, Redis, a master with and without a
// secret), and the binary's exit codes and JSON.
#include "doctor/doctor.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/auth/secret.h"
#include "common/net/socket.h"
#include "mooncake/transfer_engine/transfer_engine.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "store/tier/disk_store.h"
#include "support/auth.h"
#include "support/backends.h"
#include "support/engine_peer.h"
#include "support/process.h"
#include "support/servers.h"
#include "transfer_engine/metadata/metadata_store.h"
#include "transfer_engine/metadata/segment_descriptor.h"

namespace mooncake::doctor {
namespace {

// The findings of one check, for assertions.
Finding only(const std::vector<Finding>& findings, const std::string& check) {
  for (const Finding& f : findings) {
    if (f.check == check) return f;
  }
  return {check, Verdict::kFail, "no finding for " + check};
}

Inputs p2p(const std::string& name = "127.0.0.1") {
  Inputs inputs;
  inputs.local_server_name = name;
  return inputs;
}

// Warnings the process logs, for assertions.
class WarningSink : public google::LogSink {
 public:
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm*,
            const char* message, size_t length) override {
    if (severity != google::GLOG_WARNING) return;
    std::lock_guard lock(mutex_);
    lines_.emplace_back(message, length);
  }
  bool saw(const std::string& text) {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(), [&](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// The engine runs the doctor's cheap checks at init and logs the same message: a soft limit of
// 1000 open files (this process lowers its own) is named, with the fix, when an engine starts.
TEST(DoctorTest, TheEngineLogsTheDoctorsStartupFindings) {
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 1000) GTEST_SKIP() << "hard limit";
  struct rlimit lowered = saved;
  lowered.rlim_cur = 1000;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  Finding expected = only(checkEnvironment(p2p()), "limits");
  EXPECT_EQ(expected.verdict, Verdict::kWarn);
  WarningSink sink;
  google::AddLogSink(&sink);
  {
    TransferEngine engine;
    Status status = engine.init("P2PHANDSHAKE", "127.0.0.1");
    EXPECT_TRUE(status.ok()) << status.toString();
  }
  google::RemoveLogSink(&sink);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_NE(expected.message.find("open files limited to 1000"), std::string::npos);
  EXPECT_TRUE(sink.saw("WARN limits: " + expected.message)) << expected.message;
}

TEST(DoctorTest, AddressChecks) {
  EXPECT_EQ(only(checkAddress(p2p()), "address").verdict, Verdict::kPass);
  // Loopback advertised while the metadata service is elsewhere (TEST-NET-1, never contacted).
  Inputs remote = p2p();
  remote.metadata_server = "http://192.0.2.1:8080/metadata";
  ::setenv("MC_TCP_BIND_ADDRESS", "127.0.0.1", 1);
  Finding loopback = only(checkAddress(remote), "address");
  ::unsetenv("MC_TCP_BIND_ADDRESS");
  EXPECT_EQ(loopback.verdict, Verdict::kFail);
  EXPECT_NE(loopback.message.find("loopback"), std::string::npos) << loopback.message;
  EXPECT_NE(loopback.message.find("MC_TCP_BIND_ADDRESS"), std::string::npos) << loopback.message;
  // Another machine's address.
  Finding foreign = only(checkAddress(p2p("192.0.2.1")), "address");
  EXPECT_EQ(foreign.verdict, Verdict::kFail);
  EXPECT_NE(foreign.message.find("not an address of this host"), std::string::npos)
      << foreign.message;
  Finding unresolvable = only(checkAddress(p2p("no-such-host.invalid")), "address");
  EXPECT_EQ(unresolvable.verdict, Verdict::kFail);
  EXPECT_NE(unresolvable.message.find("does not resolve"), std::string::npos);
  // IPv6 forms: bare, bracketed, bracketed with a port; another machine's (2001:db8::/32 is
  // for documentation) is named like an IPv4 one.
  Finding foreign6 = only(checkAddress(p2p("[2001:db8::1]:12345")), "address");
  EXPECT_EQ(foreign6.verdict, Verdict::kFail) << foreign6.message;
  EXPECT_NE(foreign6.message.find("not an address of this host"), std::string::npos)
      << foreign6.message;
  if (!net::listenTcp("::1", 0, 1).ok()) {
    GTEST_SKIP() << "no IPv6 loopback on this host: the ::1 forms are not checked";
  }
  for (const char* name : {"::1", "[::1]", "[::1]:12345"}) {
    Finding local6 = only(checkAddress(p2p(name)), "address");
    EXPECT_EQ(local6.verdict, Verdict::kPass) << name << ": " << local6.message;
    EXPECT_NE(local6.message.find("::1"), std::string::npos) << local6.message;
  }
  Inputs remote6 = p2p("[::1]:12345");
  remote6.metadata_server = "http://[2001:db8::2]:8080/metadata";
  Finding loopback6 = only(checkAddress(remote6), "address");
  EXPECT_EQ(loopback6.verdict, Verdict::kFail) << loopback6.message;
  EXPECT_NE(loopback6.message.find("loopback"), std::string::npos) << loopback6.message;
}

TEST(DoctorTest, ProxyVariablesThatWouldCaptureMetadataRequestsAreNamed) {
  testing::ScopedNoAuth no_auth;
  Inputs inputs = p2p();
  inputs.metadata_server = "http://127.0.0.1:1/metadata";
  ::setenv("http_proxy", "http://127.0.0.1:3128", 1);
  Finding proxied = only(checkEnvironment(inputs), "proxy");
  ::setenv("no_proxy", "localhost,127.0.0.1", 1);
  Finding bypassed = only(checkEnvironment(inputs), "proxy");
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
  EXPECT_EQ(proxied.verdict, Verdict::kWarn);
  EXPECT_NE(proxied.message.find("no_proxy"), std::string::npos) << proxied.message;
  EXPECT_EQ(bypassed.verdict, Verdict::kPass) << bypassed.message;
}

TEST(DoctorTest, HugePageCompactionOnEveryFaultIsNamed) {
  testing::ScopedNoAuth no_auth;
  testing::TempDir sys;
  Inputs inputs = p2p();
  inputs.sysfs_root = sys.path();
  EXPECT_NE(only(checkEnvironment(inputs), "hugepages").message.find("not in this kernel"),
            std::string::npos);
  const std::string thp = sys.path() + "/kernel/mm/transparent_hugepage";
  std::filesystem::create_directories(thp);
  std::ofstream(thp + "/enabled") << "[always] madvise never\n";
  std::ofstream(thp + "/defrag") << "[always] defer defer+madvise madvise never\n";
  Finding stalls = only(checkEnvironment(inputs), "hugepages");
  EXPECT_EQ(stalls.verdict, Verdict::kWarn);
  EXPECT_NE(stalls.message.find("defer+madvise > " + thp + "/defrag"), std::string::npos)
      << stalls.message;
  std::ofstream(thp + "/defrag") << "always defer [defer+madvise] madvise never\n";
  Finding fine = only(checkEnvironment(inputs), "hugepages");
  EXPECT_EQ(fine.verdict, Verdict::kPass);
  EXPECT_NE(fine.message.find("enabled=always, defrag=defer+madvise"), std::string::npos)
      << fine.message;
}

TEST(DoctorTest, TheClusterSecretIsChecked) {
  testing::ScopedNoAuth no_auth;
  Inputs remote = p2p();
  remote.master_server_address = "192.0.2.1:50051";
  EXPECT_EQ(only(checkEnvironment(remote), "auth").verdict, Verdict::kWarn);
  EXPECT_EQ(only(checkEnvironment(p2p()), "auth").verdict, Verdict::kPass);
  ::setenv("MC_AUTH_SECRET", "short", 1);
  Finding short_secret = only(checkEnvironment(p2p()), "auth");
  ::setenv("MC_AUTH_SECRET", "a-good-long-cluster-secret", 1);
  Finding good = only(checkEnvironment(remote), "auth");
  ::unsetenv("MC_AUTH_SECRET");
  EXPECT_EQ(short_secret.verdict, Verdict::kFail);
  EXPECT_NE(short_secret.message.find("at least 16"), std::string::npos);
  EXPECT_EQ(good.verdict, Verdict::kPass);
}

TEST(DoctorTest, MetadataServicesThatAnswerAndThatDoNot) {
  EXPECT_EQ(only(checkMetadataService(p2p()), "metadata").verdict, Verdict::kPass);
  Inputs http = p2p();
  http.metadata_server = testing::metadataServerFor(testing::Backend::kHttp);
  ASSERT_FALSE(http.metadata_server.empty());
  Finding up = only(checkMetadataService(http), "metadata");
  EXPECT_EQ(up.verdict, Verdict::kPass) << up.message;
  Inputs dead = p2p();
  dead.metadata_server =
      "http://127.0.0.1:" + std::to_string(testing::freeLoopbackPort()) + "/metadata";
  Finding down = only(checkMetadataService(dead), "metadata");
  EXPECT_EQ(down.verdict, Verdict::kFail);
  EXPECT_NE(down.message.find("mooncake_http_metadata_server"), std::string::npos) << down.message;
  Inputs redis = p2p();
  redis.metadata_server = testing::metadataServerFor(testing::Backend::kRedis);
  ASSERT_FALSE(redis.metadata_server.empty());
  EXPECT_EQ(only(checkMetadataService(redis), "metadata").verdict, Verdict::kPass);
}

// etcd listening and advertising on loopback only: fine for a node on the same host, the
// guide's classic mistake for a node that advertises a network address.
TEST(DoctorTest, EtcdAdvertisingOnlyLoopbackIsCaughtForNodesOnTheNetwork) {
  testing::EtcdServer etcd;
  ASSERT_TRUE(etcd.ok());
  Inputs local = p2p();
  local.metadata_server = "etcd://" + etcd.endpoint();
  auto findings = checkMetadataService(local);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].verdict, Verdict::kPass) << findings[0].message;
  EXPECT_EQ(findings[1].verdict, Verdict::kPass) << findings[1].message;
  std::string lan = net::firstNonLoopbackIPv4();
  if (lan.empty()) GTEST_SKIP() << "this host has no network address";
  Inputs networked = p2p(lan);
  networked.metadata_server = local.metadata_server;
  findings = checkMetadataService(networked);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[1].verdict, Verdict::kFail);
  EXPECT_NE(findings[1].message.find("--advertise-client-urls"), std::string::npos)
      << findings[1].message;
}

// Forwards connections to 127.0.0.1:<its port> to `target` byte for byte (what a gateway that
// only exposes one port of a host does).
class PortForwarder {
 public:
  explicit PortForwarder(net::HostPort target) : target_(std::move(target)) {
    auto fd = net::listenTcp("127.0.0.1", 0, 16);
    EXPECT_TRUE(fd.ok());
    port_ = *net::boundPort(fd->get());
    listen_ = std::move(*fd);
    acceptor_ = std::thread([this] {
      while (true) {
        int client = ::accept(listen_.get(), nullptr, nullptr);
        if (client < 0) return;
        auto upstream = net::connectTcp(target_, std::chrono::seconds(2));
        if (!upstream.ok()) {
          ::close(client);
          continue;
        }
        int server = upstream->release();
        std::lock_guard lock(mutex_);
        fds_.push_back(client);
        fds_.push_back(server);
        pumps_.emplace_back([client, server] { pump(client, server); });
        pumps_.emplace_back([client, server] { pump(server, client); });
      }
    });
  }
  ~PortForwarder() {
    ::shutdown(listen_.get(), SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  uint16_t port() const { return port_; }

 private:
  static void pump(int from, int to) {
    char buffer[16384];
    while (true) {
      ssize_t n = ::recv(from, buffer, sizeof(buffer), 0);
      if (n <= 0 || !net::sendAll(to, buffer, static_cast<size_t>(n)).ok()) break;
    }
    ::shutdown(to, SHUT_WR);
  }

  net::HostPort target_;
  net::UniqueFd listen_;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

TEST(DoctorTest, AFastRpcPortClientsCannotReachIsNamed) {
  // The master listens on 127.0.0.2; the doctor reaches its gRPC port only through a forwarder
  // on 127.0.0.1, where nothing listens on the fast RPC port the master names.
  const uint16_t port = testing::freeLoopbackPort();
  testing::ChildProcess master(testing::builtBinary("tools/mooncake_master"),
                               {"--rpc_address=127.0.0.2", "--port=" + std::to_string(port),
                                "--metrics_port=0", "--metadata_dir=none"},
                               {"MC_AUTH_SECRET="});
  ASSERT_TRUE(testing::waitFor(
      [&] {
        return net::connectTcp({"127.0.0.2", port}, std::chrono::seconds(1)).ok();
      },
      std::chrono::seconds(20)));
  PortForwarder forwarder({"127.0.0.2", port});
  testing::ScopedNoAuth no_auth;
  Inputs inputs = p2p();
  inputs.master_server_address = "127.0.0.1:" + std::to_string(forwarder.port());
  EXPECT_EQ(only(checkMaster(inputs), "master").verdict, Verdict::kPass);
  Finding fast = only(checkMaster(inputs), "fast_rpc");
  EXPECT_EQ(fast.verdict, Verdict::kWarn) << fast.message;
  EXPECT_NE(fast.message.find("--fast_rpc_port"), std::string::npos) << fast.message;
}

TEST(DoctorTest, TheMasterAnswersOrSaysWhy) {
  const std::string secret = "doctor-test-secret-00000001";
  const uint16_t open_port = testing::freeLoopbackPort();
  const uint16_t secured_port = testing::freeLoopbackPort();
  auto master = [](uint16_t port, std::vector<std::string> env) {
    return std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_master"),
        std::vector<std::string>{"--rpc_address=127.0.0.1", "--port=" + std::to_string(port),
                                 "--metrics_port=0", "--metadata_dir=none"},
        env);
  };
  auto open = master(open_port, {"MC_AUTH_SECRET="});
  auto secured = master(secured_port, {"MC_AUTH_SECRET=" + secret});
  ASSERT_TRUE(testing::waitFor(
      [&] { return testing::portAccepts(open_port) && testing::portAccepts(secured_port); },
      std::chrono::seconds(20)));
  testing::ScopedNoAuth no_auth;
  Inputs inputs = p2p();
  inputs.master_server_address = "127.0.0.1:" + std::to_string(open_port);
  Finding up = only(checkMaster(inputs), "master");
  EXPECT_EQ(up.verdict, Verdict::kPass) << up.message;
  Finding fast = only(checkMaster(inputs), "fast_rpc");
  EXPECT_EQ(fast.verdict, Verdict::kPass) << fast.message;
  EXPECT_NE(fast.message.find("fast RPC at 127.0.0.1:"), std::string::npos) << fast.message;
  inputs.master_server_address = "127.0.0.1:" + std::to_string(secured_port);
  Finding refused = only(checkMaster(inputs), "master");
  EXPECT_EQ(refused.verdict, Verdict::kFail);
  EXPECT_NE(refused.message.find("MC_AUTH_SECRET"), std::string::npos) << refused.message;
  // A master without the fast RPC listener: clients use gRPC, which is not a fault.
  const uint16_t grpc_only_port = testing::freeLoopbackPort();
  testing::ChildProcess grpc_only(
      testing::builtBinary("tools/mooncake_master"),
      {"--rpc_address=127.0.0.1", "--port=" + std::to_string(grpc_only_port), "--metrics_port=0",
       "--metadata_dir=none", "--enable_fast_rpc=false"},
      {"MC_AUTH_SECRET="});
  ASSERT_TRUE(testing::waitFor([&] { return testing::portAccepts(grpc_only_port); },
                               std::chrono::seconds(20)));
  inputs.master_server_address = "127.0.0.1:" + std::to_string(grpc_only_port);
  Finding none = only(checkMaster(inputs), "fast_rpc");
  EXPECT_EQ(none.verdict, Verdict::kPass) << none.message;
  EXPECT_NE(none.message.find("no fast RPC listener"), std::string::npos) << none.message;
  inputs.master_server_address = "127.0.0.1:" + std::to_string(testing::freeLoopbackPort());
  Finding absent = only(checkMaster(inputs), "master");
  EXPECT_EQ(absent.verdict, Verdict::kFail);
  EXPECT_NE(absent.message.find("Start mooncake_master"), std::string::npos) << absent.message;
}

// The master's metrics port answers as a master's, nothing answers there, or another HTTP
// service holds it (here the master's own metadata server port).
TEST(DoctorTest, TheMastersMetricsPortAnswersOrTheWarningSaysWhy) {
  const uint16_t port = testing::freeLoopbackPort();
  const uint16_t metrics = testing::freeLoopbackPort();
  const uint16_t metadata = testing::freeLoopbackPort();
  testing::ChildProcess master(
      testing::builtBinary("tools/mooncake_master"),
      {"--rpc_address=127.0.0.1", "--port=" + std::to_string(port), "--metrics_host=127.0.0.1",
       "--metrics_port=" + std::to_string(metrics), "--metadata_dir=none",
       "--enable_http_metadata_server", "--http_metadata_server_host=127.0.0.1",
       "--http_metadata_server_port=" + std::to_string(metadata)},
      {"MC_AUTH_SECRET="});
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(port) && testing::portAccepts(metrics); },
                       std::chrono::seconds(20)));
  testing::ScopedNoAuth no_auth;
  Inputs inputs = p2p();
  inputs.master_server_address = "127.0.0.1:" + std::to_string(port);
  // Port 0: not checked.
  EXPECT_EQ(only(checkMaster(inputs), "master_metrics").message, "no finding for master_metrics");
  inputs.master_metrics_port = metrics;
  Finding up = only(checkMaster(inputs), "master_metrics");
  EXPECT_EQ(up.verdict, Verdict::kPass) << up.message;
  EXPECT_NE(up.message.find("leader"), std::string::npos) << up.message;
  inputs.master_metrics_port = testing::freeLoopbackPort();
  Finding nothing = only(checkMaster(inputs), "master_metrics");
  EXPECT_EQ(nothing.verdict, Verdict::kWarn) << nothing.message;
  EXPECT_NE(nothing.message.find("--master_metrics_port"), std::string::npos) << nothing.message;
  inputs.master_metrics_port = metadata;
  Finding other = only(checkMaster(inputs), "master_metrics");
  EXPECT_EQ(other.verdict, Verdict::kWarn) << other.message;
  EXPECT_NE(other.message.find("another service"), std::string::npos) << other.message;
}

// A node daemon dummies can attach to, one that is absent, and one that lost its master.
TEST(DoctorTest, TheNodeDaemonAcceptsADummyOrTheFailureSaysWhy) {
  const uint16_t rpc_port = testing::freeLoopbackPort();
  const uint16_t http_port = testing::freeLoopbackPort();
  auto master = std::make_unique<testing::ChildProcess>(
      testing::builtBinary("tools/mooncake_master"),
      std::vector<std::string>{"--rpc_address=127.0.0.1", "--port=" + std::to_string(rpc_port),
                               "--metrics_port=0", "--metadata_dir=none",
                               "--enable_http_metadata_server",
                               "--http_metadata_server_host=127.0.0.1",
                               "--http_metadata_server_port=" + std::to_string(http_port)});
  ASSERT_TRUE(
      testing::waitFor([&] { return testing::portAccepts(rpc_port); }, std::chrono::seconds(20)));
  const uint16_t daemon_port = testing::freeLoopbackPort();
  testing::ChildProcess daemon(
      testing::builtBinary("tools/mooncake_client"),
      {"--host=127.0.0.1",
       "--metadata_server=http://127.0.0.1:" + std::to_string(http_port) + "/metadata",
       "--master_server_address=127.0.0.1:" + std::to_string(rpc_port),
       "--port=" + std::to_string(daemon_port), "--global_segment_size=16MB"},
      {"MC_TCP_BIND_ADDRESS=127.0.0.1"});
  ASSERT_NE(daemon.readLine(std::chrono::seconds(20)).find("serving dummy clients"),
            std::string::npos);
  Inputs inputs = p2p();
  inputs.client_server_address = "127.0.0.1:" + std::to_string(daemon_port);
  auto findings = checkNodeDaemon(inputs);
  EXPECT_EQ(only(findings, "dummy_attach").verdict, Verdict::kPass)
      << only(findings, "dummy_attach").message;
  Finding health = only(findings, "node_daemon");
  EXPECT_EQ(health.verdict, Verdict::kPass) << health.message;
  EXPECT_NE(health.message.find("master reachable"), std::string::npos) << health.message;
  // Nothing on that port: the failure says what to start.
  inputs.client_server_address = "127.0.0.1:" + std::to_string(testing::freeLoopbackPort());
  Finding absent = only(checkNodeDaemon(inputs), "dummy_attach");
  EXPECT_EQ(absent.verdict, Verdict::kFail);
  EXPECT_NE(absent.message.find("is mooncake_client running"), std::string::npos) << absent.message;
  // The daemon runs but its master is gone: dummies would fail; the doctor says so.
  master.reset();
  inputs.client_server_address = "127.0.0.1:" + std::to_string(daemon_port);
  Finding lost;
  EXPECT_TRUE(testing::waitFor(
      [&] {
        lost = only(checkNodeDaemon(inputs), "node_daemon");
        return lost.verdict == Verdict::kFail;
      },
      std::chrono::seconds(20)))
      << lost.message;
  EXPECT_NE(lost.message.find("has not reached its master"), std::string::npos) << lost.message;
}

// The binary: JSON that agrees with its exit code; a failure exits 2.
TEST(DoctorTest, TheBinaryReportsJsonAndExitCodes) {
  auto run = [](const std::string& flags, int* code) {
    std::string command = testing::builtBinary("tools/mooncake_doctor") + " --json " + flags;
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buffer[4096];
    size_t got;
    while (pipe != nullptr && (got = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      out.append(buffer, got);
    }
    int status = pipe != nullptr ? ::pclose(pipe) : -1;
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return nlohmann::json::parse(out, nullptr, false);
  };
  int code = -1;
  auto healthy = run("--local_server_name=127.0.0.1", &code);
  ASSERT_TRUE(healthy.is_object());
  EXPECT_EQ(healthy["exit_code"], code);
  EXPECT_LE(code, 1);  // a low open-files limit on the test machine may warn
  auto broken = run("--local_server_name=127.0.0.1 --metadata_server=http://127.0.0.1:" +
                        std::to_string(testing::freeLoopbackPort()) + "/metadata",
                    &code);
  ASSERT_TRUE(broken.is_object());
  EXPECT_EQ(code, 2);
  bool named = false;
  for (const auto& check : broken["checks"]) {
    named = named || (check["check"] == "metadata" && check["verdict"] == "FAIL");
  }
  EXPECT_TRUE(named) << broken.dump();
}

}  // namespace
}  // namespace mooncake::doctor

namespace mooncake::doctor {
namespace {

// --peer: a live peer is opened, probed and read from (nothing written); a name nobody holds
// fails with what to look at.
TEST(DoctorTest, PeersAreReachedOrTheFailureSaysWhere) {
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 8 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  Inputs inputs = p2p();
  inputs.peers = {peer.segment_name, "127.0.0.1:" + std::to_string(testing::freeLoopbackPort())};
  auto findings = checkPeers(inputs);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].verdict, Verdict::kPass) << findings[0].message;
  EXPECT_NE(findings[0].message.find("read 4194304 bytes"), std::string::npos)
      << findings[0].message;
  EXPECT_EQ(findings[1].verdict, Verdict::kFail);
  EXPECT_NE(findings[1].message.find("Is the node running"), std::string::npos)
      << findings[1].message;
  EXPECT_EQ(peer.checkGuard(), "GUARD OK");  // nothing landed in the peer
  EXPECT_NE(findings[0].message.find("mooncake_doctor --serve"), std::string::npos)
      << findings[0].message;
}

// A peer that is `mooncake_doctor --serve` marks its buffer as scratch: the check writes a
// pattern there, reads it back and compares (both directions measured), and Ctrl-C stops it.
TEST(DoctorTest, AServingDoctorIsWrittenAndReadBack) {
  const uint16_t port = testing::freeLoopbackPort();
  testing::ChildProcess server(testing::builtBinary("tools/mooncake_doctor"),
                               {"--serve", "--local_server_name=127.0.0.1:" + std::to_string(port)},
                               {"MC_TCP_BIND_ADDRESS=127.0.0.1"});
  const std::string line = server.readLine(std::chrono::seconds(20));
  ASSERT_NE(line.find("serving a scratch buffer as 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << line;
  Inputs inputs = p2p();
  inputs.peers = {"127.0.0.1:" + std::to_string(port)};
  Finding written = only(checkPeers(inputs), "peer");
  EXPECT_EQ(written.verdict, Verdict::kPass) << written.message;
  EXPECT_NE(written.message.find("wrote 4194240 bytes"), std::string::npos) << written.message;
  EXPECT_NE(written.message.find("identical"), std::string::npos) << written.message;
  server.signal(SIGINT);
  EXPECT_EQ(server.wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace mooncake::doctor

namespace mooncake::doctor {
namespace {

TEST(DoctorTest, TheRpcPortIsFreeHeldByAnEngineOrTakenByAnotherProgram) {
  const uint16_t free_port = testing::freeLoopbackPort();
  Inputs free_inputs = p2p("127.0.0.1:" + std::to_string(free_port));
  EXPECT_EQ(only(checkPorts(free_inputs), "ports").verdict, Verdict::kPass);
  // Another program: a plain listener.
  auto squatter = net::listenTcp("127.0.0.1", 0, 1);
  ASSERT_TRUE(squatter.ok());
  const uint16_t taken = *net::boundPort(squatter->get());
  Finding other = only(checkPorts(p2p("127.0.0.1:" + std::to_string(taken))), "ports");
  EXPECT_EQ(other.verdict, Verdict::kFail);
  EXPECT_NE(other.message.find("ss -ltnp"), std::string::npos) << other.message;
  // A running engine of ours.
  auto peer = testing::startEnginePeer("P2PHANDSHAKE", "127.0.0.1", 1 << 20);
  ASSERT_TRUE(peer.error.empty()) << peer.error;
  Finding engine = only(checkPorts(p2p(peer.segment_name)), "ports");
  EXPECT_EQ(engine.verdict, Verdict::kWarn);
  EXPECT_NE(engine.message.find("already up"), std::string::npos) << engine.message;
  // A range with no room.
  ::setenv("MC_MIN_RPC_PORT", std::to_string(taken).c_str(), 1);
  ::setenv("MC_MAX_RPC_PORT", std::to_string(taken).c_str(), 1);
  auto findings = checkPorts(p2p());
  ::unsetenv("MC_MIN_RPC_PORT");
  ::unsetenv("MC_MAX_RPC_PORT");
  ASSERT_FALSE(findings.empty());
  EXPECT_EQ(findings.back().verdict, Verdict::kFail);
  EXPECT_NE(findings.back().message.find("Widen the range"), std::string::npos);
}

}  // namespace
}  // namespace mooncake::doctor

namespace mooncake::doctor {
namespace {

// A node that died without removing its records is named (and only it), and --fix removes its
// records and nothing else; on each backend that keeps records (HTTP, etcd, Redis).
TEST(DoctorTest, StaleNodeRecordsAreNamedAndRemovedOnlyWithFix) {
  for (testing::Backend backend :
       {testing::Backend::kHttp, testing::Backend::kEtcd, testing::Backend::kRedis}) {
    SCOPED_TRACE(testing::backendName(backend));
    Inputs inputs;
    inputs.metadata_server = testing::metadataServerFor(backend);
    ASSERT_FALSE(inputs.metadata_server.empty());
    const std::string suffix = std::to_string(::getpid()) + "-" + testing::backendName(backend);
    auto live = testing::startEnginePeer(inputs.metadata_server, "live-" + suffix, 1 << 20);
    ASSERT_TRUE(live.error.empty()) << live.error;
    auto connection = te::parseMetadataConnection(inputs.metadata_server);
    auto options = TransferEngineOptions::fromEnvironment();
    ASSERT_TRUE(connection.ok() && options.ok());
    auto secret = auth::processSecret();  // the test runs with and without MC_AUTH_SECRET
    ASSERT_TRUE(secret.ok());
    auto store = te::createMetadataStore(*connection, *options, *secret);
    ASSERT_TRUE(store.ok()) << store.status().toString();
    const std::string prefix = te::metadataKeyPrefix(options->metadata_cluster_id);
    const std::string dead = "dead-" + suffix;
    ASSERT_TRUE((*store)
                    ->put(te::rpcMetaKey(prefix, dead),
                          te::encodeRpcMeta({"127.0.0.1", testing::freeLoopbackPort()}))
                    .ok());
    ASSERT_TRUE((*store)->put(te::segmentKey(prefix, dead), "{}").ok());

    Finding found = only(checkStaleRecords(inputs), "stale");
    EXPECT_EQ(found.verdict, Verdict::kWarn) << found.message;
    EXPECT_NE(found.message.find(dead), std::string::npos) << found.message;
    EXPECT_EQ(found.message.find("live-" + suffix), std::string::npos) << found.message;
    EXPECT_NE(found.message.find("--fix"), std::string::npos);
    // Without --fix nothing changed.
    EXPECT_TRUE((*store)->get(te::rpcMetaKey(prefix, dead)).value().has_value());

    inputs.fix = true;
    Finding fixed = only(checkStaleRecords(inputs), "stale");
    EXPECT_EQ(fixed.verdict, Verdict::kPass) << fixed.message;
    EXPECT_NE(fixed.message.find(dead), std::string::npos) << fixed.message;
    EXPECT_FALSE((*store)->get(te::rpcMetaKey(prefix, dead)).value().has_value());
    EXPECT_FALSE((*store)->get(te::segmentKey(prefix, dead)).value().has_value());
    EXPECT_TRUE((*store)->get(te::rpcMetaKey(prefix, live.segment_name)).value().has_value());
    inputs.fix = false;
    EXPECT_EQ(only(checkStaleRecords(inputs), "stale").verdict, Verdict::kPass);
  }
}

// A disk tier directory that is ready, one that cannot be, a limit beyond the free space, a
// directory a client holds, and masters with and without --enable_offload.
TEST(DoctorTest, TheDiskTierDirectoryAndItsMasterAreReadyOrTheFailureSaysWhy) {
  testing::TempDir dir;
  Inputs inputs = p2p();
  ::unsetenv("MOONCAKE_OFFLOAD_FILE_STORAGE_PATH");
  EXPECT_TRUE(checkDiskTier(inputs).empty());  // not asked for

  inputs.offload_path = dir.path() + "/tier";  // not there yet: setup creates it
  auto findings = checkDiskTier(inputs);
  EXPECT_EQ(only(findings, "disk_tier_dir").verdict, Verdict::kPass);
  EXPECT_NE(only(findings, "disk_tier_dir").message.find("does not exist yet"), std::string::npos);
  EXPECT_NE(only(findings, "disk_tier").verdict, Verdict::kFail)
      << only(findings, "disk_tier").message;
  EXPECT_EQ(only(findings, "disk_space").verdict, Verdict::kPass)
      << only(findings, "disk_space").message;

  std::ofstream(dir.path() + "/file") << "x";
  inputs.offload_path = dir.path() + "/file/tier";
  Finding under_file = only(checkDiskTier(inputs), "disk_tier");
  EXPECT_EQ(under_file.verdict, Verdict::kFail);
  EXPECT_NE(under_file.message.find("is not a directory"), std::string::npos) << under_file.message;

  inputs.offload_path = dir.path() + "/tier";
  ::setenv("MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES", "1000000000000000000", 1);
  Finding space = only(checkDiskTier(inputs), "disk_space");
  ::unsetenv("MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES");
  EXPECT_EQ(space.verdict, Verdict::kWarn);
  EXPECT_NE(space.message.find("fills first"), std::string::npos) << space.message;

  {
    store::tier::DiskStoreOptions options;
    options.path = inputs.offload_path;
    options.capacity = 64 << 20;
    auto held = store::tier::DiskStore::open(options);
    ASSERT_TRUE(held.ok()) << held.status().toString();
    Finding in_use = only(checkDiskTier(inputs), "disk_tier_dir");
    EXPECT_EQ(in_use.verdict, Verdict::kPass);
    EXPECT_NE(in_use.message.find("in use by a running client"), std::string::npos)
        << in_use.message;
  }

  for (bool offload : {false, true}) {
    const uint16_t port = testing::freeLoopbackPort();
    std::vector<std::string> args = {"--rpc_address=127.0.0.1", "--port=" + std::to_string(port),
                                     "--metrics_port=0", "--metadata_dir=none"};
    if (offload) args.push_back("--enable_offload");
    testing::ChildProcess master(testing::builtBinary("tools/mooncake_master"), args);
    ASSERT_TRUE(
        testing::waitFor([&] { return testing::portAccepts(port); }, std::chrono::seconds(20)));
    inputs.master_server_address = "127.0.0.1:" + std::to_string(port);
    Finding verdict = only(checkDiskTier(inputs), "disk_master");
    EXPECT_EQ(verdict.verdict, offload ? Verdict::kPass : Verdict::kFail) << verdict.message;
    if (!offload) {
      EXPECT_NE(verdict.message.find("--enable_offload"), std::string::npos) << verdict.message;
    }
  }
}

}  // namespace
}  // namespace mooncake::doctor
