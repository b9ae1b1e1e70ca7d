// What HA masters keep in etcd besides the election key (docs/STORE.md "HA"):
//
//   mooncake-store/<cluster>/master_replicas     (no lease: it outlives every master)
//     "term <view version>\nleader <address>\nstandby <address>\n..."
//     The standbys whose acknowledgement the leader of that term waits for before it answers a
//     call: each holds every change the leader ever answered. A newly elected master carries
//     the state over only when it is one of them (or that leader itself): anything else may
//     miss answered changes, and a stale map could hand out space that now holds other bytes.
//   mooncake-store/<cluster>/master_replication  (the leader's lease)
//     "<host>:<port> <term>": where standbys follow the leader's record stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mooncake::store {

struct ReplicaSet {
  int64_t term = 0;
  std::string leader;
  std::vector<std::string> standbys;

  bool holds(const std::string& address) const;
  std::string encode() const;
  static std::optional<ReplicaSet> decode(std::string_view text);
};

std::string replicaSetKey(const std::string& cluster_id);
std::string replicationKey(const std::string& cluster_id);

struct ReplicationEndpoint {
  std::string address;  // host:port
  int64_t term = 0;
  std::string encode() const;
  static std::optional<ReplicationEndpoint> decode(std::string_view text);
};

}  // namespace mooncake::store
