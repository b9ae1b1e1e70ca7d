// mooncake_doctor's checks (docs/TROUBLESHOOTING.md): each looks at one thing a node needs before
// it starts and says PASS, or WARN / FAIL with the cause and the fix in a sentence or two. They
// take the inputs a node gets (metadata_server, local_server_name, master address, protocol)
// and read the MC_* variables through the project's config layer, so they see what the engine
// and the store client would see.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mooncake/common/status.h"
#include "transfer_engine/engine/startup_checks.h"

namespace mooncake::doctor {

// The engine's own startup checks (transfer_engine/engine/startup_checks.h) are the doctor's
// first ones; the types are theirs.
using Verdict = te::Verdict;
using Finding = te::Finding;

// A node's configuration (metadata_server, local_server_name, master, protocol, segment
// bytes, sysfs_root: a fake tree in tests) plus what only the doctor asks about.
struct Inputs : te::NodeConfig {
  // RDMA: device names ("mlx5_0,mlx5_1") and a priority-matrix JSON file.
  std::string device_name;
  std::string nic_priority_matrix;
  std::vector<std::string> peers;  // segment names to reach (--peer)
  // The node daemon dummies attach to ("127.0.0.1:50052"); empty: not checked.
  std::string client_server_address;
  // A disk tier's directory (ssd_offload_path; else MOONCAKE_OFFLOAD_FILE_STORAGE_PATH); empty:
  // not checked.
  std::string offload_path;
  // The master's --metrics_port (its /metrics and /health, what monitoring scrapes); 0: not
  // checked. The tool's flag defaults to the master's own default, 9003.
  uint16_t master_metrics_port = 0;
  bool fix = false;  // --fix: remove stale records
};

// The address peers will be told to connect to (as the engine picks it): resolves, belongs to
// this host, and is not loopback when the metadata service or the master is elsewhere.
std::vector<Finding> checkAddress(const Inputs& inputs);
// Proxy variables that would capture metadata requests, descriptor and memory limits, and the
// cluster secret's configuration.
std::vector<Finding> checkEnvironment(const Inputs& inputs);
// The metadata service answers (HTTP /health, etcd, Redis), how fast, and for etcd whether it
// advertises client URLs other nodes can use.
std::vector<Finding> checkMetadataService(const Inputs& inputs);
// Node records (rpc_meta, with their segment descriptors) whose rpc port refuses or does not
// answer; with `fix`, they are removed (nothing else is ever removed).
std::vector<Finding> checkStaleRecords(const Inputs& inputs);
// The master answers a ping (and accepts this process's secret), its fast RPC listener answers,
// and its metrics port (master_metrics_port) answers as a mooncake_master.
std::vector<Finding> checkMaster(const Inputs& inputs);

// With --protocol=rdma or device names: the devices exist, their port (MC_IB_PORT) is ACTIVE,
// the GID (MC_GID_INDEX, or what auto-probing picks) is a RoCE v2 IPv4 GID, MC_MTU fits.
std::vector<Finding> checkRdma(const Inputs& inputs);

// The rpc port a P2P node binds is free (or held by a running engine, not another program);
// MC_MIN_RPC_PORT..MC_MAX_RPC_PORT still has free ports.
std::vector<Finding> checkPorts(const Inputs& inputs);

// For each --peer: its segment opens, its rpc port answers, and a read of up to 4 MiB of its
// memory completes (time and throughput reported; nothing is written to it).
std::vector<Finding> checkPeers(const Inputs& inputs);
// `mooncake_doctor --serve`: a Transfer Engine under the node's name and metadata service with
// a 4 MiB scratch buffer that peer checks may write (its first bytes mark it), until `stop`.
// `ready` gets the segment name once peers can reach it.
Status serveScratch(const Inputs& inputs, const std::atomic<bool>& stop,
                    const std::function<void(const std::string&)>& ready);

// With client_server_address: a dummy client attaches to that mooncake_client (socket, user,
// shared memory) as setup_dummy would, and the daemon reaches its master.
std::vector<Finding> checkNodeDaemon(const Inputs& inputs);

// With offload_path: the directory can be created or written with O_DIRECT, the tier's limit
// fits the free space, whether a client already uses it; and the master takes disk tiers.
std::vector<Finding> checkDiskTier(const Inputs& inputs);

std::vector<Finding> runAll(const Inputs& inputs);

// "PASS  address  ..." lines and a summary; or one JSON object.
std::string renderText(const std::vector<Finding>& findings);
std::string renderJson(const std::vector<Finding>& findings);
// 0 all passed, 1 warnings, 2 failures.
int exitCode(const std::vector<Finding>& findings);

}  // namespace mooncake::doctor
