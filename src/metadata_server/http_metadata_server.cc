#include "mooncake/metadata_server/http_metadata_server.h"

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

net::HttpServerOptions serverOptions() {
  net::HttpServerOptions options;
  options.name = "HTTP metadata server";
  options.threads = 2;
  options.max_body_bytes = HttpMetadataServer::kMaxValueBytes;
  return options;
}

}  // namespace

struct HttpMetadataServer::State {
  net::HttpServer server{serverOptions()};
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::string> entries;  // GUARDED_BY(mutex)
};

HttpMetadataServer::HttpMetadataServer() : state_(std::make_unique<State>()) {
  State* state = state_.get();
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
  state->server.route(
      "GET", "/metadata",
      [state, keyOf](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
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
  state->server.route(
      "PUT", "/metadata",
      [state, keyOf](const net::HttpServerRequest& request, net::HttpServerResponse& response) {
        std::string key = keyOf(request, response);
        if (key.empty()) return;
        std::unique_lock lock(state->mutex);
        state->entries[key] = std::string(request.body);
        response.set("metadata updated", "text/plain");
      });
  state->server.route(
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
  state->server.route("GET", "/health",
                      [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                        response.set("OK", "text/plain");
                      });
}

HttpMetadataServer::~HttpMetadataServer() { stop(); }

Status HttpMetadataServer::start(const std::string& host, uint16_t port) {
  MC_RETURN_IF_ERROR(state_->server.start(host, port, "HTTP metadata server"));
  LOG(INFO) << "http_metadata_server: serving on " << host << ":" << state_->server.port();
  return Status::OK();
}

void HttpMetadataServer::stop() { state_->server.stop(); }

uint16_t HttpMetadataServer::port() const { return state_->server.port(); }

size_t HttpMetadataServer::keyCount() const {
  std::shared_lock lock(state_->mutex);
  return state_->entries.size();
}

}  // namespace mooncake
