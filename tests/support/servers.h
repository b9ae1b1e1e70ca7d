// Real etcd and Redis servers for integration tests, started on free loopback ports with their
// data in a temp dir, and killed by the destructor.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"

namespace mooncake::testing {

class EtcdServer {
 public:
  // Starts etcd and waits until it answers; `ok()` is false when that failed.
  EtcdServer();
  bool ok() const { return ready_; }
  // "127.0.0.1:<client port>"
  std::string endpoint() const;
  void kill();
  // SIGSTOP / SIGCONT: an etcd that stops answering without closing connections.
  void signal(int number);

 private:
  TempDir dir_;
  uint16_t client_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

class RedisServer {
 public:
  RedisServer();
  bool ok() const { return ready_; }
  std::string endpoint() const;

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
  bool ready_ = false;
};

// True when a TCP connect to 127.0.0.1:port succeeds.
bool portAccepts(uint16_t port);

}  // namespace mooncake::testing
