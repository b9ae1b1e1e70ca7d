// A small HTTP/1.1 server for the project's HTTP endpoints (the metadata server, the master's
// admin and standby status ports) on net::FramedServer, so slow or idle clients cannot stall
// it: a request must arrive whole (headers and body) within the frame deadline, idle keep-alive
// connections are closed, connections are capped, and bodies above `max_body_bytes` are
// refused with 413 before they are read. Requests carry Content-Length bodies (chunked uploads
// get 411); `Expect: 100-continue` is answered. Routes match method and exact path.
//
// Thread-safe: handlers run on the server's loop threads, concurrently for different
// connections. start/stop as FramedServer.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/auth/session_auth.h"
#include "common/net/framed_server.h"
#include "mooncake/common/status.h"

namespace mooncake::net {

struct HttpServerRequest {
  std::string method;                          // "GET", "PUT", ...
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // percent-decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string_view body;                       // valid during the handler

  bool hasParam(const std::string& name) const { return query.count(name) > 0; }
  std::string param(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  void set(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
};

struct HttpServerOptions {
  std::string name = "http";  // for logs and errors: "HTTP metadata server"
  size_t threads = 2;
  size_t max_connections = 1024;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 32u << 20;
  std::chrono::milliseconds request_deadline{10000};  // whole request, from its first byte
  std::chrono::milliseconds idle_timeout{30000};      // keep-alive connection with no request
  // With a secret, a request for any path outside `open_paths` must carry a session credential
  // (common/auth/session_auth.h); without one it is answered 401 with a challenge.
  auth::SecretRef auth;
  auth::Listener auth_listener = auth::Listener::kHttpMetadata;
  std::set<std::string> open_paths;
  // With a context, the port speaks HTTPS only.
  std::shared_ptr<TlsContext> tls;

  // A status endpoint that serves only GETs: one loop, bodies up to 64 KiB.
  static HttpServerOptions statusEndpoint(std::string name) {
    HttpServerOptions options;
    options.name = std::move(name);
    options.threads = 1;
    options.max_body_bytes = 64 * 1024;
    return options;
  }
};

class HttpServer {
 public:
  using Handler = std::function<void(const HttpServerRequest&, HttpServerResponse&)>;

  explicit HttpServer(HttpServerOptions options)
      : options_(std::move(options)), verifier_(options_.auth, "http", options_.auth_listener) {}
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before start(). A request for a path with no route is 404, for a known path with another
  // method 405.
  void route(const std::string& method, const std::string& path, Handler handler);

  // Binds (port 0 picks one) and serves. Errors: ERR_SOCKET "bind address already in use:
  // host:port (<what>)".
  Status start(const std::string& host, uint16_t port, const std::string& what);
  void stop();
  uint16_t port() const { return port_; }
  const FramedServer* server() const { return server_.get(); }

 private:
  FrameScan scan(std::string_view received) const;
  FrameReply serve(std::string_view frame) const;

  const HttpServerOptions options_;
  std::map<std::string, std::map<std::string, Handler>> routes_;  // path -> method -> handler
  mutable auth::SessionVerifier verifier_;
  std::unique_ptr<FramedServer> server_;
  uint16_t port_ = 0;
};

}  // namespace mooncake::net
