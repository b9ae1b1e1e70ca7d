#include "store/master/ha/standby_status_server.h"

#include <nlohmann/json.hpp>

#include "common/net/http_server.h"
#include "store/master/ha/leader_election.h"

namespace mooncake::store {

struct StandbyStatusServer::State {
  State(std::vector<std::string> endpoints, std::string id)
      : gateway(std::move(endpoints)), cluster_id(std::move(id)) {}
  etcd::EtcdGateway gateway;
  const std::string cluster_id;
  net::HttpServer server{net::HttpServerOptions::statusEndpoint("standby status")};
};

StandbyStatusServer::StandbyStatusServer(std::vector<std::string> etcd_endpoints,
                                         std::string cluster_id)
    : state_(std::make_unique<State>(std::move(etcd_endpoints), std::move(cluster_id))) {
  State* state = state_.get();
  state->server.route("GET", "/health",
                      [state](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                        auto view = readMasterView(state->gateway, state->cluster_id);
                        nlohmann::json body = {{"status", "OK"},
                                               {"role", "standby"},
                                               {"cluster_id", state->cluster_id},
                                               {"leader", view.ok() ? view->leader_address : ""}};
                        response.set(body.dump(), "application/json");
                      });
  state->server.route("GET", "/role",
                      [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
                        response.set("standby", "text/plain");
                      });
  state->server.route(
      "GET", "/metrics", [](const net::HttpServerRequest&, net::HttpServerResponse& response) {
        response.set(
            "# HELP mooncake_master_is_leader 1 while this master leads its cluster.\n"
            "# TYPE mooncake_master_is_leader gauge\nmooncake_master_is_leader 0\n",
            "text/plain; version=0.0.4");
      });
}

StandbyStatusServer::~StandbyStatusServer() { stop(); }

Status StandbyStatusServer::start(const std::string& host, uint16_t port) {
  return state_->server.start(host, port, "--metrics_port (standby)");
}

void StandbyStatusServer::stop() { state_->server.stop(); }

}  // namespace mooncake::store
