// Leader election for mooncake_master on etcd (--enable_ha), as upstream does it: a candidate
// grants a lease (5 s) and creates `mooncake-store/<cluster_id>/master_view` = its RPC address,
// attached to the lease, only if the key does not exist (one etcd transaction); the winner keeps
// the lease alive and serves; the others poll the key and campaign again once it is gone. The
// key's etcd revision is the view version. Clients find the leader by reading the key.
//
// Not thread-safe: one thread runs campaign/lead/resign.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/etcd/etcd_gateway.h"
#include "mooncake/common/status.h"

namespace mooncake::store {

struct LeaderElectionOptions {
  std::vector<std::string> etcd_endpoints;
  std::string cluster_id = "mooncake_cluster";
  std::string self_address;   // host:port clients reach this master's gRPC service at
  int64_t lease_ttl_sec = 5;  // upstream's DEFAULT_MASTER_VIEW_LEASE_TTL_SEC
  std::chrono::milliseconds poll_interval{500};
  // A candidate that is not eager (see campaign) lets the view key stay vacant this long first.
  std::chrono::milliseconds hold_back{2000};
};

std::string masterViewKey(const std::string& cluster_id);

struct MasterView {
  std::string leader_address;
  int64_t version = 0;  // etcd revision of the view key
};

// The current leader, or ERR_METADATA "no leader" when the key is absent.
Result<MasterView> readMasterView(etcd::EtcdGateway& gateway, const std::string& cluster_id);

class LeaderElection {
 public:
  explicit LeaderElection(LeaderElectionOptions options);
  ~LeaderElection();

  // Blocks until this process is the leader (returns the view version) or stopping() is true
  // (returns ERR_INVALID_ARGUMENT "stopped"). etcd being unreachable is retried, not an error.
  // While `eager` (when given) says false, the candidate only runs once the view key has been
  // vacant for hold_back: a master with the state to take over wins before one without.
  Result<int64_t> campaign(const std::function<bool()>& stopping,
                           const std::function<bool()>& eager = nullptr);
  // Renews the lease every TTL/3 while leading. Returns when leadership is lost (the lease
  // expired, the key changed hands, or renewals failed for longer than the TTL minus a safety
  // second, after which a standby may already lead) or stopping() is true.
  Status lead(const std::function<bool()>& stopping);
  // While leading: puts key=value attached to the leader's lease (gone with the leadership).
  Status publish(const std::string& key, const std::string& value);
  // Gives leadership up at once: revokes the lease, so standbys need not wait for the TTL.
  void resign();

 private:
  bool sleepUnless(const std::function<bool()>& stopping, std::chrono::milliseconds duration);

  const LeaderElectionOptions options_;
  etcd::EtcdGateway gateway_;
  int64_t lease_id_ = 0;
};

}  // namespace mooncake::store
