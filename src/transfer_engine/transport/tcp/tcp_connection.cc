#include "transfer_engine/transport/tcp/tcp_connection.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <sstream>
#include <thread>
#include <vector>

#include "common/auth/stream_auth.h"
#include "common/logging.h"
#include "common/wait_look.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake::te {
namespace {

// WRITE payload bytes a pushing thread sends itself (beyond it the sender thread does).
constexpr uint64_t kInlineSendBytes = 64 * 1024;
constexpr std::chrono::milliseconds kConnectRetryDelay{100};
// How long a driving waiter polls without sleeping before it sleeps in poll.

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
  // A driver sees the shut-down socket at once; its unpin is its last touch of this object.
  while (drivers_.load() != 0) std::this_thread::yield();
}

bool TcpConnection::push(Slice* const* slices, size_t count) {
  OutgoingFrames frames;
  size_t taken = 0;
  bool wake_receiver = false;
  {
    std::lock_guard lock(mutex_);
    if (dead_.load()) return false;
    // Inline only onto an idle, connected lane, and only what one sendmsg takes without waiting
    // long: a large WRITE goes through the sender thread so the caller can feed other lanes.
    bool inline_send = connected_ && !sending_ && to_send_.empty() && count <= kMaxSlicesPerSend;
    uint64_t bytes = 0;
    bool drivable = true;  // every reply small, and its waiter will read it (drive)
    for (size_t i = 0; i < count; ++i) {
      to_send_.push(slices[i]);
      if (slices[i]->opcode == TransferRequest::WRITE) bytes += slices[i]->length;
      drivable = drivable && slices[i]->drivable && slices[i]->length <= kInlineSendBytes;
    }
    if (inline_send && bytes <= kInlineSendBytes) {
      sending_ = true;
      taken = takeBatch(frames);
    }
    if (taken == 0 || !drivable) {
      receiver_wanted_ = true;
      wake_receiver = reader_ == Reader::kNone;
    }
  }
  if (wake_receiver) receiver_cv_.notify_one();
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
    if (!sent.ok()) {
      // Not fail(): completing slices here could re-enter the caller's locks through a retry.
      // The reader (a driver, or the receiver thread, woken for it) finds the socket shut
      // down and fails what is left.
      send_error_ = sent.message();
      receiver_wanted_ = true;
      ::shutdown(fd_.get(), SHUT_RDWR);
    }
  }
  if (!sent.ok()) {
    receiver_cv_.notify_one();
  } else if (more) {
    sender_cv_.notify_one();
  }
  return true;
}

bool TcpConnection::idle() {
  std::lock_guard lock(mutex_);
  return connected_ && !dead_.load() && !sending_ && to_send_.empty() && in_flight_.empty() &&
         reader_ == Reader::kNone;
}

size_t TcpConnection::takeBatch(OutgoingFrames& out) {
  size_t count = 0;
  out.iov_count = 0;
  if (in_flight_.empty()) waiting_since_ = std::chrono::steady_clock::now();
  // The frames are described here, under the lock: once a slice is in flight, fail() may
  // complete it (and its owner free it) at any moment.
  uint64_t at = 0;  // bytes of this sendmsg before the next frame
  while (count < kMaxSlicesPerSend && !to_send_.empty()) {
    Slice* slice = to_send_.pop();
    in_flight_.push(slice);
    bool write = slice->opcode == TransferRequest::WRITE;
    tcp::RequestHeader& header = out.headers[count];
    header = tcp::makeHeader(write ? tcp::kOpWrite : tcp::kOpRead, slice->remote, slice->length);
    at += sizeof(header);
    slice->wire_pad = 0;
    if (settings_.padded && slice->length >= tcp::kPadMinBytes) {
      const auto local = reinterpret_cast<uint64_t>(slice->local);
      // A WRITE's payload follows its header in this send; a READ's comes back after its
      // status word, taken to start the peer's send (as it does with one request in flight).
      slice->wire_pad = write ? tcp::choosePad(at, local, slice->remote)
                              : tcp::choosePad(sizeof(uint64_t), slice->remote, local);
      header.opcode |= tcp::kOpPaddedFlag;
      header.payload_pad = slice->wire_pad;
    }
    out.iov[out.iov_count++] = {&header, sizeof(header)};
    if (write) {
      if (slice->wire_pad > 0) {
        out.iov[out.iov_count++] = {const_cast<char*>(tcp::kPadZeros), slice->wire_pad};
      }
      out.iov[out.iov_count++] = {slice->local, slice->length};
      at += slice->wire_pad + slice->length;
    }
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
  receiver_cv_.notify_all();
  Status retryable = Status::error(ErrorCode::ERR_SOCKET, "tcp: connection to " + peer_.toString() +
                                                              " lost: " + cause.message());
  for (Slice* slice : orphans) {
    slice->carrier.store(nullptr);
    sink_.onSliceDone(slice, retryable);
  }
}

void TcpConnection::sendLoop() {
  int connect_errno = 0;
  auto connected = net::connectTcp(peer_, settings_.connect_timeout, &connect_errno);
  if (!connected.ok()) {
    peer_down_.store(net::peerIsDown(connect_errno));
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
  if (settings_.secret) {
    Status proved =
        auth::clientHandshake(connected->get(), settings_.secret, tcp::kAuthLabel,
                              "data port " + peer_.toString(), settings_.connect_timeout);
    if (!proved.ok()) {
      fail(proved);
      threads_exited_.fetch_add(1);
      return;
    }
  }
  net::setSendTimeout(connected->get(), settings_.stall_timeout);
  net::setReceiveTimeout(connected->get(), settings_.stall_timeout);
  {
    std::lock_guard lock(mutex_);
    fd_ = std::move(connected).value();
    connected_ = true;
    if (dead_.load()) ::shutdown(fd_.get(), SHUT_RDWR);
  }
  receiver_cv_.notify_all();
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

TcpConnection::Await TcpConnection::awaitReply(Reader role,
                                               std::chrono::steady_clock::time_point until,
                                               bool look) {
  // Woken by the socket itself, with a periodic look at the stall clock: a peer that stops
  // answering must not hold slices forever.
  const auto tick = std::max(std::chrono::milliseconds(10), settings_.stall_timeout / 4);
  const auto look_until = look ? std::chrono::steady_clock::now() + waitLookBeforeSleep()
                               : std::chrono::steady_clock::time_point::min();
  while (true) {
    auto now = std::chrono::steady_clock::now();
    std::chrono::nanoseconds wait{0};
    if (now >= look_until) {
      wait = until > now ? std::min<std::chrono::nanoseconds>(until - now, tick)
                         : std::chrono::nanoseconds(0);
    }
    struct pollfd readable {
      fd_.get(), POLLIN, 0
    };
    struct timespec timeout {
      static_cast<time_t>(wait.count() / 1000000000), static_cast<long>(wait.count() % 1000000000)
    };
    int ready = ::ppoll(&readable, 1, &timeout, nullptr);
    int poll_errno = errno;
    std::unique_lock lock(mutex_);
    if (dead_.load()) return Await::kDead;
    if (ready < 0 && poll_errno != EINTR) {
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET, "poll: " + net::errnoText(poll_errno)));
      return Await::kDead;
    }
    if (ready > 0 && !in_flight_.empty()) return Await::kReady;
    if (ready > 0) {
      // Readable with nothing asked: the peer closed the connection (or broke the protocol),
      // or an inline send failed and shut it down.
      std::string cause = send_error_.empty() ? "connection closed by peer" : send_error_;
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET, cause));
      return Await::kDead;
    }
    if (in_flight_.empty() && (role == Reader::kCaller || to_send_.empty())) {
      if (role == Reader::kThread) {
        reader_ = Reader::kNone;  // resign under the lock that a push sets receiver_wanted_ under
        receiver_wanted_ = false;
      }
      return Await::kIdle;
    }
    if (!in_flight_.empty() &&
        std::chrono::steady_clock::now() - waiting_since_ >= settings_.stall_timeout) {
      lock.unlock();
      fail(Status::error(ErrorCode::ERR_SOCKET,
                         "no reply within " + std::to_string(settings_.stall_timeout.count()) +
                             " ms (MC_TCP_STATUS_TIMEOUT_SEC)"));
      return Await::kDead;
    }
    if (now >= look_until && std::chrono::steady_clock::now() >= until) return Await::kTimeout;
    lock.unlock();
    if (now < look_until) std::this_thread::yield();
  }
}

Status TcpConnection::receiveReply(Slice* slice) {
  uint64_t word = 0;
  const bool read = slice->opcode == TransferRequest::READ;
  const size_t pad = read ? slice->wire_pad : 0;
  // A READ's status, pad and payload arrive back to back: take them with one recvmsg. A
  // rejected READ has no payload (the target closes the connection): a short read.
  struct iovec iov[3];
  int iov_count = 0;
  iov[iov_count++] = {&word, sizeof(word)};
  if (pad > 0) iov[iov_count++] = {pad_sink_, pad};
  if (read) iov[iov_count++] = {slice->local, slice->length};
  MC_ASSIGN_OR_RETURN(size_t received, net::recvUntilFullOrClosed(fd_.get(), iov, iov_count));
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
  if (read && received < sizeof(word) + pad + slice->length) {
    return Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer mid-payload");
  }
  return Status::OK();
}

bool TcpConnection::readOne() {
  Slice* slice = nullptr;
  {
    std::lock_guard lock(mutex_);
    // Another thread may have failed the connection since the reply looked ready (the sender
    // on a broken send, or abort()): it took every slice in flight.
    if (in_flight_.empty()) return false;
    slice = in_flight_.pop();
  }
  slice->carrier.store(nullptr);  // from here only this reader completes it
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
    return false;
  }
  bool more = false;  // replies may have arrived behind this one (a lone reply costs no ioctl)
  {
    std::lock_guard lock(mutex_);
    waiting_since_ = std::chrono::steady_clock::now();  // progress restarts the stall clock
    more = !in_flight_.empty();
  }
  sink_.onSliceDone(slice, Status::OK());
  return !more || takeArrived();
}

bool TcpConnection::takeArrived() {
  int queued = 0;
  if (::ioctl(fd_.get(), FIONREAD, &queued) != 0 || queued < static_cast<int>(sizeof(uint64_t))) {
    return true;
  }
  // The slices whose whole replies are here (a status word, and a READ's payload), taken off
  // in_flight_ before their memory is written, as readOne does: fail() then never completes a
  // slice while its payload is being received.
  Slice* slices[kMaxRepliesPerRecv];
  uint64_t words[kMaxRepliesPerRecv];
  struct iovec iov[3 * kMaxRepliesPerRecv];
  size_t count = 0;
  int iov_count = 0;
  size_t expected = 0;
  {
    std::lock_guard lock(mutex_);
    while (count < kMaxRepliesPerRecv && !in_flight_.empty()) {
      Slice* next = in_flight_.front();
      const bool read = next->opcode == TransferRequest::READ;
      const size_t reply = sizeof(uint64_t) + (read ? next->wire_pad + next->length : 0);
      if (expected + reply > static_cast<size_t>(queued)) break;
      in_flight_.pop();
      slices[count] = next;
      iov[iov_count++] = {&words[count], sizeof(uint64_t)};
      if (read && next->wire_pad > 0) iov[iov_count++] = {pad_sink_, next->wire_pad};
      if (read && next->length > 0) iov[iov_count++] = {next->local, next->length};
      expected += reply;
      ++count;
    }
  }
  if (count == 0) return true;
  for (size_t i = 0; i < count; ++i) slices[i]->carrier.store(nullptr);
  auto received = net::recvUntilFullOrClosed(fd_.get(), iov, iov_count);
  const size_t got = received.ok() ? *received : 0;
  // Complete them in order; the first bad reply fails the connection (a rejected request is
  // answered by its status alone, then the peer closes) and the ones after it go for retry.
  Status broken;
  size_t offset = 0;
  for (size_t i = 0; i < count; ++i) {
    Slice* slice = slices[i];
    const bool read = slice->opcode == TransferRequest::READ;
    const size_t word_end = offset + sizeof(uint64_t);
    offset = word_end + (read ? slice->wire_pad + slice->length : 0);
    Status status;
    if (!broken.ok()) {
      status = broken;
    } else if (got < word_end) {
      broken = received.ok() ? Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer")
                             : received.status();
    } else if (words[i] == tcp::kStatusRejected) {
      status = Status::error(ErrorCode::ERR_ADDRESS_NOT_REGISTERED,
                             "peer " + peer_.toString() + " rejected range " +
                                 rangeText(slice->remote, slice->length) +
                                 ": not inside its remote-accessible buffers");
      broken = Status::error(ErrorCode::ERR_SOCKET, "peer rejected a request");
    } else if (words[i] != tcp::kStatusOk) {
      broken = Status::error(ErrorCode::ERR_SOCKET,
                             "peer " + peer_.toString() + " sent a malformed status word");
    } else if (got < offset) {
      broken = Status::error(ErrorCode::ERR_SOCKET, "connection closed by peer mid-payload");
    }
    if (status.ok() && !broken.ok()) {
      status = Status::error(ErrorCode::ERR_SOCKET, "tcp: connection to " + peer_.toString() +
                                                        " lost: " + broken.message());
    }
    sink_.onSliceDone(slice, status);
  }
  if (!broken.ok()) {
    fail(broken);
    return false;
  }
  std::lock_guard lock(mutex_);
  waiting_since_ = std::chrono::steady_clock::now();
  return true;
}

void TcpConnection::receiveLoop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      receiver_cv_.wait(lock, [this] {
        return dead_.load() || (connected_ && receiver_wanted_ && reader_ == Reader::kNone &&
                                (!in_flight_.empty() || !to_send_.empty()));
      });
      if (dead_.load()) break;
      reader_ = Reader::kThread;
    }
    Await got = Await::kReady;
    while ((got = awaitReply(Reader::kThread, std::chrono::steady_clock::time_point::max(),
                             /*look=*/false)) == Await::kReady &&
           readOne()) {
    }
    if (got == Await::kDead || dead_.load()) break;
  }
  threads_exited_.fetch_add(1);
}

bool TcpConnection::drive(std::chrono::steady_clock::time_point until,
                          const std::function<bool()>& done) {
  {
    std::lock_guard lock(mutex_);
    if (dead_.load() || reader_ != Reader::kNone || in_flight_.empty()) return false;
    reader_ = Reader::kCaller;
  }
  // A status poll (until = now) takes what has arrived; a waiter looks before it sleeps.
  bool look = until - std::chrono::steady_clock::now() > waitLookBeforeSleep();
  while (!done()) {
    if (awaitReply(Reader::kCaller, until, look) != Await::kReady || !readOne()) break;
    look = false;
  }
  bool wake_receiver = false;
  {
    std::lock_guard lock(mutex_);
    reader_ = Reader::kNone;
    // Replies of other waiters' slices may follow ours: hand them to the receiver thread.
    if (!dead_.load() && (!in_flight_.empty() || !to_send_.empty())) {
      receiver_wanted_ = true;
      wake_receiver = true;
    }
  }
  if (wake_receiver) receiver_cv_.notify_one();
  return true;
}

}  // namespace mooncake::te
