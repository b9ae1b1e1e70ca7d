// mooncake_client: the node daemon (upstream's "real client"). It contributes this node's memory
// to the store (a mounted segment, heartbeats, remounts) and serves the node's dummy clients
// (MooncakeDistributedStore.setup_dummy) over shared memory; see docs/STORE.md "Node daemon".
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <signal.h>

#include <cstdio>

#include "mooncake/store/client.h"
#include "mooncake/store/node_daemon.h"
#include "tool_support/tool_flags.h"

DEFINE_string(host, "0.0.0.0",
              "this node's name in the cluster (its Transfer Engine local_server_name); 0.0.0.0: "
              "the host name, advertised as MC_TCP_BIND_ADDRESS or the first non-loopback address");
DEFINE_string(metadata_server, "http://127.0.0.1:8080/metadata",
              "the metadata service: P2PHANDSHAKE, http://h:p/metadata, etcd://h:p, redis://h:p");
DEFINE_string(device_names, "", "RDMA devices (\"mlx5_0,mlx5_1\"); empty for tcp");
DEFINE_string(master_server_address, "127.0.0.1:50051",
              "the master (host:port), or etcd://h:p to follow the HA leader");
DEFINE_string(protocol, "tcp", "the transport: tcp (rdma where built)");
DEFINE_int32(port, 50052,
             "the dummy clients' port: they reach this daemon as 127.0.0.1:<port> (socket "
             "@mooncake_client_<port>.sock; HTTP /health and /metrics on 127.0.0.1:<port>)");
DEFINE_string(global_segment_size, "4 GB", "memory this node contributes to the store");
DEFINE_string(local_buffer_size, "0",
              "the daemon's own staging buffer (dummies bring their own; 0 is enough)");
DEFINE_int32(threads, 1,
             "accepted for upstream compatibility: every dummy connection is served on its own "
             "thread, so no pool size is needed");
DEFINE_string(tenant_id, "default", "tenant (only \"default\" in this build)");
DEFINE_bool(enable_offload, false,
            "keep objects evicted from this node's memory on its disk (the master needs "
            "--enable_offload too); the directory is --offload_path or "
            "MOONCAKE_OFFLOAD_FILE_STORAGE_PATH, its size MOONCAKE_OFFLOAD_TOTAL_SIZE_LIMIT_BYTES");
DEFINE_string(offload_path, "", "directory of the disk tier (with --enable_offload)");

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "mooncake_client: %s\n", message.c_str());
  return 1;
}

// Blocks until SIGINT or SIGTERM (blocked in every thread, so they arrive here).
void waitForStopSignal(const sigset_t& signals) {
  int received = 0;
  sigwait(&signals, &received);
  LOG(INFO) << "mooncake_client: signal " << received << ", stopping";
}

}  // namespace

int main(int argc, char** argv) {
  mooncake::tools::parseToolFlags(
      "mooncake_client",
      "the node daemon: contributes this node's memory to Mooncake Store and serves the node's "
      "dummy clients (setup_dummy) over shared memory",
      &argc, &argv);
  google::InitGoogleLogging(argv[0]);
  if (FLAGS_port <= 0 || FLAGS_port > 65535) return fail("--port must be 1..65535");
  if (FLAGS_tenant_id != "default") return fail("--tenant_id: only \"default\" in this build");
  if (!FLAGS_device_names.empty() && FLAGS_protocol == "tcp") {
    LOG(WARNING) << "--device_names is for --protocol=rdma; tcp uses none";
  }
  if (FLAGS_threads != 1) LOG(INFO) << "--threads has no effect (a thread per dummy connection)";
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts

  mooncake::store::ClientOptions options;
  options.local_hostname = FLAGS_host;
  options.metadata_server = FLAGS_metadata_server;
  options.protocol = FLAGS_protocol;
  options.master_server_address = FLAGS_master_server_address;
  options.global_segment_size = mooncake::tools::sizeFlagOrExit(
      "mooncake_client", "global_segment_size", FLAGS_global_segment_size);
  options.local_buffer_size = mooncake::tools::sizeFlagOrExit(
      "mooncake_client", "local_buffer_size", FLAGS_local_buffer_size);
  options.enable_disk_tier = FLAGS_enable_offload;
  options.disk_tier_path = FLAGS_offload_path;
  auto client = mooncake::store::Client::create(options);
  if (!client.ok()) return fail("setup failed: " + client.status().toString());

  mooncake::store::NodeDaemonOptions daemon_options;
  daemon_options.port = static_cast<uint16_t>(FLAGS_port);
  auto daemon = mooncake::store::NodeDaemon::start(**client, daemon_options);
  if (!daemon.ok()) return fail(daemon.status().toString());
  std::printf(
      "mooncake_client: segment %s (%s) mounted on %s; serving dummy clients at "
      "127.0.0.1:%d (socket %s, status http://127.0.0.1:%d/health)\n",
      (*client)->segmentName().c_str(), FLAGS_global_segment_size.c_str(),
      FLAGS_master_server_address.c_str(), FLAGS_port, (*daemon)->socketName().c_str(), FLAGS_port);
  std::fflush(stdout);

  waitForStopSignal(signals);
  (*daemon)->stop();
  daemon->reset();
  client->reset();  // unmounts the segment
  return 0;
}
