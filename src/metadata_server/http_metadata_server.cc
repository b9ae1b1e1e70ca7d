#include "mooncake/metadata_server/http_metadata_server.h"

#include <httplib.h>

#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/logging.h"
#include "common/net/http_server_runner.h"

namespace mooncake {

struct HttpMetadataServer::State {
  httplib::Server server;
  net::HttpServerRunner runner{server};
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::string> entries;  // GUARDED_BY(mutex)
};

HttpMetadataServer::HttpMetadataServer() : state_(std::make_unique<State>()) {
  State* state = state_.get();
  auto missing_key = [](httplib::Response& response) {
    response.status = 400;
    response.set_content("missing ?key= parameter", "text/plain");
  };
  state->server.Get("/metadata", [state, missing_key](const httplib::Request& request,
                                                      httplib::Response& response) {
    if (!request.has_param("key")) return missing_key(response);
    std::shared_lock lock(state->mutex);
    auto it = state->entries.find(request.get_param_value("key"));
    if (it == state->entries.end()) {
      response.status = 404;
      response.set_content("metadata not found", "text/plain");
      return;
    }
    response.set_content(it->second, "application/json");
  });
  state->server.Put("/metadata", [state, missing_key](const httplib::Request& request,
                                                      httplib::Response& response) {
    if (!request.has_param("key")) return missing_key(response);
    std::unique_lock lock(state->mutex);
    state->entries[request.get_param_value("key")] = request.body;
    response.set_content("metadata updated", "text/plain");
  });
  state->server.Delete("/metadata", [state, missing_key](const httplib::Request& request,
                                                         httplib::Response& response) {
    if (!request.has_param("key")) return missing_key(response);
    std::unique_lock lock(state->mutex);
    if (state->entries.erase(request.get_param_value("key")) == 0) {
      response.status = 404;
      response.set_content("metadata not found", "text/plain");
      return;
    }
    response.set_content("metadata deleted", "text/plain");
  });
  state->server.Get("/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("OK", "text/plain");
  });
}

HttpMetadataServer::~HttpMetadataServer() { stop(); }

Status HttpMetadataServer::start(const std::string& host, uint16_t port) {
  MC_RETURN_IF_ERROR(state_->runner.start(host, port, "HTTP metadata server"));
  LOG(INFO) << "http_metadata_server: serving on " << host << ":" << state_->runner.port();
  return Status::OK();
}

void HttpMetadataServer::stop() { state_->runner.stop(); }

uint16_t HttpMetadataServer::port() const { return state_->runner.port(); }

size_t HttpMetadataServer::keyCount() const {
  std::shared_lock lock(state_->mutex);
  return state_->entries.size();
}

}  // namespace mooncake
