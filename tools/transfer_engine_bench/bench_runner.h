// The transfer_engine_bench logic behind the CLI: a target that exposes a patterned buffer, and
// an initiator whose threads loop allocateBatchID -> submitTransfer(batch_size x block_size) ->
// wait -> freeBatchID for a duration, optionally verifying every byte.
#pragma once

#include <cstdint>
#include <string>

#include "mooncake/common/status.h"

namespace mooncake::bench {

struct BenchConfig {
  std::string mode = "initiator";  // initiator | target
  std::string metadata_server;
  std::string local_server_name;
  std::string segment_id;  // target's segment name (initiator)
  std::string protocol = "tcp";
  std::string operation = "read";  // read | write
  uint64_t buffer_size = 1ull << 30;
  uint64_t batch_size = 128;
  uint64_t block_size = 65536;
  double duration_sec = 10;
  uint64_t threads = 12;
  std::string report_unit = "GB";
  int report_precision = 2;
  bool verify = false;
  // Bytes of the target's buffer that requests cycle through, one thread region after another
  // (0: each thread reuses its own region, which stays in the caches of both machines' CPUs).
  uint64_t remote_working_set = 0;
};

// Runs the target until SIGINT or SIGTERM.
Status runTarget(const BenchConfig& config);
// Runs the initiator and prints the report; errors when any transfer failed or verification
// found a wrong byte.
Status runInitiator(const BenchConfig& config);

}  // namespace mooncake::bench
