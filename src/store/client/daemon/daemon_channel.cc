#include "store/client/daemon/daemon_channel.h"

#include <poll.h>
#include <unistd.h>

#include "common/wait_look.h"

namespace mooncake::store::daemon {
namespace {

// An idle connection the daemon closed (it died or restarted) reads as ready: EOF.
bool closedByPeer(int fd) {
  struct pollfd entry {
    fd, POLLIN, 0
  };
  return ::poll(&entry, 1, 0) != 0;
}

constexpr std::chrono::milliseconds kFrameTimeout{10000};

// How long a call looks for the daemon's answer before it sleeps: a metadata call or a small
// get through the daemon answers within about this.
constexpr std::chrono::microseconds kLookForReply{100};

}  // namespace

Status DaemonChannel::unreachable(const Status& cause) const {
  std::lock_guard lock(mutex_);
  return Status::storeError(
      StoreErrorCode::RPC_FAIL,
      "node daemon (mooncake_client, " + socket_name_ + "): " + cause.message() +
          (token_.empty() ? "" : "; calls succeed again once it is back, no restart needed"));
}

Status DaemonChannel::connect() {
  MC_ASSIGN_OR_RETURN(net::UniqueFd fd, open());
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(fd));
  return Status::OK();
}

Result<net::UniqueFd> DaemonChannel::open() {
  std::lock_guard opening(open_mutex_);
  auto fd = connectDaemon(socket_name_);
  if (!fd.ok()) return unreachable(fd.status());
  std::string payload;
  ByteWriter writer(payload);
  {
    std::lock_guard lock(mutex_);
    writer.bytes(token_);
  }
  writer.u64(arena_->size());
  writer.u64(static_cast<uint64_t>(::getpid()));
  Status sent = sendFrame(fd->get(), static_cast<uint32_t>(Op::kHello), payload, arena_->fd());
  FrameHeader header;
  std::string reply;
  if (sent.ok()) sent = recvFrame(fd->get(), header, reply, reply_timeout_, kFrameTimeout);
  if (!sent.ok()) return unreachable(sent);
  ByteReader in(reply);
  Status attached;
  std::string token;
  std::string segment;
  if (header.code != static_cast<uint32_t>(ReplyCode::kOk) || !readStatus(in, attached) ||
      !in.bytes(token) || !in.bytes(segment)) {
    return unreachable(Status::error(ErrorCode::ERR_SOCKET, "malformed hello reply"));
  }
  if (!attached.ok()) return attached.withContext("node daemon refused this dummy client");
  std::lock_guard lock(mutex_);
  token_ = std::move(token);
  segment_ = std::move(segment);
  return std::move(fd).value();
}

Result<std::string> DaemonChannel::call(Op op, std::string_view payload, uint64_t bytes) {
  net::UniqueFd fd;
  while (!fd.valid()) {
    {
      std::lock_guard lock(mutex_);
      if (idle_.empty()) break;
      fd = std::move(idle_.back());
      idle_.pop_back();
    }
    if (closedByPeer(fd.get())) fd.reset();  // from a daemon that is gone (checked unlocked)
  }
  if (!fd.valid()) {
    MC_ASSIGN_OR_RETURN(fd, open());
  }
  Status done = sendFrame(fd.get(), static_cast<uint32_t>(op), payload);
  FrameHeader header;
  std::string reply;
  if (done.ok()) {
    done = recvFrame(fd.get(), header, reply, reply_timeout_, kFrameTimeout, nullptr,
                     bytes <= kLookBytesLimit ? kLookForReply : std::chrono::microseconds(0));
  }
  if (!done.ok()) return unreachable(done);  // the connection goes with fd
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(fd));
  }
  switch (static_cast<ReplyCode>(header.code)) {
    case ReplyCode::kOk:
      return reply;
    case ReplyCode::kUnknownOp:
      return Status::storeError(StoreErrorCode::NOT_SUPPORTED,
                                "the node daemon does not know this call (an older "
                                "mooncake_client?)");
    case ReplyCode::kMalformed:
      return Status::storeError(StoreErrorCode::INVALID_PARAMS,
                                "the node daemon refused the request as malformed");
    default:
      return unreachable(Status::error(ErrorCode::ERR_SOCKET, "the daemon lost this session"));
  }
}

std::string DaemonChannel::daemonSegment() const {
  std::lock_guard lock(mutex_);
  return segment_;
}

}  // namespace mooncake::store::daemon
