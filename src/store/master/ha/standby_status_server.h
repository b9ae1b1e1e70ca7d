// What a standby master (--enable_ha, not leading) serves on its metrics port, so operators and
// probes can tell the roles apart: /health and /role say "standby" (and /health names the current
// leader, read from etcd), /metrics has mooncake_master_is_leader 0. The leader's admin server
// answers the same paths with "leader".
#pragma once

#include <memory>
#include <string>

#include "common/etcd/etcd_gateway.h"
#include "mooncake/common/status.h"

namespace mooncake::store {

class StandbyStatusServer {
 public:
  StandbyStatusServer(std::vector<std::string> etcd_endpoints, std::string cluster_id);
  ~StandbyStatusServer();

  Status start(const std::string& host, uint16_t port);
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mooncake::store
