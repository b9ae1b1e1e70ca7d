#include "mooncake/store/ha_master.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "common/auth/secret.h"
#include "common/config/env.h"
#include "common/etcd/etcd_gateway.h"
#include "common/logging.h"
#include "store/master/durable/recovered_state.h"
#include "store/master/ha/leader_election.h"
#include "store/master/ha/replica_set.h"
#include "store/master/ha/replication_follower.h"
#include "store/master/ha/replication_hub.h"
#include "store/master/ha/standby_status_server.h"

namespace mooncake::store {

std::string defaultClusterId() {
  return config::readEnv("MC_STORE_CLUSTER_ID").value_or("mooncake_cluster");
}

namespace {

struct Context {
  std::vector<std::string> endpoints;
  std::string cluster_id;
  std::string self;  // this master's RPC address
};

// The state a newly elected master serves: its own from its last term (when that term was the
// last one), the replica it followed (when it was in sync with the last leader), else none.
durable::RecoveredState* chooseState(const Context& context, const std::optional<ReplicaSet>& last,
                                     std::optional<LeaderReplica>& kept,
                                     std::optional<LeaderReplica>& followed,
                                     durable::RecoveredState& empty) {
  if (!last) {
    LOG(INFO) << "master: first leader of cluster '" << context.cluster_id << "'";
    return &empty;
  }
  if (kept && last->leader == context.self && last->term == kept->term) {
    LOG(INFO) << "master: leading again; keeping this master's state of term " << kept->term;
    return &kept->state;
  }
  const bool in_sync =
      std::find(last->standbys.begin(), last->standbys.end(), context.self) != last->standbys.end();
  if (followed && in_sync && followed->term == last->term) {
    LOG(INFO) << "master: taking over from leader " << last->leader << " (term " << last->term
              << ") with its state: " << followed->state.liveObjects() << " objects";
    return &followed->state;
  }
  LOG(WARNING) << "master: this master does not hold every change of the last leader "
               << last->leader << " (term " << last->term
               << "; it was not one of its in-sync standbys): starting empty. Clients remount; "
                  "objects of that term are not carried over";
  return &empty;
}

}  // namespace

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
  MC_ASSIGN_OR_RETURN(auth::SecretRef secret, auth::resolveSecret(server_options.auth_secret));
  const Context context{election_options.etcd_endpoints, election_options.cluster_id,
                        election_options.self_address};

  LeaderElection election(election_options);
  etcd::EtcdGateway gateway(context.endpoints);
  std::optional<LeaderReplica> kept;  // this master's state when it last led
  while (!stopping()) {
    LOG(INFO) << "master: " << context.self << " standing by for cluster '" << context.cluster_id
              << "'";
    // A fresh server per standby period: the leader's admin server takes the port in between.
    std::unique_ptr<StandbyStatusServer> standby;
    if (server_options.enable_metric_reporting) {
      standby = std::make_unique<StandbyStatusServer>(context.endpoints, context.cluster_id);
      Status listening = standby->start(server_options.metrics_host, server_options.metrics_port);
      if (!listening.ok()) LOG(WARNING) << "master: standby status: " << listening.message();
    }
    ReplicationFollower follower({context.endpoints, context.cluster_id, context.self, secret});
    follower.start();
    // A master holding a state to take over campaigns at once; one that would start empty
    // gives it a head start (unless no master ever led this cluster).
    auto eager = [&] {
      if (follower.holdsWholeCopy() || kept) return true;
      auto record = gateway.get(replicaSetKey(context.cluster_id));
      return record.ok() && !*record;
    };
    auto elected = election.campaign(stopping, eager);
    std::optional<LeaderReplica> followed = follower.stop();
    standby.reset();
    if (!elected.ok()) break;  // stopped
    const int64_t term = *elected;

    auto record = gateway.get(replicaSetKey(context.cluster_id));
    if (!record.ok()) {
      LOG(WARNING) << "master: elected, but cannot read " << replicaSetKey(context.cluster_id)
                   << " (" << record.status().message() << "): resigning";
      election.resign();
      continue;
    }
    std::optional<ReplicaSet> last;
    if (*record) last = ReplicaSet::decode((*record)->value);
    durable::RecoveredState empty;
    durable::RecoveredState* state = chooseState(context, last, kept, followed, empty);
    // From here on only this term's standbys count; written only while this master leads.
    auto recorded = gateway.putIfUnchanged(replicaSetKey(context.cluster_id),
                                           ReplicaSet{term, context.self, {}}.encode(),
                                           masterViewKey(context.cluster_id), term);
    if (!recorded.ok() || !*recorded) {
      LOG(WARNING) << "master: elected, but cannot record the term in etcd: resigning";
      election.resign();
      continue;
    }

    ReplicationHubOptions hub_options;
    hub_options.bind_address = server_options.rpc_address;
    hub_options.port = ha_options.replication_port;
    hub_options.secret = secret;
    hub_options.term = term;
    hub_options.publish_in_sync = [&gateway, &context,
                                   term](const std::vector<std::string>& in_sync) {
      MC_ASSIGN_OR_RETURN(bool written,
                          gateway.putIfUnchanged(replicaSetKey(context.cluster_id),
                                                 ReplicaSet{term, context.self, in_sync}.encode(),
                                                 masterViewKey(context.cluster_id), term));
      if (!written) return Status::error(ErrorCode::ERR_METADATA, "no longer the leader");
      return Status::OK();
    };
    ReplicationHub hub(hub_options);
    auto server = MasterServer::startLeader(server_options, *state, hub);
    kept.reset();
    followed.reset();
    if (!server.ok()) {
      hub.stop();
      election.resign();
      return server.status().withContext("elected, but cannot serve");
    }
    const std::string stream =
        ReplicationEndpoint{server_options.rpc_address + ":" + std::to_string(hub.port()), term}
            .encode();
    Status published = election.publish(replicationKey(context.cluster_id), stream);
    if (!published.ok()) {
      LOG(WARNING) << "master: standbys cannot follow this leader: " << published.message();
    }
    Status lost = election.lead(stopping);
    hub.stop();  // first: replies waiting for standbys are not sent
    (*server)->stop();
    kept.emplace();
    kept->term = term;
    kept->leader = context.self;
    Status copied = (*server)->copyState(kept->state);
    if (!copied.ok()) kept.reset();
    if (!lost.ok()) {
      LOG(WARNING) << lost.message() << "; stopped serving, back to standby";
      election.resign();
    }
  }
  election.resign();
  return Status::OK();
}

}  // namespace mooncake::store
