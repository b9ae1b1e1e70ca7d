// FramedServer: a few epoll loops, each owning the connections it was given. Loop 0 accepts and
// deals every new connection to the loop with the fewest, so a client's pool of connections
// spreads over the loops and its calls run in parallel; a request then costs one wake-up of the
// loop that owns the connection, as a thread per connection would, without the thread.
#include "common/net/framed_server.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/auth/stream_auth.h"
#include "common/logging.h"
#include "common/net/socket.h"

namespace mooncake::net {
namespace {

using Clock = std::chrono::steady_clock;

// What one recv asks for beyond what has arrived: the inbox grows with received bytes only.
constexpr size_t kReceiveChunk = 64 * 1024;
// How often deadlines are checked (the latest a deadline is noticed after it passed).
constexpr int kSweepMs = 100;
// recv calls per readable event before other connections get their turn.
constexpr int kReadsPerEvent = 16;

}  // namespace

class FramedServer::Loop {
 public:
  explicit Loop(FramedServer& server) : server_(server) {}
  ~Loop() { stop(); }

  // `listen_fd` is -1 for loops that only serve connections handed to them (adopt). Every
  // loop is opened before any is launched: the accepting loop hands connections to the others.
  Status open(int listen_fd) {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_.valid() || !wake_.valid() || (listen_fd >= 0 && !watch(listen_fd, EPOLLIN)) ||
        !watch(wake_.get(), EPOLLIN)) {
      return Status::error(ErrorCode::ERR_SOCKET,
                           server_.options_.name + ": epoll setup: " + errnoText(errno));
    }
    listen_fd_ = listen_fd;
    return Status::OK();
  }

  void launch() {
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    wake();
    thread_.join();
    std::lock_guard lock(handed_mutex_);
    for (int fd : handed_) ::close(fd);
    server_.open_.fetch_sub(handed_.size());
    handed_.clear();
  }

  // Gives this loop a connection accepted (and counted) by the accepting loop.
  void adopt(int fd) {
    owned_.fetch_add(1);
    {
      std::lock_guard lock(handed_mutex_);
      handed_.push_back(fd);
    }
    wake();
  }

  // Connections this loop serves or is about to (for dealing new ones out).
  size_t load() const { return owned_.load(); }

 private:
  struct Connection {
    UniqueFd fd;
    std::string inbox;  // inbox[0, have) received, not yet handled
    size_t have = 0;
    size_t need = 0;     // bytes the frame in progress needs at least (a hint for the next read)
    std::string outbox;  // outbox[sent, size) still to send
    size_t sent = 0;
    bool close_after = false;
    bool peer_closed = false;   // it sent FIN: answer what arrived, then close
    bool interim_sent = false;  // FrameScan::interim went out for the frame in progress
    bool draining = false;      // answered and closing: the peer's bytes are dropped
    bool writing = false;       // EPOLLOUT armed (reading paused until the reply left)
    // The authentication in progress (null once done, or without a secret).
    std::unique_ptr<auth::ServerHandshake> auth;
    // TLS session (null without TLS), and a read that waits for the socket to take a write.
    std::unique_ptr<SSL, void (*)(SSL*)> ssl{nullptr, SSL_free};
    bool read_wants_write = false;
    bool write_wants_read = false;  // a TLS write that waits for the handshake to go on
    std::optional<Clock::time_point> frame_started;
    std::optional<Clock::time_point> reply_since;
    Clock::time_point last_activity;
  };

  bool watch(int fd, uint32_t events) {
    struct epoll_event event {};
    event.events = events;
    event.data.fd = fd;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0;
  }

  void wake() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof(one));
  }

  void run() {
    std::vector<struct epoll_event> events(64);
    auto next_sweep = Clock::now() + std::chrono::milliseconds(kSweepMs);
    while (!stopping_.load()) {
      int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), kSweepMs);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_.get()) {
          takeHanded();
        } else if (fd == listen_fd_) {
          acceptAll();
        } else if (auto it = connections_.find(fd); it != connections_.end()) {
          if (!serve(*it->second, events[i].events)) close(fd);
        }
      }
      auto now = Clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + std::chrono::milliseconds(kSweepMs);
      }
    }
    server_.open_.fetch_sub(connections_.size());
    connections_.clear();
  }

  void takeHanded() {
    uint64_t count = 0;
    (void)!::read(wake_.get(), &count, sizeof(count));
    std::vector<int> fds;
    {
      std::lock_guard lock(handed_mutex_);
      fds.swap(handed_);
    }
    for (int fd : fds) own(fd);
  }

  void acceptAll() {
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) return;  // EAGAIN: none left
      if (server_.open_.fetch_add(1) >= server_.options_.max_connections) {
        server_.open_.fetch_sub(1);
        server_.refused_.fetch_add(1);
        LOG_EVERY_N(WARNING, 1000)
            << server_.options_.name << ": " << server_.options_.max_connections
            << " connections open; refusing more";
        ::close(fd);
        continue;
      }
      setNoDelay(fd);
      Loop* target = this;
      for (auto& loop : server_.loops_) {
        if (loop->load() < target->load()) target = loop.get();
      }
      if (target == this) {
        owned_.fetch_add(1);
        own(fd);
      } else {
        target->adopt(fd);
      }
    }
  }

  // On this loop's thread: serves an accepted, counted connection from now on.
  void own(int fd) {
    auto connection = std::make_unique<Connection>();
    connection->fd.reset(fd);
    connection->last_activity = Clock::now();
    if (server_.options_.tls) {
      connection->ssl.reset(SSL_new(server_.options_.tls->get()));
      if (!connection->ssl || SSL_set_fd(connection->ssl.get(), fd) != 1) {
        server_.open_.fetch_sub(1);
        owned_.fetch_sub(1);
        return;
      }
      SSL_set_accept_state(connection->ssl.get());
      connection->frame_started = connection->last_activity;  // the TLS handshake is due too
    }
    if (server_.options_.auth) {
      // The exchange must finish within the frame deadline, like a frame.
      connection->auth = std::make_unique<auth::ServerHandshake>(server_.options_.auth,
                                                                 server_.options_.auth_label);
      connection->outbox = connection->auth->hello();
      connection->frame_started = connection->last_activity;
    }
    if (!watch(fd, EPOLLIN | EPOLLRDHUP)) {
      server_.open_.fetch_sub(1);
      owned_.fetch_sub(1);
      return;  // the UniqueFd closes it
    }
    Connection& c = *connection;
    connections_.emplace(fd, std::move(connection));
    if (!c.outbox.empty() && !flush(c)) close(fd);
  }

  // Runs the authentication over what arrived. False when it failed (close the connection).
  bool authenticate(Connection& c, size_t* consumed) {
    std::string out;
    auto state = c.auth->feed(std::string_view(c.inbox.data(), c.have), consumed, &out);
    c.outbox.append(out);
    if (state == auth::ServerHandshake::State::kFailed) {
      server_.unauthenticated_.fetch_add(1);
      auth::countFailure(server_.options_.auth_listener);
      LOG_EVERY_N(WARNING, 100) << server_.options_.name
                                << ": closing a connection: " << c.auth->failure();
      return false;
    }
    if (state == auth::ServerHandshake::State::kDone) c.auth.reset();
    return true;
  }

  // One readiness event. False when the connection is to be closed.
  bool serve(Connection& c, uint32_t events) {
    if (events & (EPOLLERR | EPOLLHUP)) return false;
    if (c.draining) return drain(c);
    if ((events & EPOLLOUT) && c.read_wants_write) {
      // A TLS read that had to write first: the socket takes writes again, read on.
      c.read_wants_write = false;
      if (!arm(c, false) || !receive(c) || !process(c) || !flush(c)) return false;
      return !(c.peer_closed && c.sent >= c.outbox.size());
    }
    if ((events & EPOLLOUT) && !flush(c)) return false;
    if ((events & (EPOLLIN | EPOLLRDHUP)) && !c.writing) {
      if (!receive(c) || !process(c) || !flush(c)) return false;
      if (c.peer_closed && c.sent >= c.outbox.size()) return false;
    }
    return true;
  }

  // Reads what is there. False when the connection failed; a peer that closed its side is
  // noted (its last frames are still answered).
  bool receive(Connection& c) {
    for (int round = 0; round < kReadsPerEvent; ++round) {
      // Room for the next chunk, doubling toward a large frame's announced size: memory follows
      // the bytes that arrived, not what a header claims.
      size_t want = std::max(c.have + kReceiveChunk, std::min(c.need, 2 * c.have));
      if (c.inbox.size() < want) c.inbox.resize(want);
      const size_t room = c.inbox.size() - c.have;
      ssize_t got = 0;
      if (c.ssl) {
        int tls = readTls(c, room, &got);
        if (tls <= 0) return tls == 0;  // 0: wait for the socket; -1: close
      } else {
        got = ::recv(c.fd.get(), c.inbox.data() + c.have, room, 0);
      }
      if (got > 0) {
        c.have += static_cast<size_t>(got);
        c.last_activity = Clock::now();
        if (!c.frame_started) c.frame_started = c.last_activity;
        // Drained (TLS: a record may hold more than one read takes).
        if (static_cast<size_t>(got) < room && !(c.ssl && SSL_pending(c.ssl.get()) > 0)) break;
        continue;
      }
      if (got == 0) {
        c.peer_closed = true;
        return true;
      }
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
  }

  // One SSL_read into the inbox: 1 with `*got` bytes (0: the peer closed), 0 when the socket
  // must be waited for, -1 when the connection failed.
  int readTls(Connection& c, size_t room, ssize_t* got) {
    ERR_clear_error();
    int n = SSL_read(c.ssl.get(), c.inbox.data() + c.have,
                     static_cast<int>(std::min<size_t>(room, 1 << 30)));
    if (n > 0) {
      *got = n;
      return 1;
    }
    switch (SSL_get_error(c.ssl.get(), n)) {
      case SSL_ERROR_WANT_READ:
        return 0;
      case SSL_ERROR_WANT_WRITE:
        c.read_wants_write = true;
        return arm(c, true) ? 0 : -1;
      case SSL_ERROR_ZERO_RETURN:
        *got = 0;
        c.peer_closed = true;
        return 0;
      default:
        LOG_EVERY_N(WARNING, 100) << server_.options_.name
                                  << ": closing a TLS connection: " << tlsError();
        return -1;
    }
  }

  static std::string tlsError() {
    unsigned long code = ERR_get_error();
    if (code == 0) return "connection closed or not TLS";
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    return text;
  }

  // Sends from the outbox: bytes sent, 0 when the socket must be waited for, -1 on failure.
  ssize_t send(Connection& c) {
    const size_t left = c.outbox.size() - c.sent;
    if (!c.ssl) {
      ssize_t put = ::send(c.fd.get(), c.outbox.data() + c.sent, left, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (put > 0) return put;
      return put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    }
    ERR_clear_error();
    int put = SSL_write(c.ssl.get(), c.outbox.data() + c.sent,
                        static_cast<int>(std::min<size_t>(left, 1 << 30)));
    if (put > 0) return put;
    int error = SSL_get_error(c.ssl.get(), put);
    // A write before the handshake finished waits for the client's next flight.
    c.write_wants_read = error == SSL_ERROR_WANT_READ;
    return error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ ? 0 : -1;
  }

  // Handles every whole frame received. False when the stream is invalid.
  bool process(Connection& c) {
    size_t consumed = 0;
    if (c.auth && !authenticate(c, &consumed)) return false;
    while (!c.auth && consumed < c.have && !c.close_after) {
      std::string_view received(c.inbox.data() + consumed, c.have - consumed);
      FrameScan scan = server_.frame_length_(received);
      if (scan.kind == FrameScan::kInvalid) {
        server_.invalid_.fetch_add(1);
        LOG_EVERY_N(WARNING, 100) << server_.options_.name
                                  << ": closing a connection: " << scan.why;
        return false;
      }
      if (scan.kind == FrameScan::kNeedMore || scan.length > received.size()) {
        c.need = std::max(scan.length, received.size() + 1);
        if (!scan.interim.empty() && !c.interim_sent) {
          c.outbox.append(scan.interim);
          c.interim_sent = true;
        }
        break;
      }
      FrameReply reply = server_.handler_(received.substr(0, scan.length));
      c.outbox.append(reply.bytes);
      c.close_after = reply.close_after;
      consumed += scan.length;
      c.need = 0;
      c.interim_sent = false;
    }
    if (consumed > 0) {
      std::memmove(c.inbox.data(), c.inbox.data() + consumed, c.have - consumed);
      c.have -= consumed;
      if (c.inbox.size() > kReceiveChunk && c.have <= kReceiveChunk) {
        c.inbox.resize(kReceiveChunk);
        c.inbox.shrink_to_fit();
      }
      // What is left, if anything, is a next frame that started within this read (an
      // authentication in progress keeps its start: it is due as a whole).
      if (!c.auth) {
        c.frame_started.reset();
        if (c.have > 0) c.frame_started = Clock::now();
      }
    }
    return true;
  }

  // Sends what is pending. False when the connection is to be closed.
  bool flush(Connection& c) {
    while (c.sent < c.outbox.size()) {
      ssize_t put = send(c);
      if (put > 0) {
        c.sent += static_cast<size_t>(put);
        continue;
      }
      if (put == 0) {
        if (!c.reply_since) c.reply_since = Clock::now();
        return arm(c, !c.write_wants_read);
      }
      return false;
    }
    c.outbox.clear();
    c.sent = 0;
    c.reply_since.reset();
    c.last_activity = Clock::now();
    if (c.close_after) {
      // Lingering close: the peer may still be sending (a refused upload); what it sends is
      // read and dropped until it closes or the frame deadline passes, so it gets to read the
      // answer instead of a reset.
      if (c.ssl) (void)SSL_shutdown(c.ssl.get());  // close_notify, best effort
      ::shutdown(c.fd.get(), SHUT_WR);
      c.draining = true;
      c.frame_started = Clock::now();
      c.inbox.clear();
      c.inbox.shrink_to_fit();
      c.have = 0;
      return arm(c, false) && drain(c);
    }
    return arm(c, false);
  }

  // Reads and drops what a closing peer still sends. False once it closed.
  bool drain(Connection& c) {
    char sink[16384];
    for (int round = 0; round < kReadsPerEvent; ++round) {
      ssize_t got = ::recv(c.fd.get(), sink, sizeof(sink), 0);
      if (got > 0) continue;
      if (got == 0) return false;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
  }

  // Waits for writability (and pauses reading) while a reply is pending.
  bool arm(Connection& c, bool writing) {
    if (c.writing == writing) return true;
    struct epoll_event event {};
    event.events = writing ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP);
    event.data.fd = c.fd.get();
    c.writing = writing;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &event) == 0;
  }

  void sweep(Clock::time_point now) {
    const auto& o = server_.options_;
    std::vector<int> expired;
    for (auto& [fd, c] : connections_) {
      bool late = (c->frame_started && now - *c->frame_started > o.frame_deadline) ||
                  (c->reply_since && now - *c->reply_since > o.frame_deadline);
      if (late && c->draining) {
        expired.push_back(fd);  // done lingering; not a missed deadline
        continue;
      }
      bool idle = !c->frame_started && !c->reply_since && now - c->last_activity > o.idle_timeout;
      if (late) server_.timed_out_.fetch_add(1);
      if (late || idle) expired.push_back(fd);
    }
    for (int fd : expired) close(fd);
  }

  void close(int fd) {
    if (connections_.erase(fd) > 0) {  // the UniqueFd closes it
      server_.open_.fetch_sub(1);
      owned_.fetch_sub(1);
    }
  }

  FramedServer& server_;
  UniqueFd epoll_;
  UniqueFd wake_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> owned_{0};
  std::thread thread_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;  // loop thread only
  std::mutex handed_mutex_;
  std::vector<int> handed_;  // accepted elsewhere, not yet owned; GUARDED_BY(handed_mutex_)
};

FramedServer::FramedServer(FramedServerOptions options, FrameLength frame_length, Handler handler)
    : options_(std::move(options)),
      frame_length_(std::move(frame_length)),
      handler_(std::move(handler)) {}

FramedServer::~FramedServer() { stop(); }

Status FramedServer::start(UniqueFd listen_fd) {
  listen_fd_ = std::move(listen_fd);
  ::fcntl(listen_fd_.get(), F_SETFL, ::fcntl(listen_fd_.get(), F_GETFL, 0) | O_NONBLOCK);
  const size_t threads = std::max<size_t>(1, options_.threads);
  for (size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<Loop>(*this));
  // Loop 0 accepts, every loop serves; all are open before any runs (accepting deals to them).
  for (size_t i = 0; i < threads; ++i) {
    Status opened = loops_[i]->open(i == 0 ? listen_fd_.get() : -1);
    if (!opened.ok()) {
      loops_.clear();
      return opened;
    }
  }
  for (auto& loop : loops_) loop->launch();
  return Status::OK();
}

void FramedServer::stop() {
  for (auto& loop : loops_) loop->stop();
  loops_.clear();
  listen_fd_.reset();
}

}  // namespace mooncake::net
