#include "transfer_engine/transport/tcp/tcp_connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "common/logging.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake::te {
namespace {

// WRITE payload bytes a pushing thread sends itself (beyond it the sender thread does).
constexpr uint64_t kInlineSendBytes = 64 * 1024;
constexpr std::chrono::milliseconds kConnectRetryDelay{100};

std::string rangeText(uint64_t addr, size_t length) {
  std::ostringstream out;
  out << "[0x" << std::hex << addr << ", 0x" << addr + length << ")";
  return out.str();
}

}  // namespace

TcpConnection::TcpConnection(net::HostPort peer, Settings settings, SliceCompletion& sink)
    : peer_(std::move(peer)), settings_(settings), sink_(sink) {
  sender_ = std::thread([this] { sendLoop(); });
  receiver_ = std::thread([this] { receiveLoop(); });
}

TcpConnection::~TcpConnection() {
  fail(Status::error(ErrorCode::ERR_SOCKET, "connection closed by local shutdown"),
       /*report=*/false);
  sender_.join();
  receiver_.join();
}

bool TcpConnection::push(Slice* const* slices, size_t count) {
  OutgoingFrames frames;
  size_t taken = 0;
  {
    std::lock_guard lock(mutex_);
    if (dead_.load()) return false;
    // Inline only onto an idle, connected lane, and only what one sendmsg takes without waiting
    // long: a large WRITE goes through the sender thread so the caller can feed other lanes.
    bool inline_send = connected_ && !sending_ && to_send_.empty() && count <= kMaxSlicesPerSend;
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      to_send_.push(slices[i]);
      if (slices[i]->opcode == TransferRequest::WRITE) bytes += slices[i]->length;
    }
    if (inline_send && bytes <= kInlineSendBytes) {
      sending_ = true;
      taken = takeBatch(frames);
    }
  }
  if (taken == 0) {
    sender_cv_.notify_one();
    return true;
  }
  Status sent = net::sendAllVec(fd_.get(), frames.iov, frames.iov_count);
  bool more = false;
  {
    std::lock_guard lock(mutex_);
    sending_ = false;
    more = !to_send_.empty();
  }
  if (!sent.ok()) {
    fail(sent);  // completes the slices just sent (now in flight) with a retryable error
  } else if (more) {
    sender_cv_.notify_one();
  }
  return true;
}

size_t TcpConnection::takeBatch(OutgoingFrames& out) {
  size_t count = 0;
  out.iov_count = 0;
  if (in_flight_.empty()) waiting_since_ = std::chrono::steady_clock::now();
  // The frames are described here, under the lock: once a slice is in flight, fail() may
  // complete it (and its owner free it) at any moment.
  while (count < kMaxSlicesPerSend && !to_send_.empty()) {
    Slice* slice = to_send_.pop();
    in_flight_.push(slice);
    bool write = slice->opcode == TransferRequest::WRITE;
    out.headers[count] =
        tcp::makeHeader(write ? tcp::kOpWrite : tcp::kOpRead, slice->remote, slice->length);
    out.iov[out.iov_count++] = {&out.headers[count], sizeof(out.headers[count])};
    if (write) out.iov[out.iov_count++] = {slice->local, slice->length};
    ++count;
  }
  return count;
}

void TcpConnection::fail(const Status& cause, bool report) {
  std::vector<Slice*> orphans;
  {
    std::lock_guard lock(mutex_);
    bool was_dead = dead_.exchange(true);
    while (!to_send_.empty()) orphans.push_back(to_send_.pop());
    while (!in_flight_.empty()) orphans.push_back(in_flight_.pop());
    if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);
    if (!was_dead && report) {
      LOG(WARNING) << "tcp: connection to " << peer_.toString() << " lost: " << cause.message();
    }
  }
  sender_cv_.notify_all();
  connected_cv_.notify_all();
  Status retryable = Status::error(ErrorCode::ERR_SOCKET, "tcp: connection to " + peer_.toString() +
                                                              " lost: " + cause.message());
  for (Slice* slice : orphans) sink_.onSliceDone(slice, retryable);
}

void TcpConnection::sendLoop() {
  auto connected = net::connectTcp(peer_, settings_.connect_timeout);
  if (!connected.ok()) {
    // Hold the slices briefly before handing them back for retry, so the retry budget spans
    // about a second of a restarting peer instead of a few milliseconds of refused connects.
    {
      std::unique_lock lock(mutex_);
      sender_cv_.wait_for(lock, kConnectRetryDelay, [this] { return dead_.load(); });
    }
    fail(connected.status());
    threads_exited_.fetch_add(1);
    return;
  }
  net::setSendTimeout(connected->get(), settings_.stall_timeout);
  net::setReceiveTimeout(connected->get(), settings_.stall_timeout);
  {
    std::lock_guard lock(mutex_);
    fd_ = std::move(connected).value();
    connected_ = true;
    if (dead_.load()) ::shutdown(fd_.get(), SHUT_RDWR);
  }
  connected_cv_.notify_all();
  OutgoingFrames frames;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      sender_cv_.wait(lock, [this] { return dead_.load() || (!to_send_.empty() && !sending_); });
      if (dead_.load()) break;
      sending_ = true;
      takeBatch(frames);
    }
    Status sent = net::sendAllVec(fd_.get(), frames.iov, frames.iov_count);
    {
      std::lock_guard lock(mutex_);
      sending_ = false;
    }
    if (!sent.ok()) {
      fail(sent);
      break;
    }
  }
  threads_exited_.fetch_add(1);
}

bool TcpConnection::awaitReply() {
  // Woken by the socket itself (no hand-off from the sender), with a periodic look at the
  // stall clock: a peer that stops answering must not hold slices forever.
  const auto tick = std::max(std::chrono::milliseconds(10), settings_.stall_timeout / 4);
  while (true) {
    struct pollfd readable {
      fd_.get(), POLLIN, 0
    };
    int ready = ::poll(&readable, 1, static_cast<int>(tick.count()));
    std::unique_lock lock(mutex_);
    if (dead_.load()) return false;
    if (ready < 0 && errno != EINTR) {
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET, "poll: " + net::errnoText(errno)));
      return false;
    }
    if (ready > 0 && !in_flight_.empty()) return true;
    if (ready > 0) {
      // Readable with nothing asked: the peer closed the connection (or broke the protocol).
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer"));
      return false;
    }
    if (!in_flight_.empty() &&
        std::chrono::steady_clock::now() - waiting_since_ >= settings_.stall_timeout) {
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET,
                         "no reply within " + std::to_string(settings_.stall_timeout.count()) +
                             " ms (MC_TCP_STATUS_TIMEOUT_SEC)"));
      return false;
    }
  }
}

Status TcpConnection::receiveReply(Slice* slice) {
  uint64_t word = 0;
  const bool read = slice->opcode == TransferRequest::READ;
  // A READ's status and payload arrive back to back: take both with one recvmsg. A rejected
  // READ has no payload (the target closes the connection), which shows as a short read.
  struct iovec iov[2] = {{&word, sizeof(word)}, {slice->local, read ? slice->length : 0}};
  MC_ASSIGN_OR_RETURN(size_t received, net::recvUntilFullOrClosed(fd_.get(), iov, read ? 2 : 1));
  if (received < sizeof(word)) {
    return Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer");
  }
  if (word == tcp::kStatusRejected) {
    return Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                         "peer " + peer_.toString() + " rejected range " +
                             rangeText(slice->remote, slice->length) +
                             ": not inside its remote-accessible buffers (stale descriptor? "
                             "syncSegmentCache picks up the peer's current buffers)");
  }
  if (word != tcp::kStatusOk) {
    return Status::error(ErrorCode::ERR_SOCKET,
                         "peer " + peer_.toString() + " sent a malformed status word");
  }
  if (read && received < sizeof(word) + slice->length) {
    return Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer mid-payload");
  }
  return Status::OK();
}

void TcpConnection::receiveLoop() {
  bool connected = false;
  {
    std::unique_lock lock(mutex_);
    connected_cv_.wait(lock, [this] { return connected_ || dead_.load(); });
    connected = connected_;
  }
  while (connected && awaitReply()) {
    Slice* slice = nullptr;
    {
      std::lock_guard lock(mutex_);
      slice = in_flight_.pop();
    }
    Status status = receiveReply(slice);
    if (!status.ok()) {
      if (status.is(ErrorCode::ERR_ADDRESS_NOT_REGISTERED)) {
        sink_.onSliceDone(slice, status);
      } else {
        sink_.onSliceDone(
            slice, Status::error(ErrorCode::ERR_SOCKET, "tcp: connection to " + peer_.toString() +
                                                            " lost: " + status.message()));
      }
      fail(status);
      break;
    }
    {
      std::lock_guard lock(mutex_);
      waiting_since_ = std::chrono::steady_clock::now();  // progress restarts the stall clock
    }
    sink_.onSliceDone(slice, Status::OK());
  }
  threads_exited_.fetch_add(1);
}

}  // namespace mooncake::te
