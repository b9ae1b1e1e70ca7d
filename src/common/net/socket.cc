#include "common/net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <random>

namespace mooncake::net {
namespace {

Status socketError(const std::string& what, int error_number) {
  return Status::error(ErrorCode::ERR_SOCKET, what + ": " + errnoText(error_number));
}

// Resolves host:port into the first matching address (TCP, any family).
Result<struct addrinfo*> resolve(const HostPort& address, bool passive) {
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  struct addrinfo* result = nullptr;
  std::string port = std::to_string(address.port);
  const char* host = address.host.empty() ? nullptr : address.host.c_str();
  int rc = ::getaddrinfo(host, port.c_str(), &hints, &result);
  if (rc != 0) {
    return Status::error(ErrorCode::ERR_DNS,
                         "cannot resolve host '" + address.host + "': " + ::gai_strerror(rc));
  }
  return result;
}

// Drops `bytes` from the front of an iovec array after a partial transfer.
void advanceIov(struct iovec*& iov, int& iov_count, size_t bytes) {
  while (iov_count > 0 && bytes >= iov->iov_len) {
    bytes -= iov->iov_len;
    ++iov;
    --iov_count;
  }
  if (iov_count > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + bytes;
    iov->iov_len -= bytes;
  }
}

struct AddrInfoDeleter {
  void operator()(struct addrinfo* info) const { ::freeaddrinfo(info); }
};

}  // namespace

std::string errnoText(int error_number) {
  std::string text = std::strerror(error_number);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string HostPort::toString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parseHostPort(std::string_view text, uint16_t default_port) {
  HostPort out;
  out.port = default_port;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                           "malformed address '" + std::string(text) + "': missing ']'");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                             "malformed address '" + std::string(text) + "'");
      }
      port_text = text.substr(close + 2);
    }
  } else {
    size_t colon = text.rfind(':');
    // More than one colon without brackets is a bare IPv6 address without port.
    if (colon != std::string_view::npos && text.find(':') == colon) {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      out.host = std::string(text);
    }
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value > 65535) {
      return Status::error(
          ErrorCode::ERR_INVALID_ARGUMENT,
          "malformed port in address '" + std::string(text) + "': expected 0-65535");
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (out.host.empty()) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "malformed address '" + std::string(text) + "': empty host");
  }
  return out;
}

Result<UniqueFd> listenTcp(const std::string& host, uint16_t port, int backlog) {
  HostPort address{host, port};
  MC_ASSIGN_OR_RETURN(struct addrinfo * raw, resolve(address, true));
  std::unique_ptr<struct addrinfo, AddrInfoDeleter> info(raw);
  UniqueFd fd(::socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return socketError("socket()", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), info->ai_addr, info->ai_addrlen) != 0) {
    int err = errno;
    if (err == EADDRINUSE) {
      return Status::error(ErrorCode::ERR_SOCKET,
                           "bind address already in use: " + address.toString() +
                               " (another process listens on this port; pick another port or "
                               "stop that process)");
    }
    return socketError("bind " + address.toString(), err);
  }
  if (::listen(fd.get(), backlog) != 0) return socketError("listen " + address.toString(), errno);
  return fd;
}

Result<UniqueFd> listenTcpInRange(const std::string& host, uint16_t min_port, uint16_t max_port,
                                  int backlog) {
  if (min_port > max_port) {
    return Status::error(
        ErrorCode::ERR_INVALID_ARGUMENT,
        "empty port range [" + std::to_string(min_port) + ", " + std::to_string(max_port) + "]");
  }
  uint32_t span = static_cast<uint32_t>(max_port) - min_port + 1;
  std::random_device seed;
  uint32_t start = std::uniform_int_distribution<uint32_t>(0, span - 1)(seed);
  Status last;
  for (uint32_t i = 0; i < span; ++i) {
    auto port = static_cast<uint16_t>(min_port + (start + i) % span);
    auto fd = listenTcp(host, port, backlog);
    if (fd.ok()) return fd;
    last = fd.status();
  }
  return last.withContext("no free port in [" + std::to_string(min_port) + ", " +
                          std::to_string(max_port) + "] (MC_MIN_RPC_PORT/MC_MAX_RPC_PORT)");
}

Result<uint16_t> boundPort(int fd) {
  struct sockaddr_storage addr {};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    return socketError("getsockname", errno);
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<struct sockaddr_in*>(&addr)->sin_port);
  }
  return ntohs(reinterpret_cast<struct sockaddr_in6*>(&addr)->sin6_port);
}

bool peerIsDown(int error_number) {
  return error_number == ECONNREFUSED || error_number == EHOSTUNREACH ||
         error_number == ENETUNREACH || error_number == ETIMEDOUT;
}

Result<UniqueFd> connectTcp(const HostPort& address, std::chrono::milliseconds timeout,
                            int* error_number) {
  int ignored = 0;
  int& failure = error_number != nullptr ? *error_number : ignored;
  failure = 0;
  MC_ASSIGN_OR_RETURN(struct addrinfo * raw, resolve(address, false));
  std::unique_ptr<struct addrinfo, AddrInfoDeleter> info(raw);
  UniqueFd fd(::socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return socketError("socket()", errno);
  const std::string what = "connect to " + address.toString();
  if (::connect(fd.get(), info->ai_addr, info->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return socketError(what, failure = errno);
    struct pollfd pfd {
      fd.get(), POLLOUT, 0
    };
    int rc;
    do {
      rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return socketError(what, failure = ETIMEDOUT);
    if (rc < 0) return socketError(what, failure = errno);
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) return socketError(what, failure = so_error);
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  setNoDelay(fd.get());
  return fd;
}

Status sendAll(int fd, const void* data, size_t length) {
  struct iovec iov {
    const_cast<void*>(data), length
  };
  return sendAllVec(fd, &iov, 1);
}

Status sendAllVec(int fd, struct iovec* iov, int iov_count) {
  while (iov_count > 0) {
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(iov_count);
    ssize_t sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return socketError("send", errno);
    }
    auto remaining = static_cast<size_t>(sent);
    advanceIov(iov, iov_count, remaining);
  }
  return Status::OK();
}

Status recvAll(int fd, void* data, size_t length) {
  auto* cursor = static_cast<char*>(data);
  while (length > 0) {
    ssize_t got = ::recv(fd, cursor, length, MSG_WAITALL);
    if (got == 0) return Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer");
    if (got < 0) {
      if (errno == EINTR) continue;
      return socketError("recv", errno);
    }
    cursor += got;
    length -= static_cast<size_t>(got);
  }
  return Status::OK();
}

Result<size_t> recvUntilFullOrClosed(int fd, struct iovec* iov, int iov_count) {
  size_t total = 0;
  while (iov_count > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --iov_count;
      continue;
    }
    struct msghdr msg {};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(iov_count);
    ssize_t got = ::recvmsg(fd, &msg, MSG_WAITALL);
    if (got == 0) return total;
    if (got < 0) {
      if (errno == EINTR) continue;
      return socketError("recv", errno);
    }
    total += static_cast<size_t>(got);
    auto remaining = static_cast<size_t>(got);
    advanceIov(iov, iov_count, remaining);
  }
  return total;
}

ssize_t recvLooking(int fd, void* buffer, size_t length, std::chrono::microseconds look) {
  const auto until = std::chrono::steady_clock::now() + look;
  while (true) {
    ssize_t got = ::recv(fd, buffer, length, MSG_DONTWAIT);
    if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return got;
    if (std::chrono::steady_clock::now() >= until) return got;
    ::sched_yield();
  }
}

void setNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void setTimeoutOption(int fd, int option, std::chrono::milliseconds timeout) {
  struct timeval tv {};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

void setReceiveTimeout(int fd, std::chrono::milliseconds timeout) {
  setTimeoutOption(fd, SO_RCVTIMEO, timeout);
}

void setSendTimeout(int fd, std::chrono::milliseconds timeout) {
  setTimeoutOption(fd, SO_SNDTIMEO, timeout);
}

bool isLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  struct in_addr v4 {};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  return false;
}

Status checkResolvable(const std::string& host) {
  auto info = resolve(HostPort{host, 0}, false);
  if (!info.ok()) return info.status();
  ::freeaddrinfo(info.value());
  return Status::OK();
}

std::vector<InterfaceAddress> interfaceAddresses() {
  std::vector<InterfaceAddress> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (struct ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    const int family = it->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[NI_MAXHOST];
    socklen_t length = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (::getnameinfo(it->ifa_addr, length, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) != 0) {
      continue;
    }
    InterfaceAddress entry;
    entry.address = text;
    if (auto percent = entry.address.find('%'); percent != std::string::npos) {
      entry.address.resize(percent);
    }
    entry.ipv4 = family == AF_INET;
    entry.up = (it->ifa_flags & IFF_UP) != 0;
    entry.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
    out.push_back(std::move(entry));
  }
  ::freeifaddrs(list);
  return out;
}

std::string firstNonLoopbackIPv4() {
  for (const InterfaceAddress& entry : interfaceAddresses()) {
    if (entry.ipv4 && entry.up && !entry.loopback) return entry.address;
  }
  return "";
}

std::vector<std::string> numericAddresses(const std::string& host) {
  std::vector<std::string> out;
  struct addrinfo hints {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) ==
        0) {
      out.push_back(text);
    }
  }
  ::freeaddrinfo(found);
  return out;
}

std::string localHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace mooncake::net
