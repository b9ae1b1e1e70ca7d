#include "transfer_engine/transport/tcp/tcp_connection.h"

#include <sys/socket.h>

#include <sstream>
#include <vector>

#include "common/logging.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake::te {
namespace {

constexpr size_t kMaxSlicesPerSend = 32;
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
  {
    std::lock_guard lock(mutex_);
    if (dead_.load()) return false;
    for (size_t i = 0; i < count; ++i) to_send_.push(slices[i]);
  }
  cv_.notify_all();
  return true;
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
  cv_.notify_all();
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
      cv_.wait_for(lock, kConnectRetryDelay, [this] { return dead_.load(); });
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
  cv_.notify_all();
  Slice* batch[kMaxSlicesPerSend];
  tcp::RequestHeader headers[kMaxSlicesPerSend];
  struct iovec iov[2 * kMaxSlicesPerSend];
  while (true) {
    size_t count = 0;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return dead_.load() || !to_send_.empty(); });
      if (dead_.load()) break;
      while (count < kMaxSlicesPerSend && !to_send_.empty()) {
        Slice* slice = to_send_.pop();
        in_flight_.push(slice);
        batch[count++] = slice;
      }
    }
    cv_.notify_all();
    int iov_count = 0;
    for (size_t i = 0; i < count; ++i) {
      Slice* slice = batch[i];
      bool write = slice->opcode == TransferRequest::WRITE;
      headers[i] =
          tcp::makeHeader(write ? tcp::kOpWrite : tcp::kOpRead, slice->remote, slice->length);
      iov[iov_count++] = {&headers[i], sizeof(headers[i])};
      if (write) iov[iov_count++] = {slice->local, slice->length};
    }
    Status sent = net::sendAllVec(fd_.get(), iov, iov_count);
    if (!sent.ok()) {
      fail(sent);
      break;
    }
  }
  threads_exited_.fetch_add(1);
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
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return connected_ || dead_.load(); });
  }
  while (true) {
    Slice* slice = nullptr;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return dead_.load() || !in_flight_.empty(); });
      if (dead_.load()) break;
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
    sink_.onSliceDone(slice, Status::OK());
  }
  threads_exited_.fetch_add(1);
}

}  // namespace mooncake::te
