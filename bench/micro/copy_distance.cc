// How much the kernel's copies care where a payload sits in its socket page: 1 MiB messages over
// loopback TCP, one in flight per connection (send, then wait for an 8-byte answer), each sent
// with one sendmsg of an OFFSET-byte header and the rest of the MiB from a page-aligned buffer,
// received into page-aligned slots of a 100 MiB area. The header puts the payload OFFSET bytes
// into the kernel's socket pages, so both copies (sender's buffer to socket pages, socket pages
// to the receiver's slot) run with the destination OFFSET bytes past the source modulo 4 KiB.
// On x86 `rep movsb` (the kernel's copy routine) that is slow for 1-63 bytes: the TCP transport
// pads its payloads for this reason (docs/METADATA.md "Payload pads").
// Run: build/bench/copy_distance [seconds per run, default 2] [repetitions, default 3]
// Prints, per offset, the median messages per second of 2 connections.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kMessage = 1 << 20;
constexpr size_t kSlots = 100;
constexpr int kConnections = 2;

char* mapAligned(size_t bytes) {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  std::memset(memory, 1, bytes);
  return static_cast<char*>(memory);
}

bool readFull(int fd, char* into, size_t length) {
  while (length > 0) {
    ssize_t n = ::recv(fd, into, length, 0);
    if (n <= 0) return false;
    into += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

void noDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// One run: kConnections client threads against as many server threads; messages per second.
double run(int listener, const sockaddr_in& address, size_t offset, double seconds, char* area) {
  std::atomic<bool> stop{false};
  std::atomic<long> messages{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {  // server side of connection c
      int fd = ::accept(listener, nullptr, nullptr);
      noDelay(fd);
      const uint64_t ack = 0;
      char* base = area + c * (kSlots / kConnections) * kMessage;
      for (size_t slot = 0;; slot = (slot + 1) % (kSlots / kConnections)) {
        if (!readFull(fd, base + slot * kMessage, kMessage)) break;
        if (::send(fd, &ack, sizeof(ack), MSG_NOSIGNAL) != sizeof(ack)) break;
      }
      ::close(fd);
    });
  }
  std::vector<std::thread> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
        std::perror("copy_distance: connect");
        std::exit(1);
      }
      noDelay(fd);
      char* buffer = mapAligned(kMessage);
      static char header[4096];
      while (!stop.load()) {
        iovec iov[2] = {{header, offset}, {buffer, kMessage - offset}};
        msghdr message{};
        message.msg_iov = iov;
        message.msg_iovlen = 2;
        size_t sent = 0;
        while (sent < kMessage) {
          ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
          if (n <= 0) std::exit(1);
          sent += static_cast<size_t>(n);
          // A short send: continue from where it stopped (rare with loopback buffers).
          size_t skip = static_cast<size_t>(n);
          while (message.msg_iovlen > 0 && skip >= message.msg_iov[0].iov_len) {
            skip -= message.msg_iov[0].iov_len;
            ++message.msg_iov;
            --message.msg_iovlen;
          }
          if (message.msg_iovlen > 0) {
            message.msg_iov[0].iov_base = static_cast<char*>(message.msg_iov[0].iov_base) + skip;
            message.msg_iov[0].iov_len -= skip;
          }
        }
        uint64_t ack = 0;
        if (!readFull(fd, reinterpret_cast<char*>(&ack), sizeof(ack))) std::exit(1);
        messages.fetch_add(1);
      }
      ::close(fd);
      ::munmap(buffer, kMessage);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up
  const long before = messages.load();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const long after = messages.load();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stop.store(true);
  for (auto& client : clients) client.join();
  for (auto& server : threads) server.join();
  return static_cast<double>(after - before) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "usage: copy_distance [seconds per run, default 2] [repetitions, default 3]\n"
        "1 MiB messages over loopback TCP with the payload 0-72 bytes into the socket's\n"
        "pages; prints the median messages/s per offset (see the source's header).\n");
    return 0;
  }
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  if (seconds <= 0 || reps <= 0) {
    std::fprintf(stderr, "copy_distance: seconds and repetitions must be positive\n");
    return 2;
  }
  char* area = mapAligned(kSlots * kMessage);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (area == nullptr || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, kConnections) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("copy_distance: setup");
    return 1;
  }
  const std::vector<size_t> offsets = {0, 8, 16, 24, 32, 40, 48, 56, 64, 72};
  std::vector<std::vector<double>> samples(offsets.size());
  for (int rep = 0; rep < reps; ++rep) {  // interleaved, so drifts hit every offset alike
    for (size_t i = 0; i < offsets.size(); ++i) {
      samples[i].push_back(run(listener, address, offsets[i], seconds, area));
    }
  }
  std::printf("payload offset in the socket page | 1 MiB messages/s (median of %d x %.1f s)\n",
              reps, seconds);
  for (size_t i = 0; i < offsets.size(); ++i) {
    std::sort(samples[i].begin(), samples[i].end());
    std::printf("%33zu | %.0f\n", offsets[i], samples[i][samples[i].size() / 2]);
  }
  return 0;
}
