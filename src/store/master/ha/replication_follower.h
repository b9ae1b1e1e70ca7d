// A standby master's side of replication (docs/STORE.md "HA"): it follows the leader named in
// master_replication, receives a dump of the whole state and then every record the leader
// appends, applies them to a replica of the leader's metadata and acknowledges them (the
// leader's replies wait for that). When this master is elected, stop() hands the replica over
// to become the new leader's state, if it is one: see ReplicaSet for when it is current.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/secret.h"
#include "store/master/durable/recovered_state.h"

namespace mooncake::store {

struct ReplicationFollowerOptions {
  std::vector<std::string> etcd_endpoints;
  std::string cluster_id;
  std::string self_address;  // this master's RPC address: its name in master_replicas
  auth::SecretRef secret;
};

struct LeaderReplica {
  int64_t term = 0;               // the leader's
  std::string leader;             // its replication address
  durable::RecoveredState state;  // compacted
};

class ReplicationFollower {
 public:
  explicit ReplicationFollower(ReplicationFollowerOptions options);
  ~ReplicationFollower();
  ReplicationFollower(const ReplicationFollower&) = delete;
  ReplicationFollower& operator=(const ReplicationFollower&) = delete;

  void start();
  // Stops following. The replica of the last leader followed, if a whole dump of it arrived
  // (and everything after it up to where the stream stopped).
  std::optional<LeaderReplica> stop();

  // True while it holds a whole copy of a leader's state (it may be behind, or dropped).
  bool holdsWholeCopy() const { return whole_.load(); }
  int64_t followedTerm() const { return term_.load(); }
  uint64_t appliedRecords() const { return applied_records_.load(); }

 private:
  void run();
  // One connection to the leader at `address`, until it ends. Status says why it did.
  Status follow(const std::string& address);

  const ReplicationFollowerOptions options_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex fd_mutex_;
  int fd_ = -1;  // the connection in use; GUARDED_BY(fd_mutex_)
  // The follower thread's own until stop() joined it.
  std::unique_ptr<LeaderReplica> replica_;
  std::atomic<bool> whole_{false};  // replica_ holds a whole dump and its stream
  std::atomic<int64_t> term_{0};
  std::atomic<uint64_t> applied_records_{0};
};

}  // namespace mooncake::store
