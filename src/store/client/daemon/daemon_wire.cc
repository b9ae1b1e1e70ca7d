#include "store/client/daemon/daemon_wire.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/net/socket.h"

namespace mooncake::store::daemon {
namespace {

Status socketError(const std::string& what, int error_number) {
  return Status::error(ErrorCode::ERR_SOCKET, what + ": " + net::errnoText(error_number));
}

// Waits until `fd` is readable; false on timeout (timeout < 0: forever).
Status awaitReadable(int fd, std::chrono::milliseconds timeout, const char* what) {
  struct pollfd entry {
    fd, POLLIN, 0
  };
  while (true) {
    int rc = ::poll(&entry, 1, timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
    if (rc > 0) return Status::OK();
    if (rc == 0) {
      return Status::error(ErrorCode::ERR_SOCKET, std::string("timed out waiting for ") + what +
                                                      " after " + std::to_string(timeout.count()) +
                                                      " ms");
    }
    if (errno != EINTR) return socketError("poll", errno);
  }
}

// Reads exactly `length` bytes; the first read also collects a passed descriptor.
Status readExact(int fd, char* data, size_t length, std::chrono::milliseconds timeout,
                 net::UniqueFd* received_fd) {
  size_t done = 0;
  while (done < length) {
    MC_RETURN_IF_ERROR(awaitReadable(fd, timeout, "the rest of a frame"));
    struct iovec iov {
      data + done, length - done
    };
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return socketError("recvmsg", errno);
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      int passed = -1;
      std::memcpy(&passed, CMSG_DATA(c), sizeof(int));
      net::UniqueFd owned(passed);
      if (received_fd != nullptr) *received_fd = std::move(owned);
    }
    if (n == 0) return Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer");
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

std::string socketName(uint16_t port) {
  return "@mooncake_client_" + std::to_string(port) + ".sock";
}

namespace {

// The address of a socket name; a leading '@' is the abstract namespace.
Result<std::pair<struct sockaddr_un, socklen_t>> unixAddress(const std::string& socket_name) {
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (socket_name.empty() || socket_name.size() >= sizeof(address.sun_path)) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "bad socket name '" + socket_name + "'");
  }
  std::memcpy(address.sun_path, socket_name.data(), socket_name.size());
  bool abstract = socket_name.front() == '@';
  if (abstract) address.sun_path[0] = '\0';
  auto length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + socket_name.size() +
                                       (abstract ? 0 : 1));
  return std::make_pair(address, length);
}

}  // namespace

Result<net::UniqueFd> connectDaemon(const std::string& socket_name) {
  MC_ASSIGN_OR_RETURN(auto address, unixAddress(socket_name));
  net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return socketError("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&address.first), address.second) !=
      0) {
    int error = errno;
    std::string hint = error == ECONNREFUSED || error == ENOENT
                           ? " (is mooncake_client running on this host and in this network "
                             "namespace, with this --port?)"
                           : "";
    return Status::error(ErrorCode::ERR_SOCKET, "cannot reach mooncake_client: connect to " +
                                                    socket_name + ": " + net::errnoText(error) +
                                                    hint);
  }
  return fd;
}

Result<net::UniqueFd> listenDaemon(const std::string& socket_name) {
  MC_ASSIGN_OR_RETURN(auto address, unixAddress(socket_name));
  net::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return socketError("socket", errno);
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&address.first), address.second) != 0) {
    if (errno == EADDRINUSE) {
      return Status::error(ErrorCode::ERR_SOCKET,
                           "bind address already in use: " + socket_name +
                               " (another mooncake_client serves this --port on this host)");
    }
    return socketError("bind " + socket_name, errno);
  }
  if (::listen(fd.get(), 128) != 0) return socketError("listen on " + socket_name, errno);
  return fd;
}

Status sendFrame(int fd, uint32_t code, std::string_view payload, int pass_fd) {
  FrameHeader header{static_cast<uint32_t>(payload.size()), code};
  struct iovec iov[2] = {{&header, sizeof(header)},
                         {const_cast<char*>(payload.data()), payload.size()}};
  struct iovec* next = iov;
  int count = payload.empty() ? 1 : 2;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  bool attach = pass_fd >= 0;
  while (count > 0) {
    struct msghdr msg {};
    msg.msg_iov = next;
    msg.msg_iovlen = static_cast<size_t>(count);
    if (attach) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return socketError("send to the node daemon socket", errno);
    attach = false;  // the descriptor went with the first bytes
    size_t sent = static_cast<size_t>(n);
    while (count > 0 && sent >= next->iov_len) {
      sent -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + sent;
      next->iov_len -= sent;
    }
  }
  return Status::OK();
}

// Looks for readable bytes for up to `look` (yielding the core in between) without sleeping.
bool lookForBytes(int fd, std::chrono::microseconds look) {
  if (look.count() <= 0) return false;
  const auto until = std::chrono::steady_clock::now() + look;
  do {
    char byte;
    ssize_t got = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return true;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

Status recvFrame(int fd, FrameHeader& header, std::string& payload,
                 std::chrono::milliseconds first_byte_timeout,
                 std::chrono::milliseconds frame_timeout, net::UniqueFd* received_fd,
                 std::chrono::microseconds look_first) {
  if (!lookForBytes(fd, look_first)) {
    MC_RETURN_IF_ERROR(awaitReadable(fd, first_byte_timeout, "a reply"));
  }
  MC_RETURN_IF_ERROR(
      readExact(fd, reinterpret_cast<char*>(&header), sizeof(header), frame_timeout, received_fd));
  if (header.payload_length > kMaxPayload) {
    return Status::error(ErrorCode::ERR_SOCKET,
                         "frame of " + std::to_string(header.payload_length) +
                             " bytes is above the limit (" + std::to_string(kMaxPayload) + ")");
  }
  payload.resize(header.payload_length);
  return readExact(fd, payload.data(), payload.size(), frame_timeout, received_fd);
}

void writeStatus(ByteWriter& out, const Status& status) {
  out.flag(status.isStoreError());
  out.i64(status.value());
  out.bytes(status.ok() ? std::string_view() : std::string_view(status.message()));
}

bool readStatus(ByteReader& in, Status& status) {
  bool store = false;
  int64_t value = 0;
  std::string message;
  if (!in.flag(store) || !in.i64(value) || !in.bytes(message)) return false;
  if (value == 0) {
    status = Status::OK();
  } else if (store) {
    status = Status::storeError(static_cast<StoreErrorCode>(value), std::move(message));
  } else {
    status = Status::error(static_cast<ErrorCode>(value), std::move(message));
  }
  return true;
}

void writeConfig(ByteWriter& out, const ReplicateConfig& config) {
  out.u64(config.replica_num);
  out.flag(config.with_soft_pin);
  out.flag(config.soft_pin_ttl_ms.has_value());
  out.u64(config.soft_pin_ttl_ms.value_or(0));
  out.flag(config.with_hard_pin);
  writeStrings(out, config.preferred_segments);
  out.flag(config.prefer_alloc_in_same_node);
}

bool readConfig(ByteReader& in, ReplicateConfig& config) {
  uint64_t replicas = 0;
  bool has_ttl = false;
  uint64_t ttl = 0;
  if (!in.u64(replicas) || !in.flag(config.with_soft_pin) || !in.flag(has_ttl) || !in.u64(ttl) ||
      !in.flag(config.with_hard_pin) || !readStrings(in, config.preferred_segments) ||
      !in.flag(config.prefer_alloc_in_same_node)) {
    return false;
  }
  config.replica_num = replicas;
  if (has_ttl) config.soft_pin_ttl_ms = ttl;
  return true;
}

bool readCount(ByteReader& in, uint64_t& count) { return in.u64(count) && count <= in.remaining(); }

void writeRuns(ByteWriter& out, const std::vector<FileRun>& runs) {
  out.u64(runs.size());
  for (const FileRun& run : runs) {
    out.u64(run.offset);
    out.u64(run.length);
  }
}

bool readRuns(ByteReader& in, std::vector<FileRun>& runs) {
  uint64_t count = 0;
  if (!readCount(in, count)) return false;
  runs.resize(count);
  for (FileRun& run : runs) {
    if (!in.u64(run.offset) || !in.u64(run.length)) return false;
  }
  return true;
}

void writeRanges(ByteWriter& out, const std::vector<FileRange>& ranges) {
  out.u64(ranges.size());
  for (const FileRange& range : ranges) {
    out.u64(range.object_offset);
    out.u64(range.length);
    out.u64(range.file_offset);
  }
}

bool readRanges(ByteReader& in, std::vector<FileRange>& ranges) {
  uint64_t count = 0;
  if (!readCount(in, count)) return false;
  ranges.resize(count);
  for (FileRange& range : ranges) {
    if (!in.u64(range.object_offset) || !in.u64(range.length) || !in.u64(range.file_offset)) {
      return false;
    }
  }
  return true;
}

void writeStrings(ByteWriter& out, const std::vector<std::string>& values) {
  out.u64(values.size());
  for (const std::string& value : values) out.bytes(value);
}

bool readStrings(ByteReader& in, std::vector<std::string>& values) {
  uint64_t count = 0;
  if (!readCount(in, count)) return false;
  values.resize(count);
  for (std::string& value : values) {
    if (!in.bytes(value)) return false;
  }
  return true;
}

void writeLocations(ByteWriter& out, const std::vector<ReplicaLocation>& locations) {
  out.u64(locations.size());
  for (const ReplicaLocation& location : locations) {
    out.bytes(location.transport_endpoint);
    out.u64(location.buffer_address);
    out.u64(location.size);
  }
}

bool readLocations(ByteReader& in, std::vector<ReplicaLocation>& locations) {
  uint64_t count = 0;
  if (!readCount(in, count)) return false;
  locations.resize(count);
  for (ReplicaLocation& location : locations) {
    if (!in.bytes(location.transport_endpoint) || !in.u64(location.buffer_address) ||
        !in.u64(location.size)) {
      return false;
    }
  }
  return true;
}

}  // namespace mooncake::store::daemon
