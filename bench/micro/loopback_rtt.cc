// The floor under any request/response over loopback TCP on this machine: one thread sends 100
// bytes, another echoes them, blocking reads on both sides, TCP_NODELAY. A store get needs two
// such round trips (master, then replica holder); Redis needs one. Run: build/bench/loopback_rtt
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {

constexpr int kMessage = 100;
constexpr int kRoundTrips = 50000;

bool readFull(int fd, char* buffer, int length) {
  for (int got = 0; got < length;) {
    ssize_t n = ::read(fd, buffer + got, length - got);
    if (n <= 0) return false;
    got += static_cast<int>(n);
  }
  return true;
}

void noDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

int main() {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("loopback_rtt: listen");
    return 1;
  }
  std::thread echo([listener] {
    int connection = ::accept(listener, nullptr, nullptr);
    noDelay(connection);
    char buffer[kMessage];
    while (readFull(connection, buffer, kMessage)) {
      if (::write(connection, buffer, kMessage) != kMessage) break;
    }
    ::close(connection);
  });
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    std::perror("loopback_rtt: connect");
    return 1;
  }
  noDelay(client);
  char buffer[kMessage] = {};
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kRoundTrips; ++i) {
    if (::write(client, buffer, kMessage) != kMessage || !readFull(client, buffer, kMessage)) {
      std::perror("loopback_rtt: round trip");
      return 1;
    }
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
                  .count() /
              kRoundTrips;
  ::close(client);
  echo.join();
  ::close(listener);
  std::printf("loopback TCP round trip (100 bytes, two threads, blocking): %.1f us\n", us);
  return 0;
}
