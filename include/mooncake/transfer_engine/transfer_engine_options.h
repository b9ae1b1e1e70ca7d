// Options of a TransferEngine. Every field has an MC_* environment variable of the same meaning
// (upstream's names); TransferEngineOptions::fromEnvironment() fills them in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mooncake/common/status.h"

namespace mooncake {

struct TransferEngineOptions {
  // MC_SLICE_SIZE: bytes per slice a request is cut into. Larger slices cost fewer headers and
  // syscalls; smaller ones spread one request over more connections. Default 64 KiB.
  uint64_t slice_size = 65536;
  // MC_TCP_SLICE_SIZE: bytes per slice over TCP. Every slice costs a header, a reply and a
  // wake-up on each side, so TCP wants far larger slices than RDMA; one request still spreads
  // over all lanes once it is several slices long. Default 1 MiB.
  uint64_t tcp_slice_size = 1 << 20;
  // MC_RETRY_CNT: attempts a slice gets on fresh connections before its task fails. Default 9.
  int64_t retry_count = 9;
  // MC_HANDSHAKE_PORT: rpc port assumed for a peer name without one. Default 12001.
  int64_t handshake_port = 12001;
  // MC_MIN_RPC_PORT / MC_MAX_RPC_PORT: range for the rpc and tcp data listeners when the local
  // server name carries no port. Default [15000, 17000].
  int64_t min_rpc_port = 15000;
  int64_t max_rpc_port = 17000;
  // MC_HANDSHAKE_CONNECT_TIMEOUT: seconds to wait for a peer's rpc port. Default 5.
  int64_t handshake_connect_timeout_sec = 5;
  // MC_HANDSHAKE_MAX_LENGTH: largest handshake frame accepted, bytes. Default 64 MiB: a segment
  // descriptor of 100,000 buffers is ~8 MiB. Memory follows the bytes that arrive, so a large
  // limit costs nothing until a peer sends that much.
  uint64_t handshake_max_length = 64 << 20;
  // MC_HANDSHAKE_LISTEN_BACKLOG: listen(2) backlog of the rpc port. Default 128.
  int64_t handshake_listen_backlog = 128;
  // MC_TCP_BIND_ADDRESS: address advertised to peers (and bound). Default: the host given to
  // init(), else the first non-loopback IPv4 address.
  std::string tcp_bind_address;
  // MC_METADATA_CLUSTER_ID: namespace under "mooncake/" for every metadata key. Default none.
  std::string metadata_cluster_id;
  // MC_METADATA_LEASE_TTL: seconds an etcd lease keeps this node's keys alive after it stops
  // refreshing them (crash). Default 10.
  int64_t metadata_lease_ttl_sec = 10;
  // MC_REDIS_USERNAME / MC_REDIS_PASSWORD / MC_REDIS_DB_INDEX: Redis AUTH and SELECT.
  std::string redis_username;
  std::string redis_password;
  int64_t redis_db_index = 0;
  // MC_TCP_LANES_PER_PEER: TCP connections per peer; each is served by its own threads, so
  // more lanes use more cores. Default 2.
  int64_t tcp_lanes_per_peer = 2;
  // MC_TCP_PROTO: the newest TCP framing this engine uses toward a peer that offers it: 3 pads
  // large payloads so the kernel's copies run at full speed (docs/METADATA.md), 2 never pads
  // (upstream's framing). Default 3.
  int64_t tcp_proto = 3;
  // MC_TCP_STATUS_TIMEOUT_SEC: seconds without progress on a connection with slices in flight
  // before the connection is declared dead and its slices retried. Default 30.
  int64_t tcp_status_timeout_sec = 30;
  // MC_DISABLE_METACACHE: fetch remote descriptors on every openSegment. Default false.
  bool disable_metacache = false;
  // MC_SAME_HOST_DIRECT: with a peer on the same host (same kernel boot and pid namespace)
  // that also has it on, move bytes with one kernel copy between the two processes
  // (process_vm_readv/writev) instead of over loopback TCP. Needs ptrace permission over the
  // peer (same user, or CAP_SYS_PTRACE); without it the engine falls back to TCP for that peer.
  // Default true (DESIGN: same-host transfers are chosen automatically); false keeps TCP.
  bool same_host_direct = true;
  // MC_FORCE_TCP (set to anything, as upstream): every requested protocol (rdma, nvlink, ...)
  // runs over TCP instead of failing because this build lacks it. Default false.
  bool force_tcp = false;
  // MC_LEGACY_RPC_PORT_BINDING (set to anything, as upstream): with a metadata service, bind
  // the rpc port written in local_server_name ("host:port") instead of a free one. Default false.
  bool legacy_rpc_port_binding = false;
  // The cluster secret peers prove on the rpc and data ports (docs/SECURITY.md). nullopt: the
  // environment's (MC_AUTH_SECRET_FILE, else MC_AUTH_SECRET; neither: no authentication);
  // "": none, whatever the environment says.
  std::optional<std::string> auth_secret;

  // Defaults overridden by the MC_* variables that are set. A bad value is an
  // ERR_INVALID_ARGUMENT naming the variable and its accepted range.
  static Result<TransferEngineOptions> fromEnvironment();
  // "MC_NAME = value  # meaning" lines for every option, for --dump_config and startup logs.
  std::string dump() const;
};

}  // namespace mooncake
