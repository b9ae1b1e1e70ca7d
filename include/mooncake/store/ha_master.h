// mooncake_master with --enable_ha: several masters elect a leader through etcd (upstream's
// scheme: a 5 s lease on mooncake-store/<cluster_id>/master_view = the leader's RPC address).
// Only the leader serves; a standby campaigns until it wins; a leader that loses its lease stops
// serving and stands by again. Standbys follow the leader's metadata records and every reply
// waits for the in-sync ones, so a standby that takes over serves every object the leader had
// (docs/STORE.md "HA"); a master that was not in sync starts empty and says so.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mooncake/common/status.h"
#include "mooncake/store/master_server.h"

namespace mooncake::store {

struct HaOptions {
  std::string etcd_endpoints;  // "h1:2379;h2:2379" (',' also separates)
  std::string cluster_id;      // empty: $MC_STORE_CLUSTER_ID, else "mooncake_cluster"
  int64_t lease_ttl_sec = 5;
  uint16_t replication_port = 0;  // where standbys follow the leader (0: any free port)
};

// The cluster id a master or client uses when none is given.
std::string defaultClusterId();

// Runs until stopping() is true, then resigns so a standby takes over at once. The leader
// publishes server_options.rpc_address:rpc_port, so both must be what clients can reach.
// Errors: INVALID_ARGUMENT for no endpoints, a wildcard address or port 0; the master could not
// serve after being elected (e.g. its port is taken).
Status runHighlyAvailableMaster(const MasterServerOptions& server_options,
                                const HaOptions& ha_options, const std::function<bool()>& stopping);

}  // namespace mooncake::store
