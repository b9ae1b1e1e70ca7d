#include "support/backends.h"

#include <memory>
#include <mutex>

#include "support/process.h"
#include "support/servers.h"

namespace mooncake::testing {
namespace {

struct SharedServers {
  std::mutex mutex;
  std::unique_ptr<EtcdServer> etcd;
  std::unique_ptr<RedisServer> redis;
  std::unique_ptr<ChildProcess> http;
  uint16_t http_port = 0;
};

SharedServers& shared() {
  // Destroyed at exit, which kills the servers and removes their data dirs (an etcd data dir
  // is ~120 MB of preallocated WAL; leaking one per test process once filled the disk).
  static SharedServers servers;
  return servers;
}

}  // namespace

const char* backendName(Backend backend) {
  switch (backend) {
    case Backend::kP2P:
      return "P2P";
    case Backend::kHttp:
      return "Http";
    case Backend::kEtcd:
      return "Etcd";
    case Backend::kRedis:
      return "Redis";
  }
  return "?";
}

std::string metadataServerFor(Backend backend) {
  SharedServers& s = shared();
  std::lock_guard lock(s.mutex);
  switch (backend) {
    case Backend::kP2P:
      return "P2PHANDSHAKE";
    case Backend::kEtcd:
      if (!s.etcd) s.etcd = std::make_unique<EtcdServer>();
      return s.etcd->ok() ? "etcd://" + s.etcd->endpoint() : "";
    case Backend::kRedis:
      if (!s.redis) s.redis = std::make_unique<RedisServer>();
      return s.redis->ok() ? "redis://" + s.redis->endpoint() : "";
    case Backend::kHttp:
      if (!s.http) {
        s.http_port = freeLoopbackPort();
        s.http = std::make_unique<ChildProcess>(
            builtBinary("tools/mooncake_http_metadata_server"),
            std::vector<std::string>{"--host=127.0.0.1", "--port=" + std::to_string(s.http_port)});
        if (!waitFor([&] { return portAccepts(s.http_port); }, std::chrono::seconds(10))) return "";
      }
      return "http://127.0.0.1:" + std::to_string(s.http_port) + "/metadata";
  }
  return "";
}

}  // namespace mooncake::testing
