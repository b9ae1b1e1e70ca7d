// Small probes for tests of servers under misbehaving clients: whether the server closed a
// connection, and this process's resident memory.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace mooncake::testing {

// True when the server closed `fd` within `limit`.
inline bool closedWithin(int fd, std::chrono::milliseconds limit) {
  struct pollfd p {
    fd, POLLIN, 0
  };
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, 0) <= 0;
}

// Bytes of this process in RAM (/proc/self/statm).
inline long residentBytes() {
  long pages = 0, rss = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f != nullptr) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return rss * ::sysconf(_SC_PAGESIZE);
}

}  // namespace mooncake::testing
