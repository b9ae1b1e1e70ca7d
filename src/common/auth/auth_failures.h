// Counts of failed authentication proofs per kind of listener, for the master's /metrics
// (mooncake_auth_failures_total{port="..."}) and for logs. Process-wide, lock-free.
#pragma once

#include <cstdint>
#include <string_view>

namespace mooncake::auth {

enum class Listener : int {
  kMasterGrpc,
  kMasterFastRpc,
  kHandshake,     // Transfer Engine rpc (handshake) port
  kTransferData,  // Transfer Engine TCP data port
  kHttpMetadata,
  kMasterAdmin,
  kDiskTier,  // a store client's disk tier service
  kCount,
};

std::string_view listenerName(Listener listener);  // "master_grpc", "te_data", ...
void countFailure(Listener listener);
uint64_t failures(Listener listener);

}  // namespace mooncake::auth
