// store_bench: a Mooncake Store client that contributes memory and measures put/get.
//
// Modes (--operation):
//   put | get | mixed  timed run for --duration seconds on --threads threads (get/mixed first
//                      store --num_keys keys); prints ops/s, GB/s, p50/p99 latency per operation
//                      and "Store bench completed: put ... get ..." last.
//   fill | check       one pass: store, or read back and verify, --num_keys patterned keys.
//   serve              contribute --global_segment_size bytes until Ctrl-C.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>

#include "store_bench/store_bench_runner.h"
#include "tool_support/tool_flags.h"

DEFINE_string(master_server_address, "127.0.0.1:50051", "mooncake_master host:port");
DEFINE_string(metadata_server, "http://127.0.0.1:8080/metadata",
              "Transfer Engine metadata service (the master's embedded one by default)");
DEFINE_string(protocol, "tcp", "transport: tcp");
DEFINE_string(local_hostname, "127.0.0.1", "this client's address (a port is picked if absent)");
DEFINE_uint64(global_segment_size, 256ull << 20, "bytes contributed to the store (0 = none)");
DEFINE_uint64(local_buffer_size, 256ull << 20, "registered staging bytes for put/get");
DEFINE_string(operation, "mixed", "put | get | mixed | fill | check | serve");
DEFINE_uint64(value_size, 1 << 20, "bytes per object");
DEFINE_uint64(num_keys, 100, "keys stored before get/mixed runs, and by fill/check");
DEFINE_uint64(batch_size, 1,
              "keys per operation in timed runs; above 1 the batched zero-copy "
              "calls (batchPutFrom / batchGetInto) are used and each key counts as one op");
DEFINE_bool(zero_copy, false,
            "timed runs move values straight between registered memory and the store "
            "(putFrom / getInto, or their batch forms), without the local-buffer copy");
DEFINE_uint64(threads, 2, "concurrent operations");
DEFINE_uint64(replica_num, 1, "replicas per put");
DEFINE_double(duration, 10, "seconds per timed run");
DEFINE_string(key_prefix, "store_bench", "key namespace");
DEFINE_bool(verify, false, "verify every value read (fill/check always verify)");

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "store_bench", "Mooncake Store benchmark client (modes and flags: see --help)", &argc, &argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mooncake::bench::StoreBenchConfig config;
  config.master_server_address = FLAGS_master_server_address;
  config.metadata_server = FLAGS_metadata_server;
  config.protocol = FLAGS_protocol;
  config.local_hostname = FLAGS_local_hostname;
  config.global_segment_size = FLAGS_global_segment_size;
  config.local_buffer_size = FLAGS_local_buffer_size;
  config.operation = FLAGS_operation;
  config.value_size = FLAGS_value_size;
  config.num_keys = FLAGS_num_keys;
  config.threads = FLAGS_threads;
  config.batch_size = FLAGS_batch_size == 0 ? 1 : FLAGS_batch_size;
  config.replica_num = FLAGS_replica_num;
  config.duration_sec = FLAGS_duration;
  config.key_prefix = FLAGS_key_prefix;
  config.verify = FLAGS_verify;
  config.zero_copy = FLAGS_zero_copy || config.batch_size > 1;
  static const char* kModes[] = {"put", "get", "mixed", "fill", "check", "serve"};
  bool known = false;
  for (const char* mode : kModes) known = known || config.operation == mode;
  if (!known || config.threads == 0 || config.value_size == 0 || config.num_keys == 0) {
    std::fprintf(stderr,
                 "store_bench: --operation must be put|get|mixed|fill|check|serve and "
                 "--threads, --value_size, --num_keys positive\n");
    return 2;
  }
  mooncake::Status status = mooncake::bench::runStoreBench(config);
  if (!status.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", status.toString().c_str());
    return 1;
  }
  return 0;
}
