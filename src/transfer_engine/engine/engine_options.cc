// The table of MC_* variables the Transfer Engine honours, bound to TransferEngineOptions.
#include "common/config/config_table.h"
#include "mooncake/transfer_engine/transfer_engine_options.h"

namespace mooncake {
namespace {

std::vector<config::ConfigEntry> optionTable(TransferEngineOptions* o) {
  using namespace config;
  constexpr int64_t kPortMax = 65535;
  return {
      sizeEntry("MC_SLICE_SIZE", "bytes per slice, 4 KiB..1 GiB", &o->slice_size, 4096,
                uint64_t{1} << 30),
      sizeEntry("MC_TCP_SLICE_SIZE", "bytes per slice over TCP, 4 KiB..1 GiB", &o->tcp_slice_size,
                4096, uint64_t{1} << 30),
      intEntry("MC_RETRY_CNT", "attempts per slice, 1..127", &o->retry_count, 1, 127),
      intEntry("MC_HANDSHAKE_PORT", "rpc port assumed for names without a port, 1..65535",
               &o->handshake_port, 1, kPortMax),
      intEntry("MC_MIN_RPC_PORT", "lowest port for rpc/data listeners, 1..65535", &o->min_rpc_port,
               1, kPortMax),
      intEntry("MC_MAX_RPC_PORT", "highest port for rpc/data listeners, 1..65535", &o->max_rpc_port,
               1, kPortMax),
      intEntry("MC_HANDSHAKE_CONNECT_TIMEOUT", "seconds to reach a peer's rpc port, 1..600",
               &o->handshake_connect_timeout_sec, 1, 600),
      sizeEntry("MC_HANDSHAKE_MAX_LENGTH", "largest handshake frame, 1 MiB..128 MiB",
                &o->handshake_max_length, 1 << 20, 128 << 20),
      intEntry("MC_HANDSHAKE_LISTEN_BACKLOG", "listen backlog of the rpc port, 1..65535",
               &o->handshake_listen_backlog, 1, kPortMax),
      stringEntry("MC_TCP_BIND_ADDRESS", "address advertised to peers", &o->tcp_bind_address),
      stringEntry("MC_METADATA_CLUSTER_ID", "metadata key namespace under mooncake/",
                  &o->metadata_cluster_id),
      intEntry("MC_METADATA_LEASE_TTL", "etcd lease seconds for this node's keys, 2..3600",
               &o->metadata_lease_ttl_sec, 2, 3600),
      stringEntry("MC_REDIS_USERNAME", "Redis AUTH user", &o->redis_username),
      stringEntry("MC_REDIS_PASSWORD", "Redis AUTH password", &o->redis_password),
      intEntry("MC_REDIS_DB_INDEX", "Redis database, 0..255", &o->redis_db_index, 0, 255),
      intEntry("MC_TCP_LANES_PER_PEER", "TCP connections per peer, 1..16", &o->tcp_lanes_per_peer,
               1, 16),
      intEntry("MC_TCP_PROTO", "newest TCP framing used toward peers offering it, 2..3",
               &o->tcp_proto, 2, 3),
      intEntry("MC_TCP_STATUS_TIMEOUT_SEC", "seconds without progress before a connection is dead",
               &o->tcp_status_timeout_sec, 1, 3600),
      boolEntry("MC_DISABLE_METACACHE", "re-fetch descriptors on every openSegment",
                &o->disable_metacache),
      boolEntry("MC_SAME_HOST_DIRECT",
                "same-host peers: one kernel copy (process_vm_readv/writev) instead of TCP",
                &o->same_host_direct),
      presenceEntry("MC_FORCE_TCP",
                    "set (to anything): any requested protocol (rdma, ...) runs over TCP",
                    &o->force_tcp),
      presenceEntry("MC_LEGACY_RPC_PORT_BINDING",
                    "set (to anything): with a metadata service, bind the port in the name",
                    &o->legacy_rpc_port_binding),
      secretEntry("MC_AUTH_SECRET",
                  "cluster secret every peer must prove (at least 16 bytes); unset: no auth"),
      secretEntry("MC_AUTH_SECRET_FILE", "file holding the cluster secret (wins over the value)"),
  };
}

}  // namespace

Result<TransferEngineOptions> TransferEngineOptions::fromEnvironment() {
  TransferEngineOptions options;
  MC_RETURN_IF_ERROR(config::applyEnvironment(optionTable(&options)));
  if (options.min_rpc_port > options.max_rpc_port) {
    return Status::error(ErrorCode::ERR_INVALID_ARGUMENT,
                         "MC_MIN_RPC_PORT (" + std::to_string(options.min_rpc_port) +
                             ") is above MC_MAX_RPC_PORT (" + std::to_string(options.max_rpc_port) +
                             ")");
  }
  return options;
}

std::string TransferEngineOptions::dump() const {
  TransferEngineOptions copy = *this;
  if (!copy.redis_password.empty()) copy.redis_password = "<set>";
  std::string text = config::dumpConfig(optionTable(&copy));
  return text;
}

}  // namespace mooncake
