#include "mooncake/metadata_server/http_metadata_server.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/logging.h"
#include "common/net/http_server.h"

namespace mooncake {

namespace {

// A key longer than this is refused (400); values are bounded by the server's body limit.
constexpr size_t kMaxKeyBytes = 4096;

net::HttpServerOptions serverOptions(auth::SecretRef secret, std::shared_ptr<net::TlsContext> tls) {
  net::HttpServerOptions options;
  options.name = "HTTP metadata server";
  options.threads = 2;
  options.max_body_bytes = HttpMetadataServer::kMaxValueBytes;
  options.auth = std::move(secret);
  options.auth_listener = auth::Listener::kHttpMetadata;
  options.open_paths = {"/health"};
  options.tls = std::move(tls);
  return options;
}

}  // namespace

struct HttpMetadataServer::State {
  std::optional<std::string> auth_secret;
  std::string tls_cert_file, tls_key_file;
  std::unique_ptr<net::HttpServer> server;  // made by start()
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::string> entries;  // GUARDED_BY(mutex)

  void route(net::HttpServer& server);
};

HttpMetadataServer::HttpMetadataServer(std::optional<std::string> auth_secret,
                                       std::string tls_cert_file, std::string tls_key_file)
    : state_(std::make_unique<State>()) {
  state_->auth_secret = std::move(auth_secret);
  state_->tls_cert_file = std::move(tls_cert_file);
  state_->tls_key_file = std::move(tls_key_file);
}

void HttpMetadataServer::State::route(net::HttpServer& server) {
  State* state = this;
  // The key of a request, or "" after answering 400 (missing or too long).
  auto keyOf = [](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
    std::string key = request.param("key");
    if (key.empty() || key.size() > kMaxKeyBytes) {
      response.status = 400;
      response.set(key.empty() ? "missing ?key= parameter"
                               : "key longer than " + std::to_string(kMaxKeyBytes) + " bytes",
                   "text/plain");
      return std::string();
    }
    return key;
  };
  server.route(
      "GET", "/metadata",
      [state, keyOf](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
        if (!request.hasParam("key") && request.hasParam("prefix")) {
          // Beyond upstream's server: the keys under a prefix, one per line, sorted
          // (mooncake_doctor's stale-record check).
          const std::string prefix = request.param("prefix");
          std::vector<std::string> keys;
          {
            std::shared_lock lock(state->mutex);
            for (const auto& [k, v] : state->entries) {
              if (k.compare(0, prefix.size(), prefix) == 0) keys.push_back(k);
            }
          }
          std::sort(keys.begin(), keys.end());
          std::string body;
          for (const std::string& k : keys) body += k + "\n";
          response.set(body, "text/plain");
          return;
        }
        std::string key = keyOf(request, response);
        if (key.empty()) return;
        std::shared_lock lock(state->mutex);
        auto it = state->entries.find(key);
        if (it == state->entries.end()) {
          response.status = 404;
          response.set("metadata not found", "text/plain");
          return;
        }
        response.set(it->second, "application/json");
      });
  server.route(
      "PUT", "/metadata",
      [state, keyOf](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
        std::string key = keyOf(request, response);
        if (key.empty()) return;
        std::unique_lock lock(state->mutex);
        state->entries[key] = std::string(request.body);
        response.set("metadata updated", "text/plain");
      });
  server.route(
      "DELETE", "/metadata",
      [state, keyOf](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
        std::string key = keyOf(request, response);
        if (key.empty()) return;
        std::unique_lock lock(state->mutex);
        if (state->entries.erase(key) == 0) {
          response.status = 404;
          response.set("metadata not found", "text/plain");
          return;
        }
        response.set("metadata deleted", "text/plain");
      });
  server.route("GET", "/health",
               [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                 response.set("OK", "text/plain");
               });
}

HttpMetadataServer::~HttpMetadataServer() { stop(); }

Status HttpMetadataServer::start(const std::string& host, uint16_t port) {
  if (state_->server) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "HTTP metadata server already started");
  }
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(state_->auth_secret));
  const bool authenticated = secret != nullptr;
  std::shared_ptr<net::TlsContext> tls;
  if (!state_->tls_cert_file.empty() || !state_->tls_key_file.empty()) {
    MC_ASSIGN_OR_RETURN(tls, net::TlsContext::server(state_->tls_cert_file, state_->tls_key_file));
  }
  const bool https = tls != nullptr;
  state_->server =
      std::make_unique<net::HttpServer>(serverOptions(std::move(secret), std::move(tls)));
  state_->route(*state_->server);
  MC_RETURN_IF_ERROR(state_->server->start(host, port, "HTTP metadata server"));
  LOG(INFO) << "http_metadata_server: serving on " << host << ":" << state_->server->port()
            << (https ? " over HTTPS" : "")
            << (authenticated ? " (requests must prove the cluster secret)" : "");
  return Status::OK();
}

void HttpMetadataServer::stop() {
  if (state_->server) state_->server->stop();
}

uint16_t HttpMetadataServer::port() const { return state_->server ? state_->server->port() : 0; }

size_t HttpMetadataServer::keyCount() const {
  std::shared_lock lock(state_->mutex);
  return state_->entries.size();
}

}  // namespace mooncake
