#include "store/proto/fast_rpc_server.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/logging.h"
#include "common/metrics/latency_histogram.h"
#include "common/net/socket.h"
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
  // Bytes received and not yet handled: a request usually arrives whole, so one recv takes
  // both its header and its payload.
  std::string inbox(kReceiveChunk, '\0');
  size_t have = 0;
  auto fill = [&](size_t want) {  // until `want` bytes are in the inbox; false: peer gone
    if (inbox.size() < want) inbox.resize(want);
    while (have < want) {
      ssize_t got = ::recv(fd, inbox.data() + have, inbox.size() - have, 0);
      if (got > 0) {
        have += static_cast<size_t>(got);
      } else if (got == 0 || errno != EINTR) {
        return false;
      }
    }
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
