#include "transfer_engine/transport/tcp/tcp_server.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/logging.h"
#include "common/net/socket.h"
#include "common/tsan_annotations.h"
#include "transfer_engine/transport/tcp/tcp_wire.h"

namespace mooncake::te {

void TcpServer::start(net::UniqueFd listen_fd) {
  listen_fd_ = std::move(listen_fd);
  accept_thread_ = std::thread([this] { acceptLoop(); });
}

void TcpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::lock_guard lock(sessions_mutex_);
  for (Session& session : sessions_) ::shutdown(session.fd.get(), SHUT_RDWR);
  for (Session& session : sessions_) session.thread.join();
  sessions_.clear();
  listen_fd_.reset();
}

void TcpServer::reapFinished() {
  std::lock_guard lock(sessions_mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->finished.load()) {
      it->thread.join();
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

void TcpServer::acceptLoop() {
  while (!stopping_.load()) {
    struct pollfd pfd{listen_fd_.get(), POLLIN, 0};
    int rc = ::poll(&pfd, 1, 100);
    reapFinished();
    if (rc <= 0) continue;
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    net::setNoDelay(fd);
    std::lock_guard lock(sessions_mutex_);
    Session& session = sessions_.emplace_back();
    session.fd.reset(fd);
    session.thread = std::thread([this, &session] { serve(&session); });
  }
}

namespace {

// WRITE acknowledgements waiting to be sent. They are held back while the initiator has more
// requests queued on the socket, so a pipelined stream of writes costs the initiator one
// wake-up per burst instead of one per slice. Replies stay in request order because every
// other reply is sent together with (after) the held-back acks.
class AckBuffer {
 public:
  static constexpr size_t kMax = 64;
  size_t count() const { return count_; }
  void add() { words_[count_++] = tcp::kStatusOk; }
  struct iovec iov() { return {words_, count_ * sizeof(uint64_t)}; }
  void clear() { count_ = 0; }
  // Sends what is held (if anything).
  bool flush(int fd) {
    if (count_ == 0) return true;
    bool ok = net::sendAll(fd, words_, count_ * sizeof(uint64_t)).ok();
    count_ = 0;
    return ok;
  }

 private:
  uint64_t words_[kMax];
  size_t count_ = 0;
};

bool hasQueuedBytes(int fd) {
  int queued = 0;
  return ::ioctl(fd, FIONREAD, &queued) == 0 && queued > 0;
}

}  // namespace

void TcpServer::serve(Session* session) {
  const int fd = session->fd.get();
  AckBuffer acks;
  while (true) {
    if (acks.count() > 0 && !hasQueuedBytes(fd) && !acks.flush(fd)) break;
    tcp::RequestHeader header;
    if (!net::recvAll(fd, &header, sizeof(header)).ok()) break;
    uint8_t op = header.opcode & static_cast<uint8_t>(~tcp::kOpV2Flag);
    bool known_op = (header.opcode & tcp::kOpV2Flag) != 0 &&
                    (op == tcp::kOpRead || op == tcp::kOpWrite);
    if (!known_op || header.size == 0 ||
        !registry_.contains(header.addr, header.size, /*remote_only=*/true)) {
      LOG_EVERY_N(WARNING, 100) << "tcp: rejected request op=" << int(header.opcode) << " addr=0x"
                                << std::hex << header.addr << std::dec << " size=" << header.size
                                << ": not inside a remote-accessible registered buffer";
      uint64_t word = tcp::kStatusRejected;
      if (acks.flush(fd)) (void)net::sendAll(fd, &word, sizeof(word));
      break;
    }
    auto* memory = reinterpret_cast<char*>(header.addr);
    tsanAcquire(&registry_);  // peers order accesses to registered memory (see the header)
    if (op == tcp::kOpWrite) {
      bool received = net::recvAll(fd, memory, header.size).ok();
      tsanRelease(&registry_);
      if (!received) break;
      acks.add();
      if (acks.count() == AckBuffer::kMax && !acks.flush(fd)) break;
    } else {
      uint64_t word = tcp::kStatusOk;
      struct iovec iov[3] = {acks.iov(), {&word, sizeof(word)}, {memory, header.size}};
      int first = acks.count() > 0 ? 0 : 1;
      bool sent = net::sendAllVec(fd, iov + first, 3 - first).ok();
      tsanRelease(&registry_);
      if (!sent) break;
      acks.clear();
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  session->finished.store(true);
}

}  // namespace mooncake::te
