#include "mooncake/store/ha_master.h"

#include "common/config/env.h"
#include "common/logging.h"
#include "store/master/ha/leader_election.h"
#include "store/master/ha/standby_status_server.h"

namespace mooncake::store {

std::string defaultClusterId() {
  return config::readEnv("MC_STORE_CLUSTER_ID").value_or("mooncake_cluster");
}

Status runHighlyAvailableMaster(const MasterServerOptions& server_options,
                                const HaOptions& ha_options,
                                const std::function<bool()>& stopping) {
  LeaderElectionOptions election_options;
  election_options.etcd_endpoints = etcd::splitEndpoints(ha_options.etcd_endpoints);
  if (election_options.etcd_endpoints.empty()) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "--enable_ha needs --ha_backend_connstring (or --etcd_endpoints), "
                         "e.g. 127.0.0.1:2379");
  }
  if (server_options.rpc_address == "0.0.0.0" || server_options.rpc_address.empty() ||
      server_options.rpc_port == 0) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "with --enable_ha, clients find the leader by the address it publishes: "
                         "set --rpc_address to this host's reachable address and a fixed --port");
  }
  election_options.cluster_id =
      ha_options.cluster_id.empty() ? defaultClusterId() : ha_options.cluster_id;
  election_options.self_address =
      server_options.rpc_address + ":" + std::to_string(server_options.rpc_port);
  election_options.lease_ttl_sec = ha_options.lease_ttl_sec;

  LeaderElection election(election_options);
  while (!stopping()) {
    LOG(INFO) << "master: " << election_options.self_address << " standing by for cluster '"
              << election_options.cluster_id << "'";
    // A fresh server per standby period: the leader's admin server takes the port in between.
    std::unique_ptr<StandbyStatusServer> standby;
    if (server_options.enable_metric_reporting) {
      standby = std::make_unique<StandbyStatusServer>(election_options.etcd_endpoints,
                                                      election_options.cluster_id);
      Status listening = standby->start(server_options.metrics_host, server_options.metrics_port);
      if (!listening.ok()) LOG(WARNING) << "master: standby status: " << listening.message();
    }
    Status elected = election.campaign(stopping).status();
    standby.reset();
    if (!elected.ok()) break;  // stopped
    auto server = MasterServer::start(server_options);
    if (!server.ok()) {
      election.resign();
      return server.status().withContext("elected, but cannot serve");
    }
    Status lost = election.lead(stopping);
    (*server)->stop();
    if (!lost.ok()) {
      LOG(WARNING) << lost.message() << "; stopped serving, back to standby";
      election.resign();
    }
  }
  election.resign();
  return Status::OK();
}

}  // namespace mooncake::store
