#include "store/proto/fast_rpc_server.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/auth/auth_failures.h"
#include "common/auth/stream_auth.h"
#include "common/logging.h"
#include "common/metrics/latency_histogram.h"
#include "common/net/socket.h"
#include "common/wait_look.h"
#include "store/proto/fast_rpc_frame.h"
#include "store/proto/master_handlers.h"

namespace mooncake::store {
namespace {

using Runner = bool (*)(MasterService&, std::string_view payload, std::string* out);

template <typename Request, typename Response,
          void (*Handler)(MasterService&, const Request&, Response*)>
bool runHandler(MasterService& service, std::string_view payload, std::string* out) {
  Request request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return false;
  Response response;
  Handler(service, request, &response);
  return response.SerializeToString(out);
}

struct Method {
  std::string_view name;
  Runner run;
};

// Indexed by method number - 1 (the order of MC_MASTER_METHODS).
constexpr Method kMethods[] = {
#define MC_FAST_RPC_METHOD(Name, Request, Response) \
  {#Name, &runHandler<proto::Request, proto::Response, &handlers::Name>},
    MC_MASTER_METHODS(MC_FAST_RPC_METHOD)
#undef MC_FAST_RPC_METHOD
};

// What one recv asks for; larger frames grow the inbox for as long as they need it.
constexpr size_t kReceiveChunk = 64 * 1024;

// The receive timeout of one connection's socket, changed only when it must: a request that
// arrives whole costs no system call for it.
class ReceiveDeadline {
 public:
  ReceiveDeadline(int fd, const FastRpcLimits& limits) : fd_(fd), limits_(limits) {
    set(limits_.idle_timeout);
  }

  // Before a recv; `in_frame`: part of a frame is in already. False when its time is up.
  bool before(bool in_frame) {
    using Clock = std::chrono::steady_clock;
    if (!in_frame) {
      frame_started_.reset();
      if (mode_ != kIdle) set(limits_.idle_timeout);
      mode_ = kIdle;
      return true;
    }
    const auto now = Clock::now();
    if (!frame_started_) frame_started_ = now;
    const auto left = limits_.frame_deadline - (now - *frame_started_);
    if (left <= Clock::duration::zero()) return false;
    set(std::chrono::duration_cast<std::chrono::milliseconds>(left) + std::chrono::milliseconds(1));
    mode_ = kFrame;
    return true;
  }

 private:
  enum Mode { kIdle, kFrame };
  void set(std::chrono::milliseconds timeout) { net::setReceiveTimeout(fd_, timeout); }

  const int fd_;
  const FastRpcLimits limits_;
  Mode mode_ = kIdle;
  std::optional<std::chrono::steady_clock::time_point> frame_started_;
};

}  // namespace

Status FastRpcServer::start(const std::string& host, uint16_t port) {
  constexpr int kBacklog = 512;
  auto fd = net::listenTcp(host, port, kBacklog);
  if (!fd.ok()) {
    return fd.status().withContext("fast RPC listener on " + host + ":" + std::to_string(port) +
                                   " (pick another --fast_rpc_port)");
  }
  MC_ASSIGN_OR_RETURN(port_, net::boundPort(fd->get()));
  listen_fd_ = std::move(*fd);
  acceptor_ = std::thread([this] { acceptLoop(); });
  return Status::OK();
}

void FastRpcServer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !listen_fd_.valid()) return;
    stopping_ = true;
    // Wakes accept() and every connection's recv().
    ::shutdown(listen_fd_.get(), SHUT_RDWR);
    for (auto& connection : connections_) ::shutdown(connection->fd.get(), SHUT_RDWR);
  }
  acceptor_.join();
  std::lock_guard lock(mutex_);
  for (auto& connection : connections_) connection->thread.join();
  connections_.clear();
  listen_fd_.reset();
}

void FastRpcServer::acceptLoop() {
  while (true) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mutex_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED) {
        LOG(WARNING) << "master: fast RPC accept: " << net::errnoText(errno);
      }
      continue;
    }
    reapFinished();
    if (connections_.size() >= limits_.max_connections) {
      refused_.fetch_add(1);
      LOG_EVERY_N(WARNING, 1000) << "master: fast RPC has " << limits_.max_connections
                                 << " connections open; refusing more (clients use gRPC)";
      ::close(fd);
      continue;
    }
    net::setNoDelay(fd);
    auto connection = std::make_unique<Connection>();
    connection->fd.reset(fd);
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] {
      serve(*raw);
      // The peer sees the end now; the descriptor is closed when the thread is reaped, so
      // stop() never shuts down a number the kernel gave to someone else meanwhile.
      ::shutdown(raw->fd.get(), SHUT_RDWR);
      raw->finished.store(true);
    });
  }
}

void FastRpcServer::reapFinished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->finished.load()) {
      (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void FastRpcServer::serve(Connection& connection) {
  const int fd = connection.fd.get();
  if (secret_) {
    Status proved = auth::serverHandshake(fd, secret_, kFastRpcAuthLabel, limits_.frame_deadline);
    if (!proved.ok()) {
      auth::countFailure(auth::Listener::kMasterFastRpc);
      LOG_EVERY_N(WARNING, 100) << "master: fast RPC: closing a connection: " << proved.message();
      return;
    }
  }
  // Bytes received and not yet handled: a request usually arrives whole, so one recv takes
  // both its header and its payload.
  std::string inbox(kReceiveChunk, '\0');
  size_t have = 0;
  // Receive timeouts: the idle timeout while no frame is in progress; once a frame started, what
  // is left of the frame deadline (set again before each recv of a frame that arrives in pieces, so
  // a client sending a byte at a time cannot keep the deadline moving).
  ReceiveDeadline deadline(fd, limits_);
  // Waiting for the next request: look for it a while, yielding the core, before sleeping in
  // recv (a wake-up costs about as much as the wait), while this client's calls keep coming soon
  // after one another (ConnectionLook: a look after every call of a client that calls rarely only
  // takes the core from others).
  ConnectionLook look(waitLookBeforeSleep());
  auto fill = [&](size_t want) {  // until `want` bytes are in the inbox; false: close it
    std::optional<std::chrono::steady_clock::time_point> waiting_since;
    if (have == 0) {
      waiting_since = std::chrono::steady_clock::now();
      if (const auto for_now = look.next(); for_now.count() > 0) {
        // Nothing, a close or an error: the blocking recv below sees it too and decides.
        ssize_t got = net::recvLooking(fd, inbox.data(), inbox.size(), for_now);
        if (got > 0) have = static_cast<size_t>(got);
      }
    }
    while (have < want) {
      // Memory follows the bytes that arrived (doubling), not the length a header announced.
      if (inbox.size() - have < kReceiveChunk && inbox.size() < want) {
        inbox.resize(std::min(want, std::max(2 * inbox.size(), have + kReceiveChunk)));
      }
      if (!deadline.before(have > 0)) {
        timed_out_.fetch_add(1);
        return false;  // the frame's time is up
      }
      ssize_t got = ::recv(fd, inbox.data() + have, inbox.size() - have, 0);
      if (got > 0) {
        have += static_cast<size_t>(got);
      } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (have > 0) timed_out_.fetch_add(1);
        return false;  // idle too long, or the frame's deadline passed
      } else if (got == 0 || errno != EINTR) {
        return false;
      }
    }
    if (waiting_since) look.arrivedAfter(std::chrono::steady_clock::now() - *waiting_since);
    return true;
  };
  std::string answer;
  while (true) {
    fast_rpc::FrameHeader request;
    if (!fill(sizeof(request))) return;  // peer closed, or stop()
    std::memcpy(&request, inbox.data(), sizeof(request));
    if (request.payload_length > fast_rpc::kMaxPayload) {
      LOG(WARNING) << "master: fast RPC frame of " << request.payload_length
                   << " bytes refused (limit " << fast_rpc::kMaxPayload
                   << "): is the peer a Mooncake store client? Closing the connection";
      return;
    }
    const size_t frame = sizeof(request) + request.payload_length;
    if (!fill(frame)) return;
    std::string_view payload(inbox.data() + sizeof(request), request.payload_length);
    fast_rpc::FrameHeader response{0, fast_rpc::kOk, request.call_id};
    answer.clear();
    if (request.code == 0 || request.code > std::size(kMethods)) {
      response.code = fast_rpc::kUnknownMethod;
    } else {
      const Method& method = kMethods[request.code - 1];
      ScopedLatency timer(service_.latency(method.name));
      if (!method.run(service_, payload, &answer)) response.code = fast_rpc::kMalformedRequest;
    }
    // An HA leader answers once its standbys have what the call changed; one stepping down
    // answers nothing (the client retries at the next leader).
    if (!service_.awaitReplicated()) return;
    // Keep whatever followed this frame for the next round.
    std::memmove(inbox.data(), inbox.data() + frame, have - frame);
    have -= frame;
    if (inbox.size() > kReceiveChunk && have <= kReceiveChunk) inbox.resize(kReceiveChunk);
    response.payload_length = static_cast<uint32_t>(answer.size());
    struct iovec iov[2] = {{&response, sizeof(response)}, {answer.data(), answer.size()}};
    if (!net::sendAllVec(fd, iov, answer.empty() ? 1 : 2).ok()) return;
  }
}

}  // namespace mooncake::store
