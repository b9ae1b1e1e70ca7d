// store_bench logic: a Store client that also contributes memory, running one operation mode.
#pragma once

#include <cstdint>
#include <string>

#include "mooncake/common/status.h"

namespace mooncake::bench {

struct StoreBenchConfig {
  std::string master_server_address = "127.0.0.1:50051";
  std::string metadata_server = "http://127.0.0.1:8080/metadata";
  std::string protocol = "tcp";
  std::string local_hostname = "127.0.0.1";
  uint64_t global_segment_size = 256ull << 20;
  uint64_t local_buffer_size = 256ull << 20;
  std::string operation = "mixed";  // put | get | mixed | fill | check | serve
  uint64_t value_size = 1 << 20;
  uint64_t num_keys = 100;
  uint64_t threads = 2;
  uint64_t batch_size = 1;  // >1: timed runs use the batched zero-copy calls
  bool zero_copy = false;   // timed runs use registered memory (always with batch_size > 1)
  uint64_t replica_num = 1;
  double duration_sec = 10;
  std::string key_prefix = "store_bench";
  bool verify = false;
};

// put/get/mixed: timed runs with a report; fill: put num_keys patterned keys once;
// check: get and verify all num_keys keys once (fails on any miss); serve: contribute memory
// until SIGINT/SIGTERM.
Status runStoreBench(const StoreBenchConfig& config);

}  // namespace mooncake::bench
