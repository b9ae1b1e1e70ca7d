#include "transfer_engine/transport/direct/table_offer.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/logging.h"
#include "common/net/socket.h"

namespace mooncake::te {
namespace {

constexpr char kGreeting[8] = {'M', 'C', 'L', 'I', 'V', 'R', 'T', '1'};
constexpr size_t kMaxName = sizeof(sockaddr_un::sun_path) - 1;

// An abstract address: sun_path starts with NUL, the name follows (no terminator).
socklen_t abstractAddress(const std::string& name, sockaddr_un& address) {
  std::memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

std::string randomName() {
  std::random_device entropy;
  char text[64];
  std::snprintf(text, sizeof(text), "mooncake-te-direct/%d/%08x%08x", static_cast<int>(::getpid()),
                entropy(), entropy());
  return text;
}

}  // namespace

Status TableOfferServer::start(int table_fd) {
  table_fd_ = table_fd;
  for (int attempt = 0; attempt < 8; ++attempt) {
    net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) break;
    std::string name = randomName();
    sockaddr_un address;
    socklen_t length = abstractAddress(name, address);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) continue;
    if (::listen(fd.get(), 64) != 0) break;
    name_ = std::move(name);
    listen_fd_ = std::move(fd);
    thread_ = std::thread([this] { serve(); });
    return Status::OK();
  }
  return Status::error(ErrorCode::ERR_SOCKET,
                       "direct: cannot listen on a local socket: " + net::errnoText(errno));
}

void TableOfferServer::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  listen_fd_.reset();
}

void TableOfferServer::serve() {
  while (!stopping_.load()) {
    struct pollfd pfd {
      listen_fd_.get(), POLLIN, 0
    };
    if (::poll(&pfd, 1, 100) <= 0) continue;
    net::UniqueFd client(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    char control[CMSG_SPACE(sizeof(int))] = {};
    struct iovec payload {
      const_cast<char*>(kGreeting), sizeof(kGreeting)
    };
    struct msghdr message {};
    message.msg_iov = &payload;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    struct cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &table_fd_, sizeof(int));
    if (::sendmsg(client.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      VLOG(1) << "direct: table not handed over: " << net::errnoText(errno);
    }
  }
}

Result<net::UniqueFd> fetchTableFd(const std::string& socket_name, pid_t expected_pid,
                                   std::chrono::milliseconds timeout) {
  if (socket_name.empty() || socket_name.size() > kMaxName) {
    return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE, "direct: bad table socket name");
  }
  net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return Status::error(ErrorCode::ERR_SOCKET, "direct: socket: " + net::errnoText(errno));
  }
  sockaddr_un address;
  socklen_t length = abstractAddress(socket_name, address);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
    return Status::error(ErrorCode::ERR_SOCKET,
                         "direct: connect to the peer's table socket: " + net::errnoText(errno));
  }
  // Who listens there is the kernel's word, not the descriptor's.
  struct ucred credentials {};
  socklen_t credentials_length = sizeof(credentials);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &credentials_length) != 0 ||
      credentials.pid != expected_pid) {
    return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE,
                         "direct: the table socket is served by pid " +
                             std::to_string(credentials.pid) + ", not the segment's pid " +
                             std::to_string(expected_pid));
  }
  net::setReceiveTimeout(fd.get(), timeout);
  char greeting[sizeof(kGreeting)] = {};
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec payload {
    greeting, sizeof(greeting)
  };
  struct msghdr message {};
  message.msg_iov = &payload;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t received = ::recvmsg(fd.get(), &message, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  if (received < 0) {
    return Status::error(ErrorCode::ERR_SOCKET,
                         "direct: no table from the peer: " + net::errnoText(errno));
  }
  struct cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS ||
      header->cmsg_len != CMSG_LEN(sizeof(int))) {
    return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE, "direct: the peer sent no table");
  }
  int table_fd = -1;
  std::memcpy(&table_fd, CMSG_DATA(header), sizeof(int));
  net::UniqueFd table(table_fd);
  if (static_cast<size_t>(received) != sizeof(kGreeting) ||
      std::memcmp(greeting, kGreeting, sizeof(kGreeting)) != 0 ||
      (message.msg_flags & MSG_CTRUNC) != 0) {
    return Status::error(ErrorCode::ERR_REJECT_HANDSHAKE, "direct: unexpected table greeting");
  }
  return table;
}

}  // namespace mooncake::te
