#include "store/master/ha/leader_election.h"

#include <thread>

#include "common/logging.h"

namespace mooncake::store {

std::string masterViewKey(const std::string& cluster_id) {
  return "mooncake-store/" + cluster_id + "/master_view";
}

Result<MasterView> readMasterView(etcd::EtcdGateway& gateway, const std::string& cluster_id) {
  MC_ASSIGN_OR_RETURN(std::optional<etcd::KeyValue> kv, gateway.get(masterViewKey(cluster_id)));
  if (!kv || kv->value.empty()) {
    return Status::error(ErrorCode::ERR_METADATA,
                         "no master leader: " + masterViewKey(cluster_id) + " is absent in " +
                             gateway.describe() +
                             " (is a mooncake_master with --enable_ha running for this "
                             "--cluster_id / MC_STORE_CLUSTER_ID?)");
  }
  return MasterView{kv->value, kv->mod_revision};
}

LeaderElection::LeaderElection(LeaderElectionOptions options)
    : options_(std::move(options)), gateway_(options_.etcd_endpoints) {}

LeaderElection::~LeaderElection() { resign(); }

bool LeaderElection::sleepUnless(const std::function<bool()>& stopping,
                                 std::chrono::milliseconds duration) {
  auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    if (stopping()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !stopping();
}

Result<int64_t> LeaderElection::campaign(const std::function<bool()>& stopping,
                                         const std::function<bool()>& eager) {
  const std::string key = masterViewKey(options_.cluster_id);
  std::string last_seen;
  using Clock = std::chrono::steady_clock;
  Clock::time_point vacant_since = Clock::time_point::max();  // max: not vacant
  while (!stopping()) {
    if (eager && !eager()) {
      auto view = gateway_.get(key);
      const bool vacant = view.ok() && (!*view || (*view)->value.empty());
      const auto now = Clock::now();
      if (!vacant) {
        vacant_since = Clock::time_point::max();
      } else if (vacant_since == Clock::time_point::max()) {
        vacant_since = now;
      }
      if (!vacant || now - vacant_since < options_.hold_back) {
        if (view.ok() && *view && (*view)->value != last_seen) {
          last_seen = (*view)->value;
          LOG(INFO) << "master: standby; the leader is " << last_seen;
        }
        if (!sleepUnless(stopping, std::chrono::milliseconds(100))) break;
        continue;
      }
    }
    auto lease = gateway_.grantLease(options_.lease_ttl_sec);
    if (lease.ok()) {
      auto won = gateway_.createIfAbsent(key, options_.self_address, *lease);
      if (won.ok() && *won) {
        lease_id_ = *lease;
        auto view = readMasterView(gateway_, options_.cluster_id);
        int64_t version = view.ok() ? view->version : 0;
        LOG(INFO) << "master: elected leader of cluster '" << options_.cluster_id << "' as "
                  << options_.self_address << " (view version " << version << ")";
        return version;
      }
      (void)gateway_.revokeLease(*lease);
      if (!won.ok()) {
        LOG_EVERY_N(WARNING, 20) << "master: campaign: " << won.status().message();
      }
    } else {
      LOG_EVERY_N(WARNING, 20) << "master: campaign: " << lease.status().message();
    }
    auto view = readMasterView(gateway_, options_.cluster_id);
    if (view.ok() && view->leader_address != last_seen) {
      last_seen = view->leader_address;
      LOG(INFO) << "master: standby; the leader is " << last_seen;
    }
    if (!sleepUnless(stopping, options_.poll_interval)) break;
  }
  return Status::error(ErrorCode::ERR_INVALID_ARGUMENT, "stopped");
}

Status LeaderElection::lead(const std::function<bool()>& stopping) {
  const auto renew_every = std::chrono::milliseconds(options_.lease_ttl_sec * 1000 / 3);
  const auto give_up_after = std::chrono::milliseconds(options_.lease_ttl_sec * 1000 - 1000);
  auto last_renewed = std::chrono::steady_clock::now();
  while (sleepUnless(stopping, renew_every)) {
    auto ttl = gateway_.keepAlive(lease_id_);
    if (ttl.ok() && *ttl > 0) {
      last_renewed = std::chrono::steady_clock::now();
      // The key could have been deleted by hand while our lease lives; then someone else may
      // have won it.
      auto view = readMasterView(gateway_, options_.cluster_id);
      if (view.ok() && view->leader_address != options_.self_address) {
        return Status::error(ErrorCode::ERR_METADATA,
                             "master: the view key now names " + view->leader_address);
      }
      continue;
    }
    if (ttl.ok()) {
      lease_id_ = 0;
      return Status::error(ErrorCode::ERR_METADATA, "master: the leader lease expired");
    }
    if (std::chrono::steady_clock::now() - last_renewed > give_up_after) {
      return Status::error(ErrorCode::ERR_METADATA,
                           "master: cannot renew the leader lease: " + ttl.status().message());
    }
    LOG(WARNING) << "master: leader lease renewal failed (retrying): " << ttl.status().message();
  }
  return Status::OK();
}

Status LeaderElection::publish(const std::string& key, const std::string& value) {
  if (lease_id_ == 0) return Status::error(ErrorCode::ERR_METADATA, "not leading");
  return gateway_.put(key, value, lease_id_);
}

void LeaderElection::resign() {
  if (lease_id_ == 0) return;
  Status revoked = gateway_.revokeLease(lease_id_);
  if (!revoked.ok()) LOG(WARNING) << "master: resign: " << revoked.message();
  lease_id_ = 0;
}

}  // namespace mooncake::store
