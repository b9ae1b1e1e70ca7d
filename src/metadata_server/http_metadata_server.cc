#include "mooncake/metadata_server/http_metadata_server.h"

#include <httplib.h>

#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/logging.h"

namespace mooncake {

struct HttpMetadataServer::State {
  httplib::Server server;
  std::thread thread;
  uint16_t port = 0;
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
  State* state = state_.get();
  int bound = port == 0 ? state->server.bind_to_any_port(host.c_str())
                        : (state->server.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0) {
    return Status::error(ErrorCode::ERR_SOCKET, "bind address already in use: " + host + ":" +
                                                    std::to_string(port) +
                                                    " (or the address is not local)");
  }
  state->port = static_cast<uint16_t>(bound);
  state->thread = std::thread([state] { state->server.listen_after_bind(); });
  // listen_after_bind() cannot fail after a successful bind; wait until it accepts.
  for (int i = 0; i < 5000 && !state->server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  LOG(INFO) << "http_metadata_server: serving on " << host << ":" << state->port;
  return Status::OK();
}

void HttpMetadataServer::stop() {
  if (!state_->thread.joinable()) return;
  state_->server.stop();
  state_->thread.join();
}

uint16_t HttpMetadataServer::port() const { return state_->port; }

size_t HttpMetadataServer::keyCount() const {
  std::shared_lock lock(state_->mutex);
  return state_->entries.size();
}

}  // namespace mooncake
