// mooncake_doctor: checks what a node needs before it starts (its advertised address, proxy
// variables, limits, the cluster secret, the metadata service, the master) and prints one line
// per check, PASS / WARN / FAIL, with the fix for every non-PASS. Exit code 0 / 1 (warnings) /
// 2 (failures); --json for scripts.
#include <gflags/gflags.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "doctor/doctor.h"
#include "tool_support/tool_flags.h"

DEFINE_string(metadata_server, "P2PHANDSHAKE",
              "the node's metadata service: P2PHANDSHAKE, http://h:p/metadata, etcd://h:p, "
              "redis://h:p");
DEFINE_string(local_server_name, "", "the node's local_server_name (default: this host's name)");
DEFINE_string(master_server_address, "",
              "the Store master (host:port or etcd://...); empty: not checked");
DEFINE_string(protocol, "tcp", "the transport the node will use");
DEFINE_uint64(global_segment_size, 0, "bytes the node will register (for the limits check)");
DEFINE_string(device_name, "", "RDMA devices the node will use (\"mlx5_0,mlx5_1\")");
DEFINE_string(nic_priority_matrix, "", "the node's NIC priority matrix (JSON file)");
DEFINE_string(sysfs_root, "/sys", "where sysfs is mounted (tests point it at a fake tree)");
DEFINE_string(peer, "",
              "segment names of nodes this one must reach (\"a,b\"): open, probe, and read a "
              "little of their memory (nothing is written)");
DEFINE_int32(master_metrics_port, 9003,
             "the master's --metrics_port: its /metrics and /health must answer there (0: not "
             "checked)");
DEFINE_string(client_server_address, "",
              "the node daemon (mooncake_client) dummy clients attach to, \"127.0.0.1:50052\": "
              "attach one as setup_dummy does and ask the daemon about its master");
DEFINE_string(
    offload_path, "",
    "the disk tier directory a client will use (ssd_offload_path; default "
    "MOONCAKE_OFFLOAD_FILE_STORAGE_PATH): writable with O_DIRECT, room for its limit, and "
    "a master with --enable_offload");
DEFINE_bool(json, false, "print one JSON object instead of lines");
DEFINE_bool(serve, false,
            "instead of checking: run a Transfer Engine under --local_server_name and "
            "--metadata_server with a 4 MiB scratch buffer, until Ctrl-C, so that "
            "`mooncake_doctor --peer=<its name>` on another node can write and read it (a live "
            "node's memory is only ever read)");
DEFINE_bool(fix, false,
            "remove node records (rpc_meta and segment descriptor) whose rpc port refuses or "
            "does not answer; without it the doctor changes nothing");

namespace {

std::atomic<bool> g_stop{false};

int serve(const mooncake::doctor::Inputs& inputs) {
  std::signal(SIGINT, [](int) { g_stop.store(true); });
  std::signal(SIGTERM, [](int) { g_stop.store(true); });
  mooncake::Status served =
      mooncake::doctor::serveScratch(inputs, g_stop, [](const std::string& name) {
        std::printf(
            "mooncake_doctor: serving a scratch buffer as %s; on another node run "
            "mooncake_doctor --peer=%s (with the same --metadata_server); Ctrl-C stops\n",
            name.c_str(), name.c_str());
        std::fflush(stdout);
      });
  if (!served.ok()) {
    std::fprintf(stderr, "mooncake_doctor --serve: %s\n", served.toString().c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "mooncake_doctor",
      "checks a node's configuration before it starts: advertised address, proxy variables, "
      "limits, cluster secret, metadata service, master; one line per check with the fix",
      &argc, &argv);
  mooncake::doctor::Inputs inputs;
  inputs.metadata_server = FLAGS_metadata_server;
  inputs.local_server_name = FLAGS_local_server_name;
  inputs.master_server_address = FLAGS_master_server_address;
  inputs.protocol = FLAGS_protocol;
  inputs.segment_bytes = FLAGS_global_segment_size;
  inputs.device_name = FLAGS_device_name;
  inputs.nic_priority_matrix = FLAGS_nic_priority_matrix;
  inputs.sysfs_root = FLAGS_sysfs_root;
  inputs.fix = FLAGS_fix;
  inputs.client_server_address = FLAGS_client_server_address;
  inputs.offload_path = FLAGS_offload_path;
  if (FLAGS_master_metrics_port < 0 || FLAGS_master_metrics_port > 65535) {
    std::fprintf(stderr, "mooncake_doctor: --master_metrics_port %d is not a port (0-65535)\n",
                 FLAGS_master_metrics_port);
    return 2;
  }
  inputs.master_metrics_port = static_cast<uint16_t>(FLAGS_master_metrics_port);
  for (size_t start = 0; start < FLAGS_peer.size();) {
    size_t comma = FLAGS_peer.find(',', start);
    std::string name = FLAGS_peer.substr(start, comma - start);
    if (!name.empty()) inputs.peers.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (FLAGS_serve) return serve(inputs);
  auto findings = mooncake::doctor::runAll(inputs);
  std::string report =
      FLAGS_json ? mooncake::doctor::renderJson(findings) : mooncake::doctor::renderText(findings);
  std::fputs(report.c_str(), stdout);
  return mooncake::doctor::exitCode(findings);
}
