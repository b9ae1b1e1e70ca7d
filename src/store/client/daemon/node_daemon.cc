#include "mooncake/store/node_daemon.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "common/logging.h"
#include "common/net/http_server.h"
#include "common/net/socket.h"
#include "common/net/unique_fd.h"
#include "common/wait_look.h"
#include "store/client/daemon/daemon_wire.h"
#include "store/client/daemon/dummy_session.h"
#include "store/client/daemon/request_handler.h"

namespace mooncake::store {

using namespace daemon;
namespace {

constexpr std::chrono::microseconds kLookForNextRequest{50};

std::string randomToken() {
  std::random_device seed;
  std::mt19937_64 random((uint64_t{seed()} << 32) ^ seed());
  char text[33];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return text;
}

// The peer's uid and pid, or nullopt when the kernel does not say.
std::optional<struct ucred> peerCredentials(int fd) {
  struct ucred credentials {};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
  return credentials;
}

}  // namespace

struct NodeDaemon::Impl {
  struct Connection {
    net::UniqueFd fd;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  Impl(Client& c, NodeDaemonOptions o) : client(c), options(std::move(o)) {
    if (options.socket_name.empty()) options.socket_name = daemon::socketName(options.port);
  }
  void acceptLoop();
  void admit(net::UniqueFd fd);
  void serve(Connection& connection);
  // Answers a hello: the dummy's session (new, or the one its token names).
  Result<std::shared_ptr<DummySession>> hello(std::string_view payload, net::UniqueFd file);
  void reapFinished();
  void routeStatus(net::HttpServer& http);
  void stop();
  NodeDaemonStats stats() const;

  Client& client;
  NodeDaemonOptions options;  // socket_name resolved; not changed after
  net::UniqueFd listen_fd;
  std::unique_ptr<net::HttpServer> http;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mutex;
  std::list<Connection> connections;                            // GUARDED_BY(mutex)
  std::map<std::string, std::weak_ptr<DummySession>> sessions;  // GUARDED_BY(mutex)

  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> malformed{0};
};

Result<std::unique_ptr<NodeDaemon>> NodeDaemon::start(Client& client,
                                                      const NodeDaemonOptions& options) {
  auto impl = std::make_unique<Impl>(client, options);
  impl->http = std::make_unique<net::HttpServer>(
      net::HttpServerOptions::statusEndpoint("mooncake_client status"));
  impl->routeStatus(*impl->http);
  MC_RETURN_IF_ERROR(
      impl->http->start("127.0.0.1", impl->options.port, "mooncake_client status port"));
  MC_ASSIGN_OR_RETURN(impl->listen_fd, listenDaemon(impl->options.socket_name));
  impl->accept_thread = std::thread([raw = impl.get()] { raw->acceptLoop(); });
  return std::unique_ptr<NodeDaemon>(new NodeDaemon(std::move(impl)));
}

NodeDaemon::NodeDaemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeDaemon::~NodeDaemon() { stop(); }
void NodeDaemon::stop() { impl_->stop(); }
NodeDaemonStats NodeDaemon::stats() const { return impl_->stats(); }
std::string NodeDaemon::socketName() const { return impl_->options.socket_name; }

void NodeDaemon::Impl::stop() {
  if (stopping.exchange(true)) return;
  if (accept_thread.joinable()) accept_thread.join();
  std::list<Connection> closing;
  {
    std::lock_guard lock(mutex);
    for (Connection& connection : connections) ::shutdown(connection.fd.get(), SHUT_RDWR);
    closing.splice(closing.end(), connections);
  }
  for (Connection& connection : closing) connection.thread.join();
  if (http) http->stop();
}

NodeDaemonStats NodeDaemon::Impl::stats() const {
  NodeDaemonStats out;
  {
    std::lock_guard lock(mutex);
    for (const auto& [token, session] : sessions) out.sessions += session.expired() ? 0 : 1;
    for (const Connection& connection : connections) out.connections += !connection.finished;
  }
  out.requests = requests.load();
  out.refused = refused.load();
  out.malformed = malformed.load();
  return out;
}

void NodeDaemon::Impl::acceptLoop() {
  while (!stopping.load()) {
    struct pollfd entry {
      listen_fd.get(), POLLIN, 0
    };
    int ready = ::poll(&entry, 1, 200);
    reapFinished();
    if (ready <= 0) continue;
    net::UniqueFd fd(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    admit(std::move(fd));
  }
}

void NodeDaemon::Impl::admit(net::UniqueFd fd) {
  auto credentials = peerCredentials(fd.get());
  if (!credentials || (credentials->uid != ::geteuid() && credentials->uid != 0)) {
    refused.fetch_add(1);
    LOG(WARNING) << "node daemon: refused a dummy client of uid "
                 << (credentials ? std::to_string(credentials->uid) : "?") << " (pid "
                 << (credentials ? std::to_string(credentials->pid) : "?") << "): only uid "
                 << ::geteuid() << " and root may attach";
    return;
  }
  std::lock_guard lock(mutex);
  if (connections.size() >= options.max_connections) {
    refused.fetch_add(1);
    LOG(WARNING) << "node daemon: refused a connection: " << connections.size()
                 << " are open (the cap)";
    return;
  }
  Connection& connection = connections.emplace_back();
  connection.fd = std::move(fd);
  connection.thread = std::thread([this, &connection] {
    serve(connection);
    connection.finished.store(true);
  });
}

void NodeDaemon::Impl::reapFinished() {
  std::list<Connection> done;
  {
    std::lock_guard lock(mutex);
    for (auto it = connections.begin(); it != connections.end();) {
      auto next = std::next(it);
      if (it->finished.load()) done.splice(done.end(), connections, it);
      it = next;
    }
    for (auto it = sessions.begin(); it != sessions.end();) {
      it = it->second.expired() ? sessions.erase(it) : std::next(it);
    }
  }
  for (Connection& connection : done) connection.thread.join();
}

void NodeDaemon::Impl::serve(Connection& connection) {
  const int fd = connection.fd.get();
  std::shared_ptr<DummySession> session;
  // A dummy that calls in a loop sends its next request right after our reply: look for it
  // briefly before sleeping (bounded CPU per request), unless its requests come rarely.
  ConnectionLook look(kLookForNextRequest);
  while (!stopping.load()) {
    FrameHeader header;
    std::string payload;
    net::UniqueFd passed;
    const auto waiting_since = std::chrono::steady_clock::now();
    Status received = recvFrame(fd, header, payload, std::chrono::milliseconds(-1),
                                options.frame_deadline, &passed, look.next());
    look.arrivedAfter(std::chrono::steady_clock::now() - waiting_since);
    if (!received.ok()) break;  // closed (the dummy went), garbage, or too slow
    std::string reply;
    ReplyCode code = ReplyCode::kOk;
    if (header.code == static_cast<uint32_t>(Op::kHello)) {
      auto attached = hello(payload, std::move(passed));
      ByteWriter writer(reply);
      writeStatus(writer, attached.status());
      writer.bytes(attached.ok() ? (*attached)->token() : "");
      writer.bytes(client.segmentName());
      if (attached.ok()) session = std::move(attached).value();
    } else if (!session) {
      code = ReplyCode::kNoSession;
    } else {
      HandledRequest handled = handleRequest(client, *session, header.code, payload);
      code = handled.code;
      reply = std::move(handled.payload);
    }
    requests.fetch_add(1);
    if (code == ReplyCode::kMalformed) malformed.fetch_add(1);
    if (!sendFrame(fd, static_cast<uint32_t>(code), reply).ok()) break;
  }
}

Result<std::shared_ptr<DummySession>> NodeDaemon::Impl::hello(std::string_view payload,
                                                              net::UniqueFd file) {
  ByteReader in(payload);
  std::string token;
  uint64_t size = 0;
  uint64_t pid = 0;
  if (!in.bytes(token) || !in.u64(size) || !in.u64(pid) || !in.done()) {
    return Status::storeError(StoreErrorCode::INVALID_PARAMS, "malformed hello from a dummy");
  }
  if (!token.empty()) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(token);
    if (it != sessions.end()) {
      if (auto existing = it->second.lock()) return existing;  // another connection of it
    }
  }
  // Mapping a large pool takes a while: not under the lock the accept loop and stats share.
  MC_ASSIGN_OR_RETURN(auto session,
                      DummySession::attach(client, std::move(file), size, pid, randomToken()));
  {
    std::lock_guard lock(mutex);
    sessions[session->token()] = session;
  }
  LOG(INFO) << "node daemon: dummy client pid " << pid << " attached " << size
            << " bytes of shared memory";
  return session;
}

void NodeDaemon::Impl::routeStatus(net::HttpServer& http) {
  http.route("GET", "/health", [this](const net::HttpServerRequest&, net::HttpServerResponse& r) {
    NodeDaemonStats s = stats();
    bool reachable = client.masterReachable();
    r.status = reachable ? 200 : 503;
    r.set(std::string("{\"segment\":\"") + client.segmentName() + "\",\"master_reachable\":" +
              (reachable ? "true" : "false") + ",\"dummy_clients\":" + std::to_string(s.sessions) +
              ",\"connections\":" + std::to_string(s.connections) + "}\n",
          "application/json");
  });
  http.route("GET", "/metrics", [this](const net::HttpServerRequest&, net::HttpServerResponse& r) {
    NodeDaemonStats s = stats();
    r.set("# TYPE mooncake_client_dummy_clients gauge\nmooncake_client_dummy_clients " +
              std::to_string(s.sessions) +
              "\n# TYPE mooncake_client_connections gauge\nmooncake_client_connections " +
              std::to_string(s.connections) +
              "\n# TYPE mooncake_client_requests_total counter\nmooncake_client_requests_total " +
              std::to_string(s.requests) +
              "\n# TYPE mooncake_client_refused_total counter\nmooncake_client_refused_total " +
              std::to_string(s.refused) +
              "\n# TYPE mooncake_client_malformed_total counter\n"
              "mooncake_client_malformed_total " +
              std::to_string(s.malformed) + "\n" + client.diskTierMetrics(),
          "text/plain; version=0.0.4");
  });
}

}  // namespace mooncake::store
