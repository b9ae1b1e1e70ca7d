#include "support/servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mooncake::testing {

bool portAccepts(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

EtcdServer::EtcdServer() {
  client_port_ = freeLoopbackPort();
  uint16_t peer_port = freeLoopbackPort();
  std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  process_ = std::make_unique<ChildProcess>(
      "etcd",
      std::vector<std::string>{"--name", "test", "--data-dir", dir_.path() + "/data",
                               "--listen-client-urls", client, "--advertise-client-urls", client,
                               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                               "--initial-cluster", "test=" + peer, "--log-level", "error"},
      std::vector<std::string>{}, dir_.path() + "/etcd.log");
  ready_ = waitFor([this] { return portAccepts(client_port_); }, std::chrono::seconds(20));
}

std::string EtcdServer::endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

void EtcdServer::signal(int number) {
  if (process_) process_->signal(number);
}

void EtcdServer::kill() {
  process_->signal(SIGKILL);
  process_->wait(std::chrono::seconds(5));
}

RedisServer::RedisServer() {
  port_ = freeLoopbackPort();
  process_ = std::make_unique<ChildProcess>(
      "redis-server",
      std::vector<std::string>{"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", dir_.path(), "--daemonize", "no",
                               "--loglevel", "warning", "--logfile", dir_.path() + "/redis.log"});
  ready_ = waitFor([this] { return portAccepts(port_); }, std::chrono::seconds(20));
}

std::string RedisServer::endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

}  // namespace mooncake::testing
