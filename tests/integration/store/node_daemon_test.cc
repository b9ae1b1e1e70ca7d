// The node daemon with real processes: mooncake_master, mooncake_client daemons (two "nodes" on
// loopback) and dummy clients (tests/support/dummy_worker), plus in-process clients that check
// what the dummies wrote byte for byte.
#include "mooncake/store/node_daemon.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cluster_fixture.h"
#include "store/client/daemon/daemon_wire.h"
#include "support/fuzz.h"
#include "support/key_values.h"

namespace mooncake::store {
namespace {

using namespace std::chrono_literals;

class NodeDaemonTest : public StoreClusterTest {
 protected:
  void SetUp() override { startMaster({}); }

  // Starts a daemon on `port` (0: a free one); returns its port.
  uint16_t startDaemon(uint16_t port = 0) {
    if (port == 0) port = testing::freeLoopbackPort();
    daemons_[port] = std::make_unique<testing::ChildProcess>(
        testing::builtBinary("tools/mooncake_client"),
        std::vector<std::string>{"--host=127.0.0.1", "--metadata_server=" + metadataUrl(),
                                 "--master_server_address=" + masterAddress(),
                                 "--port=" + std::to_string(port), "--global_segment_size=128MB"},
        std::vector<std::string>{"MC_TCP_BIND_ADDRESS=127.0.0.1"});
    std::string line = daemons_[port]->readLine(20s);
    EXPECT_NE(line.find("serving dummy clients"), std::string::npos) << line;
    return port;
  }

  static std::string address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

  // A daemon in this process, serving with `client`, on a free port.
  static Result<std::unique_ptr<NodeDaemon>> startInProcess(Client& client) {
    NodeDaemonOptions options;
    options.port = testing::freeLoopbackPort();
    return NodeDaemon::start(client, options);
  }

  // A new dummy's hello announcing a file of `size` bytes (the file goes with the frame).
  static std::string helloPayload(uint64_t size) {
    std::string payload;
    ByteWriter writer(payload);
    writer.bytes("");
    writer.u64(size);
    writer.u64(static_cast<uint64_t>(::getpid()));
    return payload;
  }

  std::unique_ptr<testing::ChildProcess> worker(const std::vector<std::string>& args) {
    return std::make_unique<testing::ChildProcess>(testing::builtBinary("tests/dummy_worker"),
                                                   args);
  }

  // The daemon's /metrics value of `name`, or -1.
  static int64_t daemonMetric(uint16_t port, const std::string& name) {
    auto response = testing::httpCall("GET", "http://" + address(port) + "/metrics");
    if (!response.ok()) return -1;
    std::istringstream lines(response->body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoll(line.substr(name.size() + 1));
    }
    return -1;
  }

  static size_t openFds(pid_t pid) {
    size_t count = 0;
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (dir == nullptr) return 0;
    while (::readdir(dir) != nullptr) ++count;
    ::closedir(dir);
    return count - 2;  // . and ..
  }

  static uint64_t rssKiB(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0;
  }

  std::map<uint16_t, std::unique_ptr<testing::ChildProcess>> daemons_;
};

TEST_F(NodeDaemonTest, FourDummiesOnTwoNodesShareEveryObject) {
  uint16_t node_a = startDaemon();
  uint16_t node_b = startDaemon();
  constexpr int kKeys = 150;
  constexpr size_t kSize = 96 * 1024;
  std::vector<std::unique_ptr<testing::ChildProcess>> workers;
  std::vector<std::string> prefixes;
  for (int w = 0; w < 4; ++w) {
    prefixes.push_back("four/w" + std::to_string(w));
    workers.push_back(worker({"workload", address(w < 2 ? node_a : node_b), prefixes.back(),
                              std::to_string(kKeys), std::to_string(kSize)}));
  }
  for (auto& w : workers) {
    std::string line = w->readLine(120s);
    EXPECT_EQ(line, "done verified=" + std::to_string(kKeys));
    EXPECT_EQ(w->wait(10s), 0);
  }
  // Every third key was removed; the rest is readable from the other node's dummies...
  const int kept = kKeys - kKeys / 3;
  for (int w = 0; w < 4; ++w) {
    auto reader = worker({"read", address(w < 2 ? node_b : node_a), prefixes[w],
                          std::to_string(kKeys), std::to_string(kSize)});
    EXPECT_EQ(reader->readLine(60s),
              "read verified=" + std::to_string(kept) + " missing=" + std::to_string(kKeys - kept));
    EXPECT_EQ(reader->wait(10s), 0);
  }
  // ...and from a real client, byte for byte.
  auto client = pureClient();
  ASSERT_NE(client, nullptr);
  for (const std::string& prefix : prefixes) {
    for (int i = 0; i < kKeys; ++i) {
      std::string key = prefix + "/" + std::to_string(i);
      auto got = client->get(key);
      if (i % 3 == 2) {
        EXPECT_TRUE(got.status().is(StoreErrorCode::OBJECT_NOT_FOUND)) << key;
      } else {
        ASSERT_TRUE(got.ok()) << key << ": " << got.status().toString();
        EXPECT_EQ(*got, testing::valueForKey(key, kSize)) << key;
      }
    }
  }
  // What a real client puts, the dummies read.
  for (int i = 0; i < 20; ++i) {
    std::string key = "four/real/" + std::to_string(i);
    ASSERT_TRUE(client->put(key, testing::valueForKey(key, kSize).data(), kSize).ok());
  }
  auto reader = worker({"read", address(node_a), "four/real", "20", std::to_string(kSize)});
  EXPECT_EQ(reader->readLine(60s), "read verified=20 missing=0");
}

TEST_F(NodeDaemonTest, DeadDummiesLeaveNothingBehind) {
  uint16_t node = startDaemon();
  pid_t daemon_pid = daemons_[node]->pid();
  auto cycle = [&] {
    auto w = worker({"attach", address(node)});
    ASSERT_EQ(w->readLine(20s), "ready");
    w->signal(SIGKILL);
    w->wait(10s);
  };
  auto settled = [&] {
    return testing::waitFor(
        [&] {
          return daemonMetric(node, "mooncake_client_dummy_clients") == 0 &&
                 daemonMetric(node, "mooncake_client_connections") == 0;
        },
        20s);
  };
  for (int i = 0; i < 20; ++i) cycle();  // warm up: first-use allocations of the daemon
  ASSERT_TRUE(settled());
  const size_t fds_before = openFds(daemon_pid);
  const uint64_t rss_before = rssKiB(daemon_pid);
  constexpr int kCycles = 1000;
  for (int i = 0; i < kCycles; ++i) cycle();
  ASSERT_TRUE(settled());
  // The status port's own connection (the metrics read just now) may still be closing.
  testing::waitFor([&] { return openFds(daemon_pid) <= fds_before; }, 5s);
  const size_t fds_after = openFds(daemon_pid);
  const uint64_t rss_after = rssKiB(daemon_pid);
  std::printf("%d dummy attach/kill -9 cycles: daemon fds %zu -> %zu, RSS %llu -> %llu KiB\n",
              kCycles, fds_before, fds_after, static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(rss_after));
  EXPECT_LE(fds_after, fds_before);
  // Each dummy mapped 9 MiB into the daemon: a leak of one mapping per cycle would be gigabytes.
  EXPECT_LT(rss_after, rss_before + 16 * 1024);

  // kill -9 mid-put: the daemon finishes or drops that put, releases the dummy, keeps serving.
  auto putter = worker({"put_loop", address(node), "dead/putter", "262144"});
  ASSERT_EQ(putter->readLine(60s), "put 50");
  putter->signal(SIGKILL);
  putter->wait(10s);
  ASSERT_TRUE(settled());
  auto after = worker({"workload", address(node), "dead/after", "30", "65536"});
  EXPECT_EQ(after->readLine(60s), "done verified=30");
}

TEST_F(NodeDaemonTest, DummiesFailFastWhileTheDaemonIsDownAndCarryOnWhenItIsBack) {
  // The object lives in this process's segment, so it outlives the daemon.
  ClientOptions options;
  options.local_hostname = "127.0.0.1";
  options.metadata_server = metadataUrl();
  options.master_server_address = masterAddress();
  options.global_segment_size = 32 << 20;
  auto holder = Client::create(options);
  ASSERT_TRUE(holder.ok()) << holder.status().toString();
  const std::string key = "restart/object";
  const size_t size = 65536;
  ReplicateConfig config;
  config.prefer_alloc_in_same_node = true;
  ASSERT_TRUE((*holder)->put(key, testing::valueForKey(key, size).data(), size, config).ok());

  uint16_t node = startDaemon();
  auto reader = worker({"get_loop", address(node), key, std::to_string(size)});
  ASSERT_EQ(reader->readLine(30s), "ok");
  daemons_[node]->signal(SIGKILL);  // kill -9 while the dummy is getting
  daemons_[node]->wait(10s);
  std::string error = reader->readLine(30s);
  EXPECT_EQ(error.rfind("error -900 ", 0), 0u) << error;  // RPC_FAIL naming the daemon
  EXPECT_NE(error.find("mooncake_client"), std::string::npos) << error;
  startDaemon(node);  // the same port: the dummy finds it again by itself
  EXPECT_EQ(reader->readLine(60s), "recovered");
  EXPECT_EQ(reader->wait(10s), 0);
}

TEST_F(NodeDaemonTest, ASecondDaemonOnThePortIsRefused) {
  uint16_t node = startDaemon();
  testing::TempDir dir;
  std::string log = dir.path() + "/stderr";
  testing::ChildProcess second(testing::builtBinary("tools/mooncake_client"),
                               {"--host=127.0.0.1", "--metadata_server=" + metadataUrl(),
                                "--master_server_address=" + masterAddress(),
                                "--port=" + std::to_string(node), "--global_segment_size=16MB"},
                               {"MC_TCP_BIND_ADDRESS=127.0.0.1"}, log);
  EXPECT_NE(second.wait(30s), 0);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("bind address already in use"), std::string::npos) << text;
  // The first one still serves.
  auto w = worker({"workload", address(node), "second/ok", "5", "4096"});
  EXPECT_EQ(w->readLine(30s), "done verified=5");
}

// Raw protocol against an in-process daemon: what a broken or hostile local process gets.
TEST_F(NodeDaemonTest, MalformedRequestsAreRefusedAndTheDaemonCarriesOn) {
  auto client = pureClient();
  ASSERT_NE(client, nullptr);
  auto daemon = startInProcess(*client);
  ASSERT_TRUE(daemon.ok()) << daemon.status().toString();
  using namespace daemon;
  auto exchange = [](int fd, Op op, const std::string& payload, int pass_fd = -1) {
    EXPECT_TRUE(sendFrame(fd, static_cast<uint32_t>(op), payload, pass_fd).ok());
    FrameHeader header;
    std::string reply;
    Status received = recvFrame(fd, header, reply, 10s, 10s);
    EXPECT_TRUE(received.ok()) << received.toString();
    return std::make_pair(static_cast<ReplyCode>(header.code), reply);
  };
  auto hello = helloPayload;
  auto helloStatus = [](const std::string& reply) {
    ByteReader in(reply);
    Status status;
    EXPECT_TRUE(readStatus(in, status));
    return status;
  };
  auto fd = connectDaemon((*daemon)->socketName());
  ASSERT_TRUE(fd.ok()) << fd.status().toString();
  // A request before hello.
  EXPECT_EQ(exchange(fd->get(), Op::kStatus, "").first, ReplyCode::kNoSession);
  // A hello without a file, and one with a file that could shrink under the daemon.
  EXPECT_TRUE(helloStatus(exchange(fd->get(), Op::kHello, hello(4096)).second)
                  .is(StoreErrorCode::INVALID_PARAMS));
  int unsealed = ::memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(unsealed, 4096), 0);
  Status refused = helloStatus(exchange(fd->get(), Op::kHello, hello(4096), unsealed).second);
  EXPECT_NE(refused.message().find("not sealed"), std::string::npos) << refused.toString();
  ::close(unsealed);
  // A sealed file that is shorter than announced.
  int sealed = ::memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ASSERT_EQ(::ftruncate(sealed, 8192), 0);
  ASSERT_EQ(::fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_FALSE(helloStatus(exchange(fd->get(), Op::kHello, hello(1 << 20), sealed).second).ok());
  EXPECT_TRUE(helloStatus(exchange(fd->get(), Op::kHello, hello(8192), sealed).second).ok());
  ::close(sealed);
  // Memory outside the file, garbage payloads, unknown ops: refused, nothing done.
  std::string write;
  ByteWriter writer(write);
  writer.u64(0);
  writeConfig(writer, {});
  writer.u64(1);
  writer.bytes("outside");
  writeRuns(writer, {{4096, 8192}});
  EXPECT_EQ(exchange(fd->get(), Op::kWrite, write).first, ReplyCode::kMalformed);
  EXPECT_EQ(exchange(fd->get(), Op::kRead, "\xff\xff\xff\xff\xff\xff").first,
            ReplyCode::kMalformed);
  EXPECT_EQ(exchange(fd->get(), static_cast<Op>(999), "").first, ReplyCode::kUnknownOp);
  auto outside = client->isExist("outside");
  EXPECT_TRUE(outside.ok() && !*outside);
  EXPECT_EQ(exchange(fd->get(), Op::kStatus, "").first, ReplyCode::kOk);
  // A frame above the limit closes the connection.
  FrameHeader huge{kMaxPayload + 1, static_cast<uint32_t>(Op::kStatus)};
  ASSERT_EQ(::send(fd->get(), &huge, sizeof(huge), MSG_NOSIGNAL), 8);
  FrameHeader header;
  std::string reply;
  EXPECT_FALSE(recvFrame(fd->get(), header, reply, 10s, 10s).ok());
  EXPECT_GE((*daemon)->stats().malformed, 2u);
}

// Mutated requests of every op against an in-process daemon (ASan/UBSan builds run it too):
// the daemon answers each one or closes that connection, and keeps serving.
TEST_F(NodeDaemonTest, FuzzedRequestsNeverTakeTheDaemonDown) {
  auto client = pureClient();
  ASSERT_NE(client, nullptr);
  auto daemon = startInProcess(*client);
  ASSERT_TRUE(daemon.ok()) << daemon.status().toString();
  using namespace daemon;
  constexpr uint64_t kFile = 1 << 20;
  auto attach = [&]() -> net::UniqueFd {
    auto fd = connectDaemon((*daemon)->socketName());
    if (!fd.ok()) return {};
    int file = ::memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (::ftruncate(file, kFile) != 0) return {};
    (void)::fcntl(file, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    Status sent =
        sendFrame(fd->get(), static_cast<uint32_t>(Op::kHello), helloPayload(kFile), file);
    ::close(file);
    FrameHeader header;
    std::string reply;
    if (!sent.ok() || !recvFrame(fd->get(), header, reply, 10s, 10s).ok()) return {};
    return std::move(fd).value();
  };
  // One valid request per op: the corpus the mutations start from.
  std::vector<std::pair<Op, std::string>> corpus;
  auto add = [&](Op op, const std::function<void(ByteWriter&)>& fill) {
    std::string payload;
    ByteWriter writer(payload);
    fill(writer);
    corpus.emplace_back(op, payload);
  };
  add(Op::kWrite, [](ByteWriter& w) {
    w.u64(0);
    writeConfig(w, {});
    w.u64(1);
    w.bytes("fuzz/key");
    writeRuns(w, {{0, 4096}});
  });
  add(Op::kRead, [](ByteWriter& w) {
    w.u64(2);
    w.bytes("fuzz/key");
    writeRuns(w, {{4096, 4096}});
    w.bytes("fuzz/other");
    writeRuns(w, {{8192, 100}, {9000, 100}});
  });
  add(Op::kReadRanges, [](ByteWriter& w) {
    w.flag(false);
    w.u64(1);
    w.bytes("fuzz/key");
    writeRanges(w, {{0, 10, 0}, {100, 10, 4096}});
  });
  add(Op::kIsExist, [](ByteWriter& w) { writeStrings(w, {"fuzz/key", "x"}); });
  add(Op::kGetSize, [](ByteWriter& w) { w.bytes("fuzz/key"); });
  add(Op::kRemove, [](ByteWriter& w) {
    w.flag(true);
    w.flag(false);
    writeStrings(w, {"fuzz/key"});
  });
  add(Op::kRemoveByRegex, [](ByteWriter& w) {
    w.bytes("^fuzz/");
    w.flag(true);
  });
  add(Op::kLocations, [](ByteWriter& w) {
    w.flag(false);
    writeStrings(w, {"fuzz/key"});
  });
  add(Op::kReplicaClear, [](ByteWriter& w) {
    writeStrings(w, {"fuzz/key"});
    w.bytes("");
  });
  add(Op::kStatus, [](ByteWriter&) {});
  auto random = testing::fuzzRandom("node daemon requests");
  const auto until = std::chrono::steady_clock::now() + testing::fuzzDuration() / 3;
  net::UniqueFd fd = attach();
  ASSERT_TRUE(fd.valid());
  uint64_t requests = 0;
  while (std::chrono::steady_clock::now() < until) {
    const auto& [op, base] = corpus[random() % corpus.size()];
    std::string payload = testing::mutate(base, random);
    uint32_t code =
        random() % 16 == 0 ? static_cast<uint32_t>(random() % 20) : static_cast<uint32_t>(op);
    if (code == static_cast<uint32_t>(Op::kHello)) code = static_cast<uint32_t>(Op::kStatus);
    FrameHeader header;
    std::string reply;
    bool answered = sendFrame(fd.get(), code, payload).ok() &&
                    recvFrame(fd.get(), header, reply, 30s, 10s).ok();
    ++requests;
    if (!answered) fd = attach();  // the daemon closed it: allowed, and it must still serve
    ASSERT_TRUE(fd.valid()) << "the daemon stopped serving after " << requests << " requests";
  }
  auto fresh = attach();
  ASSERT_TRUE(fresh.valid());
  ASSERT_TRUE(sendFrame(fresh.get(), static_cast<uint32_t>(Op::kStatus), "").ok());
  FrameHeader header;
  std::string reply;
  ASSERT_TRUE(recvFrame(fresh.get(), header, reply, 10s, 10s).ok());
  EXPECT_EQ(header.code, static_cast<uint32_t>(ReplyCode::kOk));
  std::printf("%llu fuzzed requests, %llu refused as malformed\n",
              static_cast<unsigned long long>(requests),
              static_cast<unsigned long long>((*daemon)->stats().malformed));
  EXPECT_GT((*daemon)->stats().malformed, 0u);
}

}  // namespace
}  // namespace mooncake::store
