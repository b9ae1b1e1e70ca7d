// transfer_engine_bench: measures Transfer Engine throughput between two processes.
//
// Modes:
//   --mode=target     registers --buffer_size bytes (filled with a known pattern) and serves
//                     until Ctrl-C; prints the --segment_id initiators must pass.
//   --mode=initiator  --threads threads each loop: allocate a batch, submit --batch_size
//                     requests of --block_size bytes (--operation=read|write) to the target,
//                     wait, free; for --duration seconds. --verify checks every byte.
// Example (one machine, no metadata server):
//   transfer_engine_bench --mode=target --metadata_server=P2PHANDSHAKE
//   --local_server_name=127.0.0.1 transfer_engine_bench --metadata_server=P2PHANDSHAKE
//   --local_server_name=127.0.0.1
//       --segment_id=127.0.0.1:<port printed by the target> --protocol=tcp
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>

#include "mooncake/transfer_engine/transfer_engine_options.h"
#include "tool_support/tool_flags.h"
#include "transfer_engine_bench/bench_runner.h"

DEFINE_string(mode, "initiator", "initiator | target");
DEFINE_string(metadata_server, "P2PHANDSHAKE",
              "P2PHANDSHAKE, http://host:port/metadata, etcd://host:port[,host:port], "
              "host:port (etcd) or redis://host:port");
DEFINE_string(local_server_name, "", "this node's name as host[:port] (default: host name)");
DEFINE_string(segment_id, "", "target's segment name (initiator); P2P: the host:port it printed");
DEFINE_string(protocol, "tcp", "transport: tcp");
DEFINE_string(device_name, "", "RDMA devices (unused by tcp; accepted for compatibility)");
DEFINE_string(operation, "read", "read | write");
DEFINE_uint64(buffer_size, 1ull << 30, "bytes registered on each side");
DEFINE_uint64(batch_size, 128, "requests per batch");
DEFINE_uint64(block_size, 65536, "bytes per request");
DEFINE_double(duration, 10, "seconds to run (initiator)");
DEFINE_uint64(threads, 12, "initiator threads, each with its own batches");
DEFINE_string(report_unit, "GB", "GB|GiB|Gb|MB|MiB|Mb|KB|KiB|Kb");
DEFINE_int32(report_precision, 2, "digits after the decimal point");
DEFINE_bool(dump_config, false, "print the effective MC_* configuration and exit");
DEFINE_uint64(remote_working_set, 0,
              "bytes of the target's buffer the requests cycle through, a batch-sized region at "
              "a time (0: each thread reuses one region, which stays in the CPU caches; set it to "
              "a workload's data size, e.g. a store benchmark's key space, to compare with it)");
DEFINE_bool(verify, false,
            "check every byte that lands (reads: against the target's pattern; "
            "writes: read back at the end)");

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "transfer_engine_bench", "Transfer Engine throughput benchmark (initiator and target modes)",
      &argc, &argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (FLAGS_dump_config) {
    auto options = mooncake::TransferEngineOptions::fromEnvironment();
    if (!options.ok()) {
      std::fprintf(stderr, "transfer_engine_bench: %s\n", options.status().toString().c_str());
      return 1;
    }
    std::printf("%s", options->dump().c_str());
    return 0;
  }
  mooncake::bench::BenchConfig config;
  config.mode = FLAGS_mode;
  config.metadata_server = FLAGS_metadata_server;
  config.local_server_name = FLAGS_local_server_name;
  config.segment_id = FLAGS_segment_id;
  config.protocol = FLAGS_protocol;
  config.operation = FLAGS_operation;
  config.buffer_size = FLAGS_buffer_size;
  config.batch_size = FLAGS_batch_size;
  config.block_size = FLAGS_block_size;
  config.duration_sec = FLAGS_duration;
  config.threads = FLAGS_threads;
  config.report_unit = FLAGS_report_unit;
  config.report_precision = FLAGS_report_precision;
  config.verify = FLAGS_verify;
  config.remote_working_set = FLAGS_remote_working_set;
  mooncake::Status status;
  if (config.mode == "target") {
    status = mooncake::bench::runTarget(config);
  } else if (config.mode == "initiator") {
    if (config.segment_id.empty()) {
      std::fprintf(stderr, "transfer_engine_bench: --segment_id is required in initiator mode\n");
      return 2;
    }
    status = mooncake::bench::runInitiator(config);
  } else {
    std::fprintf(stderr, "transfer_engine_bench: --mode must be initiator or target\n");
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "transfer_engine_bench: %s\n", status.toString().c_str());
    return 1;
  }
  return 0;
}
